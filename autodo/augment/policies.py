"""Fixed per-image augmentation policies (torchvision.transforms.v2), run in the loader on uint8 images.

RAND: RandAugment(N, M) with the reference's per-data-set N and M. TRIVIAL: TrivialAugmentWide. The learned
models (SHA, SEP) learn the geometry and add RandSub, RandAugment restricted to its colour ops, as the
reference does. torchvision applies the magnitude bin M itself where the reference drew a random magnitude up
to M; torchvision's colour ops have no Invert.
"""

from torchvision.transforms import v2


class RandSubAugment(v2.RandAugment):
    """RandAugment over the non-geometric ops only."""

    _AUGMENTATION_SPACE = {
        name: value
        for name, value in v2.RandAugment._AUGMENTATION_SPACE.items()
        if name in ("Identity", "AutoContrast", "Equalize", "Color", "Sharpness")
    }


def build_policy(aug_name, dataset_cfg):
    """The per-image policy of ``aug_name`` (None for NONE)."""
    if aug_name == "RAND":
        return v2.RandAugment(**dataset_cfg.randaugment)
    if aug_name == "TRIVIAL":
        return v2.TrivialAugmentWide()
    if aug_name in ("SHA", "SEP"):
        return RandSubAugment(**dataset_cfg.randsub)
    return None
