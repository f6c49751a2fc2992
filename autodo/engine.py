"""One epoch of training, a plain training (no augmentation, no learned hyperparameters), one evaluation pass, the
features of a data set, and a refit of the head."""

import math

import torch
import torch.nn.functional as F
from tqdm import tqdm

from autodo.errors import UserError
from autodo.precision import autocast
from autodo.progress import Progress


def train_one_epoch(model, loader, transform, aug_model, loss_model, optimizer, scheduler, scaler, device, amp,
                    desc="train", wrong=None):
    """One pass of the network over the train subset with lambda fixed: the loss model's (weighted) loss of
    the (augmented) images. Returns the mean loss, each step's loss (``step_losses``) and the accuracy (%) against the
    given labels; with ``wrong``
    (a mask over the train subset of the labels that are wrong, on the device), also that accuracy on the wrong
    labels alone (``acc_wrong_labels``: how much of the noise the network has memorised)."""
    model.train()
    parameters = list(model.parameters())
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    wrong_hits = torch.zeros((), device=device, dtype=torch.long)
    step_losses = []
    seen = 0
    # a bar on a terminal; in the log, how a long pass goes (its end is the epoch's line)
    progress = Progress(f"{desc}: steps", len(loader), last=False)
    for images, labels, index in tqdm(loader, desc=desc, leave=False, disable=None):
        if len(labels) == 1:  # batch norm cannot normalise a batch of one image: a last batch of one is left out
            continue
        images = transform(images.to(device, non_blocking=True))
        labels, index = labels.to(device, non_blocking=True), index.to(device, non_blocking=True)
        if aug_model is not None:
            with torch.no_grad():  # lambda is fixed in this pass
                images = aug_model(images, index)
        with autocast(device, amp):
            logits = model(images)
            loss = loss_model(logits, index)
        optimizer.zero_grad(set_to_none=True)
        # gradients for the network only: lambda is not updated here, so none are computed for it
        scaler.scale(loss).backward(inputs=parameters)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        # accumulate on the device: a .item() per step would wait for the GPU every step
        loss_sum += loss.detach() * len(labels)
        step_losses.append(loss.detach())
        hits = logits.argmax(1) == labels
        correct += hits.sum()
        if wrong is not None:
            wrong_hits += (hits & wrong[index]).sum()
        seen += len(labels)
        progress.step()
    stats = {"loss": loss_sum.item() / seen, "acc": 100.0 * correct.item() / seen,
             "step_losses": torch.stack(step_losses).float().tolist()}
    if wrong is not None and wrong.any():  # one pass visits every sample once
        stats["acc_wrong_labels"] = 100.0 * wrong_hits.item() / wrong.sum().item()
    return stats


def finite_loss(stats, where):
    """``stats`` of a training pass (``train_one_epoch``'s), if its loss is finite; else a one-line ``UserError``
    naming ``where`` the loss diverged, before anything of that pass is saved."""
    if not math.isfinite(stats["loss"]):
        raise UserError(f"the training loss is {stats['loss']} at {where}: the run stops, and its checkpoint keeps "
                        "the last epoch with a finite loss (a lower dataset.lr or dataset.hyper_lr may help)")
    return stats


@torch.no_grad()
def evaluate(model, loader, transform, device, num_classes, amp):
    """Mean cross-entropy, top-1 accuracy (%) and per-class accuracy (%) on clean labels."""
    model.eval()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros(num_classes, device=device)
    count = torch.zeros(num_classes, device=device)
    for images, labels, _ in loader:
        images = transform(images.to(device, non_blocking=True))
        labels = labels.to(device, non_blocking=True)
        with autocast(device, amp):
            logits = model(images)
        loss_sum += F.cross_entropy(logits.float(), labels, reduction="sum")
        hits = (logits.argmax(1) == labels).float()
        correct.index_add_(0, labels, hits)
        count.index_add_(0, labels, torch.ones_like(hits))
    per_class = (100.0 * correct / count.clamp(min=1)).tolist()
    return {
        "loss": loss_sum.item() / count.sum().item(),
        "acc": 100.0 * correct.sum().item() / count.sum().item(),
        "per_class_acc": per_class,
    }


@torch.no_grad()
def features_of(encoder, loader, transform, device):
    """The encoder's features and the labels of every image of ``loader`` (no random transform)."""
    features, labels = [], []
    for images, batch_labels, _ in loader:
        features.append(encoder(transform(images.to(device))))
        labels.append(batch_labels.to(device))
    return torch.cat(features), torch.cat(labels)


@torch.no_grad()
def refit_head(model, loader, transform, device):
    """Replace the linear head by an L2-regularised multinomial logistic regression (scikit-learn, L-BFGS,
    deterministic) fitted to the encoder's features of ``loader`` (the clean validation set)."""
    from sklearn.linear_model import LogisticRegression

    model.eval()
    features, labels = features_of(model.encoder, loader, transform, device)
    fit = LogisticRegression(max_iter=1000).fit(features.double().cpu().numpy(), labels.cpu().numpy())
    model.head.weight.copy_(torch.from_numpy(fit.coef_))
    model.head.bias.copy_(torch.from_numpy(fit.intercept_))
