"""One training run, top to bottom: build its parts, resume from its checkpoint, the epoch loop, the optional head
refit, and its result. The run folder (autodo.run_folder) holds everything it writes; ``result.json`` is written
last, and a run that has one is finished and not run again."""

import logging
import time

from omegaconf import OmegaConf

from autodo.build import build_run
from autodo.checkpoint import load_checkpoint, save_checkpoint
from autodo.cleaning import run_label_issues
from autodo.engine import evaluate, refit_head, train_one_epoch
from autodo.hyper.optimizer import hyper_epoch
from autodo.methods import valid_held_out
from autodo.metrics import hyper_diagnostics, summarize_run

log = logging.getLogger("autodo")


def run_experiment(cfg, folder, data_root):
    """Train and evaluate the run ``cfg`` in the run folder ``folder``; return the contents of its ``result.json``."""
    started = time.perf_counter()
    cleaning, label_issues, cleaning_correction = label_cleaning_cost(cfg, folder, data_root)
    parts = build_run(cfg, data_root, label_issues=label_issues)
    folder.write_split(parts.data.record)
    if parts.policy_table is not None:
        folder.write_policy(parts.policy_table.record())
    log.info("train %d (%d relabelled), valid %d, test %d images", parts.data.record["train_size"],
             parts.data.record["relabelled_count"], parts.data.record["valid_size"],
             len(parts.data.test_loader.dataset))
    history = resume(folder, parts)
    setup_time = time.perf_counter() - started
    search, search_correction = policy_search_cost(parts.policy_table)
    history = train(cfg, folder, parts, history)
    refit = {}
    if cfg.head_refit:
        refit, final = refit_on_valid(folder, parts, history)
        # the refit model is the final one; its validation accuracy is the network's own where the refit saw the
        # validation images, and its own where they were held out of it (clean_split)
        history = [*history[:-1], {**history[-1], **final}]
    result = {
        "config": OmegaConf.to_container(cfg, resolve=True),
        **summarize_run(history, cfg.dataset.num_classes),
        "valid_held_out": valid_held_out(cfg),
        **refit,
        **search,
        **cleaning,
        # the epochs' own times, so that a resumed run does not count the time it lay dead
        "wall_time_s": setup_time + sum(row["epoch_time_s"] for row in history) + refit.get("head_refit_time_s", 0)
        + search_correction + cleaning_correction,
    }
    folder.write_result(result)
    return result


def policy_search_cost(table):
    """What result.json says of a DADA search (``search_time_s``, and whether the table was cached), and the time
    to add to the run's setup time for it: a search is part of the cost of every run that applies its table,
    once, whether this run searched, found it cached or waited for the seed-mate that searched it."""
    if table is None or table.source != "search":
        return {}, 0.0
    return {"search_time_s": table.search_time_s, "search_cached": table.cached}, \
        table.search_time_s - table.obtained_in_s


def label_cleaning_cost(cfg, folder, data_root):
    """A confident-learning run's label issues (autodo.cleaning), what result.json says of them, and the time to
    add to the run's setup time for them: their whole cost, once, in place of this launch's share of it (none when
    they were found before; the folds not yet done when it was requeued, or none when a seed-mate trained them,
    with the wait for it)."""
    if cfg.label_cleaning.action == "none":
        return {}, None, 0.0
    started = time.perf_counter()
    issues = run_label_issues(cfg, folder, data_root)
    this_launch = time.perf_counter() - started
    reported = {"cleaning_time_s": issues.time_s, "label_issues": len(issues.positions)}
    return reported, issues, issues.time_s - this_launch


def resume(folder, parts):
    """Restore the parts from the folder's checkpoint, if any; return the metric history so far."""
    history = load_checkpoint(folder.checkpoint, parts.state(), parts.data.generators, parts.device)
    if history:
        log.info("resuming after epoch %d from %s", len(history), folder.checkpoint)
    folder.write_metrics(history)  # drops lines written after the checkpoint
    return history


def train(cfg, folder, parts, history):
    """The epochs after ``history``: a hyper pass (from the hyper start on), a training epoch, evaluation, a
    checkpoint and a metrics line each."""
    from torch.utils.tensorboard import SummaryWriter

    data, model, num_classes = parts.data, parts.model, cfg.dataset.num_classes
    train_labels = data.train_loader.dataset.labels
    wrong = (train_labels != data.clean_train_labels).to(parts.device)
    with SummaryWriter(str(folder.tensorboard), purge_step=len(history)) as writer:
        for epoch in range(len(history), cfg.dataset.epochs):
            epoch_start = time.perf_counter()
            lr = parts.optimizer.param_groups[0]["lr"]
            row = {"epoch": epoch + 1, "lr": lr}
            if parts.hyper is not None and epoch >= parts.hyper_start_epoch:
                row["hyper_lr"] = parts.hyper.learning_rate()
                row.update(hyper_epoch(parts.hyper, model, data, parts.aug_model, parts.loss_model, parts.device, lr))
                row["hyper_time_s"] = time.perf_counter() - epoch_start
            train = train_one_epoch(model, data.train_loader, data.train_transform, parts.aug_model,
                                    parts.loss_model, parts.optimizer, parts.scheduler, parts.scaler, parts.device,
                                    parts.amp, desc=f"epoch {epoch + 1}/{cfg.dataset.epochs}", wrong=wrong)
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
            save_checkpoint(folder.checkpoint, parts.state(), data.generators, history)
            folder.write_metrics(history)
            for key, value in row.items():
                if key not in ("epoch", "test_per_class_acc"):
                    writer.add_scalar(key, value, epoch + 1)
            log.info("epoch %d/%d  train loss %.4f  valid acc %.2f  test acc %.2f  (%.1fs)", epoch + 1,
                     cfg.dataset.epochs, train["loss"], valid["acc"], test["acc"], row["epoch_time_s"])
    return history


def refit_on_valid(folder, parts, history):
    """The ``head_refit`` baseline: refit the head on the features of the clean images the run learns from (the
    validation set, or its tuning part) after the last epoch; the checkpoint then holds the refit model. Returns
    what the result reports of it, and the refit model's accuracies for the final epoch's row."""
    started = time.perf_counter()
    data, model, device, amp = parts.data, parts.model, parts.device, parts.amp
    num_classes = len(history[-1]["test_per_class_acc"])
    refit_head(model, data.tuning_loader, data.eval_transform, device)
    save_checkpoint(folder.checkpoint, parts.state(), data.generators, history)  # the model the result is of
    test = evaluate(model, data.test_loader, data.eval_transform, device, num_classes, amp)
    log.info("head refit on the validation set: test acc %.2f -> %.2f", history[-1]["test_acc"], test["acc"])
    fit = evaluate(model, data.tuning_loader, data.eval_transform, device, num_classes, amp)
    refit = {"head_refit_test_acc_before": history[-1]["test_acc"], "head_refit_valid_fit_acc": fit["acc"],
             "head_refit_time_s": time.perf_counter() - started}
    final = {"test_acc": test["acc"], "test_per_class_acc": test["per_class_acc"]}
    if data.tuning_loader is not data.valid_loader:  # the selection part was held out of the refit
        final["valid_acc"] = evaluate(model, data.valid_loader, data.eval_transform, device, num_classes, amp)["acc"]
    return refit, final
