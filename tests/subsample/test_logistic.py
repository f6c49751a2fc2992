"""The subsample task's logistic head (autodo.tasks.subsample.logistic): its fit, its exact Hessian, and influence
scores against leave-one-out retraining."""

import torch
import torch.nn.functional as F
from scipy.stats import spearmanr

from autodo.tasks.subsample.logistic import Standardiser, fit, hessian, influence, objective


def toy(n, seed, classes=3, dims=3):
    generator = torch.Generator().manual_seed(seed)
    centres = 1.5 * torch.randn(classes, dims, generator=generator, dtype=torch.float64)
    labels = torch.randint(classes, (n,), generator=generator)
    features = centres[labels] + torch.randn(n, dims, generator=generator, dtype=torch.float64)
    flipped = torch.rand(n, generator=generator) < 0.15  # some wrong labels: points of large influence
    labels = torch.where(flipped, torch.randint(classes, (n,), generator=generator), labels)
    return features, labels


def test_fit_reaches_the_minimum():
    features, labels = toy(60, seed=0)
    inputs = Standardiser.of(features)(features)
    weight = fit(inputs, labels, 3, l2=0.01).requires_grad_(True)
    (gradient,) = torch.autograd.grad(objective(weight, inputs, labels, 0.01), weight)
    assert gradient.abs().max() < 1e-7


def test_hessian_is_autograds():
    features, labels = toy(30, seed=1)
    inputs = Standardiser.of(features)(features)
    weight = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    expected = torch.autograd.functional.hessian(
        lambda flat: objective(flat.reshape(3, 4), inputs, labels, 0.1), weight.flatten())
    assert torch.allclose(hessian(weight, inputs, 0.1, chunk=7), expected, atol=1e-12)  # chunks of uneven size


def test_influence_ranks_points_as_leave_one_out_retraining_does():
    features, labels = toy(200, seed=3)
    valid_features, valid_labels = toy(300, seed=4)
    standardise = Standardiser.of(features)
    inputs, valid_inputs = standardise(features), standardise(valid_features)
    l2 = 0.01
    weight = fit(inputs, labels, 3, l2)
    valid_loss = F.cross_entropy(valid_inputs @ weight.T, valid_labels)
    exact = []
    for point in range(len(labels)):
        kept = torch.arange(len(labels)) != point
        left_out = fit(inputs[kept], labels[kept], 3, l2, start=weight)
        exact.append((F.cross_entropy(valid_inputs @ left_out.T, valid_labels) - valid_loss).item())
    estimate = influence(weight, inputs, labels, valid_inputs, valid_labels, l2, torch.arange(len(labels)))
    assert spearmanr(estimate, exact).statistic >= 0.95
    # and in size: the first-order estimate is within a fifth of the change retraining finds
    exact = torch.tensor(exact, dtype=torch.float64)
    assert (estimate - exact).abs().max() <= 0.2 * exact.abs().max()
