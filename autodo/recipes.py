"""Recipes every task builds from its config the same way: the device, whether mixed precision is on, SGD with the data
set's schedule, and training a network as the Baseline is trained. The loops they feed (autodo.engine) take built
objects and never build."""

import torch

from autodo.engine import finite_loss, train_one_epoch
from autodo.losses import LossModel
from autodo.progress import Progress
from autodo.schedule import WarmupCosine


def pick_device(name):
    """``auto`` (cuda when available), ``cuda`` or ``cpu`` as a torch device."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def amp_on(cfg, device):
    """Mixed precision: asked for (``amp``), and on CUDA (ignored on the CPU)."""
    return bool(cfg.amp) and device.type == "cuda"


def build_optimizer(cfg, model, steps_per_epoch):
    """SGD with Nesterov momentum and the per-step warm-up + cosine learning rate of the data set."""
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.dataset.lr, momentum=cfg.optim.momentum,
                                nesterov=cfg.optim.nesterov, weight_decay=cfg.optim.weight_decay)
    schedule = WarmupCosine(cfg.dataset.epochs * steps_per_epoch, cfg.dataset.warmup_epochs * steps_per_epoch,
                            cfg.optim.min_lr_factor)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def train_plain(cfg, model, loader, transform, device, desc):
    """Train ``model`` on ``loader`` as the Baseline is trained (the data set's epochs, learning rate and schedule),
    with plain cross-entropy and no learned augmentation (``transform``: the batch transform, which may normalise only
    or add the data set's standard augmentation)."""
    optimizer, scheduler = build_optimizer(cfg, model, steps_per_epoch=len(loader))
    loss = LossModel(loader.dataset.labels, cfg.dataset.num_classes, learn_weights=False, learn_soft_labels=False,
                     symmetric=False).to(device)
    amp = amp_on(cfg, device)
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    progress = Progress(f"{desc}: epoch", cfg.dataset.epochs)  # a line at most every 30 s
    for epoch in range(cfg.dataset.epochs):
        where = f"{desc}: epoch {epoch + 1}/{cfg.dataset.epochs}"
        finite_loss(train_one_epoch(model, loader, transform, None, loss, optimizer, scheduler, scaler, device, amp,
                                    desc=where), where)
        progress.step()
