"""submitit's launchers as the sweep uses them (hydra_plugins/autodo_sweeper/settled_launchers.py): a job that
dies is that job's failure, and the sweep waits for the others."""

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
