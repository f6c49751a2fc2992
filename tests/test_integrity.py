"""Integrity under bit rot: every artefact a later run trusts is verified when read back (its SHA-256 beside it), a
corrupt one is one line and exit 2 with nothing trained on it, and a training loss that is not finite stops the run,
its last good checkpoint kept."""

import struct

import pytest
import torch

from autodo.errors import UserError
from autodo.io import CorruptFile, atomic_torch_save, digest_path, verified_torch_load
from conftest import only_run


def test_a_saved_artefact_reads_back_and_a_changed_byte_is_refused(tmp_path):
    path = tmp_path / "artefact.pt"
    atomic_torch_save(path, {"weights": torch.arange(1000.0)})
    assert torch.equal(verified_torch_load(path)["weights"], torch.arange(1000.0))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1  # one bit flipped where torch.load would not notice
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFile, match="artefact.pt.sha256"):
        verified_torch_load(path)


def test_a_file_written_before_digests_is_read_unverified(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"x": torch.ones(3)}, path)
    assert not digest_path(path).exists() and torch.equal(verified_torch_load(path)["x"], torch.ones(3))


def test_a_rewrite_never_leaves_a_digest_of_other_bytes(tmp_path, monkeypatch):
    """The old digest goes before the new file is written: a crash in between leaves no digest, not a wrong one."""
    import autodo.io

    path = tmp_path / "artefact.pt"
    atomic_torch_save(path, {"x": torch.zeros(3)})
    written = []

    def crash_after_the_file(target, data, real=autodo.io.atomic_write_bytes):
        real(target, data)
        written.append(target)
        raise KeyboardInterrupt

    monkeypatch.setattr(autodo.io, "atomic_write_bytes", crash_after_the_file)
    with pytest.raises(KeyboardInterrupt):
        atomic_torch_save(path, {"x": torch.ones(3)})
    assert written == [path] and not digest_path(path).exists()
    assert torch.equal(verified_torch_load(path)["x"], torch.ones(3))


def test_nan_written_into_a_checkpoint_is_refused_on_relaunch(run_launch, tmp_path):
    """The fault trial: four NaN floats written into an unfinished run's checkpoint.pt; the relaunch trained on them
    and exited 0 with "train loss nan"."""
    run_launch("dataset.epochs=2")
    run_dir = only_run(tmp_path / "outputs")
    (run_dir / "result.json").unlink()  # as if killed in its last epoch
    with open(run_dir / "checkpoint.pt", "r+b") as f:
        f.seek(min(11456, (run_dir / "checkpoint.pt").stat().st_size - 16))
        f.write(struct.pack("<4f", *[float("nan")] * 4))
    proc = run_launch("dataset.epochs=2", check=False)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0
    assert "checkpoint.pt is unreadable (its bytes do not match checkpoint.pt.sha256)" in proc.stderr
    assert not (run_dir / "result.json").exists()


def test_a_changed_byte_in_a_split_cache_is_refused(run_launch, tmp_path):
    """The fault trial: one byte changed in a split cache gave one wrong label more, and that run was counted."""
    run_launch("ir=10", "nr=0.1", "dataset.epochs=1")
    (cache,) = (tmp_path / "local_data").rglob("split_ir10_sr1_nr0.1.pt")
    data = bytearray(cache.read_bytes())
    data[-200] ^= 1
    cache.write_bytes(bytes(data))
    proc = run_launch("ir=10", "nr=0.1", "dataset.epochs=1", "seed=0", "method=logit_adjusted", check=False)
    assert proc.returncode == 2 and "corrupt split cache" in proc.stderr and "do not match" in proc.stderr
    assert len(list((tmp_path / "outputs").iterdir())) == 1  # nothing written for the refused run


def test_a_diverging_loss_stops_the_run_and_keeps_its_last_good_checkpoint(tmp_path):
    from autodo.engine import finite_loss

    assert finite_loss({"loss": 0.5}, "epoch 3") == {"loss": 0.5}
    with pytest.raises(UserError, match="the training loss is nan at epoch 3: the run stops"):
        finite_loss({"loss": float("nan")}, "epoch 3")


def test_a_run_whose_loss_diverges_ends_with_one_line(run_launch, tmp_path):
    proc = run_launch("dataset.lr=1e30", "dataset.epochs=3", check=False)
    assert proc.returncode == 2 and "the training loss is" in proc.stderr and "at epoch 1" in proc.stderr
    assert not list((tmp_path / "outputs").glob("*/result.json"))
