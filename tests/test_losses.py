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


# ============ the robust losses (autodo.robust_losses), against the papers' formulas computed another way ============

from autodo.robust_losses import (ELR_CLAMP, RobustLoss, generalized_cross_entropy,  # noqa: E402
                                  symmetric_cross_entropy)

# two samples whose given label has probability 1/2 and 1/10 (logits: log-probabilities)
KNOWN_PROBS = torch.tensor([[0.5, 0.25, 0.25], [0.1, 0.3, 0.6]])
KNOWN_LABELS = torch.tensor([0, 0])


@pytest.mark.parametrize("q", [0.3, 0.7, 1.0])
def test_gce_is_one_minus_p_to_the_q_over_q(q):
    expected = torch.tensor([(1 - 0.5 ** q) / q, (1 - 0.1 ** q) / q])
    torch.testing.assert_close(generalized_cross_entropy(KNOWN_PROBS.log(), KNOWN_LABELS, q), expected)


def test_gce_tends_to_cross_entropy_as_q_tends_to_0_and_is_1_minus_p_at_1():
    logits = torch.randn(6, 4, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    cross_entropy = F.cross_entropy(logits, labels, reduction="none")
    torch.testing.assert_close(generalized_cross_entropy(logits, labels, 1e-9), cross_entropy)
    p_y = F.softmax(logits, 1)[torch.arange(6), labels]
    torch.testing.assert_close(generalized_cross_entropy(logits, labels, 1.0), 1 - p_y)


def test_sce_is_alpha_ce_plus_beta_times_the_reverse_ce_with_log_0_as_minus_4():
    alpha, beta = 0.1, 1.0
    # the reverse cross-entropy summed as the paper writes it, over the classes: -sum_k p_k log y_k, log 0 = -4
    log_one_hot = torch.tensor([[0.0, -4.0, -4.0], [0.0, -4.0, -4.0]])
    reverse = -(KNOWN_PROBS * log_one_hot).sum(1)
    expected = alpha * -KNOWN_PROBS[:, 0].log() + beta * reverse
    torch.testing.assert_close(symmetric_cross_entropy(KNOWN_PROBS.log(), KNOWN_LABELS, alpha, beta), expected)
    torch.testing.assert_close(reverse, torch.tensor([4 * 0.5, 4 * 0.9]))


def test_elr_targets_are_a_running_average_of_the_predictions_and_regularise_toward_them():
    elr = RobustLoss("elr", num_samples=3, num_classes=3, strength=3.0, momentum=0.7)
    first, second = torch.tensor([[2.0, 0.0, -1.0]]), torch.tensor([[0.0, 1.0, 0.5]])
    labels, index = torch.tensor([1]), torch.tensor([2])
    # by hand: t1 = 0.3 p1, then t2 = 0.7 t1 + 0.3 p2 (the predictions clamped to [1e-4, 1 - 1e-4], renormalised)
    p1, p2 = (F.softmax(x, 1).clamp(ELR_CLAMP, 1 - ELR_CLAMP) for x in (first, second))
    t1 = 0.3 * p1 / p1.sum()
    loss1 = elr(first, labels, index)
    torch.testing.assert_close(loss1, F.cross_entropy(first, labels, reduction="none")
                               + 3.0 * torch.log(1 - (t1 * p1).sum(1)))
    loss2 = elr(second, labels, index)
    t2 = 0.7 * t1 + 0.3 * p2 / p2.sum()
    torch.testing.assert_close(elr.elr.targets[2], t2[0])
    torch.testing.assert_close(loss2, F.cross_entropy(second, labels, reduction="none")
                               + 3.0 * torch.log(1 - (t2 * p2).sum(1)))
    assert elr.elr.targets[:2].abs().sum() == 0  # only the batch's rows move
    with torch.no_grad():  # an evaluation of the loss is no training step: the targets stay
        elr(second, labels, index)
    elr.eval()  # nor is a hyper step (autodo.hyper.optimizer.hyper_epoch)
    elr(second, labels, index)
    torch.testing.assert_close(elr.elr.targets[2], t2[0])


def test_elr_s_gradient_pulls_the_prediction_toward_its_target():
    regularizer = RobustLoss("elr", 1, 3, strength=3.0, momentum=1.0)  # momentum 1: the target stays as set
    regularizer.elr.targets[0] = torch.tensor([0.0, 0.0, 1.0])
    logits, label = torch.zeros(1, 3, requires_grad=True), torch.tensor([0])
    (regularizer(logits, label, torch.tensor([0])) - F.cross_entropy(logits, label)).backward()
    assert logits.grad[0, 2] < 0 < logits.grad[0, 0]  # descent raises the target's class, lowers the others


def test_loss_model_takes_the_robust_loss_of_the_given_labels_with_its_prior_correction():
    logits, index = torch.randn(5, 3), torch.arange(5)
    gce = RobustLoss("gce", 5, 3, q=0.7)
    model = LossModel(LABELS, 3, learn_weights=False, learn_soft_labels=False, symmetric=False,
                      prior_correction="logit_adjust", base_loss=gce)
    expected = generalized_cross_entropy(logits + PRIOR.log(), LABELS, 0.7).mean()
    torch.testing.assert_close(model(logits, index), expected)
    elr = LossModel(LABELS, 3, False, False, False, base_loss=RobustLoss("elr", 5, 3, strength=3.0, momentum=0.7))
    assert "base_loss.elr.targets" in elr.state_dict()  # a checkpoint holds ELR's targets
    assert set(LossModel(LABELS, 3, False, False, False).state_dict()) == {"given_labels"}  # and nothing new else


def test_a_robust_loss_with_soft_labels_is_refused():
    with pytest.raises(ValueError, match="'sce' with soft labels"):
        LossModel(LABELS, 3, False, True, False, base_loss=RobustLoss("sce", 5, 3, alpha=0.1, beta=1.0))
    with pytest.raises(ValueError, match="'mae'"):
        RobustLoss("mae", 5, 3)
