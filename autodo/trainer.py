"""A training run's parts, built from its config in one place (data, classifier, optimiser, loss model, augmentation and
hyper optimiser), and its epochs: resumed from its checkpoint, then a hyper pass, a training epoch, evaluation, a
checkpoint and a metrics line each. The training task (autodo.tasks.train) and the subsample task's network head both
train through it, and ``aggregate.py --inspect`` rebuilds the parts, so a checkpoint always loads into the parts that
wrote it."""

import logging
import time
from dataclasses import dataclass

import torch

from autodo.augment.choice import build_augmentation
from autodo.checkpoint import load_checkpoint, save_checkpoint
from autodo.data.pipeline import RunData, build_run_data
from autodo.engine import evaluate, finite_loss, train_one_epoch
from autodo.hyper.optimizer import HyperOptimizer, hyper_epoch, steps_per_pass
from autodo.losses import LossModel, WeightNet
from autodo.metrics import class_halves, hyper_diagnostics
from autodo.models import build_classifier
from autodo.progress import Progress
from autodo.robust_losses import RobustLoss
from autodo.recipes import amp_on, build_optimizer, pick_device
from autodo.schedule import hyper_schedule
from autodo.run_log import RunLog
from autodo.vocabulary import PAPER_SMOOTHING

log = logging.getLogger("autodo")


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
    policy_table: object = None  # aug_model=DADA: its autodo.augment.table_file.PolicyTable

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
    (an autodo.augment.table_file.PolicyTable: autodo.tasks.train.dada_table gives the run's own); a run with
    ``label_cleaning`` trains without (or relabels) the train labels of ``label_issues``
    (autodo.tasks.train.cleaning)."""
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    augmentation = build_augmentation(cfg.aug_model, cfg.dataset, table)
    data = build_run_data(cfg, data_root, device, augmentation, label_issues)
    data.train_transform.to(device)
    data.eval_transform.to(device)

    num_classes = cfg.dataset.num_classes
    model = build_classifier(cfg.model, cfg.dataset.in_channels, num_classes).to(device)
    optimizer, scheduler = build_optimizer(cfg, model, steps_per_epoch=len(data.train_loader))
    amp = amp_on(cfg, device)
    train_labels = data.train_loader.dataset.labels
    # MW-Net's weighting network (los_model=MWN), drawn after the classifier, which starts as every method's does
    weight_net = WeightNet(cfg.los_model.weight_net_hidden) if cfg.los_model.get("weight_net") else None
    loss_model = LossModel(train_labels, num_classes, cfg.los_model.weights, cfg.los_model.soft_labels,
                           symmetric=cfg.ir > 1 or cfg.nr > 0,
                           prior_correction=cfg.los_model.prior_correction,
                           smoothing=cfg.los_model.get("smoothing", PAPER_SMOOTHING),
                           base_loss=robust_loss(cfg.los_model, len(train_labels), num_classes),
                           weight_net=weight_net).to(device)
    aug_model = augmentation.learned_model(len(train_labels))
    if aug_model is not None:
        aug_model.to(device)

    hyper, (start_epoch, warmup_epochs) = None, hyper_schedule(cfg.dataset)
    if cfg.hyper_opt.name != "NONE":
        weights = [loss_model.weight_logits] + list(loss_model.weight_net.parameters() if loss_model.weight_net else [])
        tables = {"weights": weights, "soft_labels": [loss_model.label_logits],
                  "augment": list(aug_model.parameters()) if aug_model is not None else []}
        tables = {name: [p for p in parameters if p is not None] for name, parameters in tables.items()}
        steps = steps_per_pass(data.hyper_train_loader, cfg.hyper_opt.pass_fraction)
        hyper = HyperOptimizer(cfg.hyper_opt, tables, cfg.dataset.hyper_lr,
                               total_steps=(cfg.dataset.epochs - start_epoch) * steps,
                               warmup_steps=warmup_epochs * steps,
                               table_factors={"weights": cfg.los_model.weight_net_lr_factor} if weight_net else None)
    return RunParts(device=device, amp=amp, data=data, model=model, optimizer=optimizer, scheduler=scheduler,
                    scaler=torch.amp.GradScaler(device.type, enabled=amp), loss_model=loss_model,
                    aug_model=aug_model, hyper=hyper, hyper_start_epoch=start_epoch, policy_table=table)


def robust_loss(los_model, num_samples, num_classes):
    """The given labels' loss of the ``los_model`` option: its ``loss`` (cross-entropy for a run written before it
    existed) with the settings of its own."""
    name = los_model.get("loss", "ce")
    settings = {"gce": lambda: {"q": los_model.gce_q},
                "sce": lambda: {"alpha": los_model.sce_alpha, "beta": los_model.sce_beta},
                "elr": lambda: {"strength": los_model.elr_lambda, "momentum": los_model.elr_beta}}
    return RobustLoss(name, num_samples, num_classes, **settings.get(name, dict)())


def resume(folder, parts):
    """Restore the parts from the folder's checkpoint, if any; return the metric history so far."""
    history = load_checkpoint(folder.checkpoint, parts.state(), parts.data.generators, parts.device)
    if history:
        log.info("resuming after epoch %d from %s", len(history), folder.checkpoint)
    folder.write_metrics(history)  # drops lines written after the checkpoint
    return history


