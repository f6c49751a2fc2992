"""Local multirun sweeps: every job checked before the first starts, one job per run, resuming a killed sweep,
and a job that fails at run time among good ones."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
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
    assert [p.name.split("-")[5] for p in results] == ["seed0", "seed1", "seed2"]
    assert (first / "result.json").stat().st_mtime_ns == stamp  # finished work is not redone
    assert f"finished already: {first}" in out and out.count("run folder:") == 2
    # the sweep's status after each job it runs (one after the other, in this process)
    assert [line.split(" [")[0] for line in out.splitlines() if line.startswith("sweep: ")] == [
        "sweep: 1/2 jobs done, 0 running, 1 waiting", "sweep: 2/2 jobs done, 0 running, 0 waiting"]
    # the table printed at the end of the sweep
    assert "3 finished runs of the sweep's 3 " in out and "Baseline" in out and "(3)" in out


def test_bad_input_anywhere_in_a_sweep_stops_it_before_the_first_job(run_launch, tmp_path):
    """The last job has nothing to learn (a cross-setting rule): nothing runs, one line, exit 2."""
    proc = run_launch("-m", "dataset.epochs=2", "los_model=WGHT,NONE", "hyper_opt=HES", check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "has nothing to learn" in lines[0]
    assert "los_model=NONE" in lines[0]
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "local_data").exists()


def test_a_sweep_on_data_that_is_missing_is_one_line_before_anything_is_written(run_launch, tmp_path, monkeypatch):
    """CIFAR-10 is not in data_root and cannot be downloaded (a proxy that refuses: no network is used): the
    sweep's pre-check says where its files go, before any job, and leaves no empty data folder behind."""
    for variable in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False), monkeypatch.delenv("NO_PROXY", raising=False)
    proc = run_launch("-m", "dataset=cifar10", "seed=0,1", check=False)
    assert_refused(proc, "cifar10 is missing and could not be downloaded", tmp_path / "outputs")
    assert "dataset=cifar10 seed=0" in proc.stderr and "local_data/cifar10/cifar-10-batches-py" in proc.stderr
    assert not (tmp_path / "local_data").exists()


def test_the_quick_debug_preset_runs_every_phase_of_the_sweep_s_rows_apart_from_real_runs(run_launch, tmp_path):
    """debug=quick: two epochs (the second with a hyper pass), a fifth of the train split, confident learning's
    fewest folds, into ./debug_outputs; and each task's own shortening (active learning: one acquisition)."""
    run_launch("-m", "debug=quick", "method=baseline,autodo", "label_cleaning.action=none,remove")
    folders = run_dirs(tmp_path / "debug_outputs")
    assert len(folders) == 4 and not (tmp_path / "outputs").exists()
    for folder in folders:
        config = json.loads((folder / "result.json").read_text())["config"]
        rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
        assert config["sr"] == 0.2 and config["dataset"]["epochs"] == 2 and len(rows) == 2
        assert config["label_cleaning"]["folds"] == 2
        if config["hyper_opt"]["name"] == "HES":
            assert [row.get("hyper_steps", 0) > 0 for row in rows] == [False, True]
    run_launch("debug=quick", "task=active_learning")
    (folder,) = [f for f in run_dirs(tmp_path / "debug_outputs") if "-fisher-" in f.name]
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert [row["labeled"] for row in rows] == [40, 80]


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
    assert good.name.startswith("digits-ir1-nr0-baseline-epochs=2-seed0-")
    assert "1 finished runs of the sweep's 1 " in proc.stdout and "(1)" in proc.stdout  # the table is still printed
    verbose = run_launch("-m", "seed=1,0", "dataset.epochs=2", "hydra.verbose=true", check=False)
    assert verbose.returncode == 1 and "Traceback" not in verbose.stderr  # a user error has no traceback


def test_two_spellings_of_one_run_in_a_sweep_run_once(run_launch, tmp_path):
    out = run_launch("-m", "method=baseline,raa", "aug_model=NONE", "dataset.epochs=1").stdout
    assert "the same run as" in out and out.count("run folder:") == 1
    assert len(run_dirs(tmp_path / "outputs")) == 1
    # a value spelled two ways (an integer and a float) in names that say it: one run, named by its value
    out = run_launch("-m", "dataset.epochs=1", "optim.weight_decay=0,0.0").stdout
    assert "the same run as" in out and out.count("run folder:") == 1
    names = sorted(p.name.split("-")[4] for p in run_dirs(tmp_path / "outputs"))
    assert names == ["epochs=1", "epochs=1,weight_decay=0"]


