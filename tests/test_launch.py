"""launch.py end to end: the run folder it writes, the numbers in it, skipping finished runs, bad input."""

import json
import os
import platform
import stat
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import REPO, only_run, run_dirs
from fakes import write_cifar, write_image_folder

from autodo.data.bias import split_cache_path


def read_run(run_dir):
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return metrics, json.loads((run_dir / "result.json").read_text())


def test_default_run_trains_digits_to_95_percent_and_is_not_redone(run_launch, tmp_path):
    first = run_launch()
    run_dir = only_run(tmp_path / "outputs")
    assert run_dir.name.startswith("digits-ir1-nr0-baseline-seed0-")
    assert f"run folder: {run_dir}" in first.stdout and "test accuracy: final" in first.stdout
    metrics, result = read_run(run_dir)
    assert [row["epoch"] for row in metrics] == list(range(1, 31)) == list(range(1, result["epochs"] + 1))
    assert result["test_acc_final"] == metrics[-1]["test_acc"] >= 95.0
    assert result["test_acc_best"] == max(row["test_acc"] for row in metrics)
    assert len(result["test_per_class_acc"]) == 10 and result["wall_time_s"] > 0
    assert result["config"]["dataset"]["name"] == "digits" and result["config"]["model"]["name"] == "small_cnn"
    assert list((run_dir / "tb").glob("events.out.tfevents.*"))
    assert (run_dir / "checkpoint.pt").exists() and (run_dir / "config.yaml").exists()
    assert "epoch 30/30" in (run_dir / "launch.log").read_text()
    # the run folder first, then the code that computed it and the machine, logged at start and kept in the
    # result (outside identity)
    import socket

    from autodo.provenance import code_version, code_version_text

    log = (run_dir / "launch.log").read_text()
    assert log.index(f"run folder {run_dir}") < log.index("code: ") < log.index("config: ") < log.index("epoch 1/30")
    # the composed config, short: what the run computes, on one line
    (config_line,) = [line for line in log.splitlines() if "config: " in line]
    assert " dataset.name=digits " in config_line and " ir=1 " in config_line and " seed=0" in config_line
    assert "out_dir" not in config_line and "hyper_lr" not in config_line  # where it runs; what it does not read
    assert f"run folder {run_dir}" in first.stdout.split("epoch 1/30")[0]  # on the console, before training
    assert result["code_version"] == code_version()
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout  # independent of /proc
    (cpu_model,) = [line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("Model name:")]
    assert result["machine"] == {"host": socket.gethostname(), "cpu": cpu_model, "cores": os.cpu_count(),
                                 "threads": torch.get_num_threads(), "python": platform.python_version(),
                                 "torch": torch.__version__, "cuda": torch.version.cuda,
                                 "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    assert (f"code: {code_version_text()}; host {socket.gethostname()}, {cpu_model}, {os.cpu_count()} cores "
            f"({torch.get_num_threads()} torch threads), python {platform.python_version()}, "
            f"torch {torch.__version__}, ") in log
    # files as the umask makes them (0644 under 022), so that colleagues on a shared cluster read them
    umask = os.umask(0o022)
    os.umask(umask)
    for name in ("result.json", "metrics.jsonl", "split.json", "checkpoint.pt", "config.yaml", "run.json"):
        assert stat.S_IMODE((run_dir / name).stat().st_mode) == 0o666 & ~umask, name

    # the same experiment, however it is spelled, is this run: nothing trains again
    files = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")}
    for spelling in ([], ["method=baseline"], ["dataset=digits", "ir=1", "nr=0.0", "seed=0"], ["ir=1.0", "nr=0"],
                     ["device=cpu", "num_workers=0", "eval_batch_size=7"]):
        again = run_launch(*spelling)
        assert f"run folder: {run_dir}" in again.stdout, spelling
        assert f"final {result['test_acc_final']:.2f}%" in again.stdout and "epoch 1/" not in again.stdout
    again = run_launch("-m", "experiment=digits_demo", "ir=1", "nr=0.0", "method=baseline", "seed=0")
    assert f"finished already: {run_dir}" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")} == files
    assert run_dirs(tmp_path / "outputs") == [run_dir]
    table = subprocess.run([sys.executable, str(REPO / "aggregate.py"), "outputs"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout
    assert "Baseline" in table and "(1)" in table


def test_bad_input_leaves_a_finished_run_untouched(run_launch, tmp_path):
    """device=cuda on a machine without a GPU names the finished run's folder (the device does not change
    results): it is refused in one line and leaves every file of that run as it was; so is a hyper optimiser with
    nothing to learn, beside it."""
    run_launch("dataset.epochs=1")
    run_dir = only_run(tmp_path / "outputs")
    files = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in run_dir.rglob("*")}
    for bad in (["dataset.epochs=1", "device=cuda"], ["dataset.epochs=1", "hyper_opt=HES"]):
        if bad[-1] == "device=cuda" and torch.cuda.is_available():
            continue
        proc = run_launch(*bad, check=False)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in run_dir.rglob("*")} == files
    assert run_dirs(tmp_path / "outputs") == [run_dir]


def test_biased_run_records_its_data(run_launch, tmp_path):
    run_launch("ir=10", "nr=0.2", "seed=1", "dataset.epochs=1")
    run_dir = only_run(tmp_path / "outputs")
    assert run_dir.name.startswith("digits-ir10-nr0.2-baseline-epochs=1-seed1-")
    split = json.loads((run_dir / "split.json").read_text())
    majority = sum(split["train_clean_class_counts"][:5])
    assert sum(split["train_clean_class_counts"][5:]) == int(majority / 10)
    assert split["relabelled_count"] == round(0.2 * split["train_size"]) == len(split["relabelled"]["index"])
    assert split_cache_path(tmp_path / "local_data", "digits", 1, 10, 0.2, 1.0).exists()
    _, result = read_run(run_dir)
    assert result["config"]["ir"] == 10 and result["config"]["nr"] == 0.2


