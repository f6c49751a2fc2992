"""Finished runs under one or more folders as a pandas DataFrame (one row per run of a task, each run once), and the
paper's table of mean ± std over seeds of training runs (autodo.subsample.report has the subsample task's)."""

import json

import pandas as pd

from autodo.methods import improvements_of, method_name, valid_held_out
from autodo.run_folder import RESULT, DamagedRun
from autodo.tasks import find_runs, identity, report_module, task_of

CONFIG_COLUMNS = {
    "dataset": ("dataset", "name"), "model": ("model", "name"), "aug_model": ("aug_model", "name"),
    "los_model": ("los_model", "name"), "hyper_opt": ("hyper_opt", "name"),
    "ir": ("ir",), "nr": ("nr",), "sr": ("sr",), "seed": ("seed",),
    "train_on_valid": ("train_on_valid",), "head_refit": ("head_refit",),
    "label_cleaning": ("label_cleaning", "action"),
}
# top-level settings that runs written before they existed lack: their value then
CONFIG_DEFAULTS = {"train_on_valid": False, "head_refit": False, "label_cleaning": {"action": "none"}}
METRIC_COLUMNS = ["epochs", "test_acc_final", "test_acc_best", "test_acc_at_best_valid", "majority_acc",
                  "minority_acc", "minority_acc_best", "minority_acc_at_best_valid", "valid_acc_final",
                  "valid_acc_best", "wall_time_s"]
# (accuracy over all classes, accuracy of the minority classes) under each selection rule
SELECTIONS = {
    "final": ("test_acc_final", "minority_acc"),
    "best_valid": ("test_acc_at_best_valid", "minority_acc_at_best_valid"),
    "best_test": ("test_acc_best", "minority_acc_best"),
}


def _flat(tree, prefix=""):
    """``{"dataset": {"lr": 0.1}}`` -> ``{"dataset.lr": 0.1}`` (lists as JSON text, so that they compare)."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = json.dumps(value) if isinstance(value, list) else value
    return flat


def _row(found):
    config = {**CONFIG_DEFAULTS, **found.result["config"]}
    row = {"run_dir": str(found.folder.path)}
    for column, path in CONFIG_COLUMNS.items():
        value = config
        for key in path:
            value = value[key]
        row[column] = value
    row["improvements"] = improvements_of(config)  # beyond the paper, named in the row
    row["aug_policy"] = config["aug_model"].get("policy")  # aug_model=DADA's: search, or its table file
    row.update({column: found.result.get(column, float("nan")) for column in METRIC_COLUMNS})
    row["valid_held_out"] = found.result.get("valid_held_out", valid_held_out(config))  # older runs: from the config
    # everything the run computes but its seed: runs are averaged together only when these are equal
    settings = _flat(identity(config))
    del settings["seed"]
    row["settings"] = settings
    row["settings_key"] = json.dumps(settings, sort_keys=True, default=str)
    return row


def load_runs(folders, task="train"):
    """Return ``(runs, skipped)``: a row per finished run of ``task``, each run once however many folders hold it,
    and the run folders not counted (autodo.run_folder.FoundRun: unfinished, damaged, a duplicate, or a run of
    another task, with the reason)."""
    make_row = _row if task == "train" else report_module(task).row
    rows, skipped = [], []
    for found in find_runs(folders):
        if found.status == "finished" and task_of(found.result["config"]) != task:
            other = task_of(found.result["config"])
            found.status, found.reason = "other task", f"a task={other} run (--task {other} shows it)"
        if found.status == "finished":
            try:
                rows.append(make_row(found))
                continue
            except (KeyError, TypeError) as error:
                found.status, found.reason = "damaged", f"{RESULT}: its config lacks {error}"
            except DamagedRun as error:  # a file beside result.json that a task's row reads (metrics.jsonl)
                found.status, found.reason = "damaged", str(error)
        skipped.append(found)
    if task != "train":
        return report_module(task).frame(rows), skipped
    columns = ["run_dir", *CONFIG_COLUMNS, "improvements", "aug_policy", *METRIC_COLUMNS, "valid_held_out", "settings",
               "settings_key"]
    return pd.DataFrame(rows, columns=columns), skipped


def other_tasks(skipped):
    """The tasks of the runs ``load_runs`` left out as another task's, most runs first."""
    counts = pd.Series([task_of(found.result["config"]) for found in skipped if found.status == "other task"])
    return list(counts.value_counts().index)


