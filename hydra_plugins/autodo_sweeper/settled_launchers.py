"""submitit's Slurm and local launchers, with the changes a sweep needs (conf/hydra/launcher/slurm.yaml,
local.yaml):

- a job that dies without a result (out of memory, cancelled, a failed node, out of requeues) is that job's
  failure: the sweep still waits for every other job, then lists it with the others;
- what sbatch prints when it refuses the jobs is held back, so that the sweep says it in one line;
- the local launcher runs at most ``max_parallel`` jobs at once, each with its share of the cores as torch threads
  (submitit's local executor starts every job of the sweep together, each with as many threads as cores).

The jobs come from submitit's executor (``AutoExecutor.map_array``), which the launchers call inside ``launch``;
for its duration, each job it returns is wrapped.
"""

import contextlib
import io
import os
import sys
import time
from dataclasses import dataclass
from typing import Optional

import submitit
from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, JobStatus
from hydra_plugins.hydra_submitit_launcher import config, submitit_launcher

POLL_S = 0.5  # how often a full local launcher looks for a finished job
# torch's intra-op threads read these at start-up (MKL's over OMP's): one setting, the user's if either is set
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass
class LocalQueueConf(config.LocalQueueConf):
    _target_: str = "hydra_plugins.autodo_sweeper.settled_launchers.LocalLauncher"
    max_parallel: Optional[int] = None  # at most this many jobs at once; None: every job of the sweep at once


ConfigStore.instance().store(group="hydra/launcher", name="settled_local", node=LocalQueueConf, provider="autodo")


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
def threads_per_job(count):
    """Processes started inside get ``count`` torch threads each, unless the user set their number."""
    if any(os.environ.get(name) for name in THREAD_VARIABLES):
        yield
        return
    os.environ.update({name: str(count) for name in THREAD_VARIABLES})
    try:
        yield
    finally:
        for name in THREAD_VARIABLES:
            os.environ.pop(name, None)


def submit_at_most(executor, fn, arguments, max_parallel):
    """Submit a job per tuple of ``arguments`` (``map_array``'s columns), in order, waiting before each while
    ``max_parallel`` jobs are unfinished; the jobs that run at once share the cores equally as torch threads."""
    jobs, at_once = [], min(max_parallel, len(arguments[0]))
    with threads_per_job(max(1, len(os.sched_getaffinity(0)) // at_once)):
        for job_arguments in zip(*arguments):
            while sum(not job.done() for job in jobs) >= max_parallel:
                time.sleep(POLL_S)
            jobs.append(executor.submit(fn, *job_arguments))
    return jobs


@contextlib.contextmanager
def settled_jobs(max_parallel=None):
    submit = submitit.AutoExecutor.map_array

    def map_array(executor, fn, *arguments):
        if max_parallel is not None:
            jobs = submit_at_most(executor, fn, arguments, max_parallel)
        else:
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
    def __init__(self, max_parallel=None, **params):
        super().__init__(**params)
        self.max_parallel = max_parallel

    def check_settings(self):
        """Raise a UserError for a bad setting of this launcher's own (the checked sweeper asks first)."""
        from autodo.errors import UserError

        if self.max_parallel is not None and self.max_parallel < 1:
            raise UserError(f"hydra.launcher.max_parallel={self.max_parallel} is not allowed: it must be at least "
                            f"1, or null for every job of the sweep at once")

    def launch(self, job_overrides, initial_job_idx):
        self.check_settings()  # again, for a sweeper other than the checked one
        with settled_jobs(self.max_parallel):
            return super().launch(job_overrides, initial_job_idx)
