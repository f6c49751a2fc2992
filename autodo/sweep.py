"""A sweep, checked before its first job and reported after its last (used by the ``checked`` sweeper in
``hydra_plugins/autodo_sweeper``, the default of every multirun).

Before: every job's config is composed and validated, cross-setting rules included, so that bad input stops the
sweep with one line and nothing written; jobs that are the same run (two spellings of one experiment) are
launched once; finished runs are not launched again. After: the table of the finished runs under the sweep's
folder, then the failed jobs, each with its one-line error; a sweep with a failed job exits non-zero.
"""

import copy
import os
import sys
from pathlib import Path

from hydra.errors import HydraException
from omegaconf import OmegaConf, open_dict, read_write
from omegaconf.errors import OmegaConfBaseException

from autodo.config import validate_config, with_table_signature
from autodo.errors import UserError, joined, one_line
from autodo.run_folder import DamagedRun, RunFolder
from autodo.registry import check_task, read_run, run_name

# what sbatch says when it refuses a job, and the launcher setting that asks for it
SUBMISSION_SETTINGS = (
    ("memory specification", "hydra.launcher.mem_gb"),
    ("invalid partition", "hydra.launcher.partition"),
    ("invalid account", "hydra.launcher.account"),
    ("invalid qos", "hydra.launcher.qos"),
    ("time limit", "hydra.launcher.timeout_min"),
    ("requested node configuration is not available",
     "hydra.launcher.cpus_per_task or hydra.launcher.gpus_per_node"),
    ("gres", "hydra.launcher.gpus_per_node"),
)


def task_config(config):
    """A job's config without Hydra's own node, as the job's task function sees it."""
    task = copy.deepcopy(config)
    with read_write(task), open_dict(task):
        del task["hydra"]
    return task


def plan_jobs(jobs, load_config, jobs_run_here=True):
    """The jobs to launch: each job's config composed (``load_config(overrides)``) and validated (what depends
    on the machine, such as a CUDA device or the data, only when ``jobs_run_here``); one job per run; finished runs left out.
    Returns ``(to_launch, notes)``; raises a one-line ``UserError`` naming the job."""
    to_launch, runs, notes = [], {}, []
    for overrides in jobs:
        try:
            task = task_config(load_config(list(overrides)))
            validate_config(task, on_this_machine=jobs_run_here)
            if jobs_run_here:  # where the data is (a cluster's nodes may see other folders than this machine)
                check_task(task, os.path.abspath(task.data_root))
            with_table_signature(task)
        except (UserError, HydraException, OmegaConfBaseException) as error:
            raise UserError(f"{' '.join(overrides)}: {joined(error)}") from None
        folder = RunFolder(Path(task.out_dir).absolute() / run_name(OmegaConf.to_container(task, resolve=True)))
        if folder.path in runs:
            notes.append(f"{' '.join(overrides)}: the same run as {' '.join(runs[folder.path])}, launched once")
            continue
        runs[folder.path] = overrides
        if _finished(folder):
            notes.append(f"finished already: {folder.path}")
        else:
            to_launch.append(overrides)  # a damaged folder too: its job says what is wrong
    return to_launch, notes


def _finished(folder):
    try:
        return folder.finished() and read_run(folder) is not None
    except DamagedRun:
        return False


def submission_error(error):
    """A one-line message for a launcher that could not submit the sweep (sbatch refused it), else None."""
    said = [line.split("sbatch: error:", 1)[1].strip() for line in str(error).splitlines() if "sbatch: error:" in line]
    if not said:
        return None
    # the first complaint that names a setting (sbatch says the cause before its consequence)
    for line in said:
        setting = next((name for phrase, name in SUBMISSION_SETTINGS if phrase in line.lower()), None)
        if setting:
            return f"the cluster refused the sweep's jobs ({line}): change {setting}"
    return f"the cluster refused the sweep's jobs ({said[-1]}): see conf/hydra/launcher/slurm.yaml"


def failure_line(overrides, error):
    """One line for a failed job (with ``hydra.verbose=true`` the job printed its traceback when it failed)."""
    return f"  {' '.join(overrides)}: {one_line(error)}"


def report(sweep_dir, failures):
    """Print the failed jobs and the table of the finished runs of each task under ``sweep_dir``; exit 1 if a job
    failed."""
    from autodo.results import load_runs, other_tasks
    from autodo.registry import report_module

    sweep_dir = Path(sweep_dir).absolute()
    runs, skipped = load_runs([sweep_dir])
    not_counted = len([found for found in skipped if found.status != "other task"])
    tasks = other_tasks(skipped)
    if len(runs) or not tasks:
        print(f"\n{len(runs)} finished runs under {sweep_dir} ({not_counted} not counted); test error (%), final "
              "epoch, mean ± std over seeds (seeds):")
    if len(runs):
        print(report_module("train").table(runs).to_string())
    for task in tasks:
        runs, _ = load_runs([sweep_dir], task)
        print(f"\n{len(runs)} finished task={task} runs; test accuracy (%), mean ± std over seeds (seeds):")
        print(report_module(task).table(runs).to_string())
    if failures:
        print(f"\n{len(failures)} job(s) failed:", file=sys.stderr)
        for overrides, error in failures:
            print(failure_line(overrides, error), file=sys.stderr)
        sys.exit(1)
