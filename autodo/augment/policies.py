"""Fixed per-image augmentation policies (torchvision.transforms.v2), run in the loader on uint8 images.

RAND: RandAugment(N, M) with the reference's per-data-set N and M. TRIVIAL: TrivialAugmentWide. torchvision
applies the magnitude bin M itself where the reference drew a random magnitude up to M.
"""

from torchvision.transforms import v2


def build_policy(aug_name, dataset_cfg):
    """The per-image policy of ``aug_name``, or None for the models without one."""
    if aug_name == "RAND":
        return v2.RandAugment(**dataset_cfg.randaugment)
    if aug_name == "TRIVIAL":
        return v2.TrivialAugmentWide()
    return None
