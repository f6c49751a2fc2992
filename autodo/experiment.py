"""One experiment run, top to bottom: data, model, resume, the epoch loop, and the run folder's files.

The run folder holds ``split.json`` (the biased train set), ``checkpoint.pt`` (written atomically every epoch),
``metrics.jsonl`` (one line per epoch), ``tb/`` (TensorBoard) and, written last, ``result.json``: a run with a
``result.json`` is finished and is not run again.
"""

import json
import logging
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

from autodo.augment.affine import build_learned_augmentation
from autodo.checkpoint import load_checkpoint, save_checkpoint
from autodo.config import validate_config
from autodo.data.pipeline import build_run_data
from autodo.engine import evaluate, refit_head, train_one_epoch
from autodo.hyper.optimizer import HyperOptimizer, hyper_epoch, steps_per_pass
from autodo.io import atomic_write_json, atomic_write_jsonl
from autodo.losses import LossModel
from autodo.metrics import hyper_diagnostics, summarize_run
from autodo.models import build_classifier
from autodo.schedule import WarmupCosine

log = logging.getLogger("autodo")

RESULT = "result.json"
CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"


def pick_device(name):
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def build_optimizer(cfg, model, steps_per_epoch):
    """SGD with Nesterov momentum and the per-step warm-up + cosine learning rate of the data set."""
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.dataset.lr, momentum=cfg.optim.momentum,
                                nesterov=cfg.optim.nesterov, weight_decay=cfg.optim.weight_decay)
    schedule = WarmupCosine(cfg.dataset.epochs * steps_per_epoch, cfg.dataset.warmup_epochs * steps_per_epoch,
                            cfg.optim.min_lr_factor)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def run_experiment(cfg, run_dir, data_root):
    """Train and evaluate one configuration in ``run_dir``; return the contents of its ``result.json``."""
    validate_config(cfg)
    run_dir = Path(run_dir)
    if (run_dir / RESULT).exists():
        log.info("already finished: %s", run_dir)
        return json.loads((run_dir / RESULT).read_text())
    started = time.perf_counter()
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)

    # ============ data ============
    data = build_run_data(cfg, data_root, device)
    atomic_write_json(run_dir / "split.json", data.record)
    log.info("train %d (%d relabelled), valid %d, test %d images", data.record["train_size"],
             data.record["relabelled_count"], data.record["valid_size"], len(data.test_loader.dataset))

    # ============ model, lambda and optimisers ============
    num_classes = cfg.dataset.num_classes
    model = build_classifier(cfg.model, cfg.dataset.in_channels, num_classes).to(device)
    data.train_transform.to(device)
    data.eval_transform.to(device)
    optimizer, scheduler = build_optimizer(cfg, model, steps_per_epoch=len(data.train_loader))
    amp = cfg.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    train_labels = data.train_loader.dataset.labels
    loss_model = LossModel(train_labels, num_classes, cfg.los_model.weights, cfg.los_model.soft_labels,
                           symmetric=cfg.ir > 1 or cfg.nr > 0,
                           prior_correction=cfg.los_model.prior_correction).to(device)
    aug_model = build_learned_augmentation(cfg.aug_model, len(train_labels))
    state = {"model": model, "optimizer": optimizer, "scheduler": scheduler, "scaler": scaler,
             "loss_model": loss_model}
    if aug_model is not None:
        state["aug_model"] = aug_model.to(device)
    hyper = None
    if cfg.hyper_opt.name != "NONE":
        lambdas = [*loss_model.parameters(), *(aug_model.parameters() if aug_model is not None else [])]
        hyper_steps = steps_per_pass(data.hyper_train_loader, cfg.hyper_opt.pass_fraction)
        hyper = HyperOptimizer(cfg.hyper_opt, lambdas, cfg.dataset.hyper_lr,
                               total_steps=(cfg.dataset.epochs - cfg.dataset.hyper_start_epoch) * hyper_steps,
                               warmup_steps=cfg.dataset.hyper_warmup_epochs * hyper_steps)
        state["hyper"] = hyper

    # ============ resume ============
    history = load_checkpoint(run_dir / CHECKPOINT, state, data.generators, device)
    start_epoch = len(history)
    if start_epoch:
        log.info("resuming after epoch %d from %s", start_epoch, run_dir / CHECKPOINT)
    atomic_write_jsonl(run_dir / METRICS, history)  # drops lines written after the checkpoint

    # ============ epochs ============
    from torch.utils.tensorboard import SummaryWriter

    setup_time = time.perf_counter() - started
    with SummaryWriter(str(run_dir / "tb"), purge_step=start_epoch) as writer:
        for epoch in range(start_epoch, cfg.dataset.epochs):
            epoch_start = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            row = {"epoch": epoch + 1, "lr": lr}
            if hyper is not None and epoch >= cfg.dataset.hyper_start_epoch:
                row["hyper_lr"] = hyper.optimizer.param_groups[0]["lr"]
                row.update(hyper_epoch(hyper, model, data, aug_model, loss_model, device, lr))
                row["hyper_time_s"] = time.perf_counter() - epoch_start
            train = train_one_epoch(model, data.train_loader, data.train_transform, aug_model, loss_model,
                                    optimizer, scheduler, scaler, device, amp,
                                    desc=f"epoch {epoch + 1}/{cfg.dataset.epochs}")
            valid = evaluate(model, data.valid_loader, data.eval_transform, device, num_classes, amp)
            test = evaluate(model, data.test_loader, data.eval_transform, device, num_classes, amp)
            row.update({"train_loss": train["loss"], "train_acc": train["acc"], "valid_loss": valid["loss"],
                        "valid_acc": valid["acc"], "test_loss": test["loss"], "test_acc": test["acc"],
                        "test_per_class_acc": test["per_class_acc"]})
            row.update(hyper_diagnostics(loss_model, aug_model, train_labels, data.clean_train_labels,
                                         num_classes))
            row["epoch_time_s"] = time.perf_counter() - epoch_start
            history.append(row)
            save_checkpoint(run_dir / CHECKPOINT, state, data.generators, history)
            atomic_write_jsonl(run_dir / METRICS, history)
            for key, value in row.items():
                if key not in ("epoch", "test_per_class_acc"):
                    writer.add_scalar(key, value, epoch + 1)
            log.info("epoch %d/%d  train loss %.4f  valid acc %.2f  test acc %.2f  (%.1fs)", epoch + 1,
                     cfg.dataset.epochs, train["loss"], valid["acc"], test["acc"], row["epoch_time_s"])

    # ============ head refit (a baseline) ============
    refit = {}
    if cfg.head_refit:
        refit_start = time.perf_counter()
        refit_head(model, data.valid_loader, data.eval_transform, device)
        save_checkpoint(run_dir / CHECKPOINT, state, data.generators, history)  # the model the result is of
        test = evaluate(model, data.test_loader, data.eval_transform, device, num_classes, amp)
        refit = {"head_refit_test_acc_before": history[-1]["test_acc"],
                 "head_refit_valid_fit_acc": evaluate(model, data.valid_loader, data.eval_transform, device,
                                                      num_classes, amp)["acc"],
                 "head_refit_time_s": time.perf_counter() - refit_start}
        log.info("head refit on the validation set: test acc %.2f -> %.2f", history[-1]["test_acc"], test["acc"])
        # the refit model is the final one; validation accuracy stays the network's own (the refit saw it)
        history = [*history[:-1], {**history[-1], "test_acc": test["acc"],
                                   "test_per_class_acc": test["per_class_acc"]}]

    # ============ result ============
    result = {
        "config": OmegaConf.to_container(cfg, resolve=True),
        **summarize_run(history, num_classes),
        **refit,
        # the epochs' own times, so that a resumed run does not count the time it lay dead
        "wall_time_s": setup_time + sum(row["epoch_time_s"] for row in history) + refit.get("head_refit_time_s", 0),
    }
    atomic_write_json(run_dir / RESULT, result)
    return result
