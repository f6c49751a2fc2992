"""Confident learning (autodo.tasks.train.cleaning): end to end on digits, the cleaned split, resume of the folds,
identity."""

import json

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from autodo.io import atomic_torch_save
from autodo.run_folder import RunFolder
from autodo.registry import read_run
from conftest import launch, run_config, run_dirs
from fakes import write_image_folder

NOISY = ["dataset=digits", "ir=1", "nr=0.3", "dataset.epochs=8", "label_cleaning.folds=3", "device=cpu"]


# the tests that share the module's fixture run on one pytest worker: under pytest -n each worker would make it anew
CLEANED_RUNS = pytest.mark.xdist_group("test_cleaning-cleaned_runs")


@pytest.fixture(scope="module")
def cleaned_runs(tmp_path_factory):
    """The Baseline and confident learning (remove) on one noisy digits cell."""
    cwd = tmp_path_factory.mktemp("cleaning")
    launch("-m", *NOISY, "method=baseline,confident_learning", cwd=cwd)
    folders = {json.loads((path / "result.json").read_text())["config"]["label_cleaning"]["action"]: path
               for path in run_dirs(cwd / "outputs")}
    return cwd, folders


@CLEANED_RUNS
def test_the_labels_found_are_mostly_wrong_and_the_run_trains_without_them(cleaned_runs):
    _, folders = cleaned_runs
    record = json.loads((folders["remove"] / "cleaning.json").read_text())
    split = json.loads((folders["remove"] / "split.json").read_text())
    baseline_split = json.loads((folders["none"] / "split.json").read_text())
    result = json.loads((folders["remove"] / "result.json").read_text())
    # out-of-sample predictions find the noise: far more of the labels found are wrong than the 27% of all labels
    # that are (probabilities put at the wrong positions would find wrong labels at that rate)
    assert record["found"] >= 0.5 * record["wrong"]
    assert record["found_wrong"] >= 0.7 * record["found"]
    assert record["wrong"] == sum(given != clean for given, clean in zip(*_train_labels(folders["none"])))
    assert split["train_size"] == baseline_split["train_size"] - record["found"]
    assert result["label_issues"] == record["found"] and result["cleaning_time_s"] == record["time_s"] > 0
    # the cleaning's cost counted once: beside the epochs, only the run's own set-up
    epochs = sum(row["epoch_time_s"] for row in map(json.loads, (folders["remove"] / "metrics.jsonl").open()))
    assert 0 < result["wall_time_s"] - epochs - record["time_s"] < 0.5 * record["time_s"]
    assert not (folders["none"] / "cleaning.json").exists()


@CLEANED_RUNS
def test_relabel_keeps_every_sample_and_sets_the_predicted_class(cleaned_runs):
    _, folders = cleaned_runs
    record = json.loads((folders["remove"] / "cleaning.json").read_text())
    assert record["predicted_right"] > 0.7 * record["found_wrong"]
    given, clean = _train_labels(folders["none"])
    relabelled, _ = _train_labels(folders["remove"], action="relabel")
    expected = given.clone()
    expected[record["positions"]] = torch.tensor(record["predicted"])
    assert torch.equal(relabelled, expected)
    fixed = (relabelled == clean).sum() - (given == clean).sum()
    assert fixed == record["predicted_right"] - (record["found"] - record["found_wrong"])
    assert fixed > 0.5 * record["found_wrong"]


@CLEANED_RUNS
def test_the_rows_are_named_and_the_run_folder_rebuilds_the_cleaned_model(cleaned_runs):
    from autodo.inspection import final_test_features
    from autodo.results import load_runs
    from autodo.tasks.train.report import label_runs

    cwd, folders = cleaned_runs
    runs, _ = load_runs([cwd / "outputs"])
    assert sorted(label_runs(runs)["method"]) == ["Baseline", "Baseline + confident learning (remove)"]
    result = json.loads((folders["remove"] / "result.json").read_text())
    _, predictions, labels = final_test_features(folders["remove"], cwd / "local_data", torch.device("cpu"))
    assert 100 * (predictions == labels).mean() == pytest.approx(result["test_acc_final"])


