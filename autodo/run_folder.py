"""The run folder: the names of its files, and how it is created, read and cleaned up.

Every other module reaches a run's files through this one. It knows no task: the run's signature (autodo.identity,
through the task registry, autodo.registry) and the number its task's result must hold are given to it. The signature
ends the folder's name and is stored in its ``run.json``.

| file | contents |
|---|---|
| ``run.json`` | the signature and how the run was first launched; written when the folder is created |
| ``config.yaml`` | the resolved configuration |
| ``launch.log`` | the log of every launch |
| ``split.json`` | the biased train set's sizes, class counts and relabelled samples |
| ``metrics.jsonl`` | one JSON line per epoch (``task=active_learning``: per trained model) |
| ``checkpoint.pt`` | everything needed to continue the run exactly |
| ``tb/`` | TensorBoard scalars |
| ``policy.json`` | ``aug_model=DADA``: the table applied (a table file itself), and what its search cost |
| ``cleaning.json`` | ``label_cleaning``: the train labels found wrong, the class predicted for each, what it cost |
| ``selection.json`` | ``task=subsample``: the points augmented, with their scores |
| ``models/`` | ``task=active_learning``: each trained model's weights, ``iteration<k>.pt`` |
| ``result.json`` | written last: the run is finished |

Readers are tolerant: a damaged file makes the run ``damaged`` with the reason, never a crash.
"""

import contextlib
import fcntl
import json
import logging
import math
import numbers
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from autodo.errors import UserError
from autodo.io import atomic_write_bytes, atomic_write_json, atomic_write_jsonl
from autodo.provenance import code_version, machine

RUN_JSON = "run.json"
CONFIG = "config.yaml"
LOG = "launch.log"
SPLIT = "split.json"
METRICS = "metrics.jsonl"
CHECKPOINT = "checkpoint.pt"
TENSORBOARD = "tb"
RESULT = "result.json"
LOCK = ".lock"  # held by the process that trains the run
LEGACY_CONFIG = ".hydra/config.yaml"  # run folders written before run.json existed



class DamagedRun(Exception):
    """A run folder whose files cannot be read as a run's: the message says which file and why."""


# ============ a run folder ============

