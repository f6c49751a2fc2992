import torch

from autodo.data.datasets import LabelledSubset, make_loader
from autodo.data.sources import TensorImages


def source(n=10):
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
    return TensorImages(images, torch.arange(n) % 3)


def test_items_are_image_label_and_position_in_the_subset():
    subset = LabelledSubset(source(), [7, 2, 5], torch.tensor([0, 1, 2]))
    image, label, index = subset[1]
    assert image[0, 0, 0] == 2 and label == 1 and index == 1
    assert len(subset) == 3


def test_loader_yields_whole_batches_in_a_reproducible_order():
    subset = LabelledSubset(source(), torch.arange(10), torch.arange(10))
    orders = []
    for _ in range(2):
        loader = make_loader(subset, 4, shuffle=True, num_workers=0, generator=torch.Generator().manual_seed(1))
        batches = list(loader)
        assert [len(b[0]) for b in batches] == [4, 4, 2]
        for images, labels, index in batches:
            assert torch.equal(images[:, 0, 0, 0].long(), labels) and torch.equal(labels, index)
        orders.append(torch.cat([b[2] for b in batches]))
    assert torch.equal(orders[0], orders[1]) and sorted(orders[0].tolist()) == list(range(10))


def test_item_transform_is_applied_per_image():
    calls = []

    def transform(image):
        calls.append(image.shape)
        return image[:, :1, :1]

    subset = LabelledSubset(source(), [0, 1, 2], torch.zeros(3), transform)
    images, _, _ = subset.__getitems__([0, 2])
    assert images.shape == (2, 1, 1, 1) and len(calls) == 2


def test_worker_processes_give_the_same_batches():
    subset = LabelledSubset(source(), torch.arange(10), torch.arange(10))
    plain = list(make_loader(subset, 3, shuffle=False, num_workers=0))
    workers = list(make_loader(subset, 3, shuffle=False, num_workers=2))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(plain, workers))
