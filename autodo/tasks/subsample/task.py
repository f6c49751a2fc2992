"""The subsample task, top to bottom: its data (the run's biased split, restricted to ``subsample.classes``), the
frozen features, the selection of the points to augment (autodo.tasks.subsample.selection), then the final logistic
head, or the training of the whole network with the selected points augmented (``head=network``,
autodo.tasks.subsample.network), and its result.

What its result depends on (the run's identity): the data, model and seed, and the subsample settings that matter
to its policy. ``policy=none`` augments nothing (budget 0), ``policy=all`` everything (budget 1), and
``policy=random`` has no scores (``selection`` and ``rounds`` unused): a sweep over them runs each of these once;
``stratify`` applies to the policies with a budget.
"""

import logging
import time
from dataclasses import dataclass

import torch

from autodo.errors import UserError
from autodo.identity import leave_out_dataset_settings, unread_dataset_settings
from autodo.identity import settings as identity_settings
from autodo.augment.copies import TEST, VALID, augmented_copies, copy_draws
from autodo.tasks.subsample.logistic import Standardiser
from autodo.tasks.subsample.selection import SCORED, HeadData, select_and_fit
from autodo.run_log import RunLog

log = logging.getLogger("autodo")
READS = ("task", "dataset", "model", "optim", "ir", "nr", "nr_type", "sr", "seed", "amp", "subsample")
HEADLINE = "test_acc"  # the number every finished run has
RESULT_NUMBERS = ("test_acc", "majority_acc", "minority_acc", "wall_time_s")  # each a finite number when present
REPORT = "autodo.tasks.subsample.report"  # its rows, table and figure for aggregate.py
SELECTION = "selection.json"  # the run folder's file of the points augmented, their scores and rounds
MAX_HEAD_PARAMETERS = 20_000  # influence: the exact Hessian of the head is this squared, in float64 (3.2 GB)


def identity(config, keep_unread=False):
    """The part of the canonical plain ``config`` a subsample run's result depends on (the data set's settings of
    another augmentation and of hyper passes left out, unless ``keep_unread``: as versions before 2026-12-05 did)."""
    config = {key: config[key] for key in READS if key in config}  # nr_type: a run before it had uniform noise
    settings = config["subsample"]
    if not keep_unread:
        leave_out_dataset_settings(config, unread_dataset_settings(settings["augmentation"], None))
    if settings["policy"] not in SCORED:
        settings.update(selection="top", rounds=1)
        if settings["head"] == "network":  # no scores: the logistic head plays no part
            settings.update(l2=0, copies=0)
    if settings["policy"] in ("none", "all"):
        settings.update(budget={"none": 0, "all": 1}[settings["policy"]], stratify=False)
    if settings["policy"] == "none":
        settings.update(copies=0)
    return config


# the settings ``slug`` names, left out of a folder name's settings set apart
SLUG_SETTINGS = ("subsample.classes", "subsample.head", "subsample.policy", "subsample.budget",
                 "subsample.augmentation")


def slug(config):
    settings = config["subsample"]
    classes = "" if settings["classes"] is None else "c" + "+".join(map(str, settings["classes"])) + "-"
    head = "network-" if settings["head"] == "network" else ""
    if settings["policy"] == "none":
        return f"subsample-{head}{classes}none"
    budget = "" if settings["policy"] == "all" else f"{settings['budget']:g}"
    return f"subsample-{head}{classes}{settings['augmentation']}-{settings['policy']}{budget}"


def summary_line(result):
    minority = f" (minority {result['minority_acc']:.2f}%)" if "minority_acc" in result else ""
    return (f"test accuracy {result['test_acc']:.2f}% with {result['augmented_count']} of {result['train_size']} "
            f"points augmented{minority}")


def inspect_error(run_dir, folder, result, iteration):
    """A subsample run keeps no model to inspect."""
    if iteration is not None:
        return f"--iteration is for active-learning runs: {run_dir!r} is a task=subsample run"
    return f"--inspect {run_dir!r}: a task=subsample run has no model to inspect"


def inspection_model(cfg, folder, data_root, iteration=None):
    raise UserError("a task=subsample run has no model to inspect")