@dataclass
class RunFolder:
    path: Path
    created: bool = field(default=False, compare=False)  # by this process: only then may it remove the folder
    claim: object = field(default=None, compare=False, repr=False)  # the locked .lock while this process trains

    def __post_init__(self):
        self.path = Path(self.path)

    @property
    def result(self):
        return self.path / RESULT

    @property
    def metrics(self):
        return self.path / METRICS

    @property
    def checkpoint(self):
        return self.path / CHECKPOINT

    @property
    def tensorboard(self):
        return self.path / TENSORBOARD

    @property
    def config(self):
        return self.path / CONFIG

    @property
    def log(self):
        return self.path / LOG

    def finished(self):
        return self.result.exists()

    # ---------- writing ----------
    def write_split(self, record):
        self.verify_claim()
        atomic_write_json(self.path / SPLIT, record)

    def file(self, name):
        """A file a task keeps in the folder besides the common ones (its name is the task's)."""
        return self.path / name

    def write_json(self, name, record):
        self.verify_claim()
        atomic_write_json(self.file(name), record)

    def write_metrics(self, rows):
        self.verify_claim()
        atomic_write_jsonl(self.metrics, rows)

    def write_result(self, result):
        """``result.json``, written last, with the version of the code that finished the run and the machine it ran
        on (outside identity)."""
        self.verify_claim()
        atomic_write_json(self.result, {**result, "code_version": code_version(), "machine": machine()})

    @contextlib.contextmanager
    def claimed(self):
        """Hold the folder while this process trains in it: a second launch of the same run meanwhile (a sweep
        relaunched while its jobs still run) gets a one-line error instead of training the same files at once.
        The lock is the ``flock`` of ``.lock``, and only while ``.lock`` is still that file: one deleted or replaced
        meanwhile is no lock, so before each write of progress (``verify_claim``) the holder checks that it still holds
        the folder's lock file and that no other process finished the run; the lock goes with the process, so a
        killed or requeued job leaves none behind, and the lock file goes when the claim ends."""
        handle = self._lock_file()
        self.claim = handle
        try:
            yield self
        finally:
            self.claim = None
            if _same_file(handle, self.path / LOCK):  # ours still: a launch that opens it later makes a new one
                (self.path / LOCK).unlink(missing_ok=True)
            handle.close()

    def _lock_file(self):
        """The folder's ``.lock``, opened and locked: the file the path names, not one unlinked meanwhile."""
        while True:
            handle = open(self.path / LOCK, "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                raise UserError(f"run folder {self.path} is in use: another process is training this run") from None
            if _same_file(handle, self.path / LOCK):
                return handle
            handle.close()  # its holder removed it as it released it: lock the new one

    def verify_claim(self):
        """Before writing progress into the folder this process claimed: still hold its lock file (not deleted or
        replaced, which would let a second process train the run at once) and the run not finished by another."""
        if self.claim is None:
            return
        if not _same_file(self.claim, self.path / LOCK):
            raise UserError(f"run folder {self.path}: its lock file was deleted or replaced while this process trained "
                            "the run, so another may be training it: this one stops without writing (relaunch to "
                            "resume)")
        if self.result.exists():
            raise UserError(f"run folder {self.path} holds a finished run written by another process: this one stops "
                            "without writing")

    def discard(self):
        """After a failure: remove the folder if this process created it and it holds no trained epoch yet;
        otherwise leave everything as it is (an invocation removes only what it created, and never progress, nor a
        folder whose lock another process has taken since)."""
        lost = self.claim is not None and not _same_file(self.claim, self.path / LOCK)
        if self.created and not lost and not self.checkpoint.exists():
            shutil.rmtree(self.path, ignore_errors=True)

    # ---------- reading ----------
    def stored_signature(self):
        """The signature in ``run.json``, or None for a folder without one (written before it existed)."""
        path = self.path / RUN_JSON
        if not path.exists():
            return None
        saved = _read_json_file(path)
        stored = saved.get("signature") if isinstance(saved, dict) else None
        if not (isinstance(stored, str) and len(stored) == 64 and all(c in "0123456789abcdef" for c in stored)):
            raise DamagedRun(f"{RUN_JSON} holds no signature (64 hex digits): {str(stored)[:20]!r}")
        return stored

    def read_result(self, numbers_of):
        """``result.json`` as a dict, checked: a ``config``, and finite numbers where numbers belong (``numbers_of``,
        a function of the result's config: the keys that are numbers when present, and the one every finished run of
        its task has)."""
        result = _read_json_file(self.result)
        if not isinstance(result, dict) or not isinstance(result.get("config"), dict):
            raise DamagedRun(f"{RESULT} holds no config")
        keys, required = numbers_of(result["config"])
        for key in (*keys, *([required] if required else [])):
            value = result.get(key, 0 if key != required else None)
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
                raise DamagedRun(f"{RESULT}: {key}={value!r} is not a finite number")
        return result

    def read_json(self, name):
        """A JSON file a task keeps in the folder (``file(name)``), as it was written."""
        return _read_json_file(self.file(name))

    def read_metrics(self):
        """The per-epoch rows of ``metrics.jsonl``."""
        lines = _read_text(self.metrics).splitlines()
        rows = []
        for number, line in enumerate(lines, 1):
            try:
                rows.append(json.loads(line))
            except (ValueError, RecursionError):
                raise DamagedRun(f"{METRICS}: line {number} is not JSON") from None
        if not rows:
            raise DamagedRun(f"{METRICS} is empty")
        return rows


# ============ creating the folder of a run ============

def open_folder(path, signature, config, launched_as=()):
    """The run folder ``path`` of the run with ``signature`` and the plain ``config``, created with its ``run.json``
    and ``config.yaml`` when new. A folder of the same name that holds another run (a signature prefix shared by
    chance, or a folder edited by hand) is an error, and left as it is."""
    folder = RunFolder(path)
    try:
        folder.path.mkdir(parents=True)
        folder.created = True
    except FileExistsError:
        try:
            stored = folder.stored_signature()
        except DamagedRun as error:
            raise UserError(f"run folder {folder.path} is damaged: {error}; move it away to run it again") from None
        if stored is not None and stored != signature:
            raise UserError(f"run folder {folder.path} holds another run (signature {stored[:12]}, this run's is "
                            f"{signature[:12]}): move it away")
        if stored is not None:
            return folder
    import yaml

    try:
        atomic_write_bytes(folder.config, yaml.safe_dump(config, sort_keys=False).encode())
        atomic_write_json(folder.path / RUN_JSON, {"signature": signature, "name": folder.path.name,
                                                   "launched_as": list(launched_as)})
    except BaseException:  # a full disk, say: a folder this process created goes, rather than one without run.json
        if folder.created:
            shutil.rmtree(folder.path, ignore_errors=True)
        raise
    return folder


def log_to(folder):
    """Send the ``autodo`` log to the folder's ``launch.log`` too (appended: one file for every launch);
    returns the handler, to be removed with ``stop_logging``."""
    handler = logging.FileHandler(folder.log)
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    logging.getLogger("autodo").addHandler(handler)
    return handler


def stop_logging(handler):
    logging.getLogger("autodo").removeHandler(handler)
    handler.close()


def _read_text(path):
    """The text of the regular file ``path``; anything else (a FIFO, which would block the reader forever, a folder)
    or an unreadable file is ``DamagedRun`` with the reason."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise DamagedRun(f"{path.name} is not a regular file")
        return path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise DamagedRun(f"{path.name} is unreadable ({type(error).__name__})") from None


def _read_json_file(path):
    try:
        return json.loads(_read_text(path))
    except (ValueError, RecursionError) as error:  # nested too deep to parse is damage too
        raise DamagedRun(f"{path.name} is unreadable ({type(error).__name__})") from None


def _same_file(handle, path):
    """Whether the open file ``handle`` is the file ``path`` names now (not unlinked, not replaced)."""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(handle.fileno())
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


# ============ finding runs ============

@dataclass
class FoundRun:
    """A run folder as a reader finds it: ``status`` finished, unfinished, damaged or duplicate, with the reason
    where it is not finished."""

    folder: RunFolder
    status: str
    reason: str = ""
    result: dict = None


def run_folders(folders):
    """Every folder under ``folders`` holding a run (its ``run.json``, or the Hydra config of an older run), symbolic
    links followed, each real folder once."""
    seen = set()
    for top in folders:
        for root, dirs, files in os.walk(top, followlinks=True):
            dirs.sort()
            real = os.path.realpath(root)
            if real in seen:  # a link to a folder searched already (or a loop of links)
                dirs.clear()
                continue
            seen.add(real)
            if RUN_JSON in files or (".hydra" in dirs and os.path.isfile(os.path.join(root, LEGACY_CONFIG))):
                dirs.clear()  # a run folder holds no other run
                yield RunFolder(root)
