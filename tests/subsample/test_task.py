"""The subsample task end to end (autodo.tasks.subsample.task through launch.py): its runs, the shared feature network,
the selection it records, its identity, its bad input, and its table."""

import json
import statistics
import subprocess
import sys

import pytest
from conftest import REPO, assert_refused, run_config, run_dirs, subsample_config

from autodo.registry import run_name, signature

DIGITS = ["task=subsample", "dataset=digits", "dataset.epochs=3", "subsample.classes=[1,7]"]


def read(run_dir, name):
    return json.loads((run_dir / name).read_text())


def test_a_sweep_runs_each_policy_once_on_one_shared_feature_network(run_launch, tmp_path):
    proc = run_launch("-m", *DIGITS, "subsample.policy=none,all,random,loss,influence", "subsample.budget=0.1,0.2",
                      "subsample.selection=top")
    folders = run_dirs(tmp_path / "outputs")
    # none and all do not depend on the budget: 2 + 3 policies x 2 budgets
    assert len(folders) == 8 and proc.stdout.count("launched once") == 2
    assert len(list((tmp_path / "local_data" / "digits" / "run0").glob("features-*.pt"))) == 1
    logs = "".join((folder / "launch.log").read_text() for folder in folders)
    assert logs.count("feature network trained (") == 1 and logs.count("feature network cached") == 7
    for folder in folders:
        result, selection = read(folder, "result.json"), read(folder, "selection.json")
        policy, budget = result["config"]["subsample"]["policy"], result["config"]["subsample"]["budget"]
        expected = {"none": 0, "all": result["train_size"]}.get(policy, round(budget * result["train_size"]))
        assert result["augmented_count"] == len(selection["position"]) == expected
        assert len(set(selection["position"])) == expected  # no point picked twice
        if policy in ("loss", "influence"):  # the top scores of every point, in order
            every = selection["first_round_scores"]
            top = sorted(range(len(every)), key=lambda i: -every[i])[:expected]
            assert sorted(selection["position"]) == sorted(top)
            assert selection["score"] == sorted(selection["score"], reverse=True)
        assert 50 < result["test_acc"] <= 100 and result["test_acc"] == result["test_acc_augmented"]
    # the sweep's table is the subsample task's
    assert "finished task=subsample runs" in proc.stdout and "influence" in proc.stdout

    table = subprocess.run([sys.executable, str(REPO / "aggregate.py"), "outputs", "--figures"], cwd=tmp_path,
                           capture_output=True, text=True, check=True)
    assert "budget 0.1" in table.stdout and "budget 0.2" in table.stdout and "random" in table.stdout
    assert (tmp_path / "outputs" / "figures" / "subsample_budget.png").stat().st_size > 10_000


def test_rescoring_rounds_and_proportional_draws(run_launch, tmp_path):
    run_launch(*DIGITS, "subsample.policy=influence", "subsample.budget=20", "subsample.rounds=2",
               "subsample.selection=proportional", "subsample.augmentation=rotate", "subsample.evaluate=clean")
    (folder,) = run_dirs(tmp_path / "outputs")
    selection, result = read(folder, "selection.json"), read(folder, "result.json")
    assert selection["round"] == [1] * 10 + [2] * 10 and result["augmented_count"] == 20
    assert len(set(selection["position"])) == 20  # the second round picks among the points not yet picked
    # drawn in proportion to the score: the first round's picks score above the average point
    every = selection["first_round_scores"]
    assert statistics.mean(every[p] for p in selection["position"][:10]) > 2 * statistics.mean(every)
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert [row["augmented"] for row in rows] == [10, 20]
    assert result["test_acc"] == result["test_acc_clean"]


def test_a_run_is_what_its_policy_computes():
    reference = signature(subsample_config(policy="none"))
    assert signature(subsample_config(policy="none", budget=0.3, rounds=2)) == reference
    # tested on rotated images; its result also holds the accuracy on them when judged on clean ones
    assert signature(subsample_config(policy="none", augmentation="rotate")) != reference
    assert signature(subsample_config(policy="none", evaluate="clean")) != signature(
        subsample_config(policy="none", evaluate="clean", augmentation="rotate"))
    assert signature(subsample_config(policy="all", budget=0.5)) == signature(subsample_config(policy="all"))
    assert signature(subsample_config(policy="random", selection="proportional")) == signature(
        subsample_config(policy="random"))
    assert signature(subsample_config(selection="proportional")) != signature(subsample_config())
    # the whole network trained on random points: the logistic head's settings play no part
    assert signature(subsample_config(policy="random", head="network", l2=0.5, copies=2)) == signature(
        subsample_config(policy="random", head="network"))
    assert signature(subsample_config(head="network", l2=0.5)) != signature(subsample_config(head="network"))
    # training settings a subsample run does not read
    assert signature(subsample_config(**{})) == signature({**subsample_config(), "train_on_valid": True})
    assert run_name(subsample_config(classes=[0, 6])).startswith("digits-ir1-nr0-subsample-c0+6-translate-loss0.1-")


