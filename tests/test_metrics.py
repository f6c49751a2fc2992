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
    with torch.no_grad():
        model.weight_logits.copy_(torch.tensor([1.0, 2.0, 0.5, -3.0, -1.0, 0.0]))
        model.label_logits[3] = torch.tensor([0.0, 0.0, 9.0, 0.0])  # corrected to 2
        model.label_logits[5] = torch.tensor([0.0, 9.0, 0.0, 0.0])  # a right label broken
    stats = hyper_diagnostics(model, None, given, clean, 4)
    weights = model.weights()
    assert stats["weight_majority"] == pytest.approx(weights[[0, 1, 4]].mean().item())
    assert stats["weight_minority"] == pytest.approx(weights[[2, 3, 5]].mean().item())
    # the two wrong samples have the two lowest weights: a perfect ranking
    assert stats["weight_noise_auroc"] == pytest.approx(1.0)
    assert stats["soft_corrected"] == pytest.approx(0.5) and stats["soft_broken"] == pytest.approx(0.25)


def test_majority_and_minority_at_each_selected_epoch():
    history = [row(1, 50, 60, (10, 20, 30, 40)), row(2, 90, 70, (50, 50, 70, 90)), row(3, 60, 80, (100, 80, 0, 0))]
    summary = summarize_run(history, 4)
    assert (summary["majority_acc"], summary["minority_acc"]) == (90, 0)
    assert (summary["majority_acc_best"], summary["minority_acc_best"]) == (90, 0)
    assert (summary["majority_acc_at_best_valid"], summary["minority_acc_at_best_valid"]) == (50, 80)
