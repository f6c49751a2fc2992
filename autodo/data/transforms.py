"""The standard transforms of each data set.

Images travel as uint8 and become floats on the training device, where the standard train augmentation
(random crop with padding, horizontal flip, random erasing, as in the reference) runs batched with per-sample
random parameters (kornia.augmentation). Only ImageNet, whose images differ in size, gets per-image transforms
in the loader (torchvision.transforms.v2) to bring them to a common size.
"""

import torch
from torch import nn


class BatchTransform(nn.Module):
    """uint8 image batch -> float batch: ``before_normalize`` ops on [0, 1] images, per-channel standardisation,
    then ``after_normalize`` ops (erasing fills with 0, the mean, as the reference's RandomErasing does)."""

    def __init__(self, mean, std, before_normalize=(), after_normalize=()):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        self.before_normalize = nn.Sequential(*before_normalize)
        self.after_normalize = nn.Sequential(*after_normalize)

    def forward(self, images):
        images = images.float().div_(255) if images.dtype == torch.uint8 else images
        images = self.before_normalize(images)
        return self.after_normalize((images - self.mean) / self.std)


def build_train_transform(augment_cfg, image_size, mean, std, colour=None):
    """The train-time batch transform of ``augment_cfg``: ``crop_padding`` (pixels, 0 for none),
    ``hflip`` and ``erasing`` (booleans), with per-sample random parameters; ``colour`` (a module on [0, 1]
    images) runs after the geometric ops."""
    import kornia.augmentation as K

    before = []
    if augment_cfg.crop_padding:
        before.append(K.RandomCrop(tuple(image_size), padding=augment_cfg.crop_padding))
    if augment_cfg.hflip:
        before.append(K.RandomHorizontalFlip())
    if colour is not None:
        before.append(colour)
    after = [K.RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0)] if augment_cfg.erasing else []
    return BatchTransform(mean, std, before, after)


def build_item_transforms(dataset_cfg):
    """Per-image ``(train, eval)`` transforms for sources whose images differ in size, else ``(None, None)``."""
    if not dataset_cfg.get("resize"):
        return None, None
    from torchvision.transforms import v2

    train = v2.RandomResizedCrop(dataset_cfg.crop, antialias=True)
    evaluation = v2.Compose([v2.Resize(dataset_cfg.resize, antialias=True), v2.CenterCrop(dataset_cfg.crop)])
    return train, evaluation
