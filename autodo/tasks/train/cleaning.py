"""Confident learning (Northcutt, Jiang and Chuang, JAIR 2021), the standard baseline against label errors, with
cleanlab finding them: out-of-sample predicted probabilities of every train label by k-fold cross-validation on the
train subset, each fold's model trained as the Baseline is (its start, its loss, its schedule) on the other folds;
``cleanlab.filter.find_label_issues`` on those probabilities; then the train subset with the labels found dropped
(``label_cleaning.action=remove``) or set to the class predicted for them (``relabel``). The run trains on the rest.

The folds' probabilities do not depend on what the run does with the labels found: they are cached beside the
split (``<data_root>/<dataset>/run<seed>/cleaning-folds-*.pt``, each fold saved when it is done, under the cache's
lock) and shared by every run of the data, cell and seed that cleans with as many folds (``remove`` and
``relabel``). What a run found is in its ``cleaning.json``. So a requeued run trains no fold twice, a seed-mate
trains none, and a finished search is never redone. What the folds cost is part of each run's wall time, once.
"""

import json
import logging
import time
from dataclasses import dataclass

import torch

from autodo.errors import UserError
from autodo.progress import Progress

CLEANING = "cleaning.json"  # the run folder's file of the labels found wrong, the class predicted, the cost
FOLD_CROPS = 105  # the random stream of the folds' loaders (autodo.augment.copies; the active task's are 100-104)
log = logging.getLogger("autodo")


@dataclass
class LabelIssues:
    positions: torch.Tensor  # positions in the train subset of the labels found wrong, increasing
    predicted: torch.Tensor  # the class predicted out of sample for each of them
    time_s: float  # what finding them cost: the folds' training and predictions


def run_label_issues(cfg, folder, data_root):
    """The label issues of the run ``cfg`` (``label_cleaning.action`` not none): those of its folder's
    ``cleaning.json``, or found now and written there."""
    if folder.file(CLEANING).exists():
        return read_label_issues(folder.file(CLEANING))
    issues, record = find_label_issues(cfg, data_root)
    folder.write_json(CLEANING, record)
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


def find_label_issues(cfg, data_root):
    """Cross-validate the Baseline on the run's train subset and let cleanlab find the wrong labels; returns the
    issues and the record for ``cleaning.json`` (with how many of them are wrong indeed, for the reader)."""
    import cleanlab.filter
    import numpy as np

    started = time.perf_counter()
    data, device = _cleaning_data(cfg, data_root)
    labels, clean = data.train_loader.dataset.labels, data.clean_train_labels
    data_time = time.perf_counter() - started
    probabilities, folds_time = _out_of_sample_probabilities(cfg, data_root, data, device)
    started = time.perf_counter()
    found = cleanlab.filter.find_label_issues(labels.numpy(), probabilities.numpy(), n_jobs=1)
    positions = torch.from_numpy(np.flatnonzero(found))
    # the folds' own time (over every launch that trained them, not the wait for a seed-mate's), the data's and
    # cleanlab's
    issues = LabelIssues(positions, probabilities[positions].argmax(1),
                         data_time + folds_time + time.perf_counter() - started)
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

    from autodo.data.pipeline import planned_split, unaugmented_run_data
    from autodo.recipes import pick_device

    cfg = OmegaConf.merge(cfg, {"train_on_valid": False})
    if not build:
        return planned_split(cfg, data_root).train_labels
    device = pick_device(cfg.device)
    return unaugmented_run_data(cfg, data_root, device, standard_augmentation=True), device


# the settings the folds' models are trained with (their cache's key, with the number of folds): the data, the
# cell and seed, and the Baseline's training; not what the run then does with the labels found. The whole data-set
# block is in it (a run with other hyper settings cross-validates again: that costs time, never a wrong result)
FOLD_SETTINGS = ("dataset", "model", "optim", "amp", "ir", "nr", "nr_type", "sr", "seed", "oversplit")


