"""The loss model: per-sample loss weights and soft labels, the hyperparameters lambda_W and lambda_S.

Both tables are sized by the train subset (``index`` is a sample's position in it): ``weight_logits`` holds
N floats and ``label_logits`` N x C floats (4 N C bytes, 2 MB for 50,000 samples and 10 classes; ImageNet's
1M x 1000 table is 4 GB, and RMSprop keeps a second one).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from autodo.robust_losses import RobustLoss
from autodo.vocabulary import PAPER_SMOOTHING, PRIOR_CORRECTIONS

_SOFTPLUS_AT_ZERO = math.log(2.0)


class LossModel(nn.Module):
    """Per-sample loss ``w_i * l_i`` averaged over the batch.

    With learned weights, ``w_i = softplus(weight_logits_i) / ln 2`` (exactly 1 at the start, always positive),
    else 1. With learned soft labels, ``l_i`` is the KL divergence between ``softmax(label_logits_i)`` (label
    smoothing of the given label at the start) and the prediction, symmetric when the data are biased; else the
    given label's loss ``base_loss`` (an autodo.robust_losses.RobustLoss: GCE, SCE, ELR; cross-entropy by default).

    ``prior_correction`` corrects for the class prior ``p`` of the given (noisy) train labels, with nothing
    learned: ``logit_adjust`` trains on ``logits + log p`` (logit-adjusted loss, Menon et al. 2021; the model
    predicts with its plain logits), ``balance`` multiplies each sample's weight by ``N / (C n_y)`` (class-balanced
    weights, averaging 1 over the train set).

    ``weight_net`` (MW-Net, Shu et al. 2019): each sample's weight is also ``V(l_i)``, a small network of its own
    loss (a ``WeightNet``), learned by hyper steps in place of a per-sample table, while ``weight_net_on``;
    ``net_weights`` holds the weight it gave each train sample in the training steps of the epoch (NaN: not yet).
    """

    def __init__(self, labels, num_classes, learn_weights, learn_soft_labels, symmetric, prior_correction="none",
                 smoothing=PAPER_SMOOTHING, base_loss=None, weight_net=None):
        super().__init__()
        if base_loss is not None and base_loss.name != "ce" and learn_soft_labels:
            raise ValueError(f"loss={base_loss.name!r} with soft labels: the soft labels' KL loss replaces it")
        labels = torch.as_tensor(labels, dtype=torch.long)
        self.symmetric = symmetric
        self.register_buffer("given_labels", labels)
        if prior_correction not in PRIOR_CORRECTIONS:
            raise ValueError(f"prior_correction={prior_correction!r}: must be one of {', '.join(PRIOR_CORRECTIONS)}")
        counts = torch.bincount(labels, minlength=num_classes).clamp(min=1).float()
        self.register_buffer("logit_offset",
                             torch.log(counts / counts.sum()) if prior_correction == "logit_adjust" else None)
        self.register_buffer("class_weights",
                             len(labels) / (num_classes * counts) if prior_correction == "balance" else None)
        self.weight_logits = nn.Parameter(torch.zeros(len(labels))) if learn_weights else None
        self.num_classes, self.smoothing = num_classes, smoothing
        self.label_logits = nn.Parameter(self.start_label_logits()) if learn_soft_labels else None
        self.base_loss = base_loss or RobustLoss("ce", len(labels), num_classes)
        self.weight_net, self.weight_net_on = weight_net, weight_net is not None
        self.register_buffer("net_weights", None if weight_net is None else torch.full((len(labels),), math.nan),
                             persistent=False)  # what an epoch's steps record (autodo.metrics.hyper_diagnostics)

    def start_label_logits(self):
        """The soft labels' start: softmax(d (onehot - 1/2)) with d = ln(1 - C + C/eps) is the given label
        smoothed by eps (0 < eps < 1: the given label gets 1 - eps + eps/C, every other eps/C). The gap d between
        the given label's logit and the others' is what the hyper steps must close to change the hard label."""
        scale = math.log(1 - self.num_classes + self.num_classes / self.smoothing)
        return scale * (F.one_hot(self.given_labels, self.num_classes).float() - 0.5)

    def start_net_epoch(self, on):
        """A new epoch of MW-Net's network: it weighs the losses (``on``) or every weight is 1; its weights are recorded
        anew."""
        self.weight_net_on = on
        self.net_weights.fill_(math.nan)

    def weights(self, index=None):
        """The loss weights of the samples ``index`` (all by default)."""
        index = slice(None) if index is None else index
        weights = torch.ones_like(self.given_labels[index], dtype=torch.float)
        if self.weight_logits is not None:
            weights = F.softplus(self.weight_logits[index]) / _SOFTPLUS_AT_ZERO
        if self.class_weights is not None:
            weights = weights * self.class_weights[self.given_labels[index]]
        return weights

    def labels(self):
        """The hard labels the model now holds: the argmax of the soft labels, or the given labels."""
        return self.given_labels if self.label_logits is None else self.label_logits.argmax(1)

    def per_sample(self, logits, index):
        """Unweighted per-sample losses of the ``logits`` of the train samples ``index``."""
        if self.logit_offset is not None:
            logits = logits + self.logit_offset
        if self.label_logits is None:
            return self.base_loss(logits, self.given_labels[index], index)
        log_target, log_prediction = F.log_softmax(self.label_logits[index], 1), F.log_softmax(logits, 1)
        forward = F.kl_div(log_prediction, log_target, log_target=True, reduction="none").sum(1)
        if not self.symmetric:
            return forward
        backward = F.kl_div(log_target, log_prediction, log_target=True, reduction="none").sum(1)
        return 0.5 * (forward + backward)

    def forward(self, logits, index):
        if logits.dtype in (torch.float16, torch.bfloat16):  # mixed precision: the loss in float32
            logits = logits.float()
        losses = self.per_sample(logits, index)
        weights = self.weights(index)
        if self.weight_net_on:  # of the loss as a number (no path from the network's output), in float32 under AMP
            with torch.autocast(logits.device.type, enabled=False):
                net_weights = self.weight_net(losses.detach())
            if self.training and torch.is_grad_enabled():  # a training step (a hyper step is in eval mode)
                self.net_weights[index] = net_weights.detach()
            weights = weights * net_weights
        return (weights * losses).mean()


class WeightNet(nn.Module):
    """MW-Net's weighting function: a sample's loss -> its weight in (0, 1), an MLP with one hidden ReLU layer of
    ``hidden`` units and a sigmoid output (the paper's 1-100-1)."""

    def __init__(self, hidden):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, 1), nn.Sigmoid())

    def forward(self, losses):
        return self.layers(losses[:, None]).squeeze(1)
