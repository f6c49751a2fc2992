"""Which train points to augment: scored by the logistic head (training loss, or leave-one-out influence on the
validation loss), picked by the policy within the budget, in one or more rounds; and the head fitted to the train
points plus the copies of the picked ones."""

import logging
import time
from dataclasses import dataclass

import torch

from autodo.tasks.subsample.logistic import fit, influence, per_point_loss

log = logging.getLogger("autodo")
SCORED = ("loss", "influence")


@dataclass
class HeadData:
    """What the logistic head is fitted and judged on."""

    inputs: torch.Tensor  # the train points' standardised features
    labels: torch.Tensor  # their given labels, 0 .. num_classes - 1
    images: torch.Tensor  # their uint8 images, from which the copies are made
    draws: torch.Tensor  # their copies' random parameters (autodo.augment.copies.copy_draws)
    valid_inputs: torch.Tensor
    valid_labels: torch.Tensor
    num_classes: int


def budget_count(budget, size):
    """The number of points a budget (a share in [0, 1), or a count) augments out of ``size``."""
    return round(budget * size) if isinstance(budget, float) else int(budget)


def select_and_fit(settings, seed, data, augment):
    """Pick the points to augment (in ``settings.rounds`` rounds for a scored policy: the head is refitted with the
    copies so far and the points not yet picked rescored before each), add their copies (``augment(images, draws)``
    gives their standardised features), and fit the final head. Returns the selection (positions in the train
    points, their scores and rounds, and every point's score in the first round), a metrics row per round and the
    final head's weight."""
    n, policy = len(data.labels), settings.policy
    total = {"none": 0, "all": n}.get(policy, budget_count(settings.budget, n))
    rounds = settings.rounds if policy in SCORED else 1
    generator = torch.Generator().manual_seed(seed)
    chosen, scores, chosen_round = (torch.zeros(0, dtype=dtype) for dtype in (torch.long, torch.float64, torch.long))
    inputs, labels, weight, rows, first_round = data.inputs, data.labels, None, [], None
    for round_ in range(rounds):
        take = total * (round_ + 1) // rounds - total * round_ // rounds
        scoring_started = time.perf_counter()
        candidates = torch.nonzero(~torch.isin(torch.arange(n), chosen)).flatten()
        score = torch.full((len(candidates),), float("nan"), dtype=torch.float64)
        if policy in SCORED:
            weight = fit(inputs, labels, data.num_classes, settings.l2) if weight is None else weight
            score = _scores(policy, weight, inputs, labels, data, settings.l2, candidates)
            first_round = score.tolist() if round_ == 0 else first_round
        if settings.stratify and policy not in ("none", "all"):  # as the run's identity says: no budget to split
            picked = _pick_per_class(policy, settings.selection, score, take, generator,
                                     data.labels[candidates], data.num_classes)
        else:
            picked = _pick(policy, settings.selection, score, take, generator)
        score, picked = score[picked], candidates[picked]
        scoring_time = time.perf_counter() - scoring_started
        inputs = torch.cat([inputs, augment(data.images[picked], data.draws[picked])])
        labels = torch.cat([labels, data.labels[picked].repeat_interleave(data.draws.shape[1])])
        chosen, scores = torch.cat([chosen, picked]), torch.cat([scores, score])
        chosen_round = torch.cat([chosen_round, torch.full((take,), round_ + 1)])
        weight = fit(inputs, labels, data.num_classes, settings.l2, start=weight)
        valid_acc = 100.0 * ((data.valid_inputs @ weight.T).argmax(1) == data.valid_labels).double().mean().item()
        rows.append({"round": round_ + 1, "augmented": len(chosen), "train_inputs": len(labels),
                     "valid_acc": valid_acc, "scoring_time_s": scoring_time})
        log.info("round %d/%d: %d points augmented, valid acc %.2f", round_ + 1, rounds, len(chosen), valid_acc)
    selection = {"position": chosen, "score": [None if s != s else s for s in scores.tolist()],
                 "round": chosen_round.tolist(), "first_round_scores": first_round}
    return selection, rows, weight


def _scores(policy, weight, inputs, labels, data, l2, candidates):
    """The candidates' scores under the head ``weight`` fitted to ``inputs`` (the train points and the copies so
    far): their training loss, or the magnitude of their influence on the validation loss."""
    if policy == "loss":
        return per_point_loss(weight, data.inputs[candidates], data.labels[candidates])
    return influence(weight, inputs, labels, data.valid_inputs, data.valid_labels, l2, candidates).abs()


def class_quotas(take, labels, num_classes):
    """``take`` split over the classes in proportion to their counts in ``labels`` (largest remainders; ties to the
    lower class)."""
    counts = torch.bincount(labels, minlength=num_classes)
    quota, remainder = (take * counts).div(counts.sum(), rounding_mode="floor"), (take * counts) % counts.sum()
    quota[torch.argsort(remainder, descending=True, stable=True)[:take - int(quota.sum())]] += 1
    return quota


def _pick_per_class(policy, selection, score, take, generator, labels, num_classes):
    """``_pick`` within each class of the candidates (``labels``) for its quota of ``take``: score-driven picks
    crowd into the classes the features confuse, and this keeps each class's share of the augmented points."""
    picks = []
    for label, quota in enumerate(class_quotas(take, labels, num_classes).tolist()):
        members = torch.nonzero(labels == label).flatten()
        picks.append(members[_pick(policy, selection, score[members], quota, generator)])
    return torch.cat(picks)


def _pick(policy, selection, score, take, generator):
    """The positions among the candidates (``score`` has one per candidate) of the ``take`` points to augment."""
    if policy in SCORED and selection == "top":
        return torch.argsort(score, descending=True, stable=True)[:take]
    if policy in SCORED:  # drawn in proportion to the score, without replacement
        return torch.multinomial(score + 1e-12, take, generator=generator) if take else torch.zeros(0, dtype=torch.long)
    if policy == "random":
        return torch.randperm(len(score), generator=generator)[:take]
    return torch.arange(take)  # all, none