def folds_cache(cfg, data_root):
    """The path of the folds' cache of the run ``cfg`` and the key it is checked against."""
    from omegaconf import OmegaConf

    from autodo.model_cache import cache_identity, cache_path

    config = OmegaConf.to_container(cfg, resolve=True)
    config = {**{key: config[key] for key in FOLD_SETTINGS}, "cleaning_folds": cfg.label_cleaning.folds}
    return cache_path(config, tuple(config), "cleaning-folds", data_root), cache_identity(config, tuple(config))


def _out_of_sample_probabilities(cfg, data_root, data, device):
    """Each train label's predicted probabilities from the fold model that did not see it, and the folds' own time:
    the folds cached beside the split, and the others trained now, each cached when done, holding the cache's lock
    (a seed-mate cleaning the same data waits, then reads them)."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    from autodo.io import atomic_torch_save
    from autodo.model_cache import held

    labels, folds = data.train_loader.dataset.labels, cfg.label_cleaning.folds
    path, key = folds_cache(cfg, data_root)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=cfg.seed)
    with held(path):
        saved = _saved_folds(path, key, len(labels), cfg.dataset.num_classes, folds)
        progress = Progress("confident learning: folds done", folds, done=len(saved["done"]), every_s=0)
        for fold, (fit, held_out) in enumerate(splitter.split(np.zeros(len(labels)), labels.numpy())):
            if fold in saved["done"]:
                continue
            started = time.perf_counter()
            saved["probabilities"][held_out] = _fold_probabilities(cfg, data, torch.from_numpy(fit),
                                                                   torch.from_numpy(held_out), device, fold)
            saved["done"].append(fold)
            saved["time_s"] += time.perf_counter() - started
            atomic_torch_save(path, saved)
            progress.step()
    return saved["probabilities"], saved["time_s"]


def _saved_folds(path, key, size, num_classes, folds):
    """The folds done so far (their held-out probabilities and their time), from the cache or none."""
    from autodo.model_cache import read

    if not path.exists():
        return {"key": key, "probabilities": torch.zeros(size, num_classes), "done": [], "time_s": 0.0}
    saved = read(path, key)
    if saved["probabilities"].shape != (size, num_classes) or not set(saved["done"]) <= set(range(folds)):
        raise UserError(f"{path} holds folds of another train subset (the data set's files changed?): delete it to "
                        "train the folds again")
    return saved


def _fold_probabilities(cfg, data, fit, held_out, device, fold):
    """Train a Baseline model on the train subset's ``fit`` positions; its softmax at the ``held_out`` ones."""
    from autodo.augment.copies import stream_generator
    from autodo.data.datasets import LabelledSubset, make_loader
    from autodo.recipes import train_plain
    from autodo.models import build_classifier

    train = data.train_loader.dataset
    torch.manual_seed(cfg.seed)  # the Baseline's start
    model = build_classifier(cfg.model, cfg.dataset.in_channels, cfg.dataset.num_classes).to(device)
    fit_set = LabelledSubset(train.source, train.indices[fit], train.labels[fit], train.transform)
    # a resizing data set's random crop draws from the fold's own stream, whatever num_workers (as a run's loader)
    loader = make_loader(fit_set, cfg.dataset.batch_size, shuffle=True, num_workers=cfg.num_workers,
                         generator=torch.Generator().manual_seed(cfg.seed), pin_memory=device.type == "cuda",
                         transform_seeds=stream_generator(cfg.seed, FOLD_CROPS, fold + 1))
    train_plain(cfg, model, loader, data.train_transform, device,
                f"confident learning: fold {fold + 1}/{cfg.label_cleaning.folds}")

    held_out_set = LabelledSubset(train.source, train.indices[held_out], train.labels[held_out],
                                  data.valid_loader.dataset.transform)
    loader = make_loader(held_out_set, cfg.eval_batch_size, shuffle=False, num_workers=cfg.num_workers)
    model.eval()
    with torch.no_grad():
        return torch.cat([torch.softmax(model(data.eval_transform(images.to(device))).float(), 1).cpu()
                          for images, _, _ in loader])
