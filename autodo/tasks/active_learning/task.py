"""The active_learning task, top to bottom: the run's biased train split is the unlabeled pool (its labels, noisy where
``nr`` says, are what the oracle answers); ``initial`` pool points drawn at random are labeled; then, for each of
``iterations`` rounds, the run's classifier is trained on the labeled points as the Baseline is (no augmentation; the
data set's epochs, more where it takes them to make ``min_steps`` SGD steps), tested, and the acquisition function
(autodo.tasks.active_learning.acquisition) picks ``budget`` more points to label; the model trained on the last labeled
set closes the run. Each model starts from random weights, or (``init=rotation``, the seed's self-supervised start) from
an encoder pretrained on the unlabeled pool to predict rotations (autodo.tasks.active_learning.pretrain).
``metrics.jsonl`` has a line per trained model.

Each model's initial weights (``retrain=scratch``: every model starts afresh; ``warm``: from the previous model),
its training's batches and the acquisition's random draws come from streams named by the seed and the iteration, and
a checkpoint after each acquisition holds the labeled set, the metrics and the model: a killed run resumes at its
iteration and ends as an uninterrupted one. Each model's weights are also kept (``models/iteration<k>.pt``), for the
confusion matrix and t-SNE of any iteration (``aggregate.py --inspect RUN --iteration K``)."""

import logging
import math
import time
from dataclasses import dataclass

import torch
from omegaconf import OmegaConf

from autodo.augment.copies import stream_generator
from autodo.errors import UserError
from autodo.identity import leave_out_dataset_settings, unread_dataset_settings
from autodo.identity import settings as identity_settings
from autodo.io import unreadable, verified_torch_load
from autodo.progress import Progress
from autodo.run_log import RunLog

log = logging.getLogger("autodo")
READS = ("task", "dataset", "model", "optim", "ir", "nr", "nr_type", "sr", "seed", "amp", "active_learning")
HEADLINE = "test_acc"  # the number every finished run has
RESULT_NUMBERS = ("test_acc", "majority_acc", "minority_acc", "wall_time_s")  # each a finite number when present
MODELS = "models"  # the run folder's folder of each iteration's model weights
REPORT = "autodo.tasks.active_learning.report"  # its rows, table and figure for aggregate.py
INITIAL, TRAINING, ACQUIRING, ROTATING = 100, 101, 102, 103  # the task's random streams (autodo.augment.copies)


def identity(config, keep_unread=False):
    """The part of the canonical plain ``config`` an active-learning run's result depends on: what its
    acquisition function does not read is left out, and the data set's settings of augmentations and hyper passes
    (unless ``keep_unread``: as versions before 2026-12-05 did)."""
    config = {key: config[key] for key in READS if key in config}  # nr_type: a run before it had uniform noise
    settings = config["active_learning"]
    if not keep_unread:
        leave_out_dataset_settings(config, unread_dataset_settings(None, None))
    rotated = settings["acquisition"] == "varR" or (settings["acquisition"] == "fisher"
                                                   and settings["pseudo_label"] == "rotation")
    if not rotated:
        settings["passes"] = 0
    if settings["acquisition"] != "fisher":
        settings["pseudo_label"] = None
    if settings["acquisition"] not in ("badge", "fisher"):
        settings["projection"] = None
    return config


# the settings ``slug`` names, left out of a folder name's settings set apart
SLUG_SETTINGS = ("active_learning.acquisition", "active_learning.initial", "active_learning.iterations",
                 "active_learning.budget", "active_learning.retrain", "active_learning.init")


def slug(config):
    settings = config["active_learning"]
    init = "-rotation" if settings["init"] == "rotation" else ""
    return (f"al-{settings['acquisition']}-{settings['initial']}+{settings['iterations']}x{settings['budget']}"
            f"-{settings['retrain']}{init}")


def summary_line(result):
    return (f"test accuracy {result['test_acc']:.2f}% with {result['labeled']} labels "
            f"(minority {result['minority_acc']:.2f}%)")


def check(cfg, data_root):
    """Before anything is written: the labels the run asks for must fit in its pool."""
    from autodo.data.pipeline import planned_split

    settings = cfg.active_learning
    pool = len(planned_split(cfg, data_root).train_labels)
    wanted = settings.initial + settings.iterations * settings.budget
    if wanted > pool:
        raise UserError(f"active_learning.budget={settings.budget} is not allowed here: initial + iterations x "
                        f"budget = {wanted} labels, and the pool of this run has {pool} points")


# ============ the run ============

