"""A sweep, checked before its first job and reported after its last (used by the ``checked`` sweeper in
``hydra_plugins/autodo_sweeper``, the default of every multirun).

Before: every job's config is composed and validated, cross-setting rules included, and its data found (downloaded
where it can be), so that bad input or missing data stops the sweep with one line and nothing written; jobs that
are the same run (two spellings of one experiment) are launched once; finished runs are not launched again.
After: the table of the sweep's own finished runs (and how many others its folder holds), then the failed jobs, each
with its one-line error; a sweep with a failed job exits non-zero.
"""

import copy
import os
import sys
from pathlib import Path

from hydra.errors import HydraException
from omegaconf import OmegaConf, open_dict, read_write
from omegaconf.errors import OmegaConfBaseException

from autodo.config import validate_config, with_table_signature
from autodo.data.sources import check_available
from autodo.errors import UserError, joined, one_line
from autodo.progress import timing
from autodo.run_folder import DamagedRun, RunFolder
from autodo.registry import check_task, read_run, run_place

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
    """The jobs to launch: each job's config composed (``load_config(overrides)``) and validated (what depends on
    the machine, such as a CUDA device or the data, only when ``jobs_run_here``); one job per run; finished runs left
    out. Returns ``(to_launch, notes, folders)``, ``folders`` being the run folders of every job, launched or not;
    raises a one-line ``UserError`` naming the job."""
    to_launch, runs, notes = [], {}, []
    for overrides in jobs:
        try:
            task = task_config(load_config(list(overrides)))
            validate_config(task, on_this_machine=jobs_run_here)
            if jobs_run_here:  # where the data is (a cluster's nodes may see other folders than this machine)
                check_available(task.dataset, os.path.abspath(task.data_root))
                check_task(task, os.path.abspath(task.data_root))
            with_table_signature(task)
        except (UserError, HydraException, OmegaConfBaseException) as error:
            raise UserError(f"{' '.join(overrides)}: {joined(error)}") from None
        path, stored_by = run_place(OmegaConf.to_container(task, resolve=True), Path(task.out_dir).absolute(),
                                    launched_as=overrides)
        # one run, however its jobs spell it (its folder's name follows the spelling; its signature does not)
        if stored_by in runs:
            notes.append(f"{' '.join(overrides)}: the same run as {' '.join(runs[stored_by][1])}, launched once")
            continue
        runs[stored_by] = (path, overrides)
        folder = RunFolder(path)
        if _finished(folder):
            notes.append(f"finished already: {folder.path}")
        else:
            to_launch.append(overrides)  # a damaged folder too: its job says what is wrong
    return to_launch, notes, [path for path, _ in runs.values()]


def _finished(folder):
    try:
        return folder.finished() and read_run(folder) is not None
    except DamagedRun:
        return False


def status_line(done, failed, running, total, elapsed_s):
    """How far a sweep is: ``sweep: 3/8 jobs done (1 failed), 2 running, 3 waiting [01:10<01:57, 23.33s/it]`` (the
    time left at the rate so far)."""
    failures = f" ({failed} failed)" if failed else ""
    return (f"sweep: {done}/{total} jobs done{failures}, {running} running, {total - done - running} waiting "
            f"{timing(done, total, elapsed_s)}")


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


def report(sweep_dir, failures, folders):
    """Print the failed jobs and, for each task, the table of the sweep's own finished runs (``folders``: its jobs'
    run folders), with how many other finished runs ``sweep_dir`` holds; exit 1 if a job failed."""
    from autodo.results import load_runs, other_tasks
    from autodo.registry import find_runs, report_module

    sweep_dir = Path(sweep_dir).absolute()
    folders = [folder for folder in folders if folder.is_dir()]  # a failed job's first launch leaves none
    runs, skipped = load_runs(folders)
    not_counted = len([found for found in skipped if found.status != "other task"])
    tasks = other_tasks(skipped)
    finished = len(runs) + sum(len(load_runs(folders, task)[0]) for task in tasks)
    others = sum(found.status == "finished" for found in find_runs([sweep_dir])) - finished
    elsewhere = (f"; {others} other finished runs under {sweep_dir}, not the sweep's (aggregate.py {sweep_dir} shows "
                 "every run)") if others > 0 else ""
    if len(runs) or not tasks:
        print(f"\n{len(runs)} finished runs of the sweep's {len(folders)} ({not_counted} not counted{elsewhere}); "
              "test error (%), final epoch, mean ± std over seeds (seeds):")
    if len(runs):
        print(report_module("train").table(runs).to_string())
    for task in tasks:
        runs, _ = load_runs(folders, task)
        print(f"\n{len(runs)} finished task={task} runs of the sweep{elsewhere}; test accuracy (%), mean ± std over "
              "seeds (seeds):")
        print(report_module(task).table(runs).to_string())
    if failures:
        print(f"\n{len(failures)} job(s) failed:", file=sys.stderr)
        for overrides, error in failures:
            print(failure_line(overrides, error), file=sys.stderr)
        sys.exit(1)
