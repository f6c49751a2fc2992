"""Seeded augmented copies of uint8 images: the subsample task's copies of the selected points, and the active
learning task's rotated copies (variation ratio, pseudo-labels).

The seed's three geometric augmentations, batched (kornia) on uint8 image batches:
- translate: a shift by a whole number of pixels, up to a tenth of the side, in each direction;
- rotate: a rotation by up to 15 degrees either way about the centre;
- crop: a random square crop of 75-100% of the side, resized back to the full image.
Or a fixed policy of the project (RAND, AUTO, TRIVIAL: autodo.augment.choice), image by image.

The copies of a point depend only on the seed, the stream and the point, not on which other points are copied:
every subsample policy and budget of a seed augments a point the same way, so that policies differ only in the
points they pick.
"""

import numpy as np
import torch

from autodo.vocabulary import GEOMETRIC_COPIES

MAX_SHIFT = 0.1  # translate: of the side
MAX_DEGREES = 15.0  # rotate
MIN_CROP = 0.75  # crop: of the side


# the random streams of the copies: of the train points, of the validation and test images (evaluate=augmented), and
# of the selected points' augmentation in each epoch of head=network
TRAIN, VALID, TEST, EPOCHS = range(4)


def stream_generator(seed, *stream):
    """The generator of the random stream named by the integers ``stream`` (e.g. TEST, or a task's own keys).
    SeedSequence ignores trailing zeros ([s, 1, 0] is [s, 1]): a key that extends another must not end in 0."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, *stream]).generate_state(1)[0]))


def copy_draws(num_points, copies, seed, stream=TRAIN):
    """Uniform [0, 1) draws, ``(num_points, copies, 3)``: the random parameters of each copy of each point."""
    generator = stream_generator(seed, stream)
    return torch.rand(num_points, copies, 3, generator=generator, dtype=torch.float64)


def _affine_matrices(name, size, draws):
    """The ``(n, 2, 3)`` matrices (input pixel -> output pixel) of ``name`` for ``(n, 3)`` uniform ``draws``."""
    u, v, w = draws.unbind(1)
    one, zero = torch.ones_like(u), torch.zeros_like(u)
    if name == "translate":
        limit = round(MAX_SHIFT * size)
        dx, dy = (torch.floor(t * (2 * limit + 1)) - limit for t in (u, v))
        rows = [[one, zero, dx], [zero, one, dy]]
    elif name == "rotate":
        angle = torch.deg2rad((2 * u - 1) * MAX_DEGREES)
        cos, sin, centre = torch.cos(angle), torch.sin(angle), (size - 1) / 2
        rows = [[cos, -sin, centre - cos * centre + sin * centre], [sin, cos, centre - sin * centre - cos * centre]]
    else:  # crop: a square of this side, anywhere inside, scaled to the whole image
        side = (MIN_CROP + (1 - MIN_CROP) * u) * size
        scale, left, top = size / side, v * (size - side), w * (size - side)
        rows = [[scale, zero, -scale * left], [zero, scale, -scale * top]]
    return torch.stack([torch.stack(row, dim=1) for row in rows], dim=1)


def augmented_copies(images, draws, name, dataset_cfg):
    """The augmented copies (uint8) of the uint8 ``images``, one per row of ``draws`` (``(n, copies, 3)``, from
    ``copy_draws``): the copies of ``images[i]`` are rows ``i * copies ...`` of the result."""
    copies = draws.shape[1]
    images = images.repeat_interleave(copies, dim=0)
    draws = draws.reshape(-1, 3)
    if not len(images):
        return images
    if name in GEOMETRIC_COPIES:
        import kornia.geometry.transform as KT

        matrices = _affine_matrices(name, images.shape[-1], draws).float()
        warped = KT.warp_affine(images.float(), matrices, tuple(images.shape[-2:]), mode="bilinear",
                                padding_mode="zeros", align_corners=True)
        return warped.round().clamp(0, 255).to(torch.uint8)
    from omegaconf import OmegaConf

    from autodo.augment.choice import build_augmentation

    policy = build_augmentation(OmegaConf.create({"name": name}), dataset_cfg).item_policy
    out = []
    with torch.random.fork_rng(devices=[]):  # torchvision's policies draw from the global stream
        for image, draw in zip(images, draws):
            torch.default_generator.manual_seed(int(draw[0] * 2**62))  # the CPU stream only, as fork_rng restores
            out.append(policy(image))
    return torch.stack(out)