def test_the_local_launcher_preset_runs_jobs_in_their_own_processes(run_launch, tmp_path):
    out = run_launch("-m", "hydra/launcher=local", "seed=0,1", "dataset.epochs=2").stdout
    runs = run_dirs(tmp_path / "outputs")
    assert [p.name.split("-")[5] for p in runs] == ["seed0", "seed1"]
    # while they ran: the jobs' own log lines, and the sweep's status as each ended
    assert "sweep: 2/2 jobs done, 0 running, 0 waiting [" in out
    for job in (0, 1):
        assert f"[job {job}] " in out and out.index(f"[job {job}] ") < out.index("sweep: 2/2 jobs done")
    assert len([line for line in out.splitlines() if line.startswith("[job ") and "] - epoch 2/2 [" in line]) == 2
    # each job's folder of submitit's logs, and no empty folder named by the pattern (a literal "%j")
    assert sorted(p.name.isdigit() for p in (tmp_path / "outputs" / ".submitit").iterdir()) == [True, True]
    assert "2 finished runs of the sweep's 2 " in out


def test_the_local_launcher_runs_at_most_max_parallel_jobs_at_once(run_launch, tmp_path):
    out = run_launch("-m", "hydra/launcher=local", "hydra.launcher.max_parallel=1", "seed=0,1",
                     "dataset.epochs=1").stdout
    assert len(run_dirs(tmp_path / "outputs")) == 2
    # progress while it ran: each job's own lines, then the sweep's status as each job ended
    status = [line.split(" [")[0] for line in out.splitlines() if line.startswith("sweep: ")]
    assert any(line.startswith("sweep: 1/2 jobs done, ") for line in status)
    assert status[-1] == "sweep: 2/2 jobs done, 0 running, 0 waiting"
    assert out.index("[job 0] ") < out.index("sweep: 1/2 jobs done") < out.index("[job 1] ")
    jobs = sorted((p for p in (tmp_path / "outputs" / ".submitit").iterdir() if p.name.isdigit()),
                  key=lambda job: (job / f"{job.name}_submitted.pkl").stat().st_mtime)
    first_finished = (jobs[0] / f"{jobs[0].name}_0_result.pkl").stat().st_mtime
    assert (jobs[1] / f"{jobs[1].name}_submitted.pkl").stat().st_mtime >= first_finished  # not before


def test_a_bad_max_parallel_is_refused_before_any_job(run_launch, tmp_path):
    proc = run_launch("-m", "hydra/launcher=local", "hydra.launcher.max_parallel=0", "seed=0,1", check=False)
    assert_refused(proc, "hydra.launcher.max_parallel=0 is not allowed", tmp_path / "outputs")


def test_the_end_of_sweep_table_shows_the_sweep_s_own_runs_and_counts_the_others(run_launch, tmp_path):
    """Issue 31, item 7: the table covered every run already in out_dir."""
    run_launch("seed=0", "dataset.epochs=1")
    out = run_launch("-m", "seed=1,2", "dataset.epochs=1").stdout
    table = out[out.index("finished runs of the sweep's"):]
    assert "2 finished runs of the sweep's 2 (0 not counted; 1 other finished runs under " in out
    assert "(2)" in table and "(3)" not in table


@pytest.mark.parametrize("commands, message", [
    ({}, "hydra/launcher=slurm: sbatch is not on PATH, so no Slurm cluster takes jobs from here"),
    ({"sbatch": "exit 0", "scontrol": "echo 'Slurmctld(primary) at vm is DOWN'; exit 1"},
     "the cluster's controller does not answer (scontrol ping: Slurmctld(primary) at vm is DOWN)"),
])
def test_the_slurm_launcher_without_a_cluster_is_one_line_before_anything_is_written(tmp_path, commands, message):
    """Issue 31, item 7: a RuntimeError line, exit 1, and an empty table header."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in commands.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    proc = subprocess.run([sys.executable, str(REPO / "launch.py"), "-m", "hydra/launcher=slurm", "seed=0,1"],
                          cwd=tmp_path, env={**os.environ, "PATH": str(bin_dir)}, capture_output=True, text=True,
                          timeout=120)
    assert_refused(proc, message, tmp_path / "outputs")
    assert not (tmp_path / "local_data").exists()
