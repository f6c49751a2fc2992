"""The active-learning table (autodo.tasks.active_learning.report): curves averaged over seeds, and the labels to reach
random's final accuracy."""

import math
import statistics

import pytest
from conftest import al_config, write_active_learning_run

from autodo.tasks.active_learning.report import labels_needed, table
from autodo.results import load_runs


def test_labels_needed_interpolates_between_the_curves_points():
    assert labels_needed([100, 200, 300], [50.0, 60.0, 80.0], 70.0) == pytest.approx(250.0)
    assert labels_needed([100, 200, 300], [75.0, 80.0, 90.0], 70.0) == 100.0
    assert math.isnan(labels_needed([100, 200, 300], [50.0, 60.0, 65.0], 70.0))  # never reached


def make_run(out, acquisition, seed, accuracies):
    write_active_learning_run(out, {**al_config(acquisition=acquisition, iterations=2), "seed": seed}, accuracies)


def test_the_table_averages_seeds_and_says_what_random_s_final_accuracy_costs(tmp_path):
    make_run(tmp_path, "random", 0, [50.0, 60.0, 70.0])
    make_run(tmp_path, "random", 1, [52.0, 62.0, 72.0])
    make_run(tmp_path, "fisher", 0, [50.0, 70.0, 80.0])
    make_run(tmp_path, "fisher", 1, [52.0, 72.0, 84.0])
    runs, skipped = load_runs([tmp_path], task="active_learning")
    assert len(runs) == 4 and not skipped
    summary = table(runs)
    fisher = summary.xs("fisher", level="acquisition_name").iloc[0]
    assert fisher["200 labels"] == f"71.00 ± {statistics.stdev([70.0, 72.0]):.2f} (2)"
    # random's final mean is 71.0: fisher's mean curve (51, 71, 82) reaches it at 200 labels, a third fewer
    assert fisher["labels to reach random's final"] == "200" and fisher["saving against random"] == "33%"
    assert summary.xs("random", level="acquisition_name").iloc[0]["saving against random"] == "0%"
    minority = table(runs, "minority").xs("fisher", level="acquisition_name").iloc[0]
    assert minority["300 labels"] == "41.00 ± 1.41 (2)"


def test_random_reads_its_own_label_count_and_no_saving_when_its_curve_is_not_monotone(tmp_path):
    """Issue 31, item 8: random's curve passed its own final mean at 200 of 300 labels ("saves 33% against itself")."""
    make_run(tmp_path, "random", 0, [50.0, 75.0, 70.0])
    random = table(load_runs([tmp_path], task="active_learning")[0]).xs("random", level="acquisition_name").iloc[0]
    assert random["labels to reach random's final"] == "300" and random["saving against random"] == "0%"


def test_the_tidy_export_of_the_curves_reads_back_as_numbers(tmp_path, capsys):
    import io

    import pandas as pd

    import aggregate

    make_run(tmp_path, "fisher", 0, [50.0, 70.0, 80.0])
    make_run(tmp_path, "fisher", 1, [52.0, 72.0, 84.0])
    assert aggregate.main([str(tmp_path), "--format", "jsonl"]) == 0
    frame = pd.read_json(io.StringIO(capsys.readouterr().out), lines=True).set_index("labeled")
    assert list(frame.index) == [100, 200, 300] and set(frame["acquisition"]) == {"fisher"}
    assert frame.loc[300, "mean"] == 82.0 and frame.loc[300, "std"] == pytest.approx(statistics.stdev([80.0, 84.0]))
    assert frame.loc[300, "seeds"] == 2 and frame.loc[300, "value"] == "test accuracy (%)"
