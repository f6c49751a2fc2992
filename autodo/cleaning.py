"""Confident learning (Northcutt, Jiang and Chuang, JAIR 2021), the standard baseline against label errors, with
cleanlab finding them: out-of-sample predicted probabilities of every train label by k-fold cross-validation on the
train subset, each fold's model trained as the Baseline is (its start, its loss, its schedule) on the other folds;
``cleanlab.filter.find_label_issues`` on those probabilities; then the train subset with the labels found dropped
(``label_cleaning.action=remove``) or set to the class predicted for them (``relabel``). The run trains on the rest.

Each fold's probabilities are saved in the run folder when the fold is done, and what was found in
``cleaning.json``, so that a requeued run trains no fold twice and a finished search is never redone. What the
folds cost is part of the run's wall time.
"""

import json
import logging
import time
from dataclasses import dataclass

import torch

from autodo.errors import UserError

ACTIONS = ("none", "remove", "relabel")
log = logging.getLogger("autodo")


@dataclass
class LabelIssues:
    positions: torch.Tensor  # positions in the train subset of the labels found wrong, increasing
    predicted: torch.Tensor  # the class predicted out of sample for each of them
    time_s: float  # what finding them cost: the folds' training and predictions


def run_label_issues(cfg, folder, data_root):
    """The label issues of the run ``cfg`` (``label_cleaning.action`` not none): those of its folder's
    ``cleaning.json``, or found now and written there."""
    if folder.cleaning.exists():
        return read_label_issues(folder.cleaning)
    issues, record = find_label_issues(cfg, folder, data_root)
    folder.write_cleaning(record)
    return issues


