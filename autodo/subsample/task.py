"""The subsample task, top to bottom: its data (the run's biased split, restricted to ``subsample.classes``), the
frozen features, the selection of the points to augment, then the final logistic head (or, ``head=network``, the
training of the whole network with the selected points augmented) and its result.

What its result depends on (the run's identity): the data, model and seed, and the subsample settings that matter
to its policy. ``policy=none`` augments nothing (budget 0; the augmentation matters only to its augmented test
images), ``policy=all`` everything (budget 1), and ``policy=random`` has no scores (``selection`` and ``rounds``
unused): a sweep over them runs each of these once.
"""

import logging
import time
from dataclasses import dataclass

import torch

from autodo.errors import UserError
from autodo.subsample.augment import TEST, VALID, augmented_copies, copy_draws
from autodo.subsample.logistic import Standardiser, fit, influence, per_point_loss

log = logging.getLogger("autodo")
READS = ("task", "dataset", "model", "optim", "ir", "nr", "sr", "seed", "amp", "subsample")
SCORED = ("loss", "influence")


def identity(config):
    """The part of the canonical plain ``config`` a subsample run's result depends on."""
    config = {key: config[key] for key in READS}
    settings = config["subsample"]
    if settings["policy"] not in SCORED:
        settings.update(selection="top", rounds=1)
    if settings["policy"] in ("none", "all"):
        settings.update(budget={"none": 0, "all": 1}[settings["policy"]])
    if settings["policy"] == "none":
        settings.update(copies=0)
        if settings["evaluate"] == "clean":
            settings.update(augmentation="none")
    return config


def slug(config):
    settings = config["subsample"]
    classes = "" if settings["classes"] is None else "c" + "+".join(map(str, settings["classes"])) + "-"
    if settings["policy"] == "none":
        return f"subsample-{classes}none"
    budget = "" if settings["policy"] == "all" else f"{settings['budget']:g}"
    return f"subsample-{classes}{settings['augmentation']}-{settings['policy']}{budget}"


def budget_count(budget, size):
    """The number of points a budget (a share in [0, 1), or a count) augments out of ``size``."""
    return round(budget * size) if isinstance(budget, float) else int(budget)


def check_budget(cfg, data_root):
    """A budget that counts more points than the train set has is an error (read from the data, before anything
    is written)."""
    settings = cfg.subsample
    if settings.policy in ("none", "all") or isinstance(settings.budget, float):
        return
    size = len(_train_positions(cfg, data_root))
    if settings.budget > size:
        raise UserError(f"subsample.budget={settings.budget} is not allowed: the train set of this run has {size} "
                        f"points (a count must be at most that, or a share in [0, 1))")


# ============ data ============

def _split(cfg, data_root):
    """The run's biased split, built (not read from or written to the cache: nothing is written before the checks)."""
    from autodo.data.bias import build_biased_split
    from autodo.data.sources import load_source

    train_source, _ = load_source(cfg.dataset, data_root)
    return build_biased_split(train_source.labels, cfg.dataset.num_classes, cfg.dataset.valid_size, cfg.ir, cfg.nr,
                              cfg.sr, cfg.seed)


def _in_classes(labels, classes):
    return torch.ones(len(labels), dtype=torch.bool) if classes is None else torch.isin(labels, torch.tensor(classes))


@dataclass
class _ClassSet:
    """The images of a set in the task's classes, their labels as the head sees them (0 .. K-1), and for the train
    set where each point comes from and whether its label is wrong."""

    classes: list
    images: torch.Tensor
    labels: torch.Tensor
    positions: torch.Tensor = None  # in the run's train set
    source_index: torch.Tensor = None
    given: torch.Tensor = None
    clean: torch.Tensor = None
    wrong: torch.Tensor = None


