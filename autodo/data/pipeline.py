"""From a data-set config to the three loaders of a run: biased train, clean validation, test."""

from dataclasses import dataclass

import torch

from autodo.data.bias import load_or_build_split, split_record
from autodo.data.datasets import LabelledSubset, make_loader
from autodo.data.sources import load_source
from autodo.data.transforms import BatchTransform, build_item_transforms, build_train_transform


@dataclass
class RunData:
    train_loader: torch.utils.data.DataLoader
    valid_loader: torch.utils.data.DataLoader
    test_loader: torch.utils.data.DataLoader
    train_transform: torch.nn.Module  # uint8 batch -> augmented, normalised float batch (on the device)
    eval_transform: torch.nn.Module  # uint8 batch -> normalised float batch
    shuffle_generator: torch.Generator  # drives the train order: saved in checkpoints
    record: dict  # sizes, per-class counts and relabelled samples of the biased train set


def build_run_data(cfg, data_root, device):
    dataset_cfg = cfg.dataset
    train_source, test_source = load_source(dataset_cfg, data_root)
    split = load_or_build_split(train_source.labels, dataset_cfg, data_root, cfg.ir, cfg.nr, cfg.sr, cfg.seed)

    item_train, item_eval = build_item_transforms(dataset_cfg)
    clean = train_source.labels
    train_set = LabelledSubset(train_source, split.train_indices, split.train_labels, item_train)
    valid_set = LabelledSubset(train_source, split.valid_indices, clean[split.valid_indices], item_eval)
    test_set = LabelledSubset(test_source, torch.arange(len(test_source)), test_source.labels, item_eval)

    generator = torch.Generator().manual_seed(cfg.seed)
    pin = device.type == "cuda"
    loader_args = {"num_workers": cfg.num_workers, "pin_memory": pin}
    image_size = (dataset_cfg.crop,) * 2 if dataset_cfg.get("crop") else tuple(train_source.images.shape[-2:])
    return RunData(
        train_loader=make_loader(train_set, dataset_cfg.batch_size, shuffle=True, generator=generator, **loader_args),
        valid_loader=make_loader(valid_set, cfg.eval_batch_size, shuffle=False, **loader_args),
        test_loader=make_loader(test_set, cfg.eval_batch_size, shuffle=False, **loader_args),
        train_transform=build_train_transform(dataset_cfg.augment, image_size, dataset_cfg.mean, dataset_cfg.std),
        eval_transform=BatchTransform(dataset_cfg.mean, dataset_cfg.std),
        shuffle_generator=generator,
        record=split_record(split, clean, dataset_cfg.num_classes),
    )
