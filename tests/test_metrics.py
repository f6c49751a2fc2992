import statistics

import pytest

from autodo.metrics import summarize_run


def row(epoch, valid, test, per_class=(0.0, 0.0, 0.0, 0.0)):
    return {"epoch": epoch, "valid_acc": valid, "test_acc": test, "test_per_class_acc": list(per_class)}


def test_final_best_and_best_validation_selection():
    history = [row(1, 50, 60), row(2, 80, 70), row(3, 70, 90), row(4, 80, 65, (100, 90, 40, 20))]
    summary = summarize_run(history, 4)
    assert summary["test_acc_final"] == 65 and summary["epochs"] == 4
    assert summary["test_acc_best"] == 90 and summary["best_test_epoch"] == 3
    # the first of the tied best-validation epochs
    assert summary["test_acc_at_best_valid"] == 70 and summary["best_valid_epoch"] == 2
    assert summary["majority_acc"] == pytest.approx(95) and summary["minority_acc"] == pytest.approx(30)


def test_hyper_diagnostics_against_a_direct_computation():
    import torch

    from autodo.losses import LossModel
    from autodo.metrics import hyper_diagnostics

    given = torch.tensor([0, 1, 2, 3, 0, 3])
    clean = torch.tensor([0, 1, 2, 2, 1, 3])  # samples 3 and 4 are wrong
    model = LossModel(given, 4, learn_weights=True, learn_soft_labels=True, symmetric=True)
    start = model.label_logits.detach().clone()
    logits = [1.0, 2.0, 0.5, 0.2, -1.0, 0.0]
    with torch.no_grad():
        model.weight_logits.copy_(torch.tensor(logits))
        model.label_logits[3] = torch.tensor([0.0, 0.0, 9.0, 0.0])  # corrected to 2
        model.label_logits[5] = torch.tensor([0.0, 9.0, 0.0, 0.0])  # a right label broken
    stats = hyper_diagnostics(model, None, given, clean, 4)
    weights = model.weights()
    assert stats["weight_majority"] == pytest.approx(weights[[0, 1, 4]].mean().item())
    assert stats["weight_minority"] == pytest.approx(weights[[2, 3, 5]].mean().item())
    # pairs (wrong, right) with the wrong one weighted lower: sample 4 below all 4 right ones, sample 3 (0.2)
    # below 3 of them; within class 0 (samples 0, 4) the ranking is right, within class 3 (samples 3, 5) wrong
    assert stats["weight_noise_auroc"] == pytest.approx(7 / 8)
    assert stats["weight_noise_auroc_within_class"] == pytest.approx((1.0 + 0.0) / 2)
    assert stats["soft_corrected"] == pytest.approx(0.5) and stats["soft_broken"] == pytest.approx(0.25)
    assert (stats["soft_corrected_count"], stats["soft_broken_count"]) == (1, 1)
    # how far the tables moved: the weights' logits from 0, each soft label's logits from its smoothed start
    assert stats["weight_logit_shift_mean"] == pytest.approx(statistics.mean(logits))
    assert stats["weight_logit_shift_std"] == pytest.approx(statistics.stdev(logits))
    moved = [torch.linalg.vector_norm(model.label_logits[i].detach() - start[i]).item() for i in range(6)]
    assert moved[0] == 0 < moved[3] and stats["soft_logit_shift_mean"] == pytest.approx(statistics.mean(moved))


def test_augmentation_displacement_is_each_rows_change_from_the_start():
    import torch

    from autodo.augment.affine import LearnedAffine
    from autodo.metrics import hyper_diagnostics
    from autodo.losses import LossModel

    augment = LearnedAffine(3, init_probability=0.2, init_magnitude=0.5)
    with torch.no_grad():
        augment.probability_logits[1, 0] += 3.0
        augment.magnitude_logits[2, :2] -= 4.0  # moved by sqrt(32)
    model = LossModel(torch.tensor([0, 1, 1]), 2, learn_weights=False, learn_soft_labels=False, symmetric=False)
    stats = hyper_diagnostics(model, augment, torch.tensor([0, 1, 1]), torch.tensor([0, 1, 1]), 2)
    assert stats["aug_logit_shift_mean"] == pytest.approx((0 + 3 + 32 ** 0.5) / 3)
    assert stats["aug_logit_shift_std"] == pytest.approx(statistics.stdev([0, 3, 32 ** 0.5]))


def test_majority_and_minority_at_each_selected_epoch():
    history = [row(1, 50, 60, (10, 20, 30, 40)), row(2, 90, 70, (50, 50, 70, 90)), row(3, 60, 80, (100, 80, 0, 0))]
    summary = summarize_run(history, 4)
    assert (summary["majority_acc"], summary["minority_acc"]) == (90, 0)
    assert (summary["majority_acc_best"], summary["minority_acc_best"]) == (90, 0)
    assert (summary["majority_acc_at_best_valid"], summary["minority_acc_at_best_valid"]) == (50, 80)


def test_mw_net_s_diagnostics_are_of_the_weights_its_network_gave_in_the_epoch_s_training_steps():
    import torch
    import torch.nn.functional as F

    from autodo.losses import LossModel, WeightNet
    from autodo.metrics import hyper_diagnostics

    given = torch.tensor([0, 1, 2, 3, 0, 3])
    clean = torch.tensor([0, 1, 2, 2, 1, 3])  # samples 3 and 4 are wrong
    torch.manual_seed(0)
    model = LossModel(given, 4, False, False, False, weight_net=WeightNet(3))
    model.start_net_epoch(on=True)
    logits = torch.randn(6, 4)
    model(logits[[0, 3, 4, 5]], torch.tensor([0, 3, 4, 5]))  # a training step over four of the six samples
    losses = F.cross_entropy(logits[[0, 3, 4, 5]], given[[0, 3, 4, 5]], reduction="none")
    expected = model.weight_net(losses).detach()
    torch.testing.assert_close(model.net_weights[[0, 3, 4, 5]], expected)
    assert model.net_weights[[1, 2]].isnan().all()  # not seen in the epoch
    stats = hyper_diagnostics(model, None, given, clean, 4)
    assert stats["weight_majority"] == pytest.approx(expected[[0, 2]].mean().item())  # samples 0 and 4
    assert stats["weight_minority"] == pytest.approx(expected[[1, 3]].mean().item())  # samples 3 and 5
    right, wrong = expected[[0, 3]], expected[[1, 2]]
    assert stats["weight_noise_auroc"] == pytest.approx(sum(float(w < r) for w in wrong for r in right) / 4)
    with torch.no_grad():  # no training step: nothing recorded
        model(logits[[1]], torch.tensor([1]))
    assert model.net_weights[1].isnan()
    model.start_net_epoch(on=False)
    assert model.net_weights.isnan().all() and "weight_majority" not in hyper_diagnostics(model, None, given, clean, 4)