@CLEANED_RUNS
def test_a_requeued_run_trains_no_fold_again_and_a_seed_mate_none(cleaned_runs, tmp_path, monkeypatch):
    """The folds are cached beside the split as each is done: a run killed after two of three trains only the third
    and ends with the probabilities of a run never killed; a seed-mate that relabels trains none. Each counts the
    folds' whole cost."""
    import contextlib
    import time

    import autodo.tasks.train.cleaning as cleaning
    import autodo.model_cache as model_cache
    from autodo.registry import open_run

    cwd, folders = cleaned_runs
    cfg = _config(folders["remove"])
    trained = []

    def fold_probabilities(cfg, data, fit, held_out, device, fold):  # a stand-in model: sure of the given label
        trained.append(fold)
        labels = data.train_loader.dataset.labels[held_out]
        return torch.nn.functional.one_hot(labels, cfg.dataset.num_classes).float() * 0.9 + 0.01

    def killed_after_two_folds(*args):
        if len(trained) == 2:
            raise KeyboardInterrupt
        return fold_probabilities(*args)

    def cached_folds(data_root):
        (path,) = (data_root / "digits" / "run0").glob("cleaning-folds-*.pt")
        return path

    config = read_run(RunFolder(folders["remove"]))["config"]
    whole, requeued = open_run(config, tmp_path / "whole"), open_run(config, tmp_path / "requeued")
    whole_data, data = tmp_path / "whole_data", tmp_path / "data"  # each its own cache
    monkeypatch.setattr(cleaning, "_fold_probabilities", fold_probabilities)
    cleaning.run_label_issues(cfg, whole, whole_data)
    trained.clear()
    monkeypatch.setattr(cleaning, "_fold_probabilities", killed_after_two_folds)
    with pytest.raises(KeyboardInterrupt):
        cleaning.run_label_issues(cfg, requeued, data)
    saved = torch.load(cached_folds(data))
    assert not requeued.file(cleaning.CLEANING).exists() and saved["done"] == [0, 1]
    atomic_torch_save(cached_folds(data), {**saved, "time_s": 1000.0})  # as if the first launch's folds took that long
    monkeypatch.setattr(cleaning, "_fold_probabilities", fold_probabilities)
    issues = cleaning.run_label_issues(cfg, requeued, data)
    assert trained == [0, 1, 2]
    assert torch.equal(torch.load(cached_folds(data))["probabilities"],
                       torch.load(cached_folds(whole_data))["probabilities"])
    assert issues.positions.tolist() == json.loads(requeued.file(cleaning.CLEANING).read_text())["positions"] == []  # all trusted
    assert 1000 < issues.time_s < 1000 + json.loads(whole.file(cleaning.CLEANING).read_text())["time_s"] + 60
    trained.clear()
    assert cleaning.run_label_issues(cfg, requeued, data).positions.tolist() == [] and trained == []

    @contextlib.contextmanager
    def held_by_a_seed_mate(path):  # the lock is free only after 2 s: the wait is not the folds' cost
        time.sleep(2)
        yield

    monkeypatch.setattr(model_cache, "held", held_by_a_seed_mate)
    relabel = OmegaConf.merge(cfg, {"label_cleaning": {"action": "relabel"}})
    mate = open_run(OmegaConf.to_container(relabel), tmp_path / "relabel")
    assert 1000 < cleaning.run_label_issues(relabel, mate, data).time_s < 1001.5 and trained == []
    other_folds = OmegaConf.merge(cfg, {"label_cleaning": {"folds": 2}})  # another cross-validation
    cleaning.run_label_issues(other_folds, open_run(OmegaConf.to_container(other_folds), tmp_path / "two"), data)
    assert trained == [0, 1]


