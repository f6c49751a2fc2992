"""One epoch of training and one evaluation pass."""

import torch
import torch.nn.functional as F
from tqdm import tqdm


def _autocast(device, amp):
    return torch.autocast(device_type=device.type, enabled=amp and device.type == "cuda")


def train_one_epoch(model, loader, transform, optimizer, scheduler, scaler, device, amp, desc="train"):
    """Cross-entropy training on the loader's (possibly noisy) labels; returns mean loss and accuracy (%)."""
    model.train()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    for images, labels, _ in tqdm(loader, desc=desc, leave=False, disable=None):
        images = transform(images.to(device, non_blocking=True))
        labels = labels.to(device, non_blocking=True)
        with _autocast(device, amp):
            logits = model(images)
            loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        # accumulate on the device: a .item() per step would wait for the GPU every step
        loss_sum += loss.detach() * len(labels)
        correct += (logits.argmax(1) == labels).sum()
        seen += len(labels)
    return {"loss": loss_sum.item() / seen, "acc": 100.0 * correct.item() / seen}


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
        with _autocast(device, amp):
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
