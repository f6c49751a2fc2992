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


def noise(image):
    """A random per-image transform that draws from the global stream, as torchvision's policies do."""
    return image + torch.randint(0, 100, image.shape, dtype=torch.uint8)


def passes(loader, count):
    """The images of ``count`` passes, each a tensor in the order the positions were drawn."""
    return [torch.cat([images for images, _, _ in loader]) for _ in range(count)]


def seeded_loader(num_workers, seeds):
    subset = LabelledSubset(source(), torch.arange(10), torch.arange(10), noise)
    return make_loader(subset, 4, shuffle=True, num_workers=num_workers, generator=torch.Generator().manual_seed(1),
                       transform_seeds=seeds)


def test_seeded_draws_are_the_same_in_the_main_process_and_in_workers():
    """With transform_seeds the images depend on the seeds only: not on which process transforms them (without,
    a worker draws from a stream of its own), nor on the main process's stream, which they leave as it was."""
    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    in_main = passes(seeded_loader(0, torch.Generator().manual_seed(5)), 2)
    assert torch.equal(torch.random.get_rng_state(), before)
    in_workers = passes(seeded_loader(2, torch.Generator().manual_seed(5)), 2)
    for main, workers in zip(in_main, in_workers):
        assert torch.equal(main, workers)
    assert not torch.equal(in_main[0], in_main[1])  # a new seed each pass
    other_seeds = passes(seeded_loader(0, torch.Generator().manual_seed(6)), 1)
    assert not torch.equal(other_seeds[0], in_main[0])
    unseeded = [passes(seeded_loader(workers, None), 1)[0] for workers in (0, 1)]
    assert not torch.equal(*unseeded)  # the dependence this removes


def test_seeded_draws_resume_from_the_saved_streams():
    """A loader rebuilt from the shuffle's and the seeds' saved states (as a checkpoint holds them) goes on with
    the pass an uninterrupted one would give."""
    seeds = torch.Generator().manual_seed(5)
    uninterrupted = seeded_loader(0, seeds)
    first, second = passes(uninterrupted, 2)
    seeds = torch.Generator().manual_seed(5)
    stopped = seeded_loader(0, seeds)
    passes(stopped, 1)
    resumed = seeded_loader(0, torch.Generator())
    resumed.generator.set_state(stopped.generator.get_state())
    resumed.transform_seeds.set_state(seeds.get_state())
    assert torch.equal(passes(resumed, 1)[0], second)


def test_seeded_draws_leave_the_cuda_stream_alone(monkeypatch):
    """A batch seeds the CPU stream only: reseeding CUDA's (which fork_rng(devices=[]) does not restore) would reset
    the GPU's dropout and augmentation draws at every batch."""
    def reseeded(seed):
        raise AssertionError("a batch reseeded the CUDA stream")

    monkeypatch.setattr(torch.cuda, "manual_seed_all", reseeded)
    passes(seeded_loader(0, torch.Generator().manual_seed(5)), 1)