@pytest.mark.parametrize("change, shared", [
    ({"nr": 0.2}, False), ({"model": {"name": "small_cnn", "width": 2}}, False), ({"optim": {"weight_decay": 0}}, False),
    ({"dataset": {"epochs": 3}}, False), ({"seed": 1}, False), ({"label_cleaning": {"folds": 4}}, False),
    ({"label_cleaning": {"action": "relabel"}}, True), ({"train_on_valid": True}, True), ({"head_refit": True}, True),
    ({"aug_model": {"name": "SEP"}, "hyper_opt": {"name": "HES"}}, True), ({"num_workers": 2}, True),
])
def test_the_folds_are_shared_by_the_runs_they_do_not_differ_for(tmp_path, change, shared):
    """The folds' cache is keyed by what trains them: another cell, seed, model, optimiser, budget or number of folds
    is another cross-validation; what the run does with the labels found, its method or its loader is not."""
    from autodo.tasks.train.cleaning import folds_cache

    cfg = OmegaConf.create(run_config(optim={"momentum": 0.9, "weight_decay": 1e-4}, amp=False, oversplit=False,
                                      label_cleaning={"action": "remove", "folds": 3}))
    path, key = folds_cache(cfg, tmp_path)
    other_path, other_key = folds_cache(OmegaConf.merge(cfg, change), tmp_path)
    assert (other_path == path and other_key == key) == shared


def test_the_folds_are_the_same_whatever_num_workers_on_a_resizing_data_set(tmp_path):
    """A resizing data set's random crop draws from each fold's own stream, not from the loading process's."""
    rng = np.random.default_rng(0)
    write_image_folder(tmp_path / "inet" / "train", 4, 8, rng)
    write_image_folder(tmp_path / "inet" / "val", 4, 2, rng)
    probabilities = []
    for workers in (0, 2):
        launch("dataset=imagenet", f"dataset.path={tmp_path / 'inet'}", "dataset.num_classes=4",
               "dataset.valid_size=0.25", "dataset.resize=20", "dataset.crop=16", "model=small_cnn",
               "dataset.epochs=2", "dataset.batch_size=4", "eval_batch_size=3", "nr=0.3",
               "method=confident_learning", "label_cleaning.folds=2", f"num_workers={workers}",
               f"data_root={tmp_path / f'data{workers}'}", f"out_dir={tmp_path / f'out{workers}'}", cwd=tmp_path)
        (cached,) = (tmp_path / f"data{workers}" / "imagenet" / "run0").glob("cleaning-folds-*.pt")
        probabilities.append(torch.load(cached)["probabilities"])
    assert probabilities[0].sum() > 0 and torch.equal(*probabilities)


@CLEANED_RUNS
def test_the_validation_set_never_joins_the_cross_validation(cleaned_runs, tmp_path, monkeypatch):
    import autodo.tasks.train.cleaning as cleaning
    from autodo.registry import open_run

    cwd, folders = cleaned_runs
    cfg = _config(folders["remove"])
    cfg.train_on_valid = True
    sizes = []
    monkeypatch.setattr(cleaning, "_fold_probabilities", lambda cfg, data, fit, held_out, device, fold:
                        sizes.append(len(fit) + len(held_out)) or torch.full((len(held_out), 10), 0.1))
    folder = open_run(OmegaConf.to_container(cfg), tmp_path)
    cleaning.run_label_issues(cfg, folder, tmp_path / "data")  # a cache of its own: the folds are trained
    split = json.loads((folders["none"] / "split.json").read_text())
    assert sizes == [split["train_size"]] * 3


def test_more_folds_than_the_largest_class_is_one_line(tmp_path):
    proc = launch("dataset=digits", "method=confident_learning", "label_cleaning.folds=1000", cwd=tmp_path,
                  check=False)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "error: label_cleaning.folds=1000 is not allowed: the train subset's largest class has 116 samples (folds "
        "must be at most that)"]
    assert list(tmp_path.iterdir()) == []


