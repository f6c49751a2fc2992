"""One run of the training task, top to bottom: its label cleaning and DADA table, its parts, resumed from its
checkpoint, the epoch loop (autodo.trainer), the optional head refit, and its result. The run folder
(autodo.run_folder) holds everything it writes; ``result.json`` is written last, and a run that has one is finished
and not run again."""

import logging
import time

from omegaconf import OmegaConf

from autodo.checkpoint import save_checkpoint
from autodo.engine import evaluate, refit_head
from autodo.metrics import summarize_run
from autodo.recipes import pick_device
from autodo.tasks.train.cleaning import run_label_issues
from autodo.tasks.train.dada_table import POLICY, run_table
from autodo.tasks.train.methods import valid_held_out
from autodo.trainer import build_run, resume, run_log, train

log = logging.getLogger("autodo")


def run_experiment(cfg, folder, data_root, settings):
    """Train and evaluate the run ``cfg`` in the run folder ``folder``; return the contents of its ``result.json``.
    ``settings``: the run's identity, flat (autodo.identity.settings), its hparams in the run's log."""
    started = time.perf_counter()
    cleaning, label_issues, cleaning_correction = label_cleaning_cost(cfg, folder, data_root)
    table = run_table(cfg, data_root, pick_device(cfg.device)) if cfg.aug_model.name == "DADA" else None
    parts = build_run(cfg, data_root, table, label_issues)
    folder.write_split(parts.data.record)
    if parts.policy_table is not None:
        folder.write_json(POLICY, parts.policy_table.record())
    log.info("train %d (%d relabelled), valid %d, test %d images", parts.data.record["train_size"],
             parts.data.record["relabelled_count"], parts.data.record["valid_size"],
             len(parts.data.test_loader.dataset))
    history = resume(folder, parts)
    setup_time = time.perf_counter() - started
    search, search_correction = policy_search_cost(parts.policy_table)
    with run_log(cfg, folder, parts, history, settings) as live:
        history = train(cfg, folder, parts, history, live)
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
    """A confident-learning run's label issues (autodo.tasks.train.cleaning), what result.json says of them, and the
    time to add to the run's setup time for them: their whole cost, once, in place of this launch's share of it (none
    when they were found before; the folds not yet done when it was requeued, or none when a seed-mate trained them,
    with the wait for it)."""
    if cfg.label_cleaning.action == "none":
        return {}, None, 0.0
    started = time.perf_counter()
    issues = run_label_issues(cfg, folder, data_root)
    this_launch = time.perf_counter() - started
    reported = {"cleaning_time_s": issues.time_s, "label_issues": len(issues.positions)}
    return reported, issues, issues.time_s - this_launch


def refit_on_valid(folder, parts, history):
    """The ``head_refit`` baseline: refit the head on the features of the clean images the run learns from (the
    validation set, or its tuning part) after the last epoch; the checkpoint then holds the refit model. Returns
    what the result reports of it, and the refit model's accuracies for the final epoch's row."""
    started = time.perf_counter()
    data, model, device, amp = parts.data, parts.model, parts.device, parts.amp
    num_classes = len(history[-1]["test_per_class_acc"])
    refit_head(model, data.tuning_loader, data.eval_transform, device)
    folder.verify_claim()
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
