"""Sweeps as Slurm job arrays through the `hydra/launcher=slurm` preset, on a real cluster.

`.ci/slurm-cluster start` starts a single-node cluster with accounting (CI does); without one these tests skip,
except under CI=true, where a missing cluster is a failure.
"""

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import REPO, only_run, run_dirs

from autodo.data.bias import split_cache_path

# the preset, made to fit the one-node test cluster (no GPU, 2 cores)
SLURM = ["-m", "hydra/launcher=slurm", "hydra.launcher.partition=debug", "hydra.launcher.gpus_per_node=null",
         "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=null", "hydra.launcher.timeout_min=10"]


def _cluster_is_up():
    try:
        return subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True,
                              timeout=10).stdout.split() == ["idle"]
    except (OSError, subprocess.TimeoutExpired):
        return False


if not _cluster_is_up():
    if os.environ.get("CI") == "true":
        raise RuntimeError("no idle Slurm cluster under CI=true: .ci/slurm-cluster start should have started one")
    pytest.skip("no idle Slurm cluster here (start one as root with .ci/slurm-cluster start)",
                allow_module_level=True)

# one test at a time, on one pytest worker: the jobs of two would queue behind each other on the test cluster's
# 2 cores and could outlast the tests' waits
pytestmark = pytest.mark.xdist_group("slurm")


def wait_until(condition, timeout, what):
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def test_a_sweep_runs_as_a_job_array_and_aggregates(run_launch, tmp_path):
    out = run_launch(*SLURM, "seed=0,1,2,3", "dataset.epochs=2", timeout=300).stdout
    runs = [path.name.split("-")[4:6] for path in run_dirs(tmp_path / "outputs")]
    assert runs == [["epochs=2", f"seed{seed}"] for seed in range(4)]  # the setting beside the grid named
    assert len(list((tmp_path / "outputs" / ".submitit").glob("*_[0-3]"))) == 4  # one array task a run
    assert not (tmp_path / "outputs" / ".submitit" / "%j").exists()  # no folder named by submitit's pattern
    # while they ran: the array tasks' own log lines and the sweep's status
    assert "sweep: 4/4 jobs done, 0 running, 0 waiting [" in out and "[job 3] " in out
    assert "4 finished runs of the sweep's 4 " in out
    table = subprocess.run([sys.executable, str(REPO / "aggregate.py"), "outputs"], cwd=tmp_path,
                           capture_output=True, text=True, check=True)
    assert "4 finished runs; 0 run folders not counted" in table.stderr
    assert "Baseline" in table.stdout and "digits 1-0" in table.stdout and "(4)" in table.stdout


def _job_of(folder):
    """The id of the running Slurm job whose working folder is ``folder``."""
    listing = subprocess.run(["squeue", "-h", "-t", "R", "-o", "%i %Z"], capture_output=True, text=True).stdout
    ids = [line.split()[0] for line in listing.splitlines() if line.split()[1] == str(folder)]
    return ids[0] if ids else None


def _state(job):
    return subprocess.run(["squeue", "-h", "-j", job, "-o", "%t"], capture_output=True, text=True).stdout.strip()


def test_a_requeued_job_resumes_from_its_checkpoint(run_launch, tmp_path):
    args = ["method=autodo", "dataset.epochs=30"]  # requeued at its third epoch: 27 epochs to spare (each over 0.5 s)
    started = time.monotonic()
    run_launch(*args, "out_dir=reference", timeout=300)
    reference_s = time.monotonic() - started  # the rest of the killed job takes less, on a machine as loaded
    sweep = subprocess.Popen([sys.executable, str(REPO / "launch.py"), *SLURM, *args], cwd=tmp_path,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    run_dir = tmp_path / "outputs" / only_run(tmp_path / "reference").name  # out_dir does not name the run
    metrics = run_dir / "metrics.jsonl"
    try:
        wait_until(lambda: metrics.exists() and len(metrics.read_text().splitlines()) >= 3, 120,
                   "the job's third epoch")
        job = _job_of(tmp_path)
        subprocess.run(["scontrol", "requeue", job], check=True)
        wait_until(lambda: _state(job) == "PD", 60, "the requeued job to be pending")
        assert not (run_dir / "result.json").exists()  # it was killed mid-run
        # Slurm holds a requeued job for two minutes before it may start again: start it now
        subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], check=True)
        _, stderr = sweep.communicate(timeout=120 + 2 * reference_s)
    finally:
        sweep.kill()
    assert sweep.returncode == 0, stderr[-2000:]
    assert "resuming after epoch" in (run_dir / "launch.log").read_text()
    resumed = json.loads((run_dir / "result.json").read_text())
    reference = json.loads((tmp_path / "reference" / run_dir.name / "result.json").read_text())
    for key in ("config", "wall_time_s"):
        del resumed[key], reference[key]
    assert resumed == reference


def test_a_failed_job_is_reported_and_the_others_finish(run_launch, tmp_path):
    cache = split_cache_path(tmp_path / "local_data", "digits", 1, 1, 0.0, 1.0)
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"\x00" * 10)  # seed 1's split cache is corrupt: found only when its job runs
    proc = run_launch(*SLURM, "seed=1,0", "dataset.epochs=2", check=False, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "1 job(s) failed:\n  seed=1 dataset.epochs=2: corrupt split cache" in proc.stderr
    (good,) = run_dirs(tmp_path / "outputs", finished=False)
    assert good.name.split("-")[5] == "seed0" and "1 finished runs of the sweep's 1 " in proc.stdout


@pytest.mark.parametrize("setting, value", [("hydra.launcher.mem_gb", "100000"),
                                            ("hydra.launcher.partition", "nowhere")])
def test_a_submission_the_cluster_refuses_is_one_line_naming_the_setting(run_launch, tmp_path, setting, value):
    args = [arg for arg in SLURM if not arg.startswith(f"{setting}=")]
    proc = run_launch(*args, f"{setting}={value}", "dataset.epochs=1", check=False, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the cluster refused") and f"change {setting}" in lines[0]
    assert run_dirs(tmp_path / "outputs", finished=False) == []
