"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

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


def atomic_torch_save(path, obj):
    """``torch.save`` through a memory buffer: the bytes do not depend on the file name, so equal objects
    give equal files."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())