def run(cfg, folder, data_root):
    """Run the active-learning task ``cfg`` in its run folder ``folder``; return the contents of its
    ``result.json``."""
    from autodo.models import build_classifier

    started = time.perf_counter()  # this launch's setup: its data and encoder
    settings = cfg.active_learning
    data, device = _pool_data(cfg, data_root)
    folder.write_split(data.record)
    pool = data.train_loader.dataset
    encoder = None
    if settings.init == "rotation":
        from autodo.tasks.active_learning.pretrain import pretrained_encoder

        encoder = pretrained_encoder(cfg, OmegaConf.to_container(cfg, resolve=True), data, device, data_root)
    labeled, history, weights = _resume(folder)
    setup_time = time.perf_counter() - started
    if labeled is None:
        labeled = torch.randperm(len(pool), generator=stream_generator(cfg.seed, INITIAL))[:settings.initial]
    progress = Progress("active learning: models trained and tested", settings.iterations + 1, done=len(history),
                        every_s=0)
    # each model's numbers at the number of labels it learned from, logged before its checkpoint; what a killed
    # launch logged after its last checkpointed model is hidden
    config = OmegaConf.to_container(cfg, resolve=True)
    with RunLog(folder, identity_settings(config, identity), purge_step=history[-1]["labeled"] + 1 if history else 1,
                logger=cfg.get("logger")) as live:
        for iteration in range(len(history), settings.iterations + 1):
            # each model's initial weights and training draws: from the seed and the iteration alone
            torch.manual_seed(int(torch.randint(2**62, (1,), generator=_stream(cfg, TRAINING, iteration))))
            model = build_classifier(cfg.model, cfg.dataset.in_channels, cfg.dataset.num_classes).to(device)
            if settings.retrain == "warm" and weights is not None:
                model.load_state_dict(weights)
            elif encoder is not None:  # a new head on the pretrained encoder
                model.encoder.load_state_dict(encoder)
            row = _train_and_test(cfg, model, data, labeled, iteration, device)
            weights = model.state_dict()
            if iteration < settings.iterations:
                acquiring = time.perf_counter()
                new = _acquire(cfg, model, data, labeled, iteration, device)
                row["acquisition_time_s"] = time.perf_counter() - acquiring
                labeled = torch.cat([labeled, new])
            history.append(row)
            live.add_row(row, row["labeled"])
            _save(folder, model, labeled, history, iteration)
            progress.step()
    final = history[-1]
    result = {
        "config": config,
        "pool_size": len(pool),
        "labeled": final["labeled"],
        **{key: final[key] for key in ("test_acc", "test_per_class_acc", "majority_acc", "minority_acc",
                                       "valid_acc")},
        **{key: final[key] for key in ("labeled_minority_share", "labeled_wrong_share")},
        # the iterations' own times, so that a resumed run counts every launch's work and not the time it lay dead
        "wall_time_s": setup_time + sum(row["train_time_s"] + row.get("acquisition_time_s", 0.0) for row in history),
    }
    folder.write_result(result)
    return result


def last_iteration(result):
    """The iteration of an active-learning run's last model (``result``: its result.json)."""
    return result["config"]["active_learning"]["iterations"]


def _pool_data(cfg, data_root):
    """The run's data without augmentation (the pool's images as the validation set's) and its device."""
    from autodo.data.pipeline import unaugmented_run_data
    from autodo.recipes import pick_device

    device = pick_device(cfg.device)
    return unaugmented_run_data(cfg, data_root, device), device


def inspect_error(run_dir, folder, result, iteration):
    """Why the model of ``iteration`` (default: the last) of the finished run ``run_dir`` cannot be inspected, or
    None."""
    last = last_iteration(result)
    if iteration is not None and not 0 <= iteration <= last:
        return f"--iteration {iteration} is not allowed for {run_dir!r}: its iterations are 0 .. {last}"
    model = model_file(folder, last if iteration is None else iteration)
    return None if model.exists() else f"--inspect {run_dir!r} has no {model.relative_to(folder.path)}"


def model_file(folder, iteration):
    """The weights of the model the run trained in ``iteration``, in its folder's ``models/``."""
    return folder.file(MODELS) / f"iteration{iteration}.pt"


def inspection_model(cfg, folder, data_root, iteration=None):
    """The model the run ``cfg`` trained in ``iteration`` (default: its last), with the run's data and device."""
    from autodo.models import build_classifier

    data, device = _pool_data(cfg, data_root)
    model = build_classifier(cfg.model, cfg.dataset.in_channels, cfg.dataset.num_classes).to(device)
    iteration = cfg.active_learning.iterations if iteration is None else iteration
    path = model_file(folder, iteration)
    try:
        weights = verified_torch_load(path, map_location=device)
    except Exception as error:  # noqa: BLE001 - whatever broke, the file is not the model the run trained
        raise UserError(f"model {path} is unreadable ({unreadable(error)})") from None
    model.load_state_dict(weights)
    return model, data, device


