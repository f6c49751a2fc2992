"""The numbers a run reports: per epoch, what the hyperparameters learned; at the end, the accuracies."""


def _halves(per_class, num_classes):
    """Mean accuracy of the majority (first-half) and minority classes."""
    half = num_classes // 2
    return sum(per_class[:half]) / half, sum(per_class[half:]) / (num_classes - half)


def summarize_run(history, num_classes):
    """Test accuracy under three selection rules: the final epoch, the best epoch by test accuracy (the
    paper's number) and the best by validation accuracy (honest selection); with the final per-class accuracy
    and the majority (first half) and minority means at each selected epoch."""
    final = history[-1]
    best_test = max(history, key=lambda row: row["test_acc"])
    best_valid = max(history, key=lambda row: row["valid_acc"])  # the first epoch of the best, on ties
    summary = {
        "epochs": len(history),
        "test_acc_final": final["test_acc"],
        "test_acc_best": best_test["test_acc"],
        "best_test_epoch": best_test["epoch"],
        "test_acc_at_best_valid": best_valid["test_acc"],
        "best_valid_epoch": best_valid["epoch"],
        "valid_acc_best": best_valid["valid_acc"],
        "test_per_class_acc": final["test_per_class_acc"],
    }
    for suffix, row in (("", final), ("_best", best_test), ("_at_best_valid", best_valid)):
        majority, minority = _halves(row["test_per_class_acc"], num_classes)
        summary[f"majority_acc{suffix}"], summary[f"minority_acc{suffix}"] = majority, minority
    return summary


def hyper_diagnostics(loss_model, aug_model, given_labels, clean_labels, num_classes):
    """What lambda has learned: mean loss weight of the majority and minority classes (by given label),
    how well low weights point at the wrong labels (AUROC), the share of wrong labels the soft labels
    corrected and of right ones they broke, and the mean augmentation probability and magnitude per op."""
    from sklearn.metrics import roc_auc_score

    stats = {}
    given_labels, clean_labels = given_labels.cpu(), clean_labels.cpu()
    wrong = given_labels != clean_labels
    minority = given_labels >= num_classes // 2
    if loss_model.weight_logits is not None:
        weights = loss_model.weights().detach().cpu()
        stats["weight_majority"] = weights[~minority].mean().item()
        stats["weight_minority"] = weights[minority].mean().item() if minority.any() else float("nan")
        if 0 < wrong.sum() < len(wrong):
            stats["weight_noise_auroc"] = roc_auc_score(wrong.numpy(), (-weights).numpy())
    if loss_model.label_logits is not None:
        learned = loss_model.labels().detach().cpu()
        if wrong.any():
            stats["soft_corrected"] = (learned[wrong] == clean_labels[wrong]).float().mean().item()
        stats["soft_broken"] = (learned[~wrong] != clean_labels[~wrong]).float().mean().item()
    if aug_model is not None:
        stats.update(aug_model.summary())
    return stats
