"""submitit's launchers as the sweep uses them (hydra_plugins/autodo_sweeper/settled_launchers.py): a job that
dies is that job's failure, and the sweep waits for the others; the local one runs at most max_parallel jobs at
once."""

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import submitit
from hydra.core.utils import JobStatus
from hydra_plugins.autodo_sweeper import settled_launchers


RETURN = SimpleNamespace(status=JobStatus.COMPLETED)  # a job's JobReturn


class FinishedJob:
    """A job that has ended, with the log files and result a submitit job has (no log files unless given)."""

    state = "FINISHED"

    def __init__(self, folder=Path("/nonexistent")):
        self.paths = SimpleNamespace(stdout=folder / "job_log.out", stderr=folder / "job_log.err")

    def done(self):
        return True

    def results(self):
        return [RETURN]


class DeadJob(FinishedJob):
    def results(self):
        raise submitit.core.utils.UncompletedJobError("Job 7 (task: 0) with path ... has not produced any output")


def test_a_dead_job_is_a_failed_job_return_and_a_finished_one_is_untouched():
    watch = settled_launchers.SweepWatch(2)
    (dead,) = settled_launchers.SettledJob(DeadJob(), ["seed=1"], watch).results()
    assert dead.status == JobStatus.FAILED and dead.overrides == ["seed=1"]
    assert isinstance(dead._return_value, submitit.core.utils.UncompletedJobError)
    assert settled_launchers.SettledJob(FinishedJob(), ["seed=0"], watch).results() == [RETURN]


def test_the_watch_echoes_each_job_s_complete_log_lines_once_and_says_the_sweep_s_status(tmp_path, capsys):
    watch = settled_launchers.SweepWatch(3)
    job = FinishedJob(tmp_path)
    job.paths.stdout.write_text("epoch 1/2\nepoch 2/")  # the job is writing its second line
    watch.add(job)
    watch.add(DeadJob())
    watch.look()
    with job.paths.stdout.open("a") as log:
        log.write("2\n")
    watch.look()  # the second line, now complete; no new status: no job ended meanwhile
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[job 0] epoch 1/2" and lines[2] == "[job 0] epoch 2/2" and len(lines) == 3
    assert lines[1].startswith("sweep: 2/3 jobs done (1 failed), 0 running, 1 waiting [00:00<00:00,")


def test_the_executor_is_wrapped_only_while_launching(tmp_path):
    # the module's own attributes at call time: Hydra's plugin scan may have executed the module again
    original = submitit.AutoExecutor.map_array
    with settled_launchers.settled_jobs():
        executor = submitit.AutoExecutor(folder=tmp_path, cluster="debug")
        jobs = executor.map_array(lambda overrides, x: x * 2, [["a=1"], ["a=2"]], [1, 2])
        assert [type(job).__name__ for job in jobs] == ["SettledJob", "SettledJob"]
        assert [job.overrides for job in jobs] == [["a=1"], ["a=2"]]
        assert [job.results() for job in jobs] == [[2], [4]]
    assert submitit.AutoExecutor.map_array is original


class CountingExecutor:
    """An executor whose jobs finish at the third time they are asked whether they are done; it records how many
    of its jobs were unfinished at each submission, and the torch threads a job would have been started with."""

    def __init__(self):
        self.jobs, self.unfinished_at_submission, self.threads = [], [], []

    def submit(self, fn, *arguments):
        self.unfinished_at_submission.append(sum(not job.finished for job in self.jobs))
        self.threads.append((os.environ.get("OMP_NUM_THREADS"), os.environ.get("MKL_NUM_THREADS")))
        job = PolledJob(fn(*arguments))
        self.jobs.append(job)
        return job


class PolledJob(FinishedJob):
    state = "RUNNING"

    def __init__(self, value):
        super().__init__()
        self.value, self.polls, self.finished = value, 0, False

    def done(self):
        self.polls += 1
        self.finished = self.polls >= 3
        return self.finished


@pytest.fixture
def sixteen_cores(monkeypatch):
    """A machine of 16 cores, with no thread count set by the user."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)


def test_the_local_launcher_keeps_at_most_max_parallel_jobs_unfinished(sixteen_cores, monkeypatch):
    monkeypatch.setattr(settled_launchers, "POLL_S", 0.0)
    executor = CountingExecutor()
    jobs = settled_launchers.submit_at_most(executor, lambda o, x: x * 10, ([["a=1"], ["a=2"], ["a=3"], ["a=4"],
                                                                            ["a=5"]], [1, 2, 3, 4, 5]), 2,
                                           settled_launchers.SweepWatch(5))
    assert [job.value for job in jobs] == [10, 20, 30, 40, 50]  # every job, in order
    # none was submitted while 2 were unfinished, and the second beside the first
    assert max(executor.unfinished_at_submission) == executor.unfinished_at_submission[1] == 1
    assert executor.threads == [("8", "8")] * 5  # 16 cores shared by 2 jobs at once
    assert "OMP_NUM_THREADS" not in os.environ and "MKL_NUM_THREADS" not in os.environ  # only the jobs get them


def test_fewer_jobs_than_max_parallel_share_the_cores_among_themselves(sixteen_cores):
    executor = CountingExecutor()
    settled_launchers.submit_at_most(executor, lambda o, x: x, ([["a=1"], ["a=2"], ["a=3"]], [1, 2, 3]), 8,
                                     settled_launchers.SweepWatch(3))
    assert executor.threads == [("5", "5")] * 3


def test_the_local_launcher_leaves_the_users_thread_count_alone(sixteen_cores, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    executor = CountingExecutor()
    settled_launchers.submit_at_most(executor, lambda o, x: x, ([["a=1"]], [1]), 4, settled_launchers.SweepWatch(1))
    assert executor.threads == [("3", None)]  # torch would read an MKL_NUM_THREADS before the user's 3
    assert os.environ["OMP_NUM_THREADS"] == "3" and "MKL_NUM_THREADS" not in os.environ
