"""RandSub on the device, against torchvision's per-image ops."""

import pytest
import torch
from torchvision.transforms.v2 import functional as F

from autodo.augment.colour import OPS, BatchRandSub


def forced(op, strength, sign, monkeypatch):
    """A one-round RandSub whose draws all pick ``op`` with ``sign``."""
    def randint(high, size, device=None):
        value = OPS.index(op) if high == len(OPS) else (1 if sign > 0 else 0)
        return torch.full(size, value, dtype=torch.long)

    monkeypatch.setattr(torch, "randint", randint)
    module = BatchRandSub(1, 0)
    module.strength = strength
    return module


@pytest.mark.parametrize("op, reference", [
    ("AutoContrast", F.autocontrast),
    ("Equalize", F.equalize),
    ("Sharpness", lambda image: F.adjust_sharpness(image, 1.3)),
    ("Color", lambda image: F.adjust_saturation(image, 1.3)),
])
def test_each_op_matches_torchvision(op, reference, monkeypatch):
    images = torch.rand(4, 3, 9, 9)
    out = forced(op, 0.3, +1, monkeypatch)(images)
    expected = torch.stack([reference(image) for image in images])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_identity_and_grey_colour_change_nothing(monkeypatch):
    images = torch.rand(3, 1, 6, 6)
    assert torch.equal(forced("Identity", 0.3, -1, monkeypatch)(images), images)
    torch.testing.assert_close(forced("Color", 0.3, -1, monkeypatch)(images), images)


def test_ops_are_drawn_per_sample_and_stay_in_range():
    torch.manual_seed(0)
    images = torch.rand(1, 3, 8, 8).expand(400, -1, -1, -1).contiguous()
    out = BatchRandSub(num_ops=1, magnitude=9)(images)
    assert out.min() >= 0 and out.max() <= 1
    distinct = {tuple(x.flatten().tolist()) for x in out.round(decimals=5)}
    assert 4 <= len(distinct) <= 7  # identity, autocontrast, equalize, colour +-, sharpness +-
    unchanged = (out == images).flatten(1).all(1).float().mean().item()
    assert unchanged == pytest.approx(1 / len(OPS), abs=0.06)
