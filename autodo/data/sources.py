"""Real data sets as uint8 image tensors (or an image folder), read from their published on-disk formats.

Every source has a train part (split later into train and clean validation) and a test part. The small data
sets are held in memory as one ``uint8`` tensor of shape N x C x H x W; ImageNet stays on disk. The readers parse
the formats themselves (idx, CIFAR pickles, SVHN .mat) so that they work on any copy of the files; torchvision is
used to download missing files.
"""

import gzip
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from autodo.errors import UserError

FASHION_MNIST_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist package


@dataclass
class TensorImages:
    """Images held in memory: ``images`` uint8 N x C x H x W, ``labels`` int64 N."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self):
        return len(self.labels)

    def get_batch(self, indices):
        return self.images[indices]


class FolderImages:
    """An image folder (one sub-folder per class), decoded on access to uint8 C x H x W tensors."""

    def __init__(self, folder):
        import torchvision

        self.folder = torchvision.datasets.ImageFolder(str(folder), loader=_decode_rgb)
        self.labels = torch.tensor(self.folder.targets, dtype=torch.long)

    def __len__(self):
        return len(self.labels)

    def get_batch(self, indices):
        return [self.folder[int(i)][0] for i in indices]


def _decode_rgb(path):
    from PIL import Image
    from torchvision.transforms.v2.functional import pil_to_tensor

    with Image.open(path) as image:
        return pil_to_tensor(image.convert("RGB"))


# ---------------------------------------------------------------- file formats


def read_idx(path):
    """Read an idx file (MNIST's format), gzipped or not, into a numpy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise UserError(f"{path} is not an idx file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise UserError(f"{path} holds {array.size} bytes, its header says {shape}")
    return array.reshape(shape).copy()  # frombuffer gives a read-only view


def read_cifar_pickle(path, label_key):
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return images, np.asarray(batch[label_key], dtype=np.int64)


def read_svhn_mat(path):
    import scipy.io

    mat = scipy.io.loadmat(str(path))
    images = np.transpose(mat["X"], (3, 2, 0, 1))  # 32 x 32 x 3 x N -> N x 3 x 32 x 32
    labels = mat["y"].astype(np.int64).reshape(-1) % 10  # SVHN writes digit 0 as label 10
    return images, labels


def _tensor_images(images, labels):
    images = torch.from_numpy(np.ascontiguousarray(images))
    if images.ndim == 3:
        images = images.unsqueeze(1)
    return TensorImages(images, torch.from_numpy(np.asarray(labels, dtype=np.int64)))


# ---------------------------------------------------------------- downloads


def _ensure(files, name, where, download):
    """Download ``files`` with ``download`` when any is missing; a failure is one line saying where they go, and
    leaves none of the empty folders the download made."""
    if all(Path(f).exists() for f in files):
        return
    made = [folder for folder in (Path(where), *Path(where).parents) if not folder.exists()]
    try:
        download()
    except Exception as error:  # noqa: BLE001 - any failure to fetch means the same thing to the user
        for folder in made:  # deepest first
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(
            f"{name} is missing and could not be downloaded ({reason}): put its files in {where}"
        ) from None
    missing = [str(f) for f in files if not Path(f).exists()]
    if missing:
        raise UserError(f"{name} download did not produce {missing[0]}: put its files in {where}")


def _idx_files(folder, split):
    """The image and label files of an MNIST-format split, gzipped or not."""
    found = []
    for kind in ("images-idx3", "labels-idx1"):
        plain = Path(folder) / f"{split}-{kind}-ubyte"
        gz = plain.with_name(plain.name + ".gz")
        found.append(plain if plain.exists() or not gz.exists() else gz)
    return found


def _mnist_format(folder, name, download):
    files = _idx_files(folder, "train") + _idx_files(folder, "t10k")
    _ensure(files, name, folder, download)
    files = _idx_files(folder, "train") + _idx_files(folder, "t10k")
    train = _tensor_images(read_idx(files[0]), read_idx(files[1]))
    test = _tensor_images(read_idx(files[2]), read_idx(files[3]))
    return train, test


# ---------------------------------------------------------------- data sets


def load_digits_source(data_root, cfg):
    """scikit-learn's 1,797 8x8 digits with a fixed stratified test fifth (the same for every run seed)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = np.clip(np.rint(digits.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    train_idx, test_idx = train_test_split(
        np.arange(len(images)), test_size=cfg.test_size, stratify=digits.target, random_state=0
    )
    return (
        _tensor_images(images[train_idx], digits.target[train_idx]),
        _tensor_images(images[test_idx], digits.target[test_idx]),
    )


def load_fashion_mnist_source(data_root, cfg):
    system_dir = Path(cfg.get("system_dir") or FASHION_MNIST_SYSTEM_DIR)
    if all(f.exists() for f in _idx_files(system_dir, "train") + _idx_files(system_dir, "t10k")):
        return _mnist_format(system_dir, "fashion_mnist", download=None)
    folder = Path(data_root) / "fashion_mnist"

    def download():
        import torchvision

        torchvision.datasets.FashionMNIST(str(folder), train=True, download=True)
        torchvision.datasets.FashionMNIST(str(folder), train=False, download=True)

    return _mnist_format(folder / "FashionMNIST" / "raw", "fashion_mnist", download)


def load_mnist_source(data_root, cfg):
    folder = Path(data_root) / "mnist"

    def download():
        import torchvision

        torchvision.datasets.MNIST(str(folder), train=True, download=True)
        torchvision.datasets.MNIST(str(folder), train=False, download=True)

    return _mnist_format(folder / "MNIST" / "raw", "mnist", download)


def _load_cifar(data_root, name, folder_name, train_files, test_file, label_key, torchvision_class):
    folder = Path(data_root) / name
    files = [folder / folder_name / f for f in train_files + [test_file]]

    def download():
        import torchvision

        getattr(torchvision.datasets, torchvision_class)(str(folder), download=True)

    _ensure(files, name, folder / folder_name, download)
    parts = [read_cifar_pickle(f, label_key) for f in files]
    train = _tensor_images(
        np.concatenate([p[0] for p in parts[:-1]]), np.concatenate([p[1] for p in parts[:-1]])
    )
    return train, _tensor_images(*parts[-1])


def load_cifar10_source(data_root, cfg):
    train_files = [f"data_batch_{i}" for i in range(1, 6)]
    return _load_cifar(
        data_root, "cifar10", "cifar-10-batches-py", train_files, "test_batch", b"labels", "CIFAR10"
    )


def load_cifar100_source(data_root, cfg):
    return _load_cifar(
        data_root, "cifar100", "cifar-100-python", ["train"], "test", b"fine_labels", "CIFAR100"
    )


def _load_svhn(data_root, train_splits):
    folder = Path(data_root) / "svhn"  # svhn and svhn_extra share the files
    parts = {}
    for split in train_splits + ["test"]:
        path = folder / f"{split}_32x32.mat"

        def download(split=split):
            import torchvision

            torchvision.datasets.SVHN(str(folder), split=split, download=True)

        _ensure([path], "svhn", folder, download)
        parts[split] = read_svhn_mat(path)
    train = _tensor_images(
        np.concatenate([parts[s][0] for s in train_splits]),
        np.concatenate([parts[s][1] for s in train_splits]),
    )
    return train, _tensor_images(*parts["test"])


def load_svhn_source(data_root, cfg):
    return _load_svhn(data_root, ["train"])


def load_svhn_extra_source(data_root, cfg):
    return _load_svhn(data_root, ["train", "extra"])


def load_imagenet_source(data_root, cfg):
    """ImageNet from ``cfg.path`` holding ``train/<class>/*`` and ``val/<class>/*`` (it cannot be downloaded)."""
    path = Path(cfg.path) if cfg.path else Path(data_root) / "imagenet"
    if not ((path / "train").is_dir() and (path / "val").is_dir()):
        raise UserError(
            f"imagenet not found: put train/<class>/ and val/<class>/ image folders in {path} "
            "(or set dataset.path=<folder>)"
        )
    return FolderImages(path / "train"), FolderImages(path / "val")


SOURCES = {
    "digits": load_digits_source,
    "fashion_mnist": load_fashion_mnist_source,
    "mnist": load_mnist_source,
    "svhn": load_svhn_source,
    "svhn_extra": load_svhn_extra_source,
    "cifar10": load_cifar10_source,
    "cifar100": load_cifar100_source,
    "imagenet": load_imagenet_source,
}


_AVAILABLE = set()  # the (data set, folder) pairs this process has read


def check_available(dataset_cfg, data_root):
    """That the data set ``dataset_cfg`` names is in ``data_root`` (downloaded where it can be), read once per data
    set and folder in this process: a sweep's pre-check, before its first job starts. A one-line ``UserError``
    says where its files go."""
    key = (dataset_cfg.name, str(Path(data_root).absolute()), dataset_cfg.get("path"), dataset_cfg.get("system_dir"))
    if key not in _AVAILABLE:
        load_source(dataset_cfg, data_root)
        _AVAILABLE.add(key)


def load_source(dataset_cfg, data_root):
    """Return ``(train, test)`` image sources of the data set that ``dataset_cfg.name`` names."""
    if dataset_cfg.name not in SOURCES:
        raise UserError(f"unknown dataset {dataset_cfg.name!r}; allowed: {', '.join(SOURCES)}")
    return SOURCES[dataset_cfg.name](data_root, dataset_cfg)
