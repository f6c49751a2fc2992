"""The subsample task's table (autodo.tasks.subsample.report) and aggregate.py's choice of task."""

import statistics
import sys

from conftest import REPO, run_config, subsample_config

from autodo.results import load_runs
from autodo.registry import open_run
from autodo.tasks.subsample.report import table

sys.path.insert(0, str(REPO))
import aggregate  # noqa: E402


def make_run(out, config, acc):
    folder = open_run(config, out)
    folder.write_result({"config": config, "test_acc": acc, "augmented_share": config["subsample"]["budget"]})
    return folder


def test_the_table_averages_seeds_per_policy_and_budget(tmp_path):
    accuracies = {("random", 0.1): [70.0, 72.0, 75.0], ("loss", 0.1): [80.0, 81.0, 83.0], ("loss", 0.2): [85.0]}
    for (policy, budget), values in accuracies.items():
        for seed, acc in enumerate(values):
            make_run(tmp_path, {**subsample_config(policy=policy, budget=budget), "seed": seed}, acc)
    make_run(tmp_path, subsample_config(policy="none", budget=0.3), 60.0)
    make_run(tmp_path, subsample_config(policy="loss", budget=0.1, stratify=True), 77.0)
    runs, skipped = load_runs([tmp_path], task="subsample")
    assert len(runs) == 9 and not skipped
    summary = table(runs)
    row = summary.xs("random", level="policy_name").iloc[0]
    values = accuracies[("random", 0.1)]
    assert row["budget 0.1"] == f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f} (3)"
    assert summary.xs("loss", level="policy_name").iloc[0]["budget 0.2"] == "85.00 (1)"
    assert summary.xs("none", level="policy_name").iloc[0]["budget 0"] == "60.00 (1)"  # no augmentation: budget 0
    assert summary.xs("loss (per class)", level="policy_name").iloc[0]["budget 0.1"] == "77.00 (1)"


def test_aggregate_shows_the_task_asked_and_says_what_it_left_out(tmp_path, capsys):
    from conftest import al_config, write_active_learning_run

    make_run(tmp_path, subsample_config(policy="random"), 70.0)
    make_run(tmp_path, subsample_config(policy="loss"), 72.0)
    write_active_learning_run(tmp_path, al_config(iterations=0), [60.0])
    config = run_config()
    open_run(config, tmp_path).write_result({"config": config, "epochs": 3, "test_acc_final": 90.0})
    assert aggregate.main([str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "Baseline" in out and "random" not in out  # training runs by default
    # every other task named (active learning was hidden behind "--task subsample shows them")
    assert ("3 runs of other tasks not shown (2 task=subsample: --task subsample shows them; 1 task=active_learning: "
            "--task active_learning shows them)") in err
    assert aggregate.main([str(tmp_path), "--task", "subsample"]) == 0
    out, err = capsys.readouterr()
    assert "random" in out and "Baseline" not in out and "2 finished task=subsample runs" in err
    # a folder of subsample runs only: its table without asking
    (tmp_path / "subsample").mkdir()
    make_run(tmp_path / "subsample", subsample_config(policy="loss"), 75.0)
    assert aggregate.main([str(tmp_path / "subsample")]) == 0
    assert "loss" in capsys.readouterr().out
