"""The readers, on small files the tests write in each data set's real on-disk format."""

import numpy as np
import pytest
from omegaconf import OmegaConf

from autodo.data import sources
from autodo.data.sources import load_source, read_idx
from autodo.errors import UserError
from fakes import write_cifar, write_idx, write_mnist_files, write_svhn


def cfg(name, **extra):
    return OmegaConf.create({"name": name, **extra})


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_round_trip(tmp_path, gz):
    array = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    path = tmp_path / ("x.gz" if gz else "x")
    write_idx(path, array, gz)
    assert np.array_equal(read_idx(path), array)


def test_read_idx_rejects_other_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"not an idx file")
    with pytest.raises(UserError, match="not an idx file"):
        read_idx(tmp_path / "bad")


def test_fashion_mnist_prefers_the_system_copy(tmp_path):
    arrays = write_mnist_files(tmp_path / "system", gz=True)
    train, test = load_source(cfg("fashion_mnist", system_dir=str(tmp_path / "system")), tmp_path / "root")
    assert train.images.shape == (12, 1, 28, 28) and test.images.shape == (5, 1, 28, 28)
    assert np.array_equal(train.images[:, 0].numpy(), arrays["train"][0])
    assert np.array_equal(test.labels.numpy(), arrays["t10k"][1])


def test_fashion_mnist_falls_back_to_the_data_root(tmp_path):
    write_mnist_files(tmp_path / "root" / "fashion_mnist" / "FashionMNIST" / "raw", gz=False)
    train, _ = load_source(cfg("fashion_mnist", system_dir=str(tmp_path / "absent")), tmp_path / "root")
    assert len(train) == 12


def test_mnist(tmp_path):
    arrays = write_mnist_files(tmp_path / "mnist" / "MNIST" / "raw", gz=False)
    train, test = load_source(cfg("mnist"), tmp_path)
    assert np.array_equal(train.labels.numpy(), arrays["train"][1]) and len(test) == 5


def test_cifar10(tmp_path):
    files = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    written = write_cifar(tmp_path / "cifar10" / "cifar-10-batches-py", files, b"labels")
    train, test = load_source(cfg("cifar10"), tmp_path)
    assert train.images.shape == (20, 3, 32, 32) and test.images.shape == (4, 3, 32, 32)
    # CIFAR rows are channel-major: R plane, G plane, B plane
    assert np.array_equal(train.images[4].numpy().reshape(-1), written["data_batch_2"][0][0])
    assert train.labels.tolist()[:4] == written["data_batch_1"][1]


def test_cifar100(tmp_path):
    write_cifar(tmp_path / "cifar100" / "cifar-100-python", ["train", "test"], b"fine_labels")
    train, test = load_source(cfg("cifar100"), tmp_path)
    assert len(train) == 4 and len(test) == 4


def test_svhn_and_svhn_extra(tmp_path):
    x, y = write_svhn(tmp_path / "svhn", "train", 6)
    write_svhn(tmp_path / "svhn", "test", 3)
    write_svhn(tmp_path / "svhn", "extra", 4)
    train, test = load_source(cfg("svhn"), tmp_path)
    assert train.images.shape == (6, 3, 32, 32) and len(test) == 3
    assert np.array_equal(train.images[2].numpy(), x[:, :, :, 2].transpose(2, 0, 1))
    assert train.labels.tolist() == (y.reshape(-1) % 10).tolist() and 10 not in train.labels.tolist()
    extra_train, _ = load_source(cfg("svhn_extra"), tmp_path)
    assert len(extra_train) == 10


def test_imagenet_folder(tmp_path):
    from PIL import Image

    for split in ("train", "val"):
        for cls in ("n01", "n02"):
            (tmp_path / split / cls).mkdir(parents=True)
            Image.new("L", (7, 5), color=100).save(tmp_path / split / cls / "a.JPEG")
    train, val = load_source(cfg("imagenet", path=str(tmp_path)), tmp_path)
    assert train.labels.tolist() == [0, 1] and len(val) == 2
    assert train.get_batch([1])[0].shape == (3, 5, 7)


def test_imagenet_missing_says_where(tmp_path):
    with pytest.raises(UserError, match=f"{tmp_path}"):
        load_source(cfg("imagenet", path=str(tmp_path)), tmp_path)


def test_failed_download_is_one_line_naming_the_folder(tmp_path, monkeypatch):
    import torchvision

    def offline(*args, **kwargs):
        raise OSError("Temporary failure in name resolution\nmore detail")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(UserError) as info:
        load_source(cfg("cifar10"), tmp_path)
    message = str(info.value)
    assert "\n" not in message and "name resolution" in message
    assert str(tmp_path / "cifar10" / "cifar-10-batches-py") in message


def test_digits_test_split_is_fixed():
    train_a, test_a = load_source(cfg("digits", test_size=360), "unused")
    train_b, test_b = load_source(cfg("digits", test_size=360), "unused")
    assert len(train_a) == 1437 and len(test_a) == 360
    assert train_a.images.dtype.is_floating_point is False and train_a.images.max() > 200
    assert np.array_equal(test_a.images.numpy(), test_b.images.numpy())
    assert np.bincount(test_a.labels.numpy()).min() >= 35  # stratified


def test_unknown_dataset():
    with pytest.raises(UserError, match="allowed: digits"):
        load_source(cfg("nope"), "unused")


def test_sources_cover_every_dataset_config():
    from pathlib import Path

    conf = Path(__file__).resolve().parents[2] / "conf" / "dataset"
    assert sorted(p.stem for p in conf.glob("*.yaml")) == sorted(sources.SOURCES)


def test_real_fashion_mnist_from_debian():
    import os
    from pathlib import Path

    if not Path(sources.FASHION_MNIST_SYSTEM_DIR).is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must install Debian's dataset-fashion-mnist (see .ci/run)")
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    train, test = load_source(cfg("fashion_mnist", system_dir=sources.FASHION_MNIST_SYSTEM_DIR), "unused")
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert np.bincount(train.labels.numpy()).tolist() == [6000] * 10