def _resume(folder):
    """The labeled set, metrics and last model's weights of the checkpoint, or ``(None, [], None)`` with none."""
    if not folder.checkpoint.exists():
        return None, [], None
    try:
        saved = verified_torch_load(folder.checkpoint)
        labeled, history, weights = saved["labeled"], saved["history"], saved["model"]
    except Exception as error:  # noqa: BLE001 - whatever broke, the file is not this run's checkpoint
        raise UserError(f"checkpoint {folder.checkpoint} is unreadable ({unreadable(error)}): delete it to start "
                        "the run again, or move the folder away") from None
    log.info("resuming after iteration %d from %s", len(history) - 1, folder.checkpoint)
    folder.write_metrics(history)  # drops lines written after the checkpoint
    return labeled, history, weights


def _save(folder, model, labeled, history, iteration):
    from autodo.io import atomic_torch_save

    folder.verify_claim()
    model_file(folder, iteration).parent.mkdir(exist_ok=True)
    atomic_torch_save(model_file(folder, iteration), model.state_dict())  # for aggregate.py --inspect --iteration
    atomic_torch_save(folder.checkpoint, {"model": model.state_dict(), "labeled": labeled, "history": history})
    folder.write_metrics(history)


def _train_and_test(cfg, model, data, labeled, iteration, device):
    """Train ``model`` on the ``labeled`` pool points and test it; return its metrics row."""
    from autodo.data.datasets import LabelledSubset, make_loader
    from autodo.engine import evaluate
    from autodo.recipes import amp_on, train_plain
    from autodo.metrics import class_halves

    started = time.perf_counter()
    pool, num_classes = data.train_loader.dataset, cfg.dataset.num_classes
    subset = LabelledSubset(pool.source, pool.indices[labeled], pool.labels[labeled], pool.transform)
    loader = make_loader(subset, cfg.dataset.batch_size, shuffle=True, num_workers=cfg.num_workers,
                         generator=_stream(cfg, TRAINING, iteration, 1),
                         pin_memory=device.type == "cuda")
    epochs = max(cfg.dataset.epochs, math.ceil(cfg.active_learning.min_steps / len(loader)))
    train_plain(OmegaConf.merge(cfg, {"dataset": {"epochs": epochs}}), model, loader, data.eval_transform, device,
                f"iteration {iteration}")
    amp = amp_on(cfg, device)
    test = evaluate(model, data.test_loader, data.eval_transform, device, num_classes, amp)
    valid = evaluate(model, data.valid_loader, data.eval_transform, device, num_classes, amp)
    majority, minority = class_halves(test["per_class_acc"], num_classes)
    minority_share, wrong_share = _labeled_shares(data, labeled, num_classes)
    log.info("iteration %d: %d labels, test acc %.2f (minority %.2f)", iteration, len(labeled), test["acc"], minority)
    return {"iteration": iteration, "labeled": len(labeled), "epochs": epochs, "test_acc": test["acc"],
            "test_per_class_acc": test["per_class_acc"], "majority_acc": majority, "minority_acc": minority,
            "valid_acc": valid["acc"], "labeled_minority_share": minority_share,
            "labeled_wrong_share": wrong_share, "train_time_s": time.perf_counter() - started}


