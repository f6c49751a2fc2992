"""Fixed per-image augmentation policies (torchvision.transforms.v2), run in the loader on uint8 images.

RAND: RandAugment(N, M) with the reference's per-data-set N and M. TRIVIAL: TrivialAugmentWide. torchvision
applies the magnitude bin M itself where the reference drew a random magnitude up to M.
AUTO: the published Fast AutoAugment policies (fast_autoaugment.json beside this file: source and MIT licence
inside), the table named by the data set's ``fast_autoaugment``.
"""

import functools
import json
import math
from pathlib import Path

import torch
from torch import nn
from torchvision.transforms.v2 import functional as F

from autodo.vocabulary import FAST_AUTOAUGMENT_OPS as OP_NAMES

FAST_AUTOAUGMENT_FILE = Path(__file__).with_name("fast_autoaugment.json")


def _shear_x(image, v):
    return F.affine(image, angle=0.0, translate=[0, 0], scale=1.0, shear=[math.degrees(math.atan(v)), 0.0])


def _shear_y(image, v):
    return F.affine(image, angle=0.0, translate=[0, 0], scale=1.0, shear=[0.0, math.degrees(math.atan(v))])


def _translate_x(image, v):
    return F.affine(image, angle=0.0, translate=[round(v * image.shape[-1]), 0], scale=1.0, shear=[0.0, 0.0])


def _translate_y(image, v):
    return F.affine(image, angle=0.0, translate=[0, round(v * image.shape[-2])], scale=1.0, shear=[0.0, 0.0])


def _solarize(image, v):
    return image if v > 255 else F.solarize(image, threshold=v)  # no uint8 pixel reaches a threshold above 255


def _cutout(image, v):
    """A grey square of side v * width at a uniform random centre, clipped to the image (Fast AutoAugment's)."""
    height, width = image.shape[-2:]
    side = round(v * width)
    if side == 0:
        return image
    cy, cx = torch.randint(height, ()).item(), torch.randint(width, ()).item()
    top, left = max(cy - side // 2, 0), max(cx - side // 2, 0)
    bottom, right = min(cy + side - side // 2, height), min(cx + side - side // 2, width)
    return F.erase(image, top, left, bottom - top, right - left, torch.tensor(127, dtype=image.dtype))


# name -> (op(image, value), low, high, mirrored); a level in [0, 1] maps linearly onto [low, high], and
# mirrored (geometric) ops flip the value's sign with probability 1/2, as in Fast AutoAugment.
FAST_AUTOAUGMENT_OPS = {
    "ShearX": (_shear_x, -0.3, 0.3, True),
    "ShearY": (_shear_y, -0.3, 0.3, True),
    "TranslateX": (_translate_x, -0.45, 0.45, True),
    "TranslateY": (_translate_y, -0.45, 0.45, True),
    "Rotate": (lambda image, v: F.rotate(image, v), -30.0, 30.0, True),
    "AutoContrast": (lambda image, v: F.autocontrast(image), 0.0, 1.0, False),
    "Invert": (lambda image, v: F.invert(image), 0.0, 1.0, False),
    "Equalize": (lambda image, v: F.equalize(image), 0.0, 1.0, False),
    "Solarize": (_solarize, 0.0, 256.0, False),
    "Posterize": (lambda image, v: F.posterize(image, int(v)), 4.0, 8.0, False),
    "Contrast": (F.adjust_contrast, 0.1, 1.9, False),
    "Color": (F.adjust_saturation, 0.1, 1.9, False),  # the identity on grey images
    "Brightness": (F.adjust_brightness, 0.1, 1.9, False),
    "Sharpness": (F.adjust_sharpness, 0.1, 1.9, False),
    "Cutout": (_cutout, 0.0, 0.2, False),
}
assert tuple(FAST_AUTOAUGMENT_OPS) == OP_NAMES  # the names the checks of a command line know (autodo.vocabulary)


@functools.cache
def fast_autoaugment_tables():
    """Every published table by name: a list of sub-policies, each a list of (op, probability, level)."""
    return json.loads(FAST_AUTOAUGMENT_FILE.read_text())["policies"]


class SubPolicyAugment(nn.Module):
    """Per image: one sub-policy drawn uniformly; each of its ops fires with its probability at its level."""

    def __init__(self, sub_policies):
        super().__init__()
        unknown = sorted({op for sub in sub_policies for op, _, _ in sub} - FAST_AUTOAUGMENT_OPS.keys())
        if unknown:
            raise ValueError(f"unknown augmentation ops {unknown}; allowed: {sorted(FAST_AUTOAUGMENT_OPS)}")
        self.sub_policies = sub_policies

    def forward(self, image):
        for name, probability, level in self.sub_policies[torch.randint(len(self.sub_policies), ()).item()]:
            if torch.rand(()).item() >= probability:
                continue
            op, low, high, mirrored = FAST_AUTOAUGMENT_OPS[name]
            value = low + min(max(level, 0.0), 1.0) * (high - low)
            if mirrored and torch.rand(()).item() < 0.5:
                value = -value
            image = op(image, value)
        return image
