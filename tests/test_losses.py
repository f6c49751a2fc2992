"""The loss model: start values, each loss against a direct computation, gradients to lambda."""

import math

import pytest
import torch
import torch.nn.functional as F

from autodo.losses import LossModel

LABELS = torch.tensor([0, 2, 1, 2, 0])


def test_weights_start_at_exactly_one():
    model = LossModel(LABELS, 3, learn_weights=True, learn_soft_labels=False, symmetric=False)
    torch.testing.assert_close(model.weights(), torch.ones(5))


@pytest.mark.parametrize("classes, target", [(10, 0.955), (100, 0.9505)])
def test_soft_labels_start_as_label_smoothing(classes, target):
    labels = torch.arange(4) % classes
    model = LossModel(labels, classes, learn_weights=False, learn_soft_labels=True, symmetric=False)
    probs = F.softmax(model.label_logits, 1)
    torch.testing.assert_close(probs[torch.arange(4), labels], torch.full((4,), target))
    assert torch.equal(model.labels(), labels)


def test_none_is_plain_cross_entropy_on_the_given_labels():
    logits = torch.randn(5, 3)
    model = LossModel(LABELS, 3, learn_weights=False, learn_soft_labels=False, symmetric=True)
    index = torch.tensor([4, 1, 3])
    torch.testing.assert_close(model(logits[:3], index), F.cross_entropy(logits[:3], LABELS[index]))
    assert list(model.parameters()) == []


# LABELS has 2, 1, 2 samples in classes 0, 1, 2
PRIOR = torch.tensor([2 / 5, 1 / 5, 2 / 5])


def test_logit_adjusted_loss_adds_the_log_prior_of_the_given_labels():
    logits = torch.randn(5, 3)
    model = LossModel(LABELS, 3, learn_weights=False, learn_soft_labels=False, symmetric=False,
                      prior_correction="logit_adjust")
    expected = -F.log_softmax(logits + PRIOR.log(), 1)[torch.arange(5), LABELS].mean()
    torch.testing.assert_close(model(logits, torch.arange(5)), expected)
    torch.testing.assert_close(model.weights(), torch.ones(5))


def test_class_balanced_weights_are_inverse_class_counts_averaging_one():
    logits = torch.randn(5, 3)
    model = LossModel(LABELS, 3, learn_weights=True, learn_soft_labels=False, symmetric=False,
                      prior_correction="balance")
    weights = 1 / (3 * PRIOR[LABELS])  # N / (C n_y)
    torch.testing.assert_close(model.weights(), weights)
    assert model.weights().mean().item() == pytest.approx(1.0)
    expected = (weights * F.cross_entropy(logits, LABELS, reduction="none")).mean()
    torch.testing.assert_close(model(logits, torch.arange(5)), expected)  # learned weights start at 1


def test_an_unknown_prior_correction_is_refused():
    with pytest.raises(ValueError, match="'median'"):
        LossModel(LABELS, 3, False, False, False, prior_correction="median")


def kl(p_log, q_log):
    return (p_log.exp() * (p_log - q_log)).sum(1)


@pytest.mark.parametrize("symmetric", [False, True])
def test_soft_loss_is_the_kl_divergence(symmetric):
    torch.manual_seed(0)
    model = LossModel(LABELS, 3, learn_weights=True, learn_soft_labels=True, symmetric=symmetric)
    with torch.no_grad():
        model.weight_logits.copy_(torch.randn(5))
        model.label_logits.add_(torch.randn(5, 3))
    logits, index = torch.randn(5, 3), torch.arange(5)
    target, prediction = F.log_softmax(model.label_logits, 1), F.log_softmax(logits, 1)
    per_sample = kl(target, prediction)
    if symmetric:
        per_sample = 0.5 * (per_sample + kl(prediction, target))
    weights = F.softplus(model.weight_logits) / math.log(2)
    torch.testing.assert_close(model(logits, index), (weights * per_sample).mean())


def test_gradients_reach_only_the_batch_rows():
    model = LossModel(LABELS, 3, learn_weights=True, learn_soft_labels=True, symmetric=True)
    model(torch.randn(2, 3), torch.tensor([1, 3])).backward()
    assert (model.weight_logits.grad != 0).tolist() == [False, True, False, True, False]
    assert (model.label_logits.grad.abs().sum(1) != 0).tolist() == [False, True, False, True, False]


def test_gradcheck_in_lambda():
    model = LossModel(LABELS, 3, learn_weights=True, learn_soft_labels=True, symmetric=True).double()
    logits, index = torch.randn(3, 3, dtype=torch.float64), torch.tensor([0, 2, 4])

    def loss(weight_logits, label_logits):
        lambdas = {"weight_logits": weight_logits, "label_logits": label_logits}
        return torch.func.functional_call(model, lambdas, (logits, index))

    inputs = (torch.randn(5, dtype=torch.float64, requires_grad=True),
              torch.randn(5, 3, dtype=torch.float64, requires_grad=True))
    assert torch.autograd.gradcheck(loss, inputs)
