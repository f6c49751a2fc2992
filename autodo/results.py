"""Finished runs under one or more folders, as a pandas DataFrame (one row per run)."""

import json
from pathlib import Path

import pandas as pd

CONFIG_COLUMNS = {
    "dataset": ("dataset", "name"), "model": ("model", "name"), "aug_model": ("aug_model", "name"),
    "los_model": ("los_model", "name"), "hyper_opt": ("hyper_opt", "name"),
    "ir": ("ir",), "nr": ("nr",), "sr": ("sr",), "seed": ("seed",),
}
METRIC_COLUMNS = ["epochs", "test_acc_final", "test_acc_best", "test_acc_at_best_valid", "majority_acc",
                  "minority_acc", "wall_time_s"]


def _row(run_dir, result):
    row = {"run_dir": str(run_dir)}
    for column, path in CONFIG_COLUMNS.items():
        value = result["config"]
        for key in path:
            value = value[key]
        row[column] = value
    row.update({column: result[column] for column in METRIC_COLUMNS})
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
