"""From a config to the loaders of a run: biased train, clean validation, test, and the hyper pass's."""

from dataclasses import dataclass

import torch

from autodo.augment.choice import Augmentation
from autodo.data.bias import (build_biased_split, load_or_build_split, noise_flips, split_record, with_clean_split,
                              with_labels_cleaned, with_valid_in_train, without_split)
from autodo.data.datasets import LabelledSubset, make_loader
from autodo.data.sources import load_source
from autodo.data.transforms import BatchTransform, build_item_transforms, build_train_transform


@dataclass
class RunData:
    train_loader: torch.utils.data.DataLoader
    valid_loader: torch.utils.data.DataLoader  # selects the best epoch: held out under clean_split
    test_loader: torch.utils.data.DataLoader
    # the clean images the run learns from (head refit): the validation set's own loader, or its tuning part's
    tuning_loader: torch.utils.data.DataLoader
    # the hyper pass (None without hyper_opt): shuffled train batches of dataset.hyper_batch_size, and the clean
    # set its validation batches are drawn from (the tuning part; the test set for the overfit ablation)
    hyper_train_loader: torch.utils.data.DataLoader
    hyper_valid_loader: torch.utils.data.DataLoader
    train_transform: torch.nn.Module  # uint8 batch -> augmented, normalised float batch (on the device)
    eval_transform: torch.nn.Module  # uint8 batch -> normalised float batch
    generators: dict  # the loaders' random streams (shuffles, per-image draws): saved in checkpoints
    clean_train_labels: torch.Tensor  # for diagnostics only: which train labels are wrong
    record: dict  # sizes, per-class counts and relabelled samples of the biased train set


def _compose(*transforms):
    from torchvision.transforms import v2

    transforms = [t for t in transforms if t is not None]
    return v2.Compose(transforms) if transforms else None


def build_run_data(cfg, data_root, device, augmentation, label_issues=None):
    """The loaders of the run ``cfg``; ``augmentation`` (autodo.augment.choice) puts its per-image policy in the
    train loader and its colour ops in the train transform; the train labels found wrong (``label_issues``, an
    autodo.tasks.train.cleaning.LabelIssues) are removed or relabelled as ``label_cleaning.action`` says."""
    dataset_cfg = cfg.dataset
    train_source, test_source = load_source(dataset_cfg, data_root)
    split = load_or_build_split(train_source.labels, dataset_cfg, data_root, cfg.ir, cfg.nr, cfg.sr, cfg.seed,
                                cfg.get("nr_type", "uniform"))
    if cfg.oversplit:
        split = without_split(split, train_source.labels)
    clean_split = cfg.get("clean_split") or {"selection": 0}  # a run written before it existed (--inspect) has none
    if clean_split["selection"]:
        split = with_clean_split(split, train_source.labels, clean_split["selection"], clean_split["tuning"], cfg.seed)
    if label_issues is not None:
        split = with_labels_cleaned(split, label_issues.positions, label_issues.predicted, cfg.label_cleaning.action)
    if cfg.train_on_valid:
        split = with_valid_in_train(split, train_source.labels)

    item_train, item_eval = build_item_transforms(dataset_cfg)
    item_train = _compose(item_train, augmentation.item_policy)
    clean = train_source.labels
    train_set = LabelledSubset(train_source, split.train_indices, split.train_labels, item_train)
    valid_set = LabelledSubset(train_source, split.valid_indices, clean[split.valid_indices], item_eval)
    test_set = LabelledSubset(test_source, torch.arange(len(test_source)), test_source.labels, item_eval)

    generators = {"train": torch.Generator().manual_seed(cfg.seed)}
    random_items = item_train is not None  # random per-image transforms draw from streams of their own
    if random_items:
        generators["train_items"] = torch.Generator().manual_seed(cfg.seed + 3)
    loader_args = {"num_workers": cfg.num_workers, "pin_memory": device.type == "cuda"}
    train_loader = make_loader(train_set, dataset_cfg.batch_size, shuffle=True, generator=generators["train"],
                               transform_seeds=generators.get("train_items"), **loader_args)
    valid_loader = make_loader(valid_set, cfg.eval_batch_size, shuffle=False, **loader_args)
    test_loader = make_loader(test_set, cfg.eval_batch_size, shuffle=False, **loader_args)
    tuning_loader = valid_loader
    if split.tuning_indices is not None:
        tuning_set = LabelledSubset(train_source, split.tuning_indices, clean[split.tuning_indices], item_eval)
        tuning_loader = make_loader(tuning_set, cfg.eval_batch_size, shuffle=False, **loader_args)
    hyper_train_loader = hyper_valid_loader = None
    if cfg.hyper_opt.name != "NONE":
        generators["hyper_train"] = torch.Generator().manual_seed(cfg.seed + 1)
        generators["hyper_valid"] = torch.Generator().manual_seed(cfg.seed + 2)
        if random_items:
            generators["hyper_train_items"] = torch.Generator().manual_seed(cfg.seed + 4)
        hyper_train_loader = make_loader(train_set, dataset_cfg.hyper_batch_size, shuffle=True, drop_last=True,
                                         generator=generators["hyper_train"],
                                         transform_seeds=generators.get("hyper_train_items"), **loader_args)
        hyper_valid_loader = test_loader if cfg.overfit else tuning_loader
    image_size = (dataset_cfg.crop,) * 2 if dataset_cfg.get("crop") else tuple(train_source.images.shape[-2:])
    return RunData(
        train_loader=train_loader,
        valid_loader=valid_loader,
        test_loader=test_loader,
        tuning_loader=tuning_loader,
        hyper_train_loader=hyper_train_loader,
        hyper_valid_loader=hyper_valid_loader,
        train_transform=build_train_transform(dataset_cfg.augment, image_size, dataset_cfg.mean, dataset_cfg.std,
                                              colour=augmentation.colour),
        eval_transform=BatchTransform(dataset_cfg.mean, dataset_cfg.std),
        generators=generators,
        clean_train_labels=clean[split.train_indices],
        record=split_record(split, clean, dataset_cfg.num_classes),
    )


def planned_split(cfg, data_root):
    """The run's biased split as the checks see it, before anything is written: built, not read from or written to
    the split cache (the ``oversplit`` ablation applied)."""
    train_source, _ = load_source(cfg.dataset, data_root)
    split = build_biased_split(train_source.labels, cfg.dataset.num_classes, cfg.dataset.valid_size, cfg.ir, cfg.nr,
                               cfg.sr, cfg.seed, noise_flips(cfg.nr_type, cfg.dataset))
    return without_split(split, train_source.labels) if cfg.oversplit else split


def unaugmented_run_data(cfg, data_root, device, standard_augmentation=False):
    """The run's data with no learned or fixed augmentation, its batch transforms on ``device``; the train images as
    the validation images are (no random resizing either), unless ``standard_augmentation`` keeps the data set's."""
    data = build_run_data(cfg, data_root, device, Augmentation("NONE"))
    if not standard_augmentation:
        data.train_loader.dataset.transform = data.valid_loader.dataset.transform
    data.train_transform.to(device)
    data.eval_transform.to(device)
    return data
