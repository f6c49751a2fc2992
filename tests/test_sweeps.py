"""Local multirun sweeps: every job checked before the first starts, one job per run, resuming a killed sweep,
and a job that fails at run time among good ones."""

import json
import os
import signal
import subprocess
import sys
import time

from conftest import REPO, assert_refused, run_dirs

from autodo.data.bias import split_cache_path

SWEEP = ["-m", "seed=0,1,2", "dataset.epochs=2"]


def test_killed_sweep_relaunched_runs_only_what_is_missing(tmp_path, run_launch):
    proc = subprocess.Popen([sys.executable, str(REPO / "launch.py"), *SWEEP], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not run_dirs(tmp_path / "outputs") and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    (first,) = run_dirs(tmp_path / "outputs")
    stamp = (first / "result.json").stat().st_mtime_ns
    out = run_launch(*SWEEP).stdout
    results = run_dirs(tmp_path / "outputs")
    assert [p.name.split("-")[4] for p in results] == ["seed0", "seed1", "seed2"]
    assert (first / "result.json").stat().st_mtime_ns == stamp  # finished work is not redone
    assert f"finished already: {first}" in out and out.count("run folder:") == 2
    # the table printed at the end of the sweep
    assert "3 finished runs under" in out and "Baseline" in out and "(3)" in out


def test_bad_input_anywhere_in_a_sweep_stops_it_before_the_first_job(run_launch, tmp_path):
    """The last job has nothing to learn (a cross-setting rule): nothing runs, one line, exit 2."""
    proc = run_launch("-m", "dataset.epochs=2", "los_model=WGHT,NONE", "hyper_opt=HES", check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "has nothing to learn" in lines[0]
    assert "los_model=NONE" in lines[0]
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "local_data").exists()


def test_epochs_alone_keep_the_methods_proportions(run_launch, tmp_path):
    """The hyper start is a share of the epochs: dataset.epochs=3 never fails for AutoDO's rows."""
    run_launch("-m", "method=baseline,autodo", "dataset.epochs=3")
    (autodo, baseline) = run_dirs(tmp_path / "outputs")
    rows = [json.loads(line) for line in (autodo / "metrics.jsonl").read_text().splitlines()]
    assert [row.get("hyper_steps", 0) > 0 for row in rows] == [False, True, True]


def test_a_job_that_fails_at_run_time_is_listed_and_the_others_finish(run_launch, tmp_path):
    cache = split_cache_path(tmp_path / "local_data", "digits", 1, 1, 0.0, 1.0)
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"\x00" * 10)  # seed 1's split cache is corrupt: found only when its job runs
    proc = run_launch("-m", "seed=1,0", "dataset.epochs=2", check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    failed = proc.stderr[proc.stderr.index("1 job(s) failed:"):].strip().splitlines()
    assert len(failed) == 2 and failed[1].startswith("  seed=1 dataset.epochs=2: corrupt split cache")
    (good,) = run_dirs(tmp_path / "outputs", finished=False)  # the failed job left no folder
    assert good.name.startswith("digits-ir1-nr0-baseline-seed0-")
    assert "1 finished runs under" in proc.stdout and "(1)" in proc.stdout  # the table is still printed
    verbose = run_launch("-m", "seed=1,0", "dataset.epochs=2", "hydra.verbose=true", check=False)
    assert verbose.returncode == 1 and "Traceback" not in verbose.stderr  # a user error has no traceback


def test_two_spellings_of_one_run_in_a_sweep_run_once(run_launch, tmp_path):
    out = run_launch("-m", "method=baseline,raa", "aug_model=NONE", "dataset.epochs=1").stdout
    assert "the same run as" in out and out.count("run folder:") == 1
    assert len(run_dirs(tmp_path / "outputs")) == 1


def test_the_local_launcher_preset_runs_jobs_in_their_own_processes(run_launch, tmp_path):
    out = run_launch("-m", "hydra/launcher=local", "seed=0,1", "dataset.epochs=2").stdout
    runs = run_dirs(tmp_path / "outputs")
    assert [p.name.split("-")[4] for p in runs] == ["seed0", "seed1"]
    assert len([p for p in (tmp_path / "outputs" / ".submitit").iterdir() if p.name.isdigit()]) == 2
    assert "2 finished runs under" in out


def test_the_local_launcher_runs_at_most_max_parallel_jobs_at_once(run_launch, tmp_path):
    run_launch("-m", "hydra/launcher=local", "hydra.launcher.max_parallel=1", "seed=0,1", "dataset.epochs=1")
    assert len(run_dirs(tmp_path / "outputs")) == 2
    jobs = sorted((p for p in (tmp_path / "outputs" / ".submitit").iterdir() if p.name.isdigit()),
                  key=lambda job: (job / f"{job.name}_submitted.pkl").stat().st_mtime)
    first_finished = (jobs[0] / f"{jobs[0].name}_0_result.pkl").stat().st_mtime
    assert (jobs[1] / f"{jobs[1].name}_submitted.pkl").stat().st_mtime >= first_finished  # not before


def test_a_bad_max_parallel_is_refused_before_any_job(run_launch, tmp_path):
    proc = run_launch("-m", "hydra/launcher=local", "hydra.launcher.max_parallel=0", "seed=0,1", check=False)
    assert_refused(proc, "hydra.launcher.max_parallel=0 is not allowed", tmp_path / "outputs")
