"""A training run's parts, built from its config in one place (data, classifier, optimiser, loss model, augmentation,
hyper optimiser and DivideMix's second network), and its epochs: resumed from its checkpoint, then a hyper pass, a
training epoch, evaluation, a checkpoint and a metrics line each. The training task (autodo.tasks.train) and the
subsample task's network head both train through it, and ``aggregate.py --inspect`` rebuilds the parts, so a
checkpoint always loads into the parts that wrote it."""

import copy
import logging
import time
from dataclasses import dataclass

import torch

from autodo.augment.choice import build_augmentation
from autodo.checkpoint import load_checkpoint, save_checkpoint
from autodo.data.datasets import make_loader
from autodo.data.pipeline import RunData, build_run_data
from autodo.dividemix import (CoDivision, DivideMixSettings, Ensemble, Network, clean_probability, per_sample_losses,
                              train_on_division)
from autodo.engine import evaluate, finite_loss, train_one_epoch
from autodo.errors import UserError
from autodo.hyper.optimizer import HyperOptimizer, hyper_epoch, steps_per_pass
from autodo.losses import LossModel, WeightNet
from autodo.metrics import class_halves, division_diagnostics, hyper_diagnostics
from autodo.models import build_classifier
from autodo.progress import Progress
from autodo.robust_losses import RobustLoss
from autodo.recipes import amp_on, build_optimizer, pick_device
from autodo.schedule import co_divide_schedule, hyper_schedule
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
    co_division: CoDivision = None  # DivideMix (los_model=DIVIDEMIX): its second network and settings

    def state(self):
        """The objects a checkpoint holds, by name."""
        state = {"model": self.model, "optimizer": self.optimizer, "scheduler": self.scheduler,
                 "scaler": self.scaler, "loss_model": self.loss_model}
        if self.aug_model is not None:
            state["aug_model"] = self.aug_model
        if self.hyper is not None:
            state["hyper"] = self.hyper
        if self.co_division is not None:
            peer = self.co_division.peer
            state.update({"peer_model": peer.model, "peer_optimizer": peer.optimizer, "peer_scheduler": peer.scheduler,
                          "peer_scaler": peer.scaler})
        return state

    @property
    def predictor(self):
        """The model the run is evaluated by: the classifier, or DivideMix's ensemble of its two networks."""
        return self.model if self.co_division is None else Ensemble(self.model, self.co_division.peer.model)


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
    co_division = build_co_division(cfg, data, device, amp) if cfg.los_model.get("co_divide") else None

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
                    aug_model=aug_model, hyper=hyper, hyper_start_epoch=start_epoch, policy_table=table,
                    co_division=co_division)


def build_co_division(cfg, data, device, amp):
    """DivideMix's second network (drawn after the first, which starts as every method's does), its optimiser and
    schedule, its settings, and the train set in order, whose losses divide it; its batches' own random stream."""
    los, epochs = cfg.los_model, cfg.dataset.epochs
    model = build_classifier(cfg.model, cfg.dataset.in_channels, cfg.dataset.num_classes).to(device)
    optimizer, scheduler = build_optimizer(cfg, model, steps_per_epoch=len(data.train_loader))
    peer = Network(model, optimizer, scheduler, torch.amp.GradScaler(device.type, enabled=amp))
    settings = DivideMixSettings(warmup_epochs=co_divide_schedule(los.dividemix_warmup, epochs),
                                 threshold=los.dividemix_threshold, temperature=los.dividemix_temperature,
                                 alpha=los.dividemix_alpha, lambda_u=los.dividemix_lambda_u,
                                 rampup_epochs=los.dividemix_rampup * epochs)
    data.generators["co_divide"] = torch.Generator().manual_seed(cfg.seed + 5)
    # the train images as the validation images are loaded (no random per-image transform)
    in_order = copy.copy(data.train_loader.dataset)
    in_order.transform, in_order.transform_seed = data.valid_loader.dataset.transform, None
    loader = make_loader(in_order, cfg.eval_batch_size, shuffle=False, num_workers=cfg.num_workers)
    return CoDivision(settings, peer, loader)


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
        desc = f"epoch {epoch + 1}/{cfg.dataset.epochs}"
        if parts.co_division is None:
            train = train_one_epoch(model, data.train_loader, data.train_transform, parts.aug_model,
                                    parts.loss_model, parts.optimizer, parts.scheduler, parts.scaler, parts.device,
                                    parts.amp, desc=desc, wrong=wrong)
        else:
            train = co_divided_epoch(parts, epoch, wrong, desc)
        finite_loss(train, f"epoch {epoch + 1}")
        valid = evaluate(parts.predictor, data.valid_loader, data.eval_transform, parts.device, num_classes, parts.amp)
        test = evaluate(parts.predictor, data.test_loader, data.eval_transform, parts.device, num_classes, parts.amp)
        if "acc_wrong_labels" in train:  # the network's memorisation of the wrong labels
            row["train_acc_wrong_labels"] = train["acc_wrong_labels"]
        row.update(train.get("division", {}))
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


