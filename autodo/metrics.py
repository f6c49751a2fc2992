"""The numbers a run reports: per epoch, what the hyperparameters learned; at the end, the accuracies."""


def summarize_run(history, num_classes):
    """Final, best-over-epochs (the paper's number) and best-validation-epoch (honest selection) test
    accuracy, and the final per-class accuracy with its majority (first half) and minority means."""
    final = history[-1]
    best_test = max(history, key=lambda row: row["test_acc"])
    best_valid = max(history, key=lambda row: row["valid_acc"])  # the first epoch of the best, on ties
    per_class = final["test_per_class_acc"]
    half = num_classes // 2
    return {
        "epochs": len(history),
        "test_acc_final": final["test_acc"],
        "test_acc_best": best_test["test_acc"],
        "best_test_epoch": best_test["epoch"],
        "test_acc_at_best_valid": best_valid["test_acc"],
        "best_valid_epoch": best_valid["epoch"],
        "valid_acc_best": best_valid["valid_acc"],
        "test_per_class_acc": per_class,
        "majority_acc": sum(per_class[:half]) / half,
        "minority_acc": sum(per_class[half:]) / (num_classes - half),
    }


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
