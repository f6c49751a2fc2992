"""The CUDA and mixed-precision paths. CI has no GPU, so these skip there; run them on a machine with one
(`python -m pytest -q tests/test_cuda.py`). Every other test also runs on the GPU there (device=auto)."""

import json

import pytest
import torch
import torch.nn.functional as F

from autodo.augment.affine import affine_warp
from autodo.hyper.gradients import implicit_hypergradient
from autodo.losses import LossModel

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

AUTODO = ["aug_model=SEP", "los_model=BOTH", "hyper_opt=HES", "ir=10", "nr=0.2", "dataset.epochs=3"]


def test_full_autodo_with_amp_runs_on_cuda_and_its_checkpoint_loads_on_cpu(run_launch, tmp_path):
    run_launch(*AUTODO, "device=cuda", "amp=true")
    (run_dir,) = (tmp_path / "outputs").iterdir()
    result = json.loads((run_dir / "result.json").read_text())
    assert result["config"]["device"] == "cuda" and result["config"]["amp"] is True
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert result["majority_acc"] > 80  # digits, 3 epochs: the majority classes are learned (as on the CPU)
    assert all(row["hyper_skipped"] == 0 and row["hypergrad_norm"] > 0 for row in rows[1:])
    # its checkpoint (CUDA tensors and random streams) loads on the CPU: the relaunch with result.json gone
    # restores all three epochs from it and writes the same result
    (run_dir / "result.json").unlink()
    run_launch(*AUTODO, "device=cpu", "amp=true")
    again = json.loads((run_dir / "result.json").read_text())
    assert again["config"]["device"] == "cpu"
    same = lambda run: {k: v for k, v in run.items() if k not in ("config", "wall_time_s")}  # noqa: E731
    assert same(again) == same(result)


def test_dividemix_with_amp_runs_on_cuda_and_its_checkpoint_loads_on_cpu(run_launch, tmp_path):
    """Its two networks, their optimisers and scalers, and its divided batches' stream, on CUDA under autocast."""
    args = ["method=dividemix", "ir=10", "nr=0.2", "dataset.epochs=3"]
    run_launch(*args, "device=cuda", "amp=true")
    (run_dir,) = (tmp_path / "outputs").iterdir()
    result = json.loads((run_dir / "result.json").read_text())
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert result["majority_acc"] > 80 and rows[-1]["division_precision"] > 0.9
    (run_dir / "result.json").unlink()
    run_launch(*args, "device=cpu", "amp=true")
    again = json.loads((run_dir / "result.json").read_text())
    assert again["test_acc_final"] == result["test_acc_final"]


def test_hypergradient_on_cuda_matches_cpu():
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(32, 8, generator=generator, dtype=torch.float64)
    labels = torch.randint(0, 4, (32,), generator=generator)
    valid_grad = torch.randn(4, 8, generator=generator, dtype=torch.float64)
    theta0 = torch.randn(4, 8, generator=generator, dtype=torch.float64)

    def hypergradient(device):
        loss_model = LossModel(labels, 4, True, True, symmetric=True).to(device, torch.float64)
        theta = theta0.to(device).requires_grad_()
        loss = loss_model(F.linear(features.to(device), theta), torch.arange(32, device=device))
        return implicit_hypergradient(loss, valid_grad.to(device), theta, list(loss_model.parameters()), 5, 0.5)

    for on_cpu, on_cuda in zip(hypergradient("cpu"), hypergradient("cuda")):
        torch.testing.assert_close(on_cuda.cpu(), on_cpu)


def test_warp_on_cuda_matches_cpu():
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(4, 3, 16, 16, generator=generator)
    signed = 0.5 * torch.randn(4, 7, generator=generator)
    torch.testing.assert_close(affine_warp(images.cuda(), signed.cuda()).cpu(), affine_warp(images, signed),
                               atol=1e-5, rtol=1e-4)


def test_loss_is_float32_under_autocast():
    loss_model = LossModel(torch.tensor([0, 1, 2, 1]), 3, True, True, symmetric=True).cuda()
    head = torch.nn.Linear(5, 3).cuda()
    with torch.autocast("cuda", dtype=torch.float16):
        logits = head(torch.randn(4, 5, device="cuda"))
        loss = loss_model(logits, torch.arange(4, device="cuda"))
    assert logits.dtype == torch.float16 and loss.dtype == torch.float32
    torch.testing.assert_close(loss, loss_model(logits.float(), torch.arange(4, device="cuda")))
