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

from autodo.checkpoint import load_checkpoint, save_checkpoint
from autodo.config import validate_config
from autodo.data.pipeline import build_run_data
from autodo.engine import evaluate, train_one_epoch
from autodo.io import atomic_write_json, atomic_write_jsonl
from autodo.metrics import summarize_run
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

    # ============ model and optimiser ============
    model = build_classifier(cfg.model, cfg.dataset.in_channels, cfg.dataset.num_classes).to(device)
    data.train_transform.to(device)
    data.eval_transform.to(device)
    optimizer, scheduler = build_optimizer(cfg, model, steps_per_epoch=len(data.train_loader))
    amp = cfg.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler(device.type, enabled=amp)

    # ============ resume ============
    state = {"model": model, "optimizer": optimizer, "scheduler": scheduler, "scaler": scaler}
    history = load_checkpoint(run_dir / CHECKPOINT, state, data.shuffle_generator, device)
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
            train = train_one_epoch(model, data.train_loader, data.train_transform, optimizer, scheduler, scaler,
                                    device, amp, desc=f"epoch {epoch + 1}/{cfg.dataset.epochs}")
            valid = evaluate(model, data.valid_loader, data.eval_transform, device, cfg.dataset.num_classes, amp)
            test = evaluate(model, data.test_loader, data.eval_transform, device, cfg.dataset.num_classes, amp)
            row = {"epoch": epoch + 1, "lr": lr, "train_loss": train["loss"], "train_acc": train["acc"],
                   "valid_loss": valid["loss"], "valid_acc": valid["acc"], "test_loss": test["loss"],
                   "test_acc": test["acc"], "test_per_class_acc": test["per_class_acc"],
                   "epoch_time_s": time.perf_counter() - epoch_start}
            history.append(row)
            save_checkpoint(run_dir / CHECKPOINT, state, data.shuffle_generator, history)
            atomic_write_jsonl(run_dir / METRICS, history)
            for key in ("lr", "train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc"):
                writer.add_scalar(key, row[key], epoch + 1)
            log.info("epoch %d/%d  train loss %.4f  valid acc %.2f  test acc %.2f  (%.1fs)", epoch + 1,
                     cfg.dataset.epochs, train["loss"], valid["acc"], test["acc"], row["epoch_time_s"])

    # ============ result ============
    result = {
        "config": OmegaConf.to_container(cfg, resolve=True),
        **summarize_run(history, cfg.dataset.num_classes),
        # the epochs' own times, so that a resumed run does not count the time it lay dead
        "wall_time_s": setup_time + sum(row["epoch_time_s"] for row in history),
    }
    atomic_write_json(run_dir / RESULT, result)
    return result
