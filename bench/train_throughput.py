#!/usr/bin/env python
"""Training throughput of autodo's baseline loop as a ratio to a bare PyTorch loop, measured in one run.

Both train the same model (the data set's default classifier) with the same optimiser and batch size for the
same number of steps. autodo's loop reads uint8 batches through its DataLoader, normalises and augments them on
the device, steps the learning-rate schedule and accumulates its statistics; the bare loop slices ready
normalised float tensors held in memory. The two alternate, and the median of each is reported.

    python bench/train_throughput.py                      # Fashion-MNIST (Debian's copy), else digits
    python bench/train_throughput.py dataset=digits
"""

import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autodo.augment.choice import build_augmentation  # noqa: E402
from autodo.data.datasets import LabelledSubset, make_loader  # noqa: E402
from autodo.data.pipeline import build_run_data  # noqa: E402
from autodo.engine import train_one_epoch  # noqa: E402
from autodo.recipes import build_optimizer  # noqa: E402
from autodo.losses import LossModel  # noqa: E402
from autodo.models import build_classifier  # noqa: E402

STEPS = 100
ROUNDS = 3


def fresh_model(cfg, steps):
    torch.manual_seed(0)
    model = build_classifier(cfg.model, cfg.dataset.in_channels, cfg.dataset.num_classes)
    optimizer, scheduler = build_optimizer(cfg, model, steps)
    return model, optimizer, scheduler


def autodo_loop(cfg, data, subset):
    loader = make_loader(subset, cfg.dataset.batch_size, shuffle=True, num_workers=0,
                         generator=torch.Generator().manual_seed(0))
    model, optimizer, scheduler = fresh_model(cfg, len(loader))
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    loss_model = LossModel(subset.labels, cfg.dataset.num_classes, False, False, False)  # los_model=NONE
    start = time.perf_counter()
    train_one_epoch(model, loader, data.train_transform, None, loss_model, optimizer, scheduler, scaler,
                    torch.device("cpu"), False)
    return len(subset) / (time.perf_counter() - start)


def bare_loop(cfg, images, labels):
    model, optimizer, _ = fresh_model(cfg, STEPS)
    model.train()
    batch = cfg.dataset.batch_size
    start = time.perf_counter()
    order = torch.randperm(len(labels))
    for step in range(len(labels) // batch):
        index = order[step * batch:(step + 1) * batch]
        loss = F.cross_entropy(model(images[index]), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return len(labels) / (time.perf_counter() - start)


def main(overrides):
    if not any(o.startswith("dataset=") for o in overrides):
        dataset = "fashion_mnist" if Path("/usr/share/datasets/fashion-mnist").is_dir() else "digits"
        overrides = [f"dataset={dataset}", *overrides]
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    data = build_run_data(cfg, cfg.data_root, torch.device("cpu"), build_augmentation(cfg.aug_model, cfg.dataset))
    train_set = data.train_loader.dataset
    count = min(STEPS * cfg.dataset.batch_size, len(train_set))
    subset = LabelledSubset(train_set.source, train_set.indices[:count], train_set.labels[:count])
    images = data.eval_transform(train_set.source.get_batch(subset.indices))  # ready floats, in memory
    ours, bare = [], []
    autodo_loop(cfg, data, subset)  # warm-up: first-call allocations of both paths
    bare_loop(cfg, images, subset.labels)
    for _ in range(ROUNDS):
        ours.append(autodo_loop(cfg, data, subset))
        bare.append(bare_loop(cfg, images, subset.labels))
    ratio = statistics.median(ours) / statistics.median(bare)
    print(f"dataset {cfg.dataset.name}, model {cfg.model.name}, batch {cfg.dataset.batch_size}, "
          f"{count} images x {ROUNDS} rounds, {torch.get_num_threads()} threads")
    print(f"autodo loop: {statistics.median(ours):.0f} images/s   bare PyTorch loop: {statistics.median(bare):.0f} images/s")
    print(f"throughput ratio (autodo / bare): {ratio:.3f}   (target >= 0.9)")


if __name__ == "__main__":
    main(sys.argv[1:])