def _labeled_shares(data, labeled, num_classes):
    """The shares (%) of minority classes (by true label) and of wrong labels among the ``labeled`` points."""
    clean = data.clean_train_labels[labeled]
    wrong = data.train_loader.dataset.labels[labeled] != clean
    return 100.0 * (clean >= num_classes // 2).double().mean().item(), 100.0 * wrong.double().mean().item()


# ============ acquisition ============

def _stream(cfg, key, iteration, *more):
    """The random stream ``key`` of ``iteration`` (numbered from 1: a key must not end in 0)."""
    return stream_generator(cfg.seed, key, iteration + 1, *more)


@dataclass
class _Round:
    """One acquisition: the model of ``iteration`` and what it sees of the pool."""

    cfg: object
    model: torch.nn.Module
    data: object  # autodo.data.pipeline.RunData
    device: torch.device
    iteration: int
    labeled: torch.Tensor  # a mask over the pool
    generator: torch.Generator

    @property
    def candidates(self):
        return torch.nonzero(~self.labeled).flatten()

    def batches(self, dataset, positions):
        for start in range(0, len(positions), self.cfg.eval_batch_size):
            yield dataset.__getitems__(positions[start:start + self.cfg.eval_batch_size])[0]

    def outputs(self, dataset, positions):
        from autodo.tasks.active_learning.descriptors import model_outputs

        return model_outputs(self.model, self.batches(dataset, positions), self.data.eval_transform, self.device)

    def rotated_predictions(self, dataset, positions):
        """The predicted classes ``(n, passes)`` of ``passes`` copies of each point rotated by up to 15 degrees
        either way, and the class of their mean prediction ``(n,)``. A point's copies depend only on the seed, the
        iteration, the set and the point."""
        from autodo.augment.copies import augmented_copies

        passes = self.cfg.active_learning.passes
        draws = torch.rand(len(dataset), passes, 3, generator=_stream(self.cfg, ROTATING, self.iteration,
                                                                      int(dataset is self.data.valid_loader.dataset)),
                           dtype=torch.float64)[positions]
        votes, means = [], []
        for start, images in zip(range(0, len(positions), self.cfg.eval_batch_size), self.batches(dataset, positions)):
            copies = augmented_copies(images, draws[start:start + len(images)], "rotate", self.cfg.dataset)
            with torch.no_grad():
                self.model.eval()
                logits = self.model(self.data.eval_transform(copies.to(self.device))).float()
            probabilities = torch.softmax(logits, dim=1).cpu().reshape(len(images), passes, -1)
            votes.append(probabilities.argmax(2))
            means.append(probabilities.mean(1).argmax(1))
        return torch.cat(votes), torch.cat(means)

    def pseudo_labels(self, dataset, positions, outputs):
        """The seed's pseudo-label estimators: the model's prediction, or its mean prediction over rotated copies."""
        if self.cfg.active_learning.pseudo_label == "prediction":
            return outputs.probabilities.argmax(1)
        return self.rotated_predictions(dataset, positions)[1]

    def library_seed(self):
        """A seed for a library's own random state, from this acquisition's stream."""
        return int(torch.randint(2**31 - 1, (1,), generator=self.generator))


def _random(round_, budget):
    from autodo.tasks.active_learning.acquisition import pick_random

    return pick_random(round_.candidates, budget, round_.generator)


def _entropy(round_, budget):
    from autodo.tasks.active_learning.acquisition import entropy_scores, pick_top

    pool, candidates = round_.data.train_loader.dataset, round_.candidates
    scores = entropy_scores(round_.outputs(pool, candidates).probabilities)
    return pick_top(candidates, scores, budget, round_.generator)


def _variation_ratio(round_, budget):
    from autodo.tasks.active_learning.acquisition import pick_top, variation_ratio_scores

    pool, candidates = round_.data.train_loader.dataset, round_.candidates
    votes, _ = round_.rotated_predictions(pool, candidates)
    return pick_top(candidates, variation_ratio_scores(votes), budget, round_.generator)


def _coreset(round_, budget):
    from autodo.tasks.active_learning.acquisition import pick_coreset

    pool = round_.data.train_loader.dataset
    features = round_.outputs(pool, torch.arange(len(pool))).features
    return pick_coreset(features, round_.labeled, round_.candidates, budget, round_.library_seed())


def _projections(round_, outputs):
    from autodo.tasks.active_learning.descriptors import projections

    return projections(round_.cfg.dataset.num_classes, outputs.features.shape[1],
                       round_.cfg.active_learning.projection, round_.library_seed())


def _badge(round_, budget):
    from autodo.tasks.active_learning.acquisition import pick_badge

    pool, candidates = round_.data.train_loader.dataset, round_.candidates
    outputs = round_.outputs(pool, candidates)
    return pick_badge(outputs, candidates, budget, round_.generator, _projections(round_, outputs))


def _fisher(round_, budget):
    from autodo.tasks.active_learning.acquisition import pick_fisher
    from autodo.tasks.active_learning.descriptors import gradient_descriptors

    sets = ((round_.data.train_loader.dataset, round_.candidates),
            (round_.data.valid_loader.dataset, torch.arange(len(round_.data.valid_loader.dataset))))
    outputs = [round_.outputs(dataset, positions) for dataset, positions in sets]
    projected = _projections(round_, outputs[0])
    descriptors = [gradient_descriptors(out, round_.pseudo_labels(dataset, positions, out), projected)
                   for (dataset, positions), out in zip(sets, outputs)]
    return pick_fisher(*descriptors, round_.candidates, budget, round_.generator)


ACQUIRE = {"random": _random, "entropy": _entropy, "varR": _variation_ratio, "coreset": _coreset, "badge": _badge,
           "fisher": _fisher}


def _acquire(cfg, model, data, labeled, iteration, device):
    """The ``budget`` pool points the acquisition function picks after the model of ``iteration``."""
    is_labeled = torch.zeros(len(data.train_loader.dataset), dtype=torch.bool)
    is_labeled[labeled] = True
    round_ = _Round(cfg, model, data, device, iteration, is_labeled, _stream(cfg, ACQUIRING, iteration))
    return ACQUIRE[cfg.active_learning.acquisition](round_, cfg.active_learning.budget)
