"""Torch data sets over an image source: each item is ``(image, label, index)``.

``index`` is the item's position in the subset (0 .. len-1), so per-sample tables are sized by the subset.
Batches are fetched whole through ``__getitems__``: one tensor index for in-memory images instead of a
Python loop over items, which keeps the loader's cost small beside a small model's step.
"""

import copy

import torch
from torch.utils.data import DataLoader, Dataset


class LabelledSubset(Dataset):
    """The samples ``indices`` of ``source`` with the labels ``labels`` (clean, or noisy for training).

    ``transform`` (optional) maps one uint8 image to a uint8 image of the common size, in the loader. When
    ``transform_seed`` is set (by a SeededLoader), a batch's random draws come from its own seed.
    """

    def __init__(self, source, indices, labels, transform=None):
        assert len(indices) == len(labels)
        self.source = source
        self.indices = torch.as_tensor(indices, dtype=torch.long)
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.transform = transform
        self.transform_seed = None

    def __len__(self):
        return len(self.indices)

    def __getitems__(self, positions):
        positions = torch.as_tensor(positions, dtype=torch.long)
        images = self.source.get_batch(self.indices[positions])
        if self.transform is not None:
            images = self._transformed(images, positions)
        if isinstance(images, list):
            images = torch.stack(images)
        return images, self.labels[positions], positions

    def _transformed(self, images, positions):
        if self.transform_seed is None:
            return [self.transform(image) for image in images]
        # the batch's own seed (a pass's seed and the batch's first sample, unique in the pass), not the stream of
        # whichever process runs the batch: the images do not depend on the number of loader workers. Only the CPU
        # stream is seeded (torch.manual_seed would reseed CUDA's too, and fork_rng restores only the CPU's), with
        # a 32-bit seed, all that torch's CPU generator keeps of one
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed((self.transform_seed + int(positions[0])) % 2**32)
            return [self.transform(image) for image in images]

    def __getitem__(self, position):
        images, labels, positions = self.__getitems__([position])
        return images[0], labels[0], positions[0]


def keep_batch(batch):
    """The collate function: ``__getitems__`` already returns a whole batch."""
    return batch


class SeededLoader(DataLoader):
    """A loader over (a copy of) a LabelledSubset with a random per-image transform: each pass draws a seed from
    ``transform_seeds``, a generator saved in checkpoints, from which its batches' transforms draw. So the images
    are the same with any number of worker processes, and a resumed run goes on as an uninterrupted one."""

    def __init__(self, dataset, transform_seeds, **kwargs):
        super().__init__(copy.copy(dataset), **kwargs)  # its own copy: another loader's pass does not reseed it
        self.transform_seeds = transform_seeds

    def __iter__(self):
        self.dataset.transform_seed = int(torch.randint(2**32, (), generator=self.transform_seeds))
        return super().__iter__()


def make_loader(dataset, batch_size, shuffle, num_workers, generator=None, drop_last=False, pin_memory=False,
                transform_seeds=None):
    """A loader of whole batches; with ``transform_seeds`` (a generator) a SeededLoader."""
    loader, seeded = DataLoader, {}
    if transform_seeds is not None:
        loader, seeded = SeededLoader, {"transform_seeds": transform_seeds}
    return loader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
        num_workers=num_workers,
        collate_fn=keep_batch,
        generator=generator,
        pin_memory=pin_memory,
        persistent_workers=False,
        **seeded,
    )