def _class_sets(data, classes, num_classes):
    """The train (by given label), validation and test (by true label) sets of the task's ``classes``."""
    classes = list(range(num_classes)) if classes is None else list(classes)
    relabel = torch.full((num_classes,), -1, dtype=torch.long)
    relabel[torch.tensor(classes)] = torch.arange(len(classes))
    sets = []
    for loader in (data.train_loader, data.valid_loader, data.test_loader):
        dataset = loader.dataset
        positions = torch.nonzero(_in_classes(dataset.labels, classes)).flatten()
        images, labels, _ = dataset.__getitems__(positions)
        sets.append(_ClassSet(classes, images, relabel[labels], positions))
    train = sets[0]
    train.source_index = data.train_loader.dataset.indices[train.positions]
    train.given, train.clean = data.train_loader.dataset.labels[train.positions], data.clean_train_labels[train.positions]
    train.wrong = train.given != train.clean
    return sets


def _embedder(encoder, transform, device, batch_size):
    from autodo.subsample.features import features

    return lambda images: features(encoder, images, transform, device, batch_size)


def _select_and_fit(settings, seed, train, inputs, valid_inputs, valid_labels, draws, augment, num_classes):
    """Choose the points to augment (in ``settings.rounds`` rounds for a scored policy, refitting the head and
    rescoring the points not yet chosen after each), add their copies, fit the final head. Returns the selection
    (positions in ``train``, their scores and rounds), a metrics row per round and the final head's weight."""
    n, policy, l2 = len(train.labels), settings.policy, settings.l2
    total = {"none": 0, "all": n}.get(policy, budget_count(settings.budget, n))
    rounds = settings.rounds if policy in SCORED else 1
    generator = torch.Generator().manual_seed(seed)
    chosen, scores, chosen_round = (torch.zeros(0, dtype=dtype) for dtype in (torch.long, torch.float64, torch.long))
    all_inputs, all_labels, weight, rows, first_round = inputs, train.labels, None, [], None
    for round_ in range(rounds):
        take = total * (round_ + 1) // rounds - total * round_ // rounds
        scoring_started = time.perf_counter()
        candidates = torch.nonzero(~torch.isin(torch.arange(n), chosen)).flatten()
        score = torch.full((len(candidates),), float("nan"), dtype=torch.float64)
        if policy in SCORED:
            weight = fit(all_inputs, all_labels, num_classes, l2, start=weight)
            if policy == "loss":
                score = per_point_loss(weight, inputs[candidates], train.labels[candidates])
            else:
                score = influence(weight, all_inputs, all_labels, valid_inputs, valid_labels, l2, candidates).abs()
            if round_ == 0:
                first_round = score.tolist()  # every point's score, for the record
        picked = _pick(policy, settings.selection, score, take, generator)
        score = score[picked]
        picked = candidates[picked]
        scoring_time = time.perf_counter() - scoring_started
        copies = augment(train.images[picked], draws[picked])
        all_inputs = torch.cat([all_inputs, copies])
        all_labels = torch.cat([all_labels, train.labels[picked].repeat_interleave(settings.copies)])
        chosen, scores = torch.cat([chosen, picked]), torch.cat([scores, score])
        chosen_round = torch.cat([chosen_round, torch.full((take,), round_ + 1)])
        weight = fit(all_inputs, all_labels, num_classes, l2, start=weight)
        valid_acc = 100.0 * ((valid_inputs @ weight.T).argmax(1) == valid_labels).double().mean().item()
        rows.append({"round": round_ + 1, "augmented": len(chosen), "train_inputs": len(all_labels),
                     "valid_acc": valid_acc, "scoring_time_s": scoring_time})
        log.info("round %d/%d: %d points augmented, valid acc %.2f", round_ + 1, rounds, len(chosen), valid_acc)
    selection = {"position": chosen, "score": [None if s != s else s for s in scores.tolist()],
                 "round": chosen_round.tolist(), "first_round_scores": first_round}
    return selection, rows, weight


def _pick(policy, selection, score, take, generator):
    """The positions among the candidates (``score`` has one per candidate) of the ``take`` points to augment."""
    if policy in SCORED and selection == "top":
        return torch.argsort(score, descending=True, stable=True)[:take]
    if policy in SCORED:  # drawn in proportion to the score, without replacement
        return torch.multinomial(score + 1e-12, take, generator=generator) if take else torch.zeros(0, dtype=torch.long)
    if policy == "random":
        return torch.randperm(len(score), generator=generator)[:take]
    return torch.arange(take)  # all, none


