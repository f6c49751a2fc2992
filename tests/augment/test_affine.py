"""The learned affine augmentation: the warp's geometry, its gradients (gradcheck), and the sampling."""

import pytest
import torch

from autodo.augment.affine import OPS, RANGES, LearnedAffine, affine_warp


def signed(**values):
    out = torch.zeros(1, len(OPS), dtype=torch.float64)
    for name, value in values.items():
        out[0, OPS.index(name)] = value
    return out


def dot_image(size=5, row=0, col=2):
    image = torch.zeros(1, 1, size, size, dtype=torch.float64)
    image[0, 0, row, col] = 1
    return image


def test_zero_magnitudes_are_the_identity():
    images = torch.rand(3, 2, 6, 7, dtype=torch.float64)
    torch.testing.assert_close(affine_warp(images, torch.zeros(3, len(OPS), dtype=torch.float64)), images)


def test_rotation_is_about_the_image_centre():
    quarter_turn = signed(rotate=90 / RANGES["rotate"])
    out = affine_warp(dot_image(), quarter_turn)[0, 0]
    # a dot at the top centre ends at a side centre: the centre pixel is the pivot
    assert out.sum().item() == pytest.approx(1.0) and out[2, 4].item() == pytest.approx(1.0)


def test_translation_is_a_share_of_the_image_size():
    one_pixel = 1 / (RANGES["translate"] * 5)
    out = affine_warp(dot_image(), signed(translate_x=one_pixel))[0, 0]
    assert out[0, 3].item() == pytest.approx(1.0)
    out = affine_warp(dot_image(), signed(translate_y=one_pixel))[0, 0]
    assert out[1, 2].item() == pytest.approx(1.0)


def test_scale_about_the_centre_keeps_the_centre():
    image = dot_image(row=2, col=2)
    out = affine_warp(image, signed(scale_x=0.5, scale_y=-0.5))[0, 0]
    assert out[2, 2].item() == pytest.approx(1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradcheck_of_the_warp_in_the_magnitudes(seed):
    # at generic magnitudes: where every op is exactly 0 the sample points sit on the pixel grid, at the kinks of
    # bilinear interpolation
    torch.manual_seed(seed)
    images = torch.rand(2, 2, 6, 5, dtype=torch.float64)
    magnitudes = (0.2 * torch.randn(2, len(OPS), dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(lambda m: affine_warp(images, m), (magnitudes,))


def test_start_values_and_shape():
    model = LearnedAffine(4)
    summary = model.summary()
    assert all(summary[f"aug_{op}_p"] == pytest.approx(0.2) for op in OPS)
    assert all(summary[f"aug_{op}_m"] == pytest.approx(0.5) for op in OPS)
    assert model(torch.rand(3, 1, 8, 8), torch.tensor([0, 1, 3])).shape == (3, 1, 8, 8)


def test_sep_gradients_reach_only_the_rows_of_the_batch():
    torch.manual_seed(0)
    model = LearnedAffine(6, init_probability=0.9)
    images = torch.rand(3, 1, 8, 8)
    (model(images, torch.tensor([1, 4, 5])) * torch.rand(3, 1, 8, 8)).sum().backward()
    touched = model.magnitude_logits.grad.abs().sum(1) > 0
    assert touched.tolist() == [False, True, False, False, True, True]
    assert (model.probability_logits.grad[[0, 2, 3]] == 0).all()
    assert model.probability_logits.grad[[1, 4, 5]].abs().sum() > 0  # straight-through reaches p


def test_sha_shares_one_row():
    torch.manual_seed(0)
    model = LearnedAffine(1, init_probability=0.9)
    (model(torch.rand(4, 1, 8, 8), torch.tensor([7, 100, 3, 9])) * torch.rand(4, 1, 8, 8)).sum().backward()
    assert model.magnitude_logits.shape == (1, len(OPS)) and model.magnitude_logits.grad.abs().sum() > 0


def test_application_probability_is_learned_as_sampled():
    torch.manual_seed(0)
    model = LearnedAffine(1, init_probability=0.3, init_magnitude=0.99)
    images = torch.rand(4000, 1, 6, 6)
    changed = (model(images, torch.zeros(4000, dtype=torch.long)) - images).abs().flatten(1).max(1).values > 1e-6
    # an image is left alone only when no op fires (or fires with a tiny magnitude)
    assert changed.float().mean().item() == pytest.approx(1 - 0.7 ** len(OPS), abs=0.03)