def check(cfg, data_root):
    """The checks that need the data or the model, before anything is written: a budget that counts more points
    than the train set has; an influence Hessian too large to hold."""
    settings = cfg.subsample
    if settings.policy not in ("none", "all") and not isinstance(settings.budget, float):
        size = len(_train_positions(cfg, data_root))
        if settings.budget > size:
            raise UserError(f"subsample.budget={settings.budget} is not allowed: the train set of this run has "
                            f"{size} points (a count must be at most that, or a share in [0, 1))")
    if settings.policy == "influence":
        from autodo.models import build_classifier

        classes = cfg.dataset.num_classes if settings.classes is None else len(settings.classes)
        parameters = classes * (build_classifier(cfg.model, cfg.dataset.in_channels, 1).encoder.out_features + 1)
        if parameters > MAX_HEAD_PARAMETERS:
            raise UserError(f"subsample.policy=influence is not allowed here: its head has {parameters} parameters "
                            f"and its exact Hessian would not fit (at most {MAX_HEAD_PARAMETERS}); use policy=loss, "
                            "or fewer subsample.classes")


# ============ data ============

def _in_classes(labels, classes):
    return torch.ones(len(labels), dtype=torch.bool) if classes is None else torch.isin(labels, torch.tensor(classes))


def _train_positions(cfg, data_root):
    from autodo.data.pipeline import planned_split

    return torch.nonzero(_in_classes(planned_split(cfg, data_root).train_labels, cfg.subsample.classes)).flatten()


@dataclass
class _ClassSet:
    """The images of a set in the task's classes, their labels as the head sees them (0 .. K-1), and for the train
    set where each point comes from and whether its label is wrong."""

    classes: list
    images: torch.Tensor
    labels: torch.Tensor
    positions: torch.Tensor = None  # in the run's train split
    source_index: torch.Tensor = None
    given: torch.Tensor = None
    clean: torch.Tensor = None
    wrong: torch.Tensor = None


def _class_sets(data, classes, num_classes):
    """The train (by given label), validation and test (by true label) sets of the task's ``classes``."""
    classes = list(range(num_classes)) if classes is None else list(classes)
    relabel = torch.full((num_classes,), -1, dtype=torch.long)
    relabel[torch.tensor(classes)] = torch.arange(len(classes))
    sets = []
    for loader in (data.train_loader, data.valid_loader, data.test_loader):
        dataset = loader.dataset
        positions = torch.nonzero(_in_classes(dataset.labels, classes)).flatten()
        images, labels, _ = dataset.__getitems__(positions)
        sets.append(_ClassSet(classes, images, relabel[labels], positions))
    train, train_set = sets[0], data.train_loader.dataset
    train.source_index = train_set.indices[train.positions]
    train.given, train.clean = train_set.labels[train.positions], data.clean_train_labels[train.positions]
    train.wrong = train.given != train.clean
    return sets


# ============ the run ============

