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
