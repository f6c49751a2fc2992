"""The numbers a finished run reports, from its per-epoch history."""


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
