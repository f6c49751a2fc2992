"""Losses robust to label noise that learn from no clean image: the per-sample losses of logits and hard labels that
the loss model (autodo.losses) puts in the place of cross-entropy (``los_model.loss``).

- ``gce``: generalised cross-entropy (Zhang and Sabuncu, NeurIPS 2018), ``(1 - p_y^q) / q``: cross-entropy as
  q -> 0, ``1 - p_y`` (the mean absolute error's half) at q = 1.
- ``sce``: symmetric cross-entropy (Wang et al., ICCV 2019), ``alpha CE + beta RCE``. The reverse
  cross-entropy ``-sum_k p_k log y_k`` of a one-hot label ``y`` takes ``log 0`` as the constant ``A`` (the paper's
  -4): ``RCE = -A (1 - p_y)``.
- ``elr``: early-learning regularisation (Liu et al., NeurIPS 2020): cross-entropy plus
  ``lambda log(1 - <p, t>)``, where each sample's target ``t`` is a running average of the network's own
  predictions, ``t <- beta t + (1 - beta) p``, updated at each training step that sees the sample. The regulariser
  pulls the prediction toward what the network predicted early on, before it memorised the wrong labels.
"""

import torch
import torch.nn.functional as F
from torch import nn

from autodo.vocabulary import ROBUST_LOSSES

SCE_LOG_ZERO = -4.0  # A, the paper's value for log 0 in the reverse cross-entropy
ELR_CLAMP = 1e-4  # the predictions are kept in [1e-4, 1 - 1e-4], so that log(1 - <p, t>) stays finite


def generalized_cross_entropy(logits, labels, q):
    """``(1 - p_y^q) / q`` per sample; ``-expm1(q log p_y) / q`` keeps it accurate for small q."""
    log_p = F.log_softmax(logits, 1).gather(1, labels[:, None]).squeeze(1)
    return -torch.expm1(q * log_p) / q


def symmetric_cross_entropy(logits, labels, alpha, beta):
    """``alpha CE + beta RCE`` per sample, with ``RCE = -A (1 - p_y)``."""
    cross_entropy = F.cross_entropy(logits, labels, reduction="none")
    p_y = F.softmax(logits, 1).gather(1, labels[:, None]).squeeze(1)
    return alpha * cross_entropy + beta * (-SCE_LOG_ZERO) * (1 - p_y)


class EarlyLearningRegularization(nn.Module):
    """ELR's per-sample loss; its targets (one row per train sample, zero at the start, and updated by a step before
    its regulariser reads them, as in the authors' code) are a buffer, so that a checkpoint holds them and a resumed
    run goes on with them."""

    def __init__(self, num_samples, num_classes, strength, momentum):
        super().__init__()
        self.strength, self.momentum = strength, momentum
        self.register_buffer("targets", torch.zeros(num_samples, num_classes))

    def forward(self, logits, labels, index):
        probs = F.softmax(logits, 1).clamp(ELR_CLAMP, 1 - ELR_CLAMP)
        if self.training and torch.is_grad_enabled():  # a training step: its samples' targets follow its predictions
            seen = probs.detach()
            self.targets[index] = (self.momentum * self.targets[index]
                                   + (1 - self.momentum) * seen / seen.sum(1, keepdim=True))
        regularizer = torch.log(1 - (self.targets[index] * probs).sum(1))
        return F.cross_entropy(logits, labels, reduction="none") + self.strength * regularizer


class RobustLoss(nn.Module):
    """The per-sample loss ``name`` (``ROBUST_LOSSES``) with its settings: ``q`` (gce), ``alpha`` and ``beta`` (sce),
    ``strength`` and ``momentum`` (elr, over ``num_samples`` train samples); ``ce`` is plain cross-entropy."""

    def __init__(self, name, num_samples, num_classes, q=None, alpha=None, beta=None, strength=None, momentum=None):
        super().__init__()
        if name not in ROBUST_LOSSES:
            raise ValueError(f"loss={name!r}: must be one of {', '.join(ROBUST_LOSSES)}")
        self.name, self.q, self.alpha, self.beta = name, q, alpha, beta
        self.elr = (EarlyLearningRegularization(num_samples, num_classes, strength, momentum) if name == "elr"
                    else None)

    def forward(self, logits, labels, index):
        if self.name == "gce":
            return generalized_cross_entropy(logits, labels, self.q)
        if self.name == "sce":
            return symmetric_cross_entropy(logits, labels, self.alpha, self.beta)
        if self.name == "elr":
            return self.elr(logits, labels, index)
        return F.cross_entropy(logits, labels, reduction="none")
