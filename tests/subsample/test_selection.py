"""Which points the subsample task augments (autodo.tasks.subsample.selection): the budget split over the classes, and
picks within each class."""

from fractions import Fraction
from types import SimpleNamespace

import pytest
import torch

from autodo.tasks.subsample.logistic import fit, per_point_loss
from autodo.tasks.subsample.selection import HeadData, class_quotas, select_and_fit


def largest_remainders(take, counts):
    """The quotas computed with exact fractions: floors first, then one more to the largest remainders."""
    exact = [Fraction(take * count, sum(counts)) for count in counts]
    quotas = [int(share) for share in exact]
    by_remainder = sorted(range(len(counts)), key=lambda c: (-(exact[c] - quotas[c]), c))
    for c in by_remainder[:take - sum(quotas)]:
        quotas[c] += 1
    return quotas


@pytest.mark.parametrize("seed", range(20))
def test_class_quotas_are_the_largest_remainders_of_the_class_shares(seed):
    generator = torch.Generator().manual_seed(seed)
    classes = int(torch.randint(2, 8, (1,), generator=generator))
    labels = torch.randint(classes, (int(torch.randint(10, 200, (1,), generator=generator)),), generator=generator)
    take = int(torch.randint(0, len(labels) + 1, (1,), generator=generator))
    counts = torch.bincount(labels, minlength=classes + 1).tolist()  # the last class has no point
    quotas = class_quotas(take, labels, classes + 1).tolist()
    assert quotas == largest_remainders(take, counts)
    assert sum(quotas) == take and all(q <= c for q, c in zip(quotas, counts))


def test_class_quotas_by_hand():
    labels = torch.tensor([0] * 5 + [1] * 3 + [2] * 2)
    assert class_quotas(4, labels, 3).tolist() == [2, 1, 1]  # shares 2, 1.2, 0.8
    assert class_quotas(10, labels, 3).tolist() == [5, 3, 2]


def head_data(n=120, seed=0):
    """Three classes, the first far harder than the others: its points have the highest losses."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 3
    centres = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]], dtype=torch.float64)
    spread = torch.tensor([3.0, 0.5, 0.5], dtype=torch.float64)[labels, None]
    inputs = centres[labels] + spread * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return HeadData(inputs=inputs, labels=labels, images=inputs, draws=torch.zeros(n, 2), valid_inputs=inputs,
                    valid_labels=labels, num_classes=3)


def settings(**changes):
    return SimpleNamespace(**{"policy": "loss", "budget": 30, "selection": "top", "stratify": False, "rounds": 1,
                              "l2": 1e-3, **changes})


def copies(images, draws):  # a copy of a point is the point itself
    return images.repeat_interleave(draws.shape[1], 0)


def test_top_picks_crowd_into_the_hard_class_and_per_class_picks_keep_its_share():
    data = head_data()
    crowded = select_and_fit(settings(), 0, data, copies)[0]
    assert (data.labels[crowded["position"]] == 0).float().mean() > 0.8
    per_class = select_and_fit(settings(stratify=True), 0, data, copies)[0]
    picked = per_class["position"]
    assert torch.bincount(data.labels[picked], minlength=3).tolist() == [10, 10, 10]
    # within each class, its highest-loss points under the head fitted to the train points
    loss = per_point_loss(fit(data.inputs, data.labels, 3, 1e-3), data.inputs, data.labels)
    for label in range(3):
        members = torch.nonzero(data.labels == label).flatten()
        top = members[torch.argsort(loss[members], descending=True)[:10]]
        assert sorted(picked[data.labels[picked] == label].tolist()) == sorted(top.tolist())


def test_random_per_class_picks_keep_every_class_share():
    data = head_data(n=90)
    picked = select_and_fit(settings(policy="random", stratify=True, budget=0.2), 0, data, copies)[0]["position"]
    assert torch.bincount(data.labels[picked], minlength=3).tolist() == [6, 6, 6]
    assert len(set(picked.tolist())) == 18
