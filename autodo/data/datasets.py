"""Torch data sets over an image source: each item is ``(image, label, index)``.

``index`` is the item's position in the subset (0 .. len-1), so per-sample tables are sized by the subset.
Batches are fetched whole through ``__getitems__``: one tensor index for in-memory images instead of a
Python loop over items, which keeps the loader's cost small beside a small model's step.
"""

import torch
from torch.utils.data import DataLoader, Dataset


class LabelledSubset(Dataset):
    """The samples ``indices`` of ``source`` with the labels ``labels`` (clean, or noisy for training).

    ``transform`` (optional) maps one uint8 image to a uint8 image of the common size, in the loader.
    """

    def __init__(self, source, indices, labels, transform=None):
        assert len(indices) == len(labels)
        self.source = source
        self.indices = torch.as_tensor(indices, dtype=torch.long)
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.transform = transform

    def __len__(self):
        return len(self.indices)

    def __getitems__(self, positions):
        positions = torch.as_tensor(positions, dtype=torch.long)
        images = self.source.get_batch(self.indices[positions])
        if self.transform is not None:
            images = [self.transform(image) for image in images]
        if isinstance(images, list):
            images = torch.stack(images)
        return images, self.labels[positions], positions

    def __getitem__(self, position):
        images, labels, positions = self.__getitems__([position])
        return images[0], labels[0], positions[0]


def keep_batch(batch):
    """The collate function: ``__getitems__`` already returns a whole batch."""
    return batch


def make_loader(dataset, batch_size, shuffle, num_workers, generator=None, drop_last=False, pin_memory=False):
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
        num_workers=num_workers,
        collate_fn=keep_batch,
        generator=generator,
        pin_memory=pin_memory,
        persistent_workers=False,
    )