def cell_name(dataset, ir, nr, sr=1.0):
    """A table column: the data set and IR-NR as the paper writes them (100-0.0, 10-0.1), and the subsampling
    ratio where it is not 1 (runs on different shares of the train split are never averaged together)."""
    name = f"{dataset} {ir:g}-{nr:.1f}" if round(nr, 1) == nr else f"{dataset} {ir:g}-{nr:g}"
    return name if sr == 1 else f"{name} sr {sr:g}"


def _differing(settings):
    """The keys whose values are not all equal among ``settings`` (dicts)."""
    return {key for s in settings for key in s if len({str(t.get(key)) for t in settings}) > 1}


def _variants(runs):
    """Each run's row name: the method, and where runs of one method, model, epochs and cell differ in other
    settings, those settings in brackets (runs that differ in more than their seed are never averaged). The
    settings named are those that differ within any cell of the row, so that a variant keeps one row across
    cells."""
    names = runs["method"].copy()
    for _, row in runs.groupby(["method", "model", "epochs"]):
        keys = set()
        for _, cell in row.groupby("cell"):
            if cell["settings_key"].nunique() > 1:
                keys |= _differing(list(cell["settings"]))
        for index, setting in zip(row.index, row["settings"]):
            if keys:
                names[index] += " [" + ", ".join(f"{key}={setting.get(key)}" for key in sorted(keys)) + "]"
    return names


def label_runs(runs):
    """``runs`` with a ``method`` column (the paper's row name, and the settings that set apart runs that would
    otherwise share a row) and a ``cell`` column (data set IR-NR, SR)."""
    runs = runs.assign(
        method=[method_name(*key) for key in zip(runs["aug_model"], runs["los_model"], runs["hyper_opt"],
                                                 runs["train_on_valid"], runs["head_refit"], runs["label_cleaning"],
                                                 runs["improvements"], runs["aug_policy"])],
        cell=[cell_name(*key) for key in zip(runs["dataset"], runs["ir"], runs["nr"], runs["sr"])],
    )
    return runs.assign(method=_variants(runs)) if len(runs) else runs


def mean_std_text(mean, std, count, unit=""):
    """A table cell: ``mean ± std (count)``, or ``mean (1)`` where one value has no std."""
    return f"{mean:.2f}{unit} ± {std:.2f} ({count})" if count > 1 else f"{mean:.2f}{unit} ({count})"


def summary_table(runs, selection="final", minority=False, error=True):
    """Mean and std (ddof=1) over seeds of the test error (or accuracy), in %, of all classes or of the
    minority ones: a row per method (and model and epochs, so that runs of different budgets are never
    averaged together), a column per data set and IR-NR. Each cell reads ``mean ± std (seeds)``, seeds being the
    number of distinct seeds; with one seed there is no std: ``mean (1)``."""
    column = SELECTIONS[selection][1 if minority else 0]
    runs = label_runs(runs).assign(value=100.0 - runs[column] if error else runs[column])
    stats = runs.groupby(["method", "model", "epochs", "cell"]).agg(
        mean=("value", "mean"), std=("value", "std"), seeds=("seed", "nunique"))
    text = [mean_std_text(m, s, n) for m, s, n in zip(stats["mean"], stats["std"], stats["seeds"])]
    return stats.assign(text=text)["text"].unstack("cell").fillna("")




def paired_difference(errors_a, errors_b):
    """How much lower ``errors_a`` is than ``errors_b`` (each a pandas Series: seed -> test error) on the seeds both
    have: ``(mean, standard error, seeds, seeds that agree)`` of the per-seed differences B - A (positive: A is
    better). Runs of one seed share their data and split, so the difference within a seed is the measurement;
    the standard error is the differences' std (ddof=1) over the square root of their number (nan with one seed)."""
    both = pd.concat([errors_a.rename("a"), errors_b.rename("b")], axis=1, join="inner").dropna()
    gains = both["b"] - both["a"]
    count = len(gains)
    se = gains.std(ddof=1) / count ** 0.5 if count > 1 else float("nan")
    return (gains.mean() if count else float("nan")), se, count, int((gains > 0).sum())


def beats(errors_a, errors_b):
    """Whether A beats B on the per-seed differences: the mean gain exceeds two standard errors (autodo's rule for
    every "A beats B" claim); and the numbers it rests on (``paired_difference``)."""
    mean, se, count, agree = paired_difference(errors_a, errors_b)
    return bool(count > 1 and mean > 2 * se), (mean, se, count, agree)
