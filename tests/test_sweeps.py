"""Local multirun sweeps: stable run folders, resuming a killed sweep, and a failed job among good ones."""

import json
import os
import signal
import subprocess
import sys
import time

from conftest import REPO

SWEEP = ["-m", "seed=0,1,2", "dataset.epochs=2"]


def test_killed_sweep_relaunched_runs_only_what_is_missing(tmp_path, run_launch):
    proc = subprocess.Popen([sys.executable, str(REPO / "launch.py"), *SWEEP], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = tmp_path / "outputs" / "dataset.epochs=2,seed=0" / "result.json"
    deadline = time.time() + 120
    while not first.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stamp = first.stat().st_mtime_ns
    finished_before = sorted(p.parent.name for p in (tmp_path / "outputs").glob("*/result.json"))
    assert len(finished_before) < 3
    out = run_launch(*SWEEP).stdout
    results = sorted(p.parent.name for p in (tmp_path / "outputs").glob("*/result.json"))
    assert results == [f"dataset.epochs=2,seed={s}" for s in range(3)]
    assert first.stat().st_mtime_ns == stamp  # finished work is not redone
    assert out.count("run folder:") == 3
    # the table printed at the end of the sweep
    assert "3 finished runs under" in out and "Baseline" in out and "(3)" in out


def test_a_failed_job_is_reported_and_the_others_finish(run_launch, tmp_path):
    proc = run_launch("-m", "los_model=WGHT", "hyper_opt=HES", "dataset.epochs=2",
                      "dataset.hyper_start_epoch=5,1", check=False)  # the failing job first
    assert proc.returncode != 0
    assert "dataset.hyper_start_epoch=5 is not allowed" in proc.stderr
    good = tmp_path / "outputs" / "dataset.epochs=2,dataset.hyper_start_epoch=1,hyper_opt=HES,los_model=WGHT"
    assert json.loads((good / "result.json").read_text())["epochs"] == 2
    assert not (tmp_path / "outputs" / good.name.replace("epoch=1", "epoch=5")).exists()


def test_the_local_launcher_preset_runs_jobs_in_their_own_processes(run_launch, tmp_path):
    out = run_launch("-m", "hydra/launcher=local", "seed=0,1", "dataset.epochs=2").stdout
    runs = sorted(p.parent.name for p in (tmp_path / "outputs").glob("*/result.json"))
    assert runs == ["dataset.epochs=2,seed=0", "dataset.epochs=2,seed=1"]
    assert len([p for p in (tmp_path / "outputs" / ".submitit").iterdir() if p.name.isdigit()]) == 2
    assert "2 finished runs under" in out