def read_label_issues(path):
    try:
        record = json.loads(path.read_text())
        return LabelIssues(torch.tensor(record["positions"], dtype=torch.long),
                           torch.tensor(record["predicted"], dtype=torch.long), float(record["time_s"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserError(f"{path} is unreadable ({type(error).__name__}): delete it to find the label issues "
                        "again") from None


def check(cfg, data_root):
    """Before anything is written: folds that no class of the train subset can fill (scikit-learn's StratifiedKFold
    needs at least ``folds`` samples in some class)."""
    largest = torch.bincount(_cleaning_data(cfg, data_root, build=False)).max().item()
    if cfg.label_cleaning.folds > largest:
        raise UserError(f"label_cleaning.folds={cfg.label_cleaning.folds} is not allowed: the train subset's largest "
                        f"class has {largest} samples (folds must be at most that)")


def find_label_issues(cfg, folder, data_root):
    """Cross-validate the Baseline on the run's train subset and let cleanlab find the wrong labels; returns the
    issues and the record for ``cleaning.json`` (with how many of them are wrong indeed, for the reader)."""
    import cleanlab.filter
    import numpy as np

    started = time.perf_counter()
    data, device = _cleaning_data(cfg, data_root)
    labels, clean = data.train_loader.dataset.labels, data.clean_train_labels
    probabilities, folds_time = _out_of_sample_probabilities(cfg, folder, data, device)
    found = cleanlab.filter.find_label_issues(labels.numpy(), probabilities.numpy(), n_jobs=1)
    positions = torch.from_numpy(np.flatnonzero(found))
    # the folds' own times (a requeued run's included), and this launch's data and cleanlab
    issues = LabelIssues(positions, probabilities[positions].argmax(1),
                         folds_time.total + time.perf_counter() - started - folds_time.this_launch)
    wrong = labels != clean
    record = {
        "action": cfg.label_cleaning.action, "folds": cfg.label_cleaning.folds, "found": len(positions),
        "found_wrong": int(wrong[positions].sum()), "wrong": int(wrong.sum()),
        # of the labels found wrong, those the predicted class would set right
        "predicted_right": int((issues.predicted == clean[positions]).sum()),
        "positions": positions.tolist(), "given": labels[positions].tolist(), "predicted": issues.predicted.tolist(),
        "time_s": issues.time_s,
    }
    log.info("confident learning: %d train labels found wrong (%d of them are; %d wrong labels in all) in %.1fs",
             record["found"], record["found_wrong"], record["wrong"], record["time_s"])
    return issues, record


def _cleaning_data(cfg, data_root, build=True):
    """The run's data, with the train subset as the run has it before any validation image joins it
    (``train_on_valid``), and its device; or (``build=False``, for the checks: nothing read from or written to
    the split cache) only the train subset's labels."""
    from omegaconf import OmegaConf

    from autodo.augment.choice import Augmentation
    from autodo.build import pick_device
    from autodo.data.bias import build_biased_split, without_split
    from autodo.data.pipeline import build_run_data
    from autodo.data.sources import load_source

    cfg = OmegaConf.merge(cfg, {"train_on_valid": False})
    if not build:
        source, _ = load_source(cfg.dataset, data_root)
        split = build_biased_split(source.labels, cfg.dataset.num_classes, cfg.dataset.valid_size, cfg.ir, cfg.nr,
                                   cfg.sr, cfg.seed)
        return (without_split(split, source.labels) if cfg.oversplit else split).train_labels
    device = pick_device(cfg.device)
    data = build_run_data(cfg, data_root, device, Augmentation("NONE"))
    data.train_transform.to(device)
    data.eval_transform.to(device)
    return data, device


@dataclass
class _FoldsTime:
    total: float  # every fold's, over the launches that trained them
    this_launch: float


def _out_of_sample_probabilities(cfg, folder, data, device):
    """Each train label's predicted probabilities from the fold model that did not see it: the folds saved in the
    run folder, and the others trained now (each saved when done)."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    labels, folds = data.train_loader.dataset.labels, cfg.label_cleaning.folds
    saved = _saved_folds(folder, len(labels), cfg.dataset.num_classes, folds)
    this_launch = 0.0
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=cfg.seed)
    for fold, (fit, held_out) in enumerate(splitter.split(np.zeros(len(labels)), labels.numpy())):
        if fold in saved["done"]:
            continue
        started = time.perf_counter()
        saved["probabilities"][held_out] = _fold_probabilities(cfg, data, torch.from_numpy(fit),
                                                               torch.from_numpy(held_out), device,
                                                               f"confident learning: fold {fold + 1}/{folds}")
        saved["done"].append(fold)
        fold_time = time.perf_counter() - started
        saved["time_s"] += fold_time
        this_launch += fold_time
        folder.write_cleaning_folds(saved)
    return saved["probabilities"], _FoldsTime(saved["time_s"], this_launch)


def _saved_folds(folder, size, num_classes, folds):
    """The folds done so far (their held-out probabilities and time), from the run folder or none."""
    if not folder.cleaning_folds.exists():
        return {"probabilities": torch.zeros(size, num_classes), "done": [], "time_s": 0.0}
    try:
        saved = torch.load(folder.cleaning_folds, weights_only=True)
        if saved["probabilities"].shape != (size, num_classes) or not set(saved["done"]) <= set(range(folds)):
            raise ValueError("not this run's folds")
        return saved
    except Exception as error:  # noqa: BLE001 - whatever broke, the file is not this run's folds
        raise UserError(f"{folder.cleaning_folds} is unreadable ({type(error).__name__}): delete it to train the "
                        "folds again") from None


def _fold_probabilities(cfg, data, fit, held_out, device, desc):
    """Train a Baseline model on the train subset's ``fit`` positions; its softmax at the ``held_out`` ones."""
    from autodo.data.datasets import LabelledSubset, make_loader
    from autodo.engine import train_plain
    from autodo.models import build_classifier

    train = data.train_loader.dataset
    torch.manual_seed(cfg.seed)  # the Baseline's start
    model = build_classifier(cfg.model, cfg.dataset.in_channels, cfg.dataset.num_classes).to(device)
    fit_set = LabelledSubset(train.source, train.indices[fit], train.labels[fit], train.transform)
    loader = make_loader(fit_set, cfg.dataset.batch_size, shuffle=True, num_workers=cfg.num_workers,
                         generator=torch.Generator().manual_seed(cfg.seed), pin_memory=device.type == "cuda")
    train_plain(cfg, model, loader, data.train_transform, device, desc)

    held_out_set = LabelledSubset(train.source, train.indices[held_out], train.labels[held_out],
                                  data.valid_loader.dataset.transform)
    loader = make_loader(held_out_set, cfg.eval_batch_size, shuffle=False, num_workers=cfg.num_workers)
    model.eval()
    with torch.no_grad():
        return torch.cat([torch.softmax(model(data.eval_transform(images.to(device))).float(), 1).cpu()
                          for images, _, _ in loader])
