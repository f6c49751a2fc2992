"""The training task's report: a row per finished run (its method, cell and numbers), the paper's table of mean ± std
over seeds, and its figures (autodo.tasks.train.figures)."""

import json

import pandas as pd

from autodo.tables import cell_name, mean_std_text
from autodo.identity import settings as identity_settings
from autodo.tasks.train import task
from autodo.tasks.train.methods import improvements_of, method_name, method_of, method_slug, valid_held_out

CONFIG_COLUMNS = {
    "dataset": ("dataset", "name"), "model": ("model", "name"), "aug_model": ("aug_model", "name"),
    "los_model": ("los_model", "name"), "hyper_opt": ("hyper_opt", "name"),
    "ir": ("ir",), "nr": ("nr",), "nr_type": ("nr_type",), "sr": ("sr",), "seed": ("seed",),
    "train_on_valid": ("train_on_valid",), "head_refit": ("head_refit",),
    "label_cleaning": ("label_cleaning", "action"),
}
# top-level settings that runs written before they existed lack: their value then
CONFIG_DEFAULTS = {"nr_type": "uniform", "train_on_valid": False, "head_refit": False,
                   "label_cleaning": {"action": "none"}}
METRIC_COLUMNS = ["epochs", "test_acc_final", "test_acc_best", "test_acc_at_best_valid", "majority_acc",
                  "minority_acc", "minority_acc_best", "minority_acc_at_best_valid", "valid_acc_final",
                  "valid_acc_best", "wall_time_s"]
# (accuracy over all classes, accuracy of the minority classes) under each selection rule
SELECTIONS = {
    "final": ("test_acc_final", "minority_acc"),
    "best_valid": ("test_acc_at_best_valid", "minority_acc_at_best_valid"),
    "best_test": ("test_acc_best", "minority_acc_best"),
}


def row(found):
    config = {**CONFIG_DEFAULTS, **found.result["config"]}
    row = {"run_dir": str(found.folder.path)}
    for column, path in CONFIG_COLUMNS.items():
        value = config
        for key in path:
            value = value[key]
        row[column] = value
    row["improvements"] = improvements_of(config)  # beyond the paper, named in the row
    row["preset"] = method_slug(*method_of(config))  # its conf/method name (the settings spelled out where none)
    row["aug_policy"] = config["aug_model"].get("policy")  # aug_model=DADA's: search, or its table file
    row.update({column: found.result.get(column, float("nan")) for column in METRIC_COLUMNS})
    row["valid_held_out"] = found.result.get("valid_held_out", valid_held_out(config))  # older runs: from the config
    # everything the run computes but its seed: runs are averaged together only when these are equal
    settings = identity_settings(config, task.identity)
    del settings["seed"]
    row["settings"] = settings
    row["settings_key"] = json.dumps(settings, sort_keys=True, default=str)
    return row


def frame(rows):
    """The rows as a DataFrame, its columns in order (an empty one has them too)."""
    columns = ["run_dir", *CONFIG_COLUMNS, "improvements", "preset", "aug_policy", *METRIC_COLUMNS, "valid_held_out",
               "settings", "settings_key"]
    return pd.DataFrame(rows, columns=columns)


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
        cell=[cell_name(*key) for key in zip(runs["dataset"], runs["ir"], runs["nr"], runs["sr"], runs["nr_type"])],
    )
    return runs.assign(method=_variants(runs)) if len(runs) else runs


def summary_stats(runs, selection="final", minority=False, error=True):
    """The numbers behind ``summary_table``, tidy: a line per row (``method``: the paper's row name, with
    ``preset``, its conf/method name), model, epochs and cell (with its ``dataset``, ``ir``, ``nr`` and ``sr``): the
    ``mean``, ``std`` (ddof=1; NaN with one seed) and number of distinct ``seeds`` of the test error (or accuracy)
    in %."""
    column = SELECTIONS[selection][1 if minority else 0]
    runs = label_runs(runs).assign(value=100.0 - runs[column] if error else runs[column])
    return runs.groupby(["method", "model", "epochs", "cell"]).agg(
        preset=("preset", "first"), dataset=("dataset", "first"), ir=("ir", "first"), nr=("nr", "first"),
        nr_type=("nr_type", "first"),
        sr=("sr", "first"), mean=("value", "mean"), std=("value", "std"), seeds=("seed", "nunique")).reset_index()


def summary_table(runs, selection="final", minority=False, error=True):
    """Mean and std (ddof=1) over seeds of the test error (or accuracy), in %, of all classes or of the
    minority ones: a row per method (and model and epochs, so that runs of different budgets are never
    averaged together), a column per data set and IR-NR. Each cell reads ``mean ± std (seeds)``, seeds being the
    number of distinct seeds; with one seed there is no std: ``mean (1)``."""
    stats = summary_stats(runs, selection, minority, error)
    text = [mean_std_text(m, s, n) for m, s, n in zip(stats["mean"], stats["std"], stats["seeds"])]
    return stats.assign(text=text).set_index(["method", "model", "epochs", "cell"])["text"].unstack("cell").fillna("")


def table(runs):
    """The table a sweep prints at its end: test error, final epoch."""
    return summary_table(runs)
