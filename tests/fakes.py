"""Small files in each data set's real on-disk format, written by the tests (nothing is downloaded)."""

import gzip
import pickle

import numpy as np
import scipy.io


def write_idx(path, array, gz):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


def write_mnist_files(folder, gz, n_train=12, n_test=5):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28))
        labels = rng.integers(0, 10, size=n)
        suffix = ".gz" if gz else ""
        write_idx(folder / f"{split}-images-idx3-ubyte{suffix}", images, gz)
        write_idx(folder / f"{split}-labels-idx1-ubyte{suffix}", labels, gz)
        arrays[split] = (images, labels)
    return arrays


def write_cifar(folder, files, label_key, n=4):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    written = {}
    for name in files:
        data = rng.integers(0, 256, size=(n, 3072)).astype(np.uint8)
        labels = ((np.arange(n) + rng.integers(10)) % 10).tolist()  # every class in every file when n >= 10
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, label_key: labels}, f)
        written[name] = (data, labels)
    return written


def write_svhn(folder, split, n):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(split))
    x = rng.integers(0, 256, size=(32, 32, 3, n)).astype(np.uint8)
    y = rng.integers(1, 11, size=(n, 1))  # SVHN labels digit 0 as 10
    scipy.io.savemat(folder / f"{split}_32x32.mat", {"X": x, "y": y})
    return x, y


def write_image_folder(folder, classes, per_class, rng):
    """``folder/<class>/<i>.JPEG`` images of random sizes, as ImageNet's extracted folders hold them."""
    from PIL import Image

    for c in range(classes):
        (folder / f"n{c:08d}").mkdir(parents=True)
        for i in range(per_class):
            size = (int(rng.integers(18, 40)), int(rng.integers(18, 40)))
            pixels = rng.integers(0, 256, size=(size[1], size[0], 3)).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"n{c:08d}" / f"{i}.JPEG")
