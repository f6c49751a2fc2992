"""The active-learning task end to end (autodo.tasks.active_learning.task through launch.py and aggregate.py): every
acquisition function's run, its files and numbers, its identity, its resume after a kill, and its bad input."""

import json
import random
import sys

import pytest
from conftest import REPO, al_config, assert_refused, run_dirs

from autodo.registry import signature

DIGITS = ["task=active_learning", "dataset=digits", "dataset.epochs=4", "ir=10", "nr=0.1",
          "active_learning.initial=40", "active_learning.budget=30", "active_learning.iterations=2",
          "active_learning.min_steps=0", "device=cpu"]


def read(run_dir, name):
    return json.loads((run_dir / name).read_text())


def lines(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_every_acquisition_function_runs_end_to_end(run_launch, tmp_path):
    import torch

    run_launch("-m", *DIGITS, "active_learning.acquisition=random,entropy,varR,coreset,badge,fisher",
               "active_learning.pseudo_label=prediction,rotation", "active_learning.passes=3")
    folders = run_dirs(tmp_path / "outputs")
    assert len(folders) == 7  # pseudo_label is fisher's alone
    initial = None
    for folder in folders:
        rows, result = lines(folder), read(folder, "result.json")
        assert [row["labeled"] for row in rows] == [40, 70, 100] and result["labeled"] == 100
        assert result["test_acc"] == rows[-1]["test_acc"] and result["minority_acc"] == rows[-1]["minority_acc"]
        labeled = torch.load(folder / "checkpoint.pt", weights_only=True)["labeled"]
        assert len(set(labeled.tolist())) == 100 and int(labeled.max()) < result["pool_size"]
        # every acquisition function starts from the same random labels and the same first model
        initial = labeled[:40].tolist() if initial is None else initial
        assert labeled[:40].tolist() == initial
        assert rows[0]["test_acc"] == lines(folders[0])[0]["test_acc"]
    proc = run_launch_aggregate(tmp_path, "--figures", "--minority")
    assert proc.returncode == 0 and "fisher (rotation pseudo-labels)" in proc.stdout
    assert "100 labels" in proc.stdout and (tmp_path / "outputs" / "figures" / "active_learning_curves.png").exists()


def test_each_iterations_model_is_kept_for_inspection(run_launch, tmp_path):
    import numpy as np

    from autodo.inspection import final_test_features

    run_launch(*DIGITS, "active_learning.acquisition=entropy")
    (run_dir,) = run_dirs(tmp_path / "outputs")
    for row in lines(run_dir):  # each kept model gives its iteration's test accuracy
        _, predictions, labels = final_test_features(run_dir, tmp_path / "local_data", iteration=row["iteration"])
        assert 100.0 * np.mean(predictions == labels) == pytest.approx(row["test_acc"])
    proc = run_launch_aggregate(tmp_path, "--inspect", str(run_dir), "--iteration", "1")
    assert proc.returncode == 0, proc.stderr
    figures = tmp_path / "outputs" / "figures"
    assert {path.name for path in figures.iterdir()} == {f"confusion_{run_dir.name}_iteration1.png",
                                                         f"tsne_{run_dir.name}_iteration1.png"}
    proc = run_launch_aggregate(tmp_path, "--inspect", str(run_dir), "--iteration", "3")
    assert proc.returncode == 2 and "its iterations are 0 .. 2" in proc.stderr and proc.stderr.count("\n") == 1


def run_launch_aggregate(tmp_path, *args):
    import subprocess

    return subprocess.run([sys.executable, str(REPO / "aggregate.py"), str(tmp_path / "outputs"), *args],
                          capture_output=True, text=True, cwd=tmp_path)


def test_a_run_is_what_its_acquisition_function_computes():
    assert signature(al_config(acquisition="random", passes=3, pseudo_label="rotation", projection=16)) == signature(
        al_config(acquisition="random"))
    assert signature(al_config(passes=3)) == signature(al_config())  # fisher at predicted labels: no copies
    assert signature(al_config(pseudo_label="rotation", passes=3)) != signature(al_config(pseudo_label="rotation"))
    assert signature(al_config(acquisition="varR", passes=3)) != signature(al_config(acquisition="varR"))
    assert signature(al_config(acquisition="badge", projection=16)) != signature(al_config(acquisition="badge"))
    assert signature(al_config(retrain="warm")) != signature(al_config())
    assert signature(al_config(projection=16)) != signature(al_config())
    assert signature(al_config(acquisition="entropy", projection=16)) == signature(al_config(acquisition="entropy"))
    assert signature(al_config(init="rotation")) != signature(al_config())


KILLED = [*DIGITS, "active_learning.acquisition=fisher", "active_learning.retrain=warm",
          "active_learning.iterations=4", "active_learning.budget=20"]


def test_a_killed_run_resumes_at_its_iteration_and_ends_identical(tmp_path):
    from test_resume import kill_after, start

    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    reference_dir.mkdir(), killed_dir.mkdir()
    assert start(reference_dir, KILLED).wait(timeout=300) == 0
    (reference_run,) = run_dirs(reference_dir / "outputs")
    reference = read(reference_run, "result.json")
    killed_run = killed_dir / "outputs" / reference_run.name
    assert kill_after(start(killed_dir, KILLED), killed_run, 2, 0.2, random.Random(0))
    assert len(lines(killed_run)) < 5 and not (killed_run / "result.json").exists()
    assert start(killed_dir, KILLED).wait(timeout=300) == 0
    assert "resuming after iteration" in (killed_run / "launch.log").read_text()
    resumed = read(killed_run, "result.json")
    assert {k: v for k, v in resumed.items() if k != "wall_time_s"} == {
        k: v for k, v in reference.items() if k != "wall_time_s"}
    # every launch's work counted, the killed one's iterations included (the fault trial: 0.17 s after a resume
    # against 11.2 s uninterrupted, the last launch's alone)
    work = sum(row["train_time_s"] + row.get("acquisition_time_s", 0.0) for row in lines(killed_run))
    assert resumed["wall_time_s"] >= work > 0
    drop = ("train_time_s", "acquisition_time_s")
    assert [{k: v for k, v in row.items() if k not in drop} for row in lines(killed_run)] == [
        {k: v for k, v in row.items() if k not in drop} for row in lines(reference_run)]


@pytest.mark.parametrize("override, message", [
    ("active_learning.budget=2000", "the pool of this run has"),
    ("active_learning.iterations=0", "active_learning.iterations=0 is not allowed"),
    ("active_learning.acquisition=bald", "active_learning.acquisition='bald' is not allowed"),
    ("active_learning.budget=-5", "active_learning.budget=-5 is not allowed"),
    ("active_learning.initial=0", "active_learning.initial=0 is not allowed"),
    ("active_learning.passes=1", "active_learning.passes=1 is not allowed"),
    ("active_learning.retrain=maybe", "active_learning.retrain='maybe' is not allowed"),
    ("active_learning.init=imagenet", "active_learning.init='imagenet' is not allowed"),
    ("method=autodo", "is not allowed with task=active_learning"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(run_launch, tmp_path, override, message):
    assert_refused(run_launch(*DIGITS, override, check=False), message, tmp_path / "outputs")


def test_an_active_learning_setting_without_its_task_is_one_line(run_launch, tmp_path):
    assert_refused(run_launch("active_learning.budget=5", check=False), "add task=active_learning",
                   tmp_path / "outputs")


def test_warm_and_pretrained_starts_change_the_models_but_not_the_first_labels(run_launch, tmp_path):
    """Every stream is the seed's and the iteration's: runs that differ only in their models' start have the same
    first labeled set, and differ from the first model (init) or from the second (retrain=warm) on."""
    run_launch("-m", *DIGITS, "active_learning.acquisition=random", "active_learning.init=random,rotation",
               "active_learning.retrain=scratch,warm")
    runs = {(read(run, "result.json")["config"]["active_learning"]["init"],
             read(run, "result.json")["config"]["active_learning"]["retrain"]): lines(run)
            for run in run_dirs(tmp_path / "outputs")}
    base = runs[("random", "scratch")]
    assert [row["labeled"] for row in runs[("random", "warm")]] == [row["labeled"] for row in base]
    assert runs[("random", "warm")][0]["test_acc"] == base[0]["test_acc"]  # the first model starts afresh too
    assert [row["test_acc"] for row in runs[("random", "warm")][1:]] != [row["test_acc"] for row in base[1:]]
    assert runs[("rotation", "scratch")][0]["test_acc"] != base[0]["test_acc"]


def test_the_benchmarks_sweeps_pass_the_checks():
    sys.path.insert(0, str(REPO / "bench"))
    import active_learning

    from autodo.config import check_overrides

    for sweep in active_learning.SWEEPS:
        check_overrides(["-m", *sweep, "out_dir=x"], REPO / "conf")


def test_by_default_a_model_of_a_few_labels_makes_a_thousand_sgd_steps(run_launch, tmp_path):
    """Issue 31, item 8: the default min_steps of 0 trained about 10 SGD steps on 50 labels (10.8% accuracy)."""
    defaults = [arg for arg in DIGITS
                if not arg.startswith(("active_learning.min_steps", "active_learning.iterations"))]
    run_launch(*defaults, "active_learning.iterations=1")
    (run_dir,) = run_dirs(tmp_path / "outputs")
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    batch = read(run_dir, "result.json")["config"]["dataset"]["batch_size"]
    steps = [-(-row["labeled"] // batch) for row in rows]  # an epoch's steps: 40 and 70 labels are a batch or two
    assert [row["labeled"] for row in rows] == [40, 70]
    assert [row["epochs"] for row in rows] == [-(-1000 // step) for step in steps]