@pytest.mark.parametrize(
    "override", ["ir=0.5", "nr=1", "sr=0", "ir=abc", "nr=x", "aug_model=FOO", "model=vgg", "colour=red", "ir=1,0",
                 "los_model.prior_correction=median"]
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(run_launch, tmp_path, override):
    proc = run_launch(override, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and override.split("=")[0] in lines[0]
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "local_data").exists()


def test_corrupt_split_cache_is_refused_without_a_half_written_run(run_launch, tmp_path):
    cache = split_cache_path(tmp_path / "local_data", "digits", 0, 1, 0.0, 1.0)
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"\x00" * 10)
    proc = run_launch("dataset.epochs=1", check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "corrupt split cache" in lines[0] and str(cache) in lines[0]
    assert list((tmp_path / "outputs").iterdir()) == []  # the run folder it made is gone


def test_help_lists_the_groups_and_their_options(run_launch):
    out = run_launch("--help").stdout
    assert "dataset: cifar10, cifar100, digits, fashion_mnist, imagenet, mnist, svhn, svhn_extra" in out
    for group in ("aug_model: AUTO, DADA, NONE, RAND, SEP, SHA, TRIVIAL",
                  "los_model: BOTH, CB, DIVIDEMIX, ELR, GCE, LA, MWN, NONE, SCE, SOFT, WGHT",
                  "method: autodo, autodo_a, autodo_aw, autodo_frozen, autodo_frozen_valid, autodo_prior, "
                  "autodo_refit, autodo_sha, autodo_unroll, autodo_valid, baseline, class_balanced, confident_learning, "
                  "confident_learning_la, confident_relabel, dada, dividemix, elr, faa, gce, head_refit, logit_adjusted, "
                  "mwnet, raa, sce, train_on_valid, train_on_valid_la, trivial",
                  "experiment: al_fashion_mnist, budget, digits_demo, paper_cifar10, paper_cifar100, paper_imagenet, "
                  "paper_svhn, reproduce, reproduce_8epochs",
                  "hyper_opt: HES, LOOKAHEAD, NONE, UNROLL", "model: resnet18, small_cnn", "task: active_learning, subsample, train"):
        assert group in out


def test_cifar10_with_the_standard_augmentation(run_launch, tmp_path):
    files = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    write_cifar(tmp_path / "local_data" / "cifar10" / "cifar-10-batches-py", files, b"labels", n=20)
    run_launch("dataset=cifar10", "model=wrn16_4", "model.encoder.widen_factor=1", "dataset.valid_size=20",
               "dataset.epochs=2", "dataset.batch_size=16", "ir=2", "nr=0.1")
    run_dir = only_run(tmp_path / "outputs")
    metrics, result = read_run(run_dir)
    assert len(metrics) == 2 and len(result["test_per_class_acc"]) == 10
    assert json.loads((run_dir / "split.json").read_text())["valid_class_counts"] == [2] * 10


def test_imagenet_folder_with_worker_processes(run_launch, tmp_path):
    rng = np.random.default_rng(0)
    write_image_folder(tmp_path / "inet" / "train", 4, 5, rng)
    write_image_folder(tmp_path / "inet" / "val", 4, 2, rng)
    run_launch("dataset=imagenet", f"dataset.path={tmp_path / 'inet'}", "dataset.num_classes=4",
               "dataset.valid_size=0.25", "dataset.resize=20", "dataset.crop=16", "model=small_cnn",
               "dataset.epochs=1", "dataset.batch_size=4", "eval_batch_size=3", "num_workers=2")
    run_dir = only_run(tmp_path / "outputs")
    _, result = read_run(run_dir)
    assert "inet" not in run_dir.name  # the data path does not name the run
    split = json.loads((run_dir / "split.json").read_text())
    assert split["valid_size"] == 5 and split["train_size"] == 15
    assert len(result["test_per_class_acc"]) == 4


def test_a_paper_row_by_name(run_launch, tmp_path):
    run_launch("method=autodo", "ir=10", "nr=0.1", "dataset.epochs=3")
    run_dir = only_run(tmp_path / "outputs")
    assert run_dir.name.startswith("digits-ir10-nr0.1-autodo-epochs=3-seed0-")
    metrics, result = read_run(run_dir)
    config = result["config"]
    assert (config["aug_model"]["name"], config["los_model"]["name"], config["hyper_opt"]["name"]) == \
        ("SEP", "BOTH", "HES")
    # the hyper start is a share of the epochs (digits: a third): with 3 epochs, hyper passes in epochs 2 and 3
    assert ["hyper_steps" in row for row in metrics] == [False, True, True]
    run_launch("method=autodo", "ir=10", "nr=0.1", "dataset.epochs=3", "aug_model=SHA")  # a group given wins
    assert [p.name.split("-")[3] for p in run_dirs(tmp_path / "outputs")] == ["autodo", "sha"]


def test_help_says_what_its_settings_are_and_how_to_see_a_task_s(run_launch):
    """Issue 31, item 7: --help said it shows every setting, hid the tasks' and described none."""
    out = run_launch("--help").stdout
    assert "`python launch.py task=subsample --help` shows that task's settings" in out
    assert "is the comment beside it in conf/" in out and "subsample:" not in out
    task = run_launch("task=subsample", "--help").stdout
    assert "subsample:\n  classes: null\n  augmentation: translate\n  policy: loss" in task
