"""Atomic file writes: a reader sees the old file or the new one, never half of one. The artefacts a later run trusts
(checkpoints, caches) carry their SHA-256 beside them, ``<file>.sha256``, and are verified when read back: a bit that
rotted on disk is a refused file, not a run trained on wrong numbers."""

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path


def _umask():
    """The process's umask, read without changing it (Linux tells it in /proc; elsewhere set and set back)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
    except (OSError, StopIteration):
        mask = os.umask(0)
        os.umask(mask)
        return mask


def atomic_write_bytes(path, data):
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, then rename it over ``path``.

    The file gets the mode a plain ``open`` would give it (0644 under umask 022), not ``mkstemp``'s private 0600:
    on a shared cluster colleagues read each other's results."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path, obj):
    atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode())


def atomic_write_jsonl(path, rows):
    atomic_write_bytes(path, "".join(json.dumps(row) + "\n" for row in rows).encode())


class CorruptFile(Exception):
    """A file whose bytes are not those written (its SHA-256 differs from the one stored beside it)."""


def digest_path(path):
    """Where the SHA-256 of the artefact ``path`` lies: ``<path>.sha256``."""
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def atomic_torch_save(path, obj):
    """``torch.save`` through a memory buffer (the bytes do not depend on the file name, so equal objects give equal
    files), then the SHA-256 of those bytes beside them. The old digest goes first: a crash between the two writes
    leaves a file without a digest (read unverified, as files written before digests were), never a file with the
    digest of other bytes."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    data = buffer.getvalue()
    digest_path(path).unlink(missing_ok=True)
    atomic_write_bytes(path, data)
    atomic_write_bytes(digest_path(path), (hashlib.sha256(data).hexdigest() + "\n").encode())


def verified_torch_load(path, map_location="cpu"):
    """The object ``atomic_torch_save`` wrote to ``path`` (tensors only: ``weights_only``), its bytes checked against
    their SHA-256 when one lies beside them; ``CorruptFile`` if they differ."""
    import torch

    data = Path(path).read_bytes()
    stored = digest_path(path)
    if stored.exists() and stored.read_text().strip() != hashlib.sha256(data).hexdigest():
        raise CorruptFile(f"its bytes do not match {stored.name}")
    return torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)


def unreadable(error):
    """Why a file could not be read back, in a few words: a corrupt file's reason, else the error's kind."""
    return str(error) if isinstance(error, CorruptFile) else type(error).__name__
