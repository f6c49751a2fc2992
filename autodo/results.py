"""Finished runs under one or more folders, as a pandas DataFrame (one row per run)."""

import json
from pathlib import Path

import pandas as pd

CONFIG_COLUMNS = {
    "dataset": ("dataset", "name"), "model": ("model", "name"), "aug_model": ("aug_model", "name"),
    "los_model": ("los_model", "name"), "hyper_opt": ("hyper_opt", "name"),
    "ir": ("ir",), "nr": ("nr",), "sr": ("sr",), "seed": ("seed",),
    "train_on_valid": ("train_on_valid",), "head_refit": ("head_refit",),
}
# top-level settings that runs written before they existed lack: their value then
CONFIG_DEFAULTS = {"train_on_valid": False, "head_refit": False}
METRIC_COLUMNS = ["epochs", "test_acc_final", "test_acc_best", "test_acc_at_best_valid", "majority_acc",
                  "minority_acc", "minority_acc_best", "minority_acc_at_best_valid", "wall_time_s"]


def _row(run_dir, result):
    row = {"run_dir": str(run_dir)}
    config = {**CONFIG_DEFAULTS, **result["config"]}
    for column, path in CONFIG_COLUMNS.items():
        value = config
        for key in path:
            value = value[key]
        row[column] = value
    row["test_acc_final"] = result["test_acc_final"]  # every finished run has it
    row.update({column: result.get(column, float("nan")) for column in METRIC_COLUMNS})
    return row


def load_runs(folders):
    """Return ``(runs, skipped)``: a row per folder holding a readable ``result.json``, and the number of run
    folders (holding a ``.hydra`` config) that are unfinished, failed or corrupt."""
    rows, skipped = [], 0
    for folder in folders:
        for config in sorted(Path(folder).rglob(".hydra/config.yaml")):
            run_dir = config.parent.parent
            try:
                rows.append(_row(run_dir, json.loads((run_dir / "result.json").read_text())))
            except (OSError, ValueError, KeyError, TypeError):
                skipped += 1
    return pd.DataFrame(rows, columns=["run_dir", *CONFIG_COLUMNS, *METRIC_COLUMNS]), skipped


# paper row names of (aug_model, los_model, hyper_opt), and of the simple baselines beside them
PAPER_ROWS = {
    ("NONE", "NONE", "NONE"): "Baseline",
    ("RAND", "NONE", "NONE"): "RAA",
    ("AUTO", "NONE", "NONE"): "FAA",
    ("DADA", "NONE", "NONE"): "DADA",
    ("TRIVIAL", "NONE", "NONE"): "TrivialAugment",
    ("NONE", "LA", "NONE"): "logit-adjusted CE",
    ("NONE", "CB", "NONE"): "class-balanced CE",
    ("SHA", "NONE", "HES"): "lambda^A_SHA",
    ("SEP", "NONE", "HES"): "lambda^A",
    ("SEP", "WGHT", "HES"): "lambda^{A,W}",
    ("SEP", "BOTH", "HES"): "lambda^{A,W,S}",
    ("SEP", "BOTH", "UNROLL"): "lambda^{A,W,S} UNROLL",
    ("SEP", "BOTH", "NONE"): "lambda^{A,W,S} frozen (no hyper steps)",
}
# (accuracy over all classes, accuracy of the minority classes) under each selection rule
SELECTIONS = {
    "final": ("test_acc_final", "minority_acc"),
    "best_valid": ("test_acc_at_best_valid", "minority_acc_at_best_valid"),
    "best_test": ("test_acc_best", "minority_acc_best"),
}


def method_name(aug_model, los_model, hyper_opt, train_on_valid=False, head_refit=False):
    """The row name; how a run used the clean validation set besides hyper steps is a suffix."""
    name = PAPER_ROWS.get((aug_model, los_model, hyper_opt), f"{aug_model}+{los_model}+{hyper_opt}")
    return name + (" + valid in train" if train_on_valid else "") + (" + head refit on valid" if head_refit else "")


def cell_name(dataset, ir, nr, sr=1.0):
    """A table column: the data set and IR-NR as the paper writes them (100-0.0, 10-0.1), and the subsampling
    ratio where it is not 1 (runs on different shares of the train split are never averaged together)."""
    name = f"{dataset} {ir:g}-{nr:.1f}" if round(nr, 1) == nr else f"{dataset} {ir:g}-{nr:g}"
    return name if sr == 1 else f"{name} sr {sr:g}"


def label_runs(runs):
    """``runs`` with a ``method`` column (the paper's row name) and a ``cell`` column (data set IR-NR, SR)."""
    return runs.assign(
        method=[method_name(*key) for key in zip(runs["aug_model"], runs["los_model"], runs["hyper_opt"],
                                                 runs["train_on_valid"], runs["head_refit"])],
        cell=[cell_name(*key) for key in zip(runs["dataset"], runs["ir"], runs["nr"], runs["sr"])],
    )


def summary_table(runs, selection="final", minority=False, error=True):
    """Mean and std (ddof=1) over seeds of the test error (or accuracy), in %, of all classes or of the
    minority ones: a row per method (and model and epochs, so that runs of different budgets are never
    averaged together), a column per data set and IR-NR. Each cell reads ``mean ± std (seeds)``."""
    column = SELECTIONS[selection][1 if minority else 0]
    runs = label_runs(runs).assign(value=100.0 - runs[column] if error else runs[column])
    stats = runs.groupby(["method", "model", "epochs", "cell"])["value"].agg(["mean", "std", "count"])
    text = [f"{m:.2f} ± {s:.2f} ({n})" for m, s, n in zip(stats["mean"], stats["std"].fillna(0.0), stats["count"])]
    return stats.assign(text=text)["text"].unstack("cell").fillna("")
