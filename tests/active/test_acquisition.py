"""The acquisition functions (autodo.tasks.active_learning.acquisition) on small problems with known answers."""

import numpy as np
import pytest
import torch
from scipy.stats import entropy

from autodo.tasks.active_learning import acquisition as pick
from autodo.tasks.active_learning.descriptors import Outputs, gradient_descriptors


def test_entropy_picks_the_most_uncertain_candidates():
    probabilities = torch.softmax(torch.randn(40, 5, generator=torch.Generator().manual_seed(0)) * 3, dim=1)
    candidates = torch.arange(100, 140)
    chosen = pick.pick_top(candidates, pick.entropy_scores(probabilities), 6, torch.Generator().manual_seed(0))
    expected = np.argsort(-entropy(probabilities.numpy(), axis=1), kind="stable")[:6] + 100
    assert chosen.tolist() == expected.tolist()


def test_top_picks_break_ties_at_random():
    scores = torch.tensor([1.0] * 50 + [0.0] * 50)  # 50 tied at the top, 10 to pick
    picks = [set(pick.pick_top(torch.arange(100), scores, 10, torch.Generator().manual_seed(seed)).tolist())
             for seed in range(5)]
    assert all(p <= set(range(50)) for p in picks) and len(set(map(frozenset, picks))) == 5
    assert set().union(*picks) - set(range(10))  # not the first ten by position


def test_variation_ratio_is_one_minus_the_share_of_the_modal_vote():
    votes = torch.tensor([[1, 1, 1, 1], [1, 2, 1, 1], [0, 1, 2, 3], [2, 2, 3, 3]])
    assert np.allclose(pick.variation_ratio_scores(votes), [0.0, 0.25, 0.75, 0.5])


def greedy_k_centre(points, labeled, budget):
    """The k-centre greedy of Sener and Savarese, written out: each pick is the point farthest from the labeled
    points and the picks so far."""
    centres = list(np.flatnonzero(labeled))
    picks = []
    for _ in range(budget):
        distance = np.min(np.linalg.norm(points[:, None] - points[centres][None], axis=2), axis=1)
        picks.append(int(np.argmax(distance)))
        centres.append(picks[-1])
    return picks


def test_coreset_is_the_greedy_k_centre():
    points = torch.randn(60, 3, generator=torch.Generator().manual_seed(1))
    labeled = torch.zeros(60, dtype=torch.bool)
    labeled[:5] = True
    chosen = pick.pick_coreset(points, labeled, torch.arange(5, 60), 7, seed=0)
    assert chosen.tolist() == greedy_k_centre(points.double().numpy(), labeled.numpy(), 7)


def test_badge_picks_distinct_uncertain_points_over_confident_ones():
    generator = torch.Generator().manual_seed(2)
    confident = torch.nn.functional.one_hot(torch.randint(3, (50,), generator=generator), 3).float() * 0.999 + 1e-4
    uncertain = torch.full((10, 3), 1 / 3)
    outputs = Outputs(torch.cat([confident, uncertain]), torch.randn(60, 4, generator=generator))
    chosen = pick.pick_badge(outputs, torch.arange(60), 10, torch.Generator().manual_seed(0), projected=None)
    assert len(set(chosen.tolist())) == 10
    assert (chosen >= 50).sum() >= 8  # the gradient embeddings of confident points are near zero
    # the first is the largest embedding, as Ash et al. seed it
    embeddings = gradient_descriptors(outputs, outputs.probabilities.argmax(1))
    assert int(chosen[0]) == int(embeddings.norm(dim=1).argmax())


def test_badge_draws_in_proportion_to_the_squared_distance():
    """Three embeddings on a line, (p - e_1)(h, 1) with h = 10, 9, 7: the first drawn is the largest (h = 10), and
    the others are at squared distances in the ratio 1 : 9 from it, so the second draw takes h = 7 9 times in 10."""
    outputs = Outputs(torch.tensor([[0.4, 0.6]] * 3), torch.tensor([[10.0], [9.0], [7.0]]))
    seconds = [int(pick.pick_badge(outputs, torch.arange(3), 2, torch.Generator().manual_seed(s), None)[1])
               for s in range(2000)]
    assert seconds.count(2) / len(seconds) == pytest.approx(0.9, abs=0.03)


def test_fisher_follows_the_validation_density_not_the_pools():
    """A pool of 90% class A and 10% class B, a validation set half and half: with a budget of one pool point per
    validation point, density matching labels as many B as A, where random picks would label 9 A to 1 B."""
    generator = torch.Generator().manual_seed(3)
    centres = torch.tensor([[4.0, 0.0, 1.0], [0.0, 4.0, 1.0]])
    pool_labels = torch.cat([torch.zeros(180, dtype=torch.long), torch.ones(20, dtype=torch.long)])
    pool = centres[pool_labels] + 0.3 * torch.randn(200, 3, generator=generator)
    valid = centres[torch.arange(40) % 2] + 0.3 * torch.randn(40, 3, generator=generator)
    candidates = torch.arange(1000, 1200)
    chosen = pick.pick_fisher(pool, valid, candidates, 40, torch.Generator().manual_seed(0))
    assert len(set(chosen.tolist())) == 40 and bool(torch.isin(chosen, candidates).all())
    assert (pool_labels[chosen - 1000] == 1).sum() == 20


def test_fisher_whitening_and_length():
    pool, valid = torch.randn(30, 4) * torch.tensor([1.0, 10.0, 100.0, 0.1]), torch.randn(5, 4)
    pool_normalised, valid_normalised = pick.fisher_normalised(pool, valid)
    assert torch.allclose(pool_normalised.norm(dim=1), torch.ones(30))
    # whitened by the pool's mean square per dimension: scaling a dimension of both changes nothing
    explicit = valid / pool.square().mean(0).sqrt()  # the diagonal empirical Fisher information of the pool
    assert torch.allclose(valid_normalised, explicit / explicit.norm(dim=1, keepdim=True), atol=1e-6)
    scale = torch.tensor([1.0, 3.0, 1.0, 1.0])
    again = pick.fisher_normalised(pool * scale, valid * scale)
    assert torch.allclose(again[0], pool_normalised, atol=1e-6)
    assert torch.allclose(again[1], valid_normalised, atol=1e-6)
