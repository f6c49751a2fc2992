"""submitit's Slurm and local launchers, with two changes a sweep needs (conf/hydra/launcher/slurm.yaml,
local.yaml):

- a job that dies without a result (out of memory, cancelled, a failed node, out of requeues) is that job's
  failure: the sweep still waits for every other job, then lists it with the others;
- what sbatch prints when it refuses the jobs is held back, so that the sweep says it in one line.

The jobs come from submitit's executor (``AutoExecutor.map_array``), which the launchers call inside ``launch``;
for its duration, each job it returns is wrapped.
"""

import contextlib
import io
import sys

import submitit
from hydra.core.utils import JobReturn, JobStatus
from hydra_plugins.hydra_submitit_launcher import submitit_launcher


class SettledJob:
    """A submitit job whose ``results()`` never raises: a job that died is a failed ``JobReturn``."""

    def __init__(self, job, overrides):
        self.job, self.overrides = job, overrides

    def results(self):
        try:
            return self.job.results()
        except Exception as error:  # noqa: BLE001 - whatever killed it, the job failed
            return [JobReturn(overrides=self.overrides, status=JobStatus.FAILED, _return_value=error)]


@contextlib.contextmanager
def settled_jobs():
    submit = submitit.AutoExecutor.map_array

    def map_array(executor, fn, *arguments):
        said = io.StringIO()
        with contextlib.redirect_stderr(said):
            jobs = submit(executor, fn, *arguments)
        sys.stderr.write(said.getvalue())  # submitted: nothing was refused, nothing to hold back
        return [SettledJob(job, overrides) for job, overrides in zip(jobs, arguments[0])]

    submitit.AutoExecutor.map_array = map_array
    try:
        yield
    finally:
        submitit.AutoExecutor.map_array = submit


class SlurmLauncher(submitit_launcher.SlurmLauncher):
    def launch(self, job_overrides, initial_job_idx):
        with settled_jobs():
            return super().launch(job_overrides, initial_job_idx)


class LocalLauncher(submitit_launcher.LocalLauncher):
    def launch(self, job_overrides, initial_job_idx):
        with settled_jobs():
            return super().launch(job_overrides, initial_job_idx)
