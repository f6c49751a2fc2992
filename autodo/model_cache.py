"""What many runs share, computed once and cached under ``<data_root>/<dataset>/run<seed>/``, like the split: the
subsample task's frozen feature network, the active-learning task's rotation-pretrained encoder, DADA's searched
table and confident learning's folds. Jobs that need one at once wait for the one that computes it."""

import contextlib
import fcntl
import logging
from pathlib import Path

from autodo.errors import UserError
from autodo.identity import digest, identity
from autodo.io import atomic_torch_save, unreadable, verified_torch_load

log = logging.getLogger("autodo")


def cache_identity(config, keys):
    """The settings (a plain dict) a cached model of the run ``config`` is trained with: ``keys`` of it, canonical,
    less the settings that change where and how fast it is computed (autodo.identity; no task's rules)."""
    return identity({key: config[key] for key in keys}, lambda settings: settings)


def cache_path(config, keys, name, data_root):
    """The file of the model trained with the settings ``keys`` of the run ``config`` (a plain dict)."""
    key = digest(cache_identity(config, keys))
    return Path(data_root) / config["dataset"]["name"] / f"run{config['seed']}" / f"{name}-{key[:16]}.pt"


@contextlib.contextmanager
def held(path):
    """Hold ``path``'s lock file, waiting (and saying so) for the process that holds it: that one is computing what
    ``path`` caches."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for %s: another run is computing it", path)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def load_or_train(path, key, train):
    """The dict cached at ``path`` for the settings ``key``, or the one ``train()`` returns, cached; and whether it
    was cached."""
    with held(path):
        if path.exists():
            return read(path, key), True
        saved = {"key": key, **train()}
        atomic_torch_save(path, saved)
        return saved, False


def read(path, key):
    """The dict cached at ``path``, checked to be the one trained with the settings ``key``."""
    try:
        saved = verified_torch_load(path)
        matches = saved["key"] == key
    except Exception as error:  # noqa: BLE001 - whatever broke, the file is unusable
        raise UserError(f"corrupt model cache {path} ({unreadable(error)}): delete it to rebuild") from None
    if not matches:
        raise UserError(f"model cache {path} was trained with other settings: delete it to rebuild")
    return saved
