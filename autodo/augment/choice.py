"""What each ``aug_model`` means: the one place where the augmentation of a run is chosen.

- NONE: the data set's standard train transforms only.
- RAND, TRIVIAL, AUTO: a fixed per-image policy (torchvision) in the loader, on uint8 images.
- DADA: a table of sub-policies applied like AUTO's, searched on the run's own data or brought in a file
  (autodo.augment.dada).
- SHA, SEP: the learned affine model (one row of parameters for all samples, or a row per train sample) on the
  device, with RandSub's colour ops (the data set's ``randsub``), as the reference does.
"""

from dataclasses import dataclass

import torch

from autodo.vocabulary import FIXED_AUGMENTATIONS, LEARNED_AUGMENTATIONS



@dataclass
class Augmentation:
    name: str
    item_policy: object = None  # per-image transform in the loader (a fixed policy), or None
    colour: torch.nn.Module = None  # colour ops on the device's [0, 1] batches (the learned models'), or None
    init_probability: float = None  # the learned model's start values
    init_magnitude: float = None

    def learned_model(self, num_samples):
        """The learned affine model over ``num_samples`` train samples (SEP) or shared by all (SHA), else None."""
        from autodo.augment.affine import LearnedAffine

        if self.name not in LEARNED_AUGMENTATIONS:
            return None
        return LearnedAffine(1 if self.name == "SHA" else num_samples, self.init_probability, self.init_magnitude)


def _fixed_policy(name, dataset_cfg):
    from torchvision.transforms import v2

    from autodo.augment.policies import SubPolicyAugment, fast_autoaugment_tables

    if name == "RAND":
        return v2.RandAugment(**dataset_cfg.randaugment)
    if name == "TRIVIAL":
        return v2.TrivialAugmentWide()
    return SubPolicyAugment(fast_autoaugment_tables()[dataset_cfg.fast_autoaugment])


def build_augmentation(aug_cfg, dataset_cfg, table=None):
    """The augmentation of ``aug_cfg.name`` with the data set's settings (``aug_model=DADA``: applying ``table``,
    an autodo.augment.table_file.PolicyTable)."""
    if aug_cfg.name == "DADA":
        from autodo.augment.policies import SubPolicyAugment

        return Augmentation("DADA", item_policy=SubPolicyAugment(table.table))
    if aug_cfg.name in FIXED_AUGMENTATIONS:
        return Augmentation(aug_cfg.name, item_policy=_fixed_policy(aug_cfg.name, dataset_cfg))
    if aug_cfg.name in LEARNED_AUGMENTATIONS:
        from autodo.augment.colour import BatchRandSub

        return Augmentation(aug_cfg.name, colour=BatchRandSub(**dataset_cfg.randsub),
                            init_probability=aug_cfg.init_probability, init_magnitude=aug_cfg.init_magnitude)
    return Augmentation(aug_cfg.name)


def augmentation_identity(config):
    """The canonical plain ``config`` as far as its augmentation goes (autodo.run_folder.identity): a DADA table
    brought in a file is identified by its table (``table_sha256``), not by where the file is nor by the
    search's settings, which it does not use. A run with random per-image transforms in its loader (a fixed policy,
    or the random crop of a data set that resizes) says that they draw from per-batch seeds of the run's own
    stream: they drew from the loader process's, which changed with ``num_workers``."""
    aug_model = config.get("aug_model", {})
    if aug_model.get("name") == "DADA" and aug_model.get("policy") != "search":
        config["aug_model"] = {"name": "DADA", "table_sha256": aug_model.get("table_sha256")}
    if aug_model.get("name") in (*FIXED_AUGMENTATIONS, "DADA") or config.get("dataset", {}).get("resize"):
        config["item_transform_draws"] = "per-batch seeds"
    return config
