"""RandSub on the device: RandAugment's colour ops (Identity, AutoContrast, Equalize, Color, Sharpness) on a
batch of [0, 1] images, with the ops and signs drawn per sample.

The learned models (SHA, SEP) learn the geometry and add these ops, as the reference does. Each of the
``num_ops`` rounds draws one op per sample; Color and Sharpness blend with their degenerate image by the factor
``1 +- 0.9 * magnitude / 30`` (torchvision's RandAugment scale), the sign drawn per sample.
"""

import torch
from torch import nn
from torchvision.transforms.v2 import functional as F

OPS = ("Identity", "AutoContrast", "Equalize", "Color", "Sharpness")


def _blend(images, degenerate, factor):
    return (factor * images + (1 - factor) * degenerate).clamp_(0, 1)


class BatchRandSub(nn.Module):
    def __init__(self, num_ops, magnitude, num_magnitude_bins=31):
        super().__init__()
        self.num_ops = num_ops
        self.strength = 0.9 * magnitude / (num_magnitude_bins - 1)

    def forward(self, images):
        batch = len(images)
        for _ in range(self.num_ops):
            choice = torch.randint(len(OPS), (batch,), device=images.device)
            sign = torch.randint(2, (batch, 1, 1, 1), device=images.device) * 2 - 1
            factor = 1 + sign * self.strength
            for op in range(1, len(OPS)):
                chosen = choice == op
                if chosen.any():
                    images = images.clone()
                    images[chosen] = self._apply_op(OPS[op], images[chosen], factor[chosen])
        return images

    @staticmethod
    def _apply_op(op, images, factor):
        if op == "AutoContrast":
            return F.autocontrast(images)
        if op == "Equalize":
            return F.equalize(images)
        if op == "Color":
            grey = images if images.shape[1] == 1 else F.rgb_to_grayscale(images).expand_as(images)
            return _blend(images, grey, factor)
        return _blend(images, F.adjust_sharpness(images, 0.0), factor)
