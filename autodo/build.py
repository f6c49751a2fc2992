"""A run's parts, built from its config in one place: data, classifier, optimiser, loss model, augmentation and
hyper optimiser. Training (autodo.experiment) and ``aggregate.py --inspect`` (autodo.figures) both use it, so a
checkpoint always loads into the parts that wrote it."""

from dataclasses import dataclass

import torch

from autodo.augment.choice import build_augmentation
from autodo.augment.dada import run_table
from autodo.data.pipeline import RunData, build_run_data
from autodo.hyper.optimizer import HyperOptimizer, steps_per_pass
from autodo.losses import PAPER_SMOOTHING, LossModel
from autodo.models import build_classifier
from autodo.recipes import amp_on, build_optimizer, pick_device
from autodo.schedule import hyper_schedule


@dataclass
class RunParts:
    device: torch.device
    amp: bool  # mixed precision: asked for, and on CUDA
    data: RunData
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    loss_model: LossModel
    aug_model: torch.nn.Module  # the learned augmentation (SHA, SEP), else None
    hyper: HyperOptimizer  # None without hyper_opt
    hyper_start_epoch: int  # the first epoch (0-based) with a hyper pass
    policy_table: object = None  # aug_model=DADA: its autodo.augment.dada.PolicyTable

    def state(self):
        """The objects a checkpoint holds, by name."""
        state = {"model": self.model, "optimizer": self.optimizer, "scheduler": self.scheduler,
                 "scaler": self.scaler, "loss_model": self.loss_model}
        if self.aug_model is not None:
            state["aug_model"] = self.aug_model
        if self.hyper is not None:
            state["hyper"] = self.hyper
        return state


def build_run(cfg, data_root, table=None, label_issues=None):
    """Every part of the run ``cfg``, at its start values, on its device; ``aug_model=DADA`` applies ``table``
    (an autodo.augment.dada.PolicyTable), by default the run's own (searched, cached or from its file); a run
    with ``label_cleaning`` trains without (or relabels) the train labels of ``label_issues`` (autodo.cleaning)."""
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    if cfg.aug_model.name == "DADA" and table is None:
        table = run_table(cfg, data_root, device)
    augmentation = build_augmentation(cfg.aug_model, cfg.dataset, table)
    data = build_run_data(cfg, data_root, device, augmentation, label_issues)
    data.train_transform.to(device)
    data.eval_transform.to(device)

    num_classes = cfg.dataset.num_classes
    model = build_classifier(cfg.model, cfg.dataset.in_channels, num_classes).to(device)
    optimizer, scheduler = build_optimizer(cfg, model, steps_per_epoch=len(data.train_loader))
    amp = amp_on(cfg, device)
    train_labels = data.train_loader.dataset.labels
    loss_model = LossModel(train_labels, num_classes, cfg.los_model.weights, cfg.los_model.soft_labels,
                           symmetric=cfg.ir > 1 or cfg.nr > 0,
                           prior_correction=cfg.los_model.prior_correction,
                           smoothing=cfg.los_model.get("smoothing", PAPER_SMOOTHING)).to(device)
    aug_model = augmentation.learned_model(len(train_labels))
    if aug_model is not None:
        aug_model.to(device)

    hyper, (start_epoch, warmup_epochs) = None, hyper_schedule(cfg.dataset)
    if cfg.hyper_opt.name != "NONE":
        tables = {"weights": [loss_model.weight_logits], "soft_labels": [loss_model.label_logits],
                  "augment": list(aug_model.parameters()) if aug_model is not None else []}
        tables = {name: [p for p in parameters if p is not None] for name, parameters in tables.items()}
        steps = steps_per_pass(data.hyper_train_loader, cfg.hyper_opt.pass_fraction)
        hyper = HyperOptimizer(cfg.hyper_opt, tables, cfg.dataset.hyper_lr,
                               total_steps=(cfg.dataset.epochs - start_epoch) * steps,
                               warmup_steps=warmup_epochs * steps)
    return RunParts(device=device, amp=amp, data=data, model=model, optimizer=optimizer, scheduler=scheduler,
                    scaler=torch.amp.GradScaler(device.type, enabled=amp), loss_model=loss_model,
                    aug_model=aug_model, hyper=hyper, hyper_start_epoch=start_epoch, policy_table=table)
