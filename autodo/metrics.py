"""The numbers a run reports: per epoch, what the hyperparameters learned; at the end, the accuracies."""

import torch


def class_halves(per_class, num_classes):
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
        "valid_acc_final": final["valid_acc"],
        "test_per_class_acc": final["test_per_class_acc"],
    }
    for suffix, row in (("", final), ("_best", best_test), ("_at_best_valid", best_valid)):
        majority, minority = class_halves(row["test_per_class_acc"], num_classes)
        summary[f"majority_acc{suffix}"], summary[f"minority_acc{suffix}"] = majority, minority
    return summary


def _noise_auroc(wrong, weights):
    """AUROC of low weight against the wrong labels, or None when all labels are wrong or all right."""
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(wrong.numpy(), (-weights).numpy()) if 0 < wrong.sum() < len(wrong) else None


def _spread(name, values):
    """``<name>_mean`` and ``<name>_std`` of a tensor of per-sample values."""
    return {f"{name}_mean": values.mean().item(), f"{name}_std": values.std().item() if len(values) > 1 else 0.0}


def _weight_stats(weights, given_labels, wrong, num_classes, name="weight"):
    """The mean loss weight of the majority and minority classes (by given label), and the AUROC of low weight against
    the wrong labels, over all samples and within each given class; each key starts with ``name``."""
    minority = given_labels >= num_classes // 2
    stats = {f"{name}_majority": weights[~minority].mean().item(),
             f"{name}_minority": weights[minority].mean().item() if minority.any() else float("nan")}
    overall = _noise_auroc(wrong, weights)
    if overall is not None:
        stats[f"{name}_noise_auroc"] = overall
    within = [_noise_auroc(wrong[given_labels == c], weights[given_labels == c]) for c in range(num_classes)]
    within = [auroc for auroc in within if auroc is not None]
    if within:
        stats[f"{name}_noise_auroc_within_class"] = sum(within) / len(within)
    return stats


def division_diagnostics(clean, threshold, given_labels, wrong, num_classes):
    """What DivideMix's divisions found, the mean over its networks' (``clean``: each one's clean probability of
    every train sample): the share of samples labelled (clean probability above ``threshold``), the share of those
    whose given label is right, and as for loss weights (``_weight_stats``), the mean clean probability of the
    majority and minority classes and the AUROC of a low one against the ``wrong`` labels."""
    per_network = []
    for probability in clean:
        labelled = probability > threshold
        stats = {"division_labelled": labelled.float().mean().item()}
        if labelled.any():
            stats["division_precision"] = (~wrong[labelled]).float().mean().item()
        stats.update(_weight_stats(probability, given_labels, wrong, num_classes, name="division_clean"))
        per_network.append(stats)
    keys = [key for key in per_network[0] if all(key in stats for stats in per_network)]
    return {key: sum(stats[key] for stats in per_network) / len(per_network) for key in keys}


def hyper_diagnostics(loss_model, aug_model, given_labels, clean_labels, num_classes):
    """What lambda has learned: mean loss weight of the majority and minority classes (by given label; MW-Net's: the
    weights its network gave the samples in the epoch's training steps); how well low weights point at the wrong
    labels (AUROC), over all samples and within each given class (mean over the classes that hold wrong and right
    labels: the overall AUROC mixes in the class prior); the share of wrong
    labels the soft labels corrected and of right ones they broke, and the two counts; how far each table has moved
    from its start (mean and std over samples: the weights' logits, the L2 change of each soft label's and each
    augmentation row's logits); and the mean augmentation probability and magnitude per op."""
    stats = {}
    given_labels, clean_labels = given_labels.cpu(), clean_labels.cpu()
    wrong = given_labels != clean_labels
    if loss_model.weight_logits is not None:
        stats.update(_weight_stats(loss_model.weights().detach().cpu(), given_labels, wrong, num_classes))
        stats.update(_spread("weight_logit_shift", loss_model.weight_logits.detach().cpu()))
    elif loss_model.weight_net is not None and loss_model.weight_net_on:  # MW-Net: the weights of the epoch's steps
        weights = loss_model.net_weights.cpu()
        seen = ~weights.isnan()
        stats.update(_weight_stats(weights[seen], given_labels[seen], wrong[seen], num_classes))
    if loss_model.label_logits is not None:
        learned = loss_model.labels().detach().cpu()
        corrected, broken = learned[wrong] == clean_labels[wrong], learned[~wrong] != clean_labels[~wrong]
        if wrong.any():
            stats["soft_corrected"] = corrected.float().mean().item()
        stats["soft_broken"] = broken.float().mean().item()
        stats["soft_corrected_count"], stats["soft_broken_count"] = int(corrected.sum()), int(broken.sum())
        moved = loss_model.label_logits.detach() - loss_model.start_label_logits()
        stats.update(_spread("soft_logit_shift", torch.linalg.vector_norm(moved, dim=1).cpu()))
    if aug_model is not None:
        stats.update(_spread("aug_logit_shift", aug_model.displacement().cpu()))
        stats.update(aug_model.summary())
    return stats
