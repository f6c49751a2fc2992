"""The learned affine augmentation lambda_A: per-op application probability and magnitude, per sample (SEP)
or shared by all samples (SHA).

For each image and each of the 7 ops a gate ``b ~ Bernoulli(p)`` is drawn with the straight-through
Gumbel-softmax and a signed magnitude ``s = m * eps``, ``eps ~ N(0, 1)`` (reparameterised), so that the
hypergradient reaches both ``p`` and ``m``. The image is warped about its centre (kornia), with borders
replicated. The reference warped about a point off the centre of its 4x upsampled image and scaled the
translations by a quarter; that bug is not reproduced here.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

OPS = ("rotate", "translate_x", "translate_y", "shear_x", "shear_y", "scale_x", "scale_y")
# the op's value at signed magnitude 1: degrees, share of the image size, shear factor, change of scale
RANGES = {"rotate": 30.0, "translate": 0.45, "shear": 0.3, "scale": 0.5}


def affine_warp(images, signed):
    """Warp ``images`` (B x C x H x W) by the ops of ``signed`` (B x 7 signed magnitudes), about the centre."""
    from kornia.geometry.transform import get_affine_matrix2d, warp_affine

    height, width = images.shape[-2:]
    batch = len(images)
    centre = images.new_tensor([(width - 1) / 2, (height - 1) / 2]).expand(batch, 2)
    rotate, tx, ty, shear_x, shear_y, scale_x, scale_y = signed.unbind(1)
    size = images.new_tensor([width, height])
    matrix = get_affine_matrix2d(
        translations=torch.stack([tx, ty], 1) * RANGES["translate"] * size,
        center=centre,
        scale=1 + torch.stack([scale_x, scale_y], 1) * RANGES["scale"],
        angle=rotate * RANGES["rotate"],
        sx=torch.atan(shear_x * RANGES["shear"]),
        sy=torch.atan(shear_y * RANGES["shear"]),
    )
    return warp_affine(images, matrix[:, :2], (height, width), padding_mode="border", align_corners=True)


class LearnedAffine(nn.Module):
    """``num_rows`` rows of 7 probability logits and 7 magnitude logits: one row per train sample (SEP) or a
    single row for all (SHA). Starts at p = ``init_probability`` and m = ``init_magnitude`` (the reference's 0.2
    and 0.5 by default; each data set names its own, ``dataset.learned_augment``)."""

    def __init__(self, num_rows, init_probability=0.2, init_magnitude=0.5):
        super().__init__()
        self.shared = num_rows == 1
        logit = lambda value: math.log(value / (1 - value))  # noqa: E731
        self.start_logits = (logit(init_probability), logit(init_magnitude))  # for the diagnostics, not state
        self.probability_logits = nn.Parameter(torch.full((num_rows, len(OPS)), self.start_logits[0]))
        self.magnitude_logits = nn.Parameter(torch.full((num_rows, len(OPS)), self.start_logits[1]))

    def forward(self, images, index):
        rows = torch.zeros_like(index) if self.shared else index
        probability = torch.sigmoid(self.probability_logits[rows])
        magnitude = torch.sigmoid(self.magnitude_logits[rows])
        # straight-through Bernoulli: hard 0/1 forward, the softmax relaxation's gradient backward
        log_odds = torch.stack([torch.log(probability), torch.log1p(-probability)], -1)
        gate = F.gumbel_softmax(log_odds, tau=1.0, hard=True)[..., 0]
        signed = gate * magnitude * torch.randn_like(magnitude)
        return affine_warp(images, signed.to(images.dtype))

    def displacement(self):
        """How far each row has moved from the start: the L2 norm of its 14 logits' change."""
        moved = torch.cat([self.probability_logits - self.start_logits[0],
                           self.magnitude_logits - self.start_logits[1]], 1)
        return torch.linalg.vector_norm(moved.detach(), dim=1)

    def summary(self):
        """Mean application probability and magnitude of each op over the rows."""
        probability = torch.sigmoid(self.probability_logits).mean(0)
        magnitude = torch.sigmoid(self.magnitude_logits).mean(0)
        stats = {f"aug_{name}_p": p.item() for name, p in zip(OPS, probability)}
        stats.update({f"aug_{name}_m": m.item() for name, m in zip(OPS, magnitude)})
        return stats
