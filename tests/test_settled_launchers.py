"""submitit's launchers as the sweep uses them (hydra_plugins/autodo_sweeper/settled_launchers.py): a job that
dies is that job's failure, and the sweep waits for the others; the local one runs at most max_parallel jobs at
once."""

import os

import pytest
import submitit
from hydra.core.utils import JobStatus
from hydra_plugins.autodo_sweeper import settled_launchers


class DeadJob:
    def results(self):
        raise submitit.core.utils.UncompletedJobError("Job 7 (task: 0) with path ... has not produced any output")


class FinishedJob:
    def results(self):
        return ["the job's JobReturn"]


def test_a_dead_job_is_a_failed_job_return_and_a_finished_one_is_untouched():
    (dead,) = settled_launchers.SettledJob(DeadJob(), ["seed=1"]).results()
    assert dead.status == JobStatus.FAILED and dead.overrides == ["seed=1"]
    assert isinstance(dead._return_value, submitit.core.utils.UncompletedJobError)
    assert settled_launchers.SettledJob(FinishedJob(), ["seed=0"]).results() == ["the job's JobReturn"]


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


class PolledJob:
    def __init__(self, value):
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
                                                                            ["a=5"]], [1, 2, 3, 4, 5]), 2)
    assert [job.value for job in jobs] == [10, 20, 30, 40, 50]  # every job, in order
    assert executor.unfinished_at_submission == [0, 1, 1, 1, 1]  # none was submitted while 2 were unfinished
    assert executor.threads == [("8", "8")] * 5  # 16 cores shared by 2 jobs at once
    assert "OMP_NUM_THREADS" not in os.environ and "MKL_NUM_THREADS" not in os.environ  # only the jobs get them


def test_fewer_jobs_than_max_parallel_share_the_cores_among_themselves(sixteen_cores):
    executor = CountingExecutor()
    settled_launchers.submit_at_most(executor, lambda o, x: x, ([["a=1"], ["a=2"], ["a=3"]], [1, 2, 3]), 8)
    assert executor.threads == [("5", "5")] * 3


def test_the_local_launcher_leaves_the_users_thread_count_alone(sixteen_cores, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    executor = CountingExecutor()
    settled_launchers.submit_at_most(executor, lambda o, x: x, ([["a=1"]], [1]), 4)
    assert executor.threads == [("3", None)]  # torch would read an MKL_NUM_THREADS before the user's 3
    assert os.environ["OMP_NUM_THREADS"] == "3" and "MKL_NUM_THREADS" not in os.environ