def run(cfg, folder, data_root):
    """Run the subsample task ``cfg`` in its run folder ``folder``; return the contents of its ``result.json``."""
    from omegaconf import OmegaConf

    from autodo.data.pipeline import unaugmented_run_data
    from autodo.recipes import pick_device
    from autodo.tasks.subsample.features import features, frozen_encoder
    from autodo.tasks.subsample.network import train_network

    started = time.perf_counter()
    settings = cfg.subsample
    device = pick_device(cfg.device)
    data = unaugmented_run_data(cfg, data_root, device)
    folder.write_split(data.record)
    config = OmegaConf.to_container(cfg, resolve=True)
    hparams = identity_settings(config, identity)  # the run's settings, for its log
    encoder, network_time, cached = frozen_encoder(cfg, config, data, device, data_root)

    features_started = time.perf_counter()
    train, valid, test = _class_sets(data, settings.classes, cfg.dataset.num_classes)

    def embed(images):
        return features(encoder, images, data.eval_transform, device, cfg.eval_batch_size)

    train_features = embed(train.images)
    standardise = Standardiser.of(train_features)

    def augmented_inputs(images, draws):
        return standardise(embed(augmented_copies(images, draws, settings.augmentation, cfg.dataset)))

    # the validation and test images as they are, and each augmented once (the seed's measure of invariance)
    judged = {name: {"clean": standardise(embed(s.images)),
                     "augmented": augmented_inputs(s.images, copy_draws(len(s.labels), 1, cfg.seed, stream))}
              for name, s, stream in (("valid", valid, VALID), ("test", test, TEST))}
    features_time = time.perf_counter() - features_started
    log.info("%d train points (%d wrong labels), %d valid, %d test; feature network %s", len(train.labels),
             int(train.wrong.sum()), len(valid.labels), len(test.labels), "cached" if cached else "trained")

    draws = copy_draws(len(data.train_loader.dataset), settings.copies, cfg.seed)[train.positions]
    head_data = HeadData(standardise(train_features), train.labels, train.images, draws,
                         judged["valid"][settings.evaluate], valid.labels, len(train.classes))
    selection, rounds, weight = select_and_fit(settings, cfg.seed, head_data, augmented_inputs)
    picked = selection["position"]
    folder.write_json(SELECTION, {**selection, "position": picked.tolist(), "rounds": rounds,
                            "train_position": train.positions[picked].tolist(),
                            "source_index": train.source_index[picked].tolist(),
                            "given_label": train.given[picked].tolist(), "clean_label": train.clean[picked].tolist()})
    if settings.head == "network":
        scores = train_network(cfg, folder, data_root, train.positions[picked], hparams)
    else:
        folder.write_metrics(rounds)
        scores = {**_logistic_scores(weight, judged, test.labels, settings.evaluate),
                  "valid_acc": rounds[-1]["valid_acc"]}
        # the head is fitted in one go: its rounds and scores, logged at the end (what a killed launch logged,
        # hidden)
        with RunLog(folder, hparams, purge_step=1, logger=cfg.get("logger")) as live:
            for step, row in enumerate(rounds, start=1):
                live.add_row(row, step)
            live.add_row(scores, len(rounds))
    result = {
        "config": config,
        "classes": train.classes,
        "train_size": len(train.labels),
        "augmented_count": len(picked),
        "augmented_share": len(picked) / len(train.labels),
        **scores,
        **_class_groups(scores["test_per_class_acc"], train, picked, cfg.dataset.num_classes),
        "feature_network_time_s": network_time,
        "feature_network_cached": cached,
        "features_time_s": features_time,
        "scoring_time_s": sum(row["scoring_time_s"] for row in rounds),
        "wall_time_s": time.perf_counter() - started,
    }
    folder.write_result(result)
    return result


def _logistic_scores(weight, judged, test_labels, evaluate):
    """The logistic head's test accuracy on the test images as they are and augmented, and per class under the
    ``evaluate`` rule."""
    predicted = {rule: (inputs @ weight.T).argmax(1) for rule, inputs in judged["test"].items()}
    accuracy = {rule: 100.0 * (p == test_labels).double().mean().item() for rule, p in predicted.items()}
    per_class = [100.0 * (predicted[evaluate][test_labels == k] == k).double().mean().item()
                 for k in range(weight.shape[0])]
    return {"test_acc": accuracy[evaluate], "test_acc_clean": accuracy["clean"],  # test_acc: as evaluate says
            "test_acc_augmented": accuracy["augmented"], "test_per_class_acc": per_class}


def _class_groups(per_class, train, picked, num_classes):
    """The mean test accuracy of the task's majority (first-half) and minority classes, where it has them, and the
    shares of wrong labels and minority classes among the augmented points against the train set's."""
    minority = [k for k, c in enumerate(train.classes) if c >= num_classes // 2]
    majority = [k for k in range(len(per_class)) if k not in minority]
    is_minority = torch.isin(train.given, torch.tensor(train.classes)[minority])
    groups = {f"{name}_acc": sum(per_class[k] for k in members) / len(members)
              for name, members in (("majority", majority), ("minority", minority)) if members}

    def share(mask):
        return mask.double().mean().item() if len(mask) else 0.0

    return {**groups, "train_wrong_share": share(train.wrong), "augmented_wrong_share": share(train.wrong[picked]),
            "train_minority_share": share(is_minority), "augmented_minority_share": share(is_minority[picked])}