def log_step(parts, epochs):
    """The step of the run's log (a training step, the x axis of every tag) at the end of ``epochs`` epochs."""
    return epochs * len(parts.data.train_loader)


def run_log(cfg, folder, parts, history, settings):
    """The run's live log (autodo.run_log: TensorBoard, and the ``logger`` asked for) with its ``settings``, going
    on after ``history``: what a killed launch logged after its checkpoint's last step is hidden."""
    return RunLog(folder, settings, purge_step=log_step(parts, len(history)) + 1, logger=cfg.get("logger"))


def train(cfg, folder, parts, history, live):
    """The epochs after ``history``: a hyper pass (from the hyper start on), a training epoch, evaluation, a
    checkpoint and a metrics line each; to the run's ``live`` log (``run_log``), each epoch's numbers and each
    step's training loss, at the training step they were measured at."""
    data, model, num_classes = parts.data, parts.model, cfg.dataset.num_classes
    train_labels = data.train_loader.dataset.labels
    wrong = (train_labels != data.clean_train_labels).to(parts.device)
    progress = Progress("epoch", cfg.dataset.epochs, done=len(history), every_s=0)
    for epoch in range(len(history), cfg.dataset.epochs):
        epoch_start = time.perf_counter()
        lr = parts.optimizer.param_groups[0]["lr"]
        row = {"epoch": epoch + 1, "lr": lr}
        if parts.loss_model.weight_net is not None:  # MW-Net's network weighs from the first hyper pass, which learns
            parts.loss_model.start_net_epoch(on=epoch >= parts.hyper_start_epoch)  # it, on; before, every weight is 1
        if parts.hyper is not None and epoch >= parts.hyper_start_epoch:
            row["hyper_lr"] = parts.hyper.learning_rate()
            row.update(hyper_epoch(parts.hyper, model, data, parts.aug_model, parts.loss_model, parts.device, lr))
            row["hyper_time_s"] = time.perf_counter() - epoch_start
        train = train_one_epoch(model, data.train_loader, data.train_transform, parts.aug_model,
                                parts.loss_model, parts.optimizer, parts.scheduler, parts.scaler, parts.device,
                                parts.amp, desc=f"epoch {epoch + 1}/{cfg.dataset.epochs}", wrong=wrong)
        finite_loss(train, f"epoch {epoch + 1}")
        valid = evaluate(model, data.valid_loader, data.eval_transform, parts.device, num_classes, parts.amp)
        test = evaluate(model, data.test_loader, data.eval_transform, parts.device, num_classes, parts.amp)
        if "acc_wrong_labels" in train:  # the network's memorisation of the wrong labels
            row["train_acc_wrong_labels"] = train["acc_wrong_labels"]
        row.update({"train_loss": train["loss"], "train_acc": train["acc"], "valid_loss": valid["loss"],
                    "valid_acc": valid["acc"], "test_loss": test["loss"], "test_acc": test["acc"],
                    "test_per_class_acc": test["per_class_acc"]})
        row.update(hyper_diagnostics(parts.loss_model, parts.aug_model, train_labels, data.clean_train_labels,
                                     num_classes))
        row["epoch_time_s"] = time.perf_counter() - epoch_start
        history.append(row)
        folder.verify_claim()
        # logged before the checkpoint: a launch killed between the two has its epoch logged again by the next,
        # which hides what came after the checkpoint (``run_log``)
        live.add_series("train/step_loss", train["step_losses"], log_step(parts, epoch) + 1)
        majority, minority = class_halves(test["per_class_acc"], num_classes)
        # the epoch too (train/epoch), to read the steps by
        live.add_row({**row, "test_majority_acc": majority, "test_minority_acc": minority}, log_step(parts, epoch + 1),
                     leave_out=())
        save_checkpoint(folder.checkpoint, parts.state(), data.generators, history)
        folder.write_metrics(history)
        progress.step(f"train loss {train['loss']:.4f}  valid acc {valid['acc']:.2f}  test acc {test['acc']:.2f}  "
                      f"({row['epoch_time_s']:.1f}s)")
    return history
