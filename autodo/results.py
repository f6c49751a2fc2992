"""Finished runs of a task under one or more folders as a pandas DataFrame (one row per run, each run once), with the
rows and tables of the task's report (autodo.registry: the face's REPORT)."""

import pandas as pd

from autodo.run_folder import RESULT, DamagedRun
from autodo.registry import find_runs, report_module, task_of


def load_runs(folders, task="train"):
    """Return ``(runs, skipped)``: a row per finished run of ``task``, each run once however many folders hold it,
    and the run folders not counted (autodo.run_folder.FoundRun: unfinished, damaged, a duplicate, or a run of
    another task, with the reason)."""
    report = report_module(task)
    rows, skipped = [], []
    for found in find_runs(folders):
        if found.status == "finished" and task_of(found.result["config"]) != task:
            other = task_of(found.result["config"])
            found.status, found.reason = "other task", f"a task={other} run (--task {other} shows it)"
        if found.status == "finished":
            try:
                rows.append(report.row(found))
                continue
            except (KeyError, TypeError, AttributeError, ValueError) as error:
                found.status, found.reason = "damaged", f"{RESULT}: its config lacks {error}"
            except DamagedRun as error:  # a file beside result.json that a task's row reads (metrics.jsonl)
                found.status, found.reason = "damaged", str(error)
        skipped.append(found)
    return report.frame(rows), skipped


def other_tasks(skipped):
    """The tasks of the runs ``load_runs`` left out as another task's, most runs first."""
    counts = pd.Series([task_of(found.result["config"]) for found in skipped if found.status == "other task"])
    return list(counts.value_counts().index)