def co_divided_epoch(parts, epoch, wrong, desc):
    """An epoch of DivideMix (autodo.dividemix): in the warm-up both networks train on the given labels as the Baseline
    does; after it, each network's losses divide the train set for the other, which trains on that division. Returns
    the pair's mean loss and step losses; after the warm-up, with the accuracy against the given labels (and on the
    wrong ones alone) measured at the division, and what the divisions found (``division``)."""
    division, data, device = parts.co_division, parts.data, parts.device
    networks = (Network(parts.model, parts.optimizer, parts.scheduler, parts.scaler), division.peer)
    if epoch < division.settings.warmup_epochs:
        return _pair([train_one_epoch(network.model, data.train_loader, data.train_transform, parts.aug_model,
                                      parts.loss_model, network.optimizer, network.scheduler, network.scaler, device,
                                      parts.amp, desc=f"{desc} network {k + 1}", wrong=wrong)
                      for k, network in enumerate(networks)])
    measured = [per_sample_losses(network.model, division.loader, data.eval_transform, device, parts.amp)
                for network in networks]
    generator = data.generators["co_divide"]
    clean = [clean_probability(losses, seed=int(torch.randint(2**31, (), generator=generator)))
             for losses, _ in measured]
    trained = [train_on_division(network, peer.model, data.train_loader, peer_clean, data.train_transform,
                                 division.settings, epoch, generator, device, parts.amp, desc=f"{desc} network {k + 1}")
               for k, (network, peer, peer_clean) in enumerate(zip(networks, networks[::-1], clean[::-1]))]
    if all(run is None for run in trained):
        raise UserError(f"DivideMix's divisions left no labelled sample at {desc}: neither network can train (a "
                        "lower los_model.dividemix_threshold labels more)")
    given, wrong_labels = data.train_loader.dataset.labels, wrong.cpu()
    stats = _pair([run for run in trained if run is not None])
    hits = [predictions == given for _, predictions in measured]
    stats["acc"] = sum(100.0 * hit.float().mean().item() for hit in hits) / 2
    if wrong_labels.any():
        stats["acc_wrong_labels"] = sum(100.0 * hit[wrong_labels].float().mean().item() for hit in hits) / 2
    stats["division"] = division_diagnostics(clean, division.settings.threshold, given, wrong_labels,
                                             parts.loss_model.num_classes)
    return stats


def _pair(runs):
    """The mean of the networks' training passes: loss, accuracy where measured, and each step's loss."""
    stats = {"loss": sum(run["loss"] for run in runs) / len(runs),
             "step_losses": [sum(step) / len(runs) for step in zip(*(run["step_losses"] for run in runs))]}
    for key in ("acc", "acc_wrong_labels"):
        if all(key in run for run in runs):
            stats[key] = sum(run[key] for run in runs) / len(runs)
    return stats