def test_label_cleaning_is_in_a_run_s_identity_only_when_it_cleans():
    from autodo.registry import signature

    baseline = signature(run_config())
    assert signature(run_config(label_cleaning={"action": "none", "folds": 7})) == baseline  # folders kept
    removing = signature(run_config(label_cleaning={"action": "remove", "folds": 4}))
    assert removing != baseline
    assert signature(run_config(label_cleaning={"action": "remove", "folds": 5})) != removing
    assert signature(run_config(label_cleaning={"action": "relabel", "folds": 4})) != removing


@pytest.mark.parametrize("override, message", [
    ("label_cleaning.action=prune", "label_cleaning.action='prune' is not allowed: label_cleaning.action must be one "
                                    "of none, remove, relabel"),
    ("label_cleaning.folds=1", "label_cleaning.folds=1 is not allowed: label_cleaning.folds must be an integer >= 2 "
                                "(cross-validation folds)"),
])
def test_bad_label_cleaning_settings_get_one_line_and_write_nothing(tmp_path, override, message):
    proc = launch("dataset=digits", override, cwd=tmp_path, check=False)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [f"error: {message}"]
    assert list(tmp_path.iterdir()) == []


def test_label_cleaning_is_a_setting_of_training_runs_only(tmp_path):
    proc = launch("task=active_learning", "dataset=digits", "label_cleaning.action=remove", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "label_cleaning.action='remove' is not allowed with task=active_learning" in \
        proc.stderr
    assert list(tmp_path.iterdir()) == []


def _train_labels(run_dir, action=None):
    """The labels a run trained on (or would have, with ``label_cleaning.action``) and their clean labels, rebuilt
    from its folder (data under its out_dir's)."""
    from autodo.augment.choice import Augmentation
    from autodo.data.pipeline import build_run_data
    from autodo.tasks.train.cleaning import CLEANING, read_label_issues

    folder = RunFolder(run_dir)
    issues = read_label_issues(folder.file(CLEANING)) if folder.file(CLEANING).exists() else None
    cfg = _config(run_dir)
    if action is not None:
        cfg.label_cleaning.action = action
    data = build_run_data(cfg, run_dir.parent.parent / "local_data", torch.device("cpu"), Augmentation("NONE"), issues)
    return data.train_loader.dataset.labels, data.clean_train_labels


def _config(run_dir):
    return OmegaConf.create(read_run(RunFolder(run_dir))["config"])


def test_a_damaged_cleaning_file_is_one_line(tmp_path):
    from autodo.tasks.train.cleaning import read_label_issues
    from autodo.errors import UserError

    path = tmp_path / "cleaning.json"
    path.write_text('{"positions": [1, 2]')
    with pytest.raises(UserError, match="cleaning.json is unreadable .JSONDecodeError.: delete it"):
        read_label_issues(path)


@CLEANED_RUNS
def test_every_fold_and_epoch_says_how_far_it_is_and_the_time_left(cleaned_runs):
    """Issue 31, item 1: folds=50 printed nothing for 5 minutes."""
    import re

    _, folders = cleaned_runs
    log = (folders["remove"] / "launch.log").read_text()
    rate = r"\[\d\d:\d\d<\d\d:\d\d, +[\d.]+(?:s/it|it/s)\]"  # tqdm's: the time spent, the time left, the rate
    done = re.findall(rf"confident learning: folds done (\d)/3 {rate}", log)
    assert done == ["1", "2", "3"]
    for fold in range(3):  # each fold's model says its last epoch at least
        assert re.search(rf"fold {fold + 1}/3: epoch 8/8 \[\d\d:\d\d<00:00,", log), fold
    assert len(re.findall(rf"\] - epoch \d/8 {rate}  train loss ", log)) == 8
    assert log.index("run folder ") < log.index("folds done 1/3")