def test_picking_per_class_is_a_setting_of_the_policies_with_a_budget():
    # the signature of this config before subsample.stratify existed: those run folders keep their names
    assert signature(subsample_config()) == signature(subsample_config(stratify=False)) == (
        "b089acf9fdf9eb2fca9e6136fcf88fb882a664c63e1225e9b6af8f79f1918424")
    for policy in ("random", "loss", "influence"):
        assert signature(subsample_config(policy=policy, stratify=True)) != signature(subsample_config(policy=policy))
    for policy in ("none", "all"):
        assert signature(subsample_config(policy=policy, stratify=True)) == signature(subsample_config(policy=policy))


def test_training_runs_keep_their_identity():
    # the signature of this config before tasks existed: training run folders keep their names
    assert signature(run_config()) == "a69ce3c10a068ac4e425856585173df0c4beaba55d998be501b14aa63883b286"
    assert signature(run_config(task="train")) == signature(run_config())


@pytest.mark.parametrize("override, message", [
    ("subsample.budget=-0.1", "subsample.budget=-0.1 is not allowed"),
    ("subsample.budget=abc", "subsample.budget='abc' is not allowed"),
    ("subsample.budget=1.0", "subsample.budget=1.0 is not allowed"),
    ("subsample.budget=2.5", "subsample.budget=2.5 is not allowed"),
    ("subsample.budget=5000", "the train set of this run has"),
    ("subsample.policy=best", "subsample.policy='best' is not allowed"),
    ("subsample.classes=[1,11]", "digits's classes are 0 .. 9"),
    ("subsample.classes=[7,1]", "in increasing order"),
    ("subsample.classes=[1,1]", "in increasing order"),
    ("subsample.rounds=0", "subsample.rounds=0 is not allowed"),
    ("subsample.stratify=maybe", "subsample.stratify='maybe' is not allowed"),
    ("subsample.copies=0", "subsample.copies=0 is not allowed"),
    ("subsample.l2=0", "subsample.l2=0 is not allowed"),
    ("subsample.augmentation=flip", "subsample.augmentation='flip' is not allowed"),
    ("subsample.head=network", "is not allowed with subsample.head=network"),
    ("method=autodo", "is not allowed with task=subsample"),
    ("los_model.prior_correction=logit_adjust", "los_model.prior_correction='logit_adjust' is not allowed with"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(run_launch, tmp_path, override, message):
    assert_refused(run_launch(*DIGITS, override, check=False), message, tmp_path / "outputs")


def test_a_sweep_with_a_budget_above_a_jobs_train_set_stops_before_its_first_job(run_launch, tmp_path):
    proc = run_launch("-m", *DIGITS, "subsample.budget=10,5000", check=False)
    assert proc.returncode == 2 and "subsample.budget=5000 is not allowed: the train set of this run has" in proc.stderr
    assert not (tmp_path / "outputs").exists()


def test_a_task_setting_without_its_task_is_one_line(run_launch, tmp_path):
    proc = run_launch("subsample.policy=loss", check=False)
    assert proc.returncode == 2 and proc.stderr.strip() == (
        "error: subsample.policy is a setting of task=subsample, not of task=train: add task=subsample")


def test_a_class_set_without_minority_classes_reports_none(run_launch, tmp_path):
    proc = run_launch("task=subsample", "dataset=digits", "dataset.epochs=2", "subsample.classes=[0,1]")
    (folder,) = run_dirs(tmp_path / "outputs")
    result = read(folder, "result.json")
    assert "minority_acc" not in result and result["majority_acc"] == pytest.approx(
        statistics.mean(result["test_per_class_acc"]))
    assert "minority" not in proc.stdout.splitlines()[-1]


NETWORK = ["task=subsample", "dataset=digits", "dataset.epochs=4", "dataset.batch_size=16", "ir=10", "nr=0.1",
           "subsample.head=network", "subsample.policy=influence", "device=cpu"]
TIMES = ("wall_time_s", "feature_network_time_s", "feature_network_cached", "features_time_s", "scoring_time_s")


def test_network_head_trains_with_the_selected_points_augmented_and_resumes_exactly(tmp_path):
    from test_resume import kill_after, start

    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    reference_dir.mkdir(), killed_dir.mkdir()
    assert start(reference_dir, NETWORK).wait(timeout=300) == 0
    (reference_run,) = run_dirs(reference_dir / "outputs")
    reference = read(reference_run, "result.json")
    rows = [json.loads(line) for line in (reference_run / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and reference["test_acc_final"] == rows[-1]["test_acc"]
    assert reference["augmented_count"] == round(0.1 * reference["train_size"])
    # the wrong labels have the largest influence: influence picks them more often than they occur
    assert reference["augmented_wrong_share"] > 1.5 * reference["train_wrong_share"]

    import random

    assert kill_after(start(killed_dir, NETWORK), killed_dir / "outputs" / reference_run.name, 2, 0.3,
                      random.Random(0))
    assert start(killed_dir, NETWORK).wait(timeout=300) == 0
    resumed = read(killed_dir / "outputs" / reference_run.name, "result.json")
    assert {k: v for k, v in resumed.items() if k not in TIMES} == {
        k: v for k, v in reference.items() if k not in TIMES}
