"""submitit's Slurm and local launchers, with the changes a sweep needs (conf/hydra/launcher/slurm.yaml,
local.yaml):

- a job that dies without a result (out of memory, cancelled, a failed node, out of requeues) is that job's
  failure: the sweep still waits for every other job, then lists it with the others;
- what sbatch prints when it refuses the jobs is held back, so that the sweep says it in one line;
- the local launcher runs at most ``max_parallel`` jobs at once, each with its share of the cores as torch threads
  (submitit's local executor starts every job of the sweep together, each with as many threads as cores);
- while the jobs run, their own log lines are echoed (``[job k] ...``), with a status line (done, failed, running,
  waiting, the time left) whenever a job ends and at least once a minute.

The jobs come from submitit's executor (``AutoExecutor.map_array``), which the launchers call inside ``launch``;
for its duration, each job it returns is wrapped.
"""

import contextlib
import io
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import submitit
from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, JobStatus
from hydra_plugins.hydra_submitit_launcher import config, submitit_launcher

POLL_S = 0.5  # how often a waiting launcher looks for a finished job and new log lines
STATUS_EVERY_S = 60  # a sweep's status line at least this often while its jobs run
# torch's intra-op threads read these at start-up (MKL's over OMP's): one setting, the user's if either is set
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass
class LocalQueueConf(config.LocalQueueConf):
    _target_: str = "hydra_plugins.autodo_sweeper.settled_launchers.LocalLauncher"
    max_parallel: Optional[int] = None  # at most this many jobs at once; None: every job of the sweep at once


ConfigStore.instance().store(group="hydra/launcher", name="settled_local", node=LocalQueueConf, provider="autodo")


class SweepWatch:
    """The jobs of a sweep while they run: their own log lines as they write them (``[job k] ...``), and a status
    line (autodo.sweep.status_line) whenever a job ends and at least once a ``STATUS_EVERY_S``."""

    def __init__(self, total):
        self.total, self.jobs, self.read = total, [], {}
        self.started = self.said = time.perf_counter()
        self.done_said = 0

    def add(self, job):
        self.jobs.append(job)

    def wait_for(self, job):
        """Echo and report until ``job`` is done."""
        while not job.done():
            self.look()
            time.sleep(POLL_S)
        self.look()

    def look(self):
        for index, job in enumerate(self.jobs):
            self._echo(index, job)
        finished = [job.done() for job in self.jobs]
        now = time.perf_counter()
        if sum(finished) != self.done_said or now - self.said >= STATUS_EVERY_S:
            from autodo.sweep import status_line

            done = [job for job, over in zip(self.jobs, finished) if over]
            running = sum(job.state == "RUNNING" for job, over in zip(self.jobs, finished) if not over)
            failed = sum(_failed(job) for job in done)
            print(status_line(len(done), failed, running, self.total, now - self.started), flush=True)
            self.said, self.done_said = now, len(done)

    def _echo(self, index, job):
        """The job's new complete log lines (standard output and error), each after ``[job <index>]``."""
        for path in (job.paths.stdout, job.paths.stderr):
            try:
                with open(path, "rb") as log:
                    log.seek(self.read.get(path, 0))
                    text = log.read()
            except OSError:  # not started yet
                continue
            complete = text[:text.rfind(b"\n") + 1]
            self.read[path] = self.read.get(path, 0) + len(complete)
            for line in complete.decode(errors="replace").splitlines():
                print(f"[job {index}] {line}", flush=True)


def _failed(job):
    try:
        return job.results()[0].status == JobStatus.FAILED
    except Exception:  # noqa: BLE001 - a job that died without a result
        return True


class SettledJob:
    """A submitit job whose ``results()`` never raises: a job that died is a failed ``JobReturn``. Waiting for it,
    the sweep's watch echoes the jobs' log lines and their status."""

    def __init__(self, job, overrides, watch):
        self.job, self.overrides, self.watch = job, overrides, watch

    def results(self):
        self.watch.wait_for(self.job)
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


def submit_at_most(executor, fn, arguments, max_parallel, watch):
    """Submit a job per tuple of ``arguments`` (``map_array``'s columns), in order, waiting before each while
    ``max_parallel`` jobs are unfinished (the watch echoing and reporting meanwhile); the jobs that run at once share
    the cores equally as torch threads."""
    at_once = min(max_parallel, len(arguments[0]))
    with threads_per_job(max(1, len(os.sched_getaffinity(0)) // at_once)):
        for job_arguments in zip(*arguments):
            while sum(not job.done() for job in watch.jobs) >= max_parallel:
                watch.look()
                time.sleep(POLL_S)
            watch.add(executor.submit(fn, *job_arguments))
    return watch.jobs


@contextlib.contextmanager
def settled_jobs(max_parallel=None):
    submit = submitit.AutoExecutor.map_array

    def map_array(executor, fn, *arguments):
        watch = SweepWatch(len(arguments[0]))
        if max_parallel is not None:
            jobs = submit_at_most(executor, fn, arguments, max_parallel, watch)
        else:
            said = io.StringIO()
            with contextlib.redirect_stderr(said):
                jobs = submit(executor, fn, *arguments)
            sys.stderr.write(said.getvalue())  # submitted: nothing was refused, nothing to hold back
            for job in jobs:
                watch.add(job)
        return [SettledJob(job, overrides, watch) for job, overrides in zip(jobs, arguments[0])]

    submitit.AutoExecutor.map_array = map_array
    try:
        yield
    finally:
        submitit.AutoExecutor.map_array = submit


@contextlib.contextmanager
def pattern_folder_removed(folder):
    """submitit makes its folder pattern (``<sweep>/.submitit/%j``) as a folder of that literal name before it makes
    each job's (``%j``: the job id): remove the literal one when the launch ends, if it holds nothing."""
    try:
        yield
    finally:
        if "%j" in str(folder):
            with contextlib.suppress(OSError):  # absent, or not empty: left as it is
                Path(str(folder)).rmdir()


class SlurmLauncher(submitit_launcher.SlurmLauncher):
    def check_settings(self):
        """Raise a UserError where no Slurm cluster takes jobs from here: no Slurm commands, or a controller that
        does not answer (the checked sweeper asks before any job is composed)."""
        import shutil
        import subprocess

        from autodo.errors import UserError

        missing = [command for command in ("sbatch", "scontrol") if shutil.which(command) is None]
        if missing:
            raise UserError(f"hydra/launcher=slurm: {missing[0]} is not on PATH, so no Slurm cluster takes jobs from "
                            "here: launch from a login node of the cluster, or use hydra/launcher=local")
        try:
            ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            ping = None
        if ping is None or ping.returncode != 0:
            said = " ".join(ping.stdout.split()[:5]) if ping is not None else "no answer in 60 s"
            raise UserError(f"hydra/launcher=slurm: the cluster's controller does not answer (scontrol ping: {said}): "
                            "start it, or use hydra/launcher=local")

    def launch(self, job_overrides, initial_job_idx):
        with settled_jobs(), pattern_folder_removed(self.params["submitit_folder"]):
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
        with settled_jobs(self.max_parallel), pattern_folder_removed(self.params["submitit_folder"]):
            return super().launch(job_overrides, initial_job_idx)