def _logistic_scores(weight, judged, test_labels, evaluate):
    """The logistic head's test accuracy on the test images as they are and augmented, and per class under the
    ``evaluate`` rule."""
    predicted = {rule: (inputs @ weight.T).argmax(1) for rule, inputs in judged["test"].items()}
    accuracy = {rule: 100.0 * (p == test_labels).double().mean().item() for rule, p in predicted.items()}
    per_class = [100.0 * (predicted[evaluate][test_labels == k] == k).double().mean().item()
                 for k in range(int(test_labels.max()) + 1)]
    return {"test_acc": accuracy[evaluate], "test_acc_clean": accuracy["clean"],  # test_acc: as evaluate says
            "test_acc_augmented": accuracy["augmented"], "test_per_class_acc": per_class}


def _train_network(cfg, folder, data_root, chosen):
    """``head=network``: train the run's classifier from scratch on its biased train split as the Baseline is
    trained, the ``chosen`` points (train positions) augmented each time they are drawn and the others never;
    resumable from its checkpoint like a training run. Returns its test accuracies (``test_acc`` as
    ``subsample.evaluate`` says, of the final model) with the training run's summary."""
    from autodo.build import build_run
    from autodo.data.datasets import make_loader
    from autodo.engine import evaluate
    from autodo.experiment import resume, train
    from autodo.metrics import summarize_run
    from autodo.subsample.augment import EPOCHS, stream_generator

    settings, num_classes = cfg.subsample, cfg.dataset.num_classes
    parts = build_run(cfg, data_root)
    data = parts.data
    selected = torch.zeros(len(data.train_loader.dataset), dtype=torch.bool)
    selected[chosen] = True
    generator = data.generators["augment"] = stream_generator(cfg.seed, EPOCHS)  # saved in the checkpoint

    def augment(images):
        draws = torch.rand(len(images), 1, 3, generator=generator, dtype=torch.float64)
        return augmented_copies(images, draws, settings.augmentation, cfg.dataset)

    data.train_loader = make_loader(PartlyAugmented(data.train_loader.dataset, selected, augment),
                                    cfg.dataset.batch_size, shuffle=True, generator=data.generators["train"],
                                    num_workers=cfg.num_workers, pin_memory=parts.device.type == "cuda")
    history = train(cfg, folder, parts, resume(folder, parts))
    summary = summarize_run(history, num_classes)

    test_set = data.test_loader.dataset
    images, labels, _ = test_set.__getitems__(torch.arange(len(test_set)))
    images = augmented_copies(images, copy_draws(len(images), 1, cfg.seed, TEST), settings.augmentation, cfg.dataset)
    batches = [(images[i:i + cfg.eval_batch_size], labels[i:i + cfg.eval_batch_size], None)
               for i in range(0, len(images), cfg.eval_batch_size)]
    augmented = evaluate(parts.model, batches, data.eval_transform, parts.device, num_classes, parts.amp)
    clean = {"acc": history[-1]["test_acc"], "per_class_acc": history[-1]["test_per_class_acc"]}
    judged = augmented if settings.evaluate == "augmented" else clean
    return {**summary, "test_acc": judged["acc"], "test_acc_clean": clean["acc"],
            "test_acc_augmented": augmented["acc"], "valid_acc": history[-1]["valid_acc"],
            "test_per_class_acc": judged["per_class_acc"]}


class PartlyAugmented(torch.utils.data.Dataset):
    """A train set (autodo.data.datasets.LabelledSubset) whose ``selected`` points are augmented by ``augment`` (a
    function of a uint8 image batch) each time they are drawn, and the others never."""

    def __init__(self, dataset, selected, augment):
        self.dataset, self.selected, self.augment = dataset, selected, augment
        self.labels = dataset.labels

    def __len__(self):
        return len(self.dataset)

    def __getitems__(self, positions):
        images, labels, positions = self.dataset.__getitems__(positions)
        picked = self.selected[positions]
        if picked.any():
            images = images.clone()
            images[picked] = self.augment(images[picked])
        return images, labels, positions


def _train_positions(cfg, data_root):
    split = _split(cfg, data_root)
    return torch.nonzero(_in_classes(split.train_labels, cfg.subsample.classes)).flatten()


# ============ the run ============

