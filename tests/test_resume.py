"""A run killed with SIGKILL at any point and relaunched ends with the same numbers as an uninterrupted run.

On the CPU, where the same config and seed give the same numbers; CUDA's atomic adds (grid_sample's backward,
among others) make two GPU runs differ slightly whether or not one was resumed."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO, only_run

ARGS = ["ir=10", "nr=0.1", "dataset.epochs=12", "dataset.batch_size=8", "device=cpu"]
# full AutoDO: the learned tables, the hyper optimiser and the hyper loaders' streams must resume too
HES_ARGS = ["ir=10", "nr=0.1", "dataset.epochs=5", "dataset.hyper_start=0.2", "aug_model=SEP",
            "los_model=BOTH", "hyper_opt=HES", "device=cpu"]
# when to kill: (epochs finished at least, then a random delay of up to this many seconds)
KILLS = [(0, 1.0), (2, 0.4), (5, 0.4), (9, 0.4)]


def comparable(result):
    return {k: v for k, v in result.items() if k != "wall_time_s"}


def start(cwd, args=ARGS):
    return subprocess.Popen([sys.executable, str(REPO / "launch.py"), *args], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def epochs_done(run_dir):
    try:
        return len((run_dir / "metrics.jsonl").read_text().splitlines())
    except FileNotFoundError:
        return 0


def kill_after(proc, run_dir, epochs, max_delay, rng):
    """SIGKILL ``proc`` a random moment after ``epochs`` epochs are on disk; False if it finished first."""
    deadline = time.time() + 120
    while proc.poll() is None and epochs_done(run_dir) < epochs and time.time() < deadline:
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, max_delay))
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return killed


def test_sigkill_anywhere_then_relaunch_gives_the_same_result(tmp_path):
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    reference_dir.mkdir(), killed_dir.mkdir()
    assert start(reference_dir).wait(timeout=300) == 0
    reference_run = only_run(reference_dir / "outputs")
    reference = json.loads((reference_run / "result.json").read_text())

    rng = random.Random(0)
    run_dir = killed_dir / "outputs" / reference_run.name
    killed = [kill_after(start(killed_dir), run_dir, epochs, delay, rng) for epochs, delay in KILLS]
    assert sum(killed) >= 3, killed  # the run was really interrupted, at several points
    assert not (run_dir / "result.json").exists()
    assert start(killed_dir).wait(timeout=300) == 0

    result = json.loads((run_dir / "result.json").read_text())
    assert comparable(result) == comparable(reference)
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == list(range(1, 13))
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]


def killed_once_and_resumed(tmp_path, args, seed, epochs, max_delay):
    """The result of ``args`` (a run of ``epochs`` epochs) run through, and the same run killed once up to
    ``max_delay`` seconds after its second epoch and relaunched; and its folder."""
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    reference_dir.mkdir(), killed_dir.mkdir()
    assert start(reference_dir, args).wait(timeout=300) == 0
    reference = only_run(reference_dir / "outputs") / "result.json"
    run_dir = killed_dir / "outputs" / reference.parent.name
    assert kill_after(start(killed_dir, args), run_dir, 2, max_delay, random.Random(seed))
    assert 2 <= epochs_done(run_dir) < epochs
    assert start(killed_dir, args).wait(timeout=300) == 0
    resumed = json.loads((run_dir / "result.json").read_text())
    return comparable(json.loads(reference.read_text())), comparable(resumed), run_dir


def test_full_autodo_resumes_exactly(tmp_path):
    reference, resumed, run_dir = killed_once_and_resumed(tmp_path, HES_ARGS, seed=1, epochs=5, max_delay=0.3)
    assert resumed == reference
    assert (run_dir / "metrics.jsonl").read_text().count('"weight_noise_auroc":') == 5


@pytest.mark.parametrize("method", ["elr", "gce", "sce", "mwnet", "dividemix", "dividemix aug_model=RAND"])
def test_a_rival_resumes_exactly(tmp_path, method):
    """ELR's targets (one row per train sample), MW-Net's network and its optimiser's state, and DivideMix's second
    network, its optimiser, schedule and the random stream of its divided batches must come back from the checkpoint
    (killed after its warm-up epoch; with a per-image policy, each view's seeds come from that stream too); GCE and SCE
    hold no state."""
    # killed during its third epoch (of about 0.15 s): DivideMix's warm-up is its first
    args = ["ir=10", "nr=0.2", "dataset.epochs=5", *f"method={method}".split(), "device=cpu"]
    reference, resumed, _ = killed_once_and_resumed(tmp_path, args, seed=2, epochs=5, max_delay=0.1)
    assert resumed == reference


def test_a_damaged_checkpoint_is_one_line_and_the_run_is_kept(tmp_path, run_launch):
    run_launch("dataset.epochs=1", "device=cpu")
    run_dir = only_run(tmp_path / "outputs")
    (run_dir / "result.json").unlink()  # unfinished, with a checkpoint that is not one
    (run_dir / "checkpoint.pt").write_bytes(b"\x00" * 10)
    proc = run_launch("dataset.epochs=1", "device=cpu", check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "checkpoint.pt is unreadable" in lines[0]
    assert (run_dir / "checkpoint.pt").read_bytes() == b"\x00" * 10 and (run_dir / "metrics.jsonl").exists()
