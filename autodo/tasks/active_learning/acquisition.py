"""The acquisition functions: which ``budget`` of the unlabeled pool points to label next.

- ``random``: uniformly at random.
- ``entropy``: the largest entropy of the predicted class distribution (scikit-activeml's ``uncertainty_scores``).
- ``varR``: the largest variation ratio of the predicted classes over ``passes`` rotated copies of each point
  (scikit-activeml's ``variation_ratios``), the seed's main prior-work baseline.
- ``coreset``: greedy k-centre over the features of the labeled and pool points (Sener and Savarese 2018;
  scikit-activeml's ``k_greedy_center``).
- ``badge``: k-means++ seeding (D² sampling from the largest embedding on, as Ash et al. 2020) over the gradient
  embeddings at the predicted class: uncertain points (large embeddings) that are diverse.
- ``fisher``: the seed's feature density matching. Pool and validation points get gradient descriptors at their
  pseudo-labels (the model's prediction, or the mean prediction over rotated copies); the Fisher kernel between two
  points is the inner product of their descriptors whitened by the diagonal empirical Fisher information (the mean
  squared descriptor over the pool) and normalised to unit length. Round by round, each validation point (in a
  seeded random order) takes the pool point most similar to it that no one has taken, until the budget is spent:
  the validation points pull pool points equally (a budget below the validation set's size: a random subset of
  them, one each), so the labeled set follows the validation set's density (class-balanced here) rather than the
  biased pool's.
"""

import numpy as np
import torch

from autodo.tasks.active_learning.descriptors import gradient_descriptors



def pick_random(candidates, budget, generator):
    return candidates[torch.randperm(len(candidates), generator=generator)[:budget]]


def pick_top(candidates, scores, budget, generator):
    """The ``budget`` candidates of the largest scores, ties broken at random (variation ratios take few values: a
    tie broken by position would favour the first classes of a class-ordered source)."""
    order = torch.randperm(len(candidates), generator=generator)
    shuffled = torch.as_tensor(scores)[order]
    return candidates[order[torch.argsort(shuffled, descending=True, stable=True)[:budget]]]


def entropy_scores(probabilities):
    from skactiveml.pool import uncertainty_scores

    return uncertainty_scores(probabilities.double().numpy(), method="entropy")


def variation_ratio_scores(votes):
    """``votes``: ``(n, passes)`` predicted classes."""
    from skactiveml.pool import variation_ratios

    return variation_ratios(votes.numpy())


def pick_coreset(features, labeled, candidates, budget, seed):
    """Greedy k-centre: ``features`` of every pool point, ``labeled`` the mask of the labeled ones."""
    from skactiveml.pool import k_greedy_center

    known = np.where(labeled.numpy(), 0.0, np.nan)  # k_greedy_center reads only which labels are missing
    chosen, _ = k_greedy_center(features.double().numpy(), known, batch_size=budget, random_state=seed)
    chosen = torch.as_tensor(chosen, dtype=torch.long)
    assert not labeled[chosen].any() and bool(torch.isin(chosen, candidates).all())
    return chosen


def pick_badge(outputs, candidates, budget, generator, projected):
    """BADGE's k-means++ seeding over the gradient embeddings at the predicted class: the largest embedding first,
    then each next one drawn with probability proportional to its squared distance to the nearest one drawn."""
    embeddings = gradient_descriptors(outputs, outputs.probabilities.argmax(1), projected).double()
    chosen = [int(embeddings.norm(dim=1).argmax())]
    distance = (embeddings - embeddings[chosen[0]]).square().sum(1)
    for _ in range(budget - 1):
        if distance.sum() > 0:
            chosen.append(int(torch.multinomial(distance, 1, generator=generator)))
        else:  # every candidate coincides with a chosen one: any not yet chosen
            chosen.append(int(torch.nonzero(~torch.isin(torch.arange(len(candidates)), torch.tensor(chosen)))[0]))
        distance = torch.minimum(distance, (embeddings - embeddings[chosen[-1]]).square().sum(1))
    return candidates[torch.tensor(chosen)]


def fisher_normalised(pool, valid):
    """The descriptors of the pool and validation points, whitened by the pool's diagonal empirical Fisher
    information and normalised to unit length."""
    scale = pool.pow(2).mean(0).add(1e-12).rsqrt()
    return tuple(torch.nn.functional.normalize(d * scale, dim=1) for d in (pool, valid))


def pick_fisher(pool_descriptors, valid_descriptors, candidates, budget, generator, chunk=1024):
    """Round-robin density matching (see the module's docstring): ``pool_descriptors`` are the candidates'."""
    pool, valid = fisher_normalised(pool_descriptors, valid_descriptors)
    depth = min(len(candidates), budget)  # no validation point takes more than the budget
    ranked = torch.cat([torch.topk(valid[start:start + chunk] @ pool.T, depth, dim=1).indices
                        for start in range(0, len(valid), chunk)])
    ranked = ranked[torch.randperm(len(valid), generator=generator)].tolist()
    taken, chosen, next_rank = set(), [], [0] * len(ranked)
    while len(chosen) < budget:
        for turn, preferences in enumerate(ranked):  # a round: each validation point takes one pool point
            while next_rank[turn] < depth and preferences[next_rank[turn]] in taken:
                next_rank[turn] += 1
            if next_rank[turn] < depth and len(chosen) < budget:
                taken.add(preferences[next_rank[turn]])
                chosen.append(preferences[next_rank[turn]])
    return candidates[torch.tensor(chosen, dtype=torch.long)]