def run_subsample(cfg, folder, data_root):
    """Run the subsample task ``cfg`` in its run folder ``folder``; return the contents of its ``result.json``."""
    from omegaconf import OmegaConf

    from autodo.augment.choice import Augmentation
    from autodo.build import pick_device
    from autodo.data.pipeline import build_run_data
    from autodo.subsample.features import frozen_encoder

    started = time.perf_counter()
    settings, num_classes = cfg.subsample, cfg.dataset.num_classes
    config = OmegaConf.to_container(cfg, resolve=True)
    device = pick_device(cfg.device)
    data = build_run_data(cfg, data_root, device, Augmentation("NONE"))
    data.eval_transform.to(device)
    folder.write_split(data.record)
    encoder, network_time, cached = frozen_encoder(cfg, config, data, device)

    features_started = time.perf_counter()
    train, valid, test = _class_sets(data, settings.classes, num_classes)
    embed = _embedder(encoder, data.eval_transform, device, cfg.eval_batch_size)
    train_features = embed(train.images)
    standardise = Standardiser.of(train_features)

    def augmented_inputs(images, draws):
        return standardise(embed(augmented_copies(images, draws, settings.augmentation, cfg.dataset)))

    # the validation and test images as they are, and each augmented once (the seed's measure of invariance)
    judged = {name: {"clean": standardise(embed(s.images)),
                     "augmented": augmented_inputs(s.images, copy_draws(len(s.labels), 1, cfg.seed, stream))}
              for name, s, stream in (("valid", valid, VALID), ("test", test, TEST))}
    features_time = time.perf_counter() - features_started
    log.info("%d train points (%d wrong labels), %d valid, %d test; feature network %s", len(train.labels),
             int(train.wrong.sum()), len(valid.labels), len(test.labels), "cached" if cached else "trained")

    draws = copy_draws(len(data.train_loader.dataset), settings.copies, cfg.seed)[train.positions]
    selection, rounds, weight = _select_and_fit(settings, cfg.seed, train, standardise(train_features),
                                                judged["valid"][settings.evaluate], valid.labels, draws,
                                                augmented_inputs, len(train.classes))
    chosen = train.positions[selection["position"]]  # in the run's train split
    folder.write_selection({**selection, "position": selection["position"].tolist(),
                            "train_position": chosen.tolist(), "rounds": rounds,
                            "source_index": train.source_index[selection["position"]].tolist(),
                            "given_label": train.given[selection["position"]].tolist(),
                            "clean_label": train.clean[selection["position"]].tolist()})
    if settings.head == "network":
        scores = _train_network(cfg, folder, data_root, chosen)
    else:
        folder.write_metrics(rounds)
        scores = _logistic_scores(weight, judged, test.labels, settings.evaluate)
        scores["valid_acc"] = rounds[-1]["valid_acc"]

    per_class = scores["test_per_class_acc"]
    minority = [k for k, c in enumerate(train.classes) if c >= num_classes // 2]
    majority = [k for k in range(len(per_class)) if k not in minority]
    wrong, is_minority = train.wrong, torch.isin(train.given, torch.tensor(train.classes)[minority])
    picked = selection["position"]
    result = {
        "config": config,
        "classes": train.classes,
        "train_size": len(train.labels),
        "augmented_count": len(picked),
        "augmented_share": len(picked) / len(train.labels),
        **scores,
        "majority_acc": sum(per_class[k] for k in majority) / len(majority),
        **({"minority_acc": sum(per_class[k] for k in minority) / len(minority)} if minority else {}),
        # which points the policy augments, against the train set's own shares
        "train_wrong_share": wrong.double().mean().item(),
        "augmented_wrong_share": wrong[picked].double().mean().item() if len(picked) else 0.0,
        "train_minority_share": is_minority.double().mean().item(),
        "augmented_minority_share": is_minority[picked].double().mean().item() if len(picked) else 0.0,
        "feature_network_time_s": network_time,
        "feature_network_cached": cached,
        "features_time_s": features_time,
        "scoring_time_s": sum(row["scoring_time_s"] for row in rounds),
        "wall_time_s": time.perf_counter() - started,
    }
    folder.write_result(result)
    return result
