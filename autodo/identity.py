"""A run's identity: what it computes, as canonical data, and the signature that names it (Dora's model). This module
knows no task: each task says which of a config's settings its result depends on (its ``identity`` function, given
here as an argument); this module puts numbers in canonical form, leaves out the settings that change where and how
fast a run computes, and the settings added after runs had been computed, at the value every run had before them.
It also says which of a data set's settings only some runs read (``unread_dataset_settings``), for the tasks to leave
out of the identity of the others.
"""

import hashlib
import json
import math

# settings that change where and how fast a run computes, not what it computes
NON_RESULT_KEYS = ("data_root", "out_dir", "device", "num_workers", "eval_batch_size", "dataset.path",
                   "dataset.system_dir", "logger")
# (setting, value, what is left out): a setting added later is left out of identity (the whole block named last)
# at the value at which every run computed before it existed computed, so that those runs keep their folders
LATER_SETTINGS = (
    ("task", "train", "task"),  # runs written before tasks existed were training runs
    ("label_cleaning.action", "none", "label_cleaning"),
    ("clean_split.selection", 0, "clean_split"),
    ("subsample.stratify", False, "subsample.stratify"),
    ("los_model.loss", "ce", "los_model.loss"),
    ("nr_type", "uniform", "dataset.flips"),  # the flips are read by asymmetric noise alone
    ("nr_type", "uniform", "nr_type"),
)

# a data set's settings that only runs with one of these augmentations (aug_model, subsample.augmentation) read
AUGMENTATION_SETTINGS = {"randaugment": ("RAND",), "fast_autoaugment": ("AUTO",), "randsub": ("SHA", "SEP"),
                         "learned_augment": ("SHA", "SEP")}
# a data set's settings that only runs with hyper passes (hyper_opt other than NONE) read; neumann_alpha, only HES's
HYPER_SETTINGS = ("hyper_lr", "hyper_warmup", "hyper_batch_size", "hyper_start", "neumann_alpha")


def unread_dataset_settings(augmentation, hyper_opt):
    """The data set's settings that a run with ``augmentation`` (None: none of them) and ``hyper_opt`` (None or
    "NONE": no hyper pass) does not read."""
    unread = [key for key, readers in AUGMENTATION_SETTINGS.items() if augmentation not in readers]
    if hyper_opt in (None, "NONE"):
        return unread + list(HYPER_SETTINGS)
    return unread if hyper_opt == "HES" else unread + ["neumann_alpha"]


def leave_out_dataset_settings(config, keys):
    """``config`` (canonical, plain) without the data set's settings ``keys``."""
    for key in keys:
        config.get("dataset", {}).pop(key, None)
    return config


def canonical(value):
    """Numbers as they compare (``ir=100`` and ``ir=100.0`` are one run), containers recursively, as new objects."""
    if isinstance(value, dict):
        return {str(key): canonical(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(item) for item in value]
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _node(config, parents):
    """The dict at the path ``parents`` in ``config``, or None."""
    for parent in parents:
        config = config.get(parent) if isinstance(config, dict) else None
    return config if isinstance(config, dict) else None


def _pop(config, key):
    *parents, leaf = key.split(".")
    node = _node(config, parents)
    if node is not None:
        node.pop(leaf, None)


def _value(config, key):
    *parents, leaf = key.split(".")
    node = _node(config, parents)
    return node.get(leaf, _MISSING) if node is not None else _MISSING


_MISSING = object()


def identity(config, task_identity):
    """What the run of the plain ``config`` (a dict) computes: in canonical form, less what ``task_identity`` (the
    run's task's rules: canonical config -> what its result depends on) leaves out, less the later settings at their
    former value, less ``NON_RESULT_KEYS``."""
    config = task_identity(canonical(config))
    for key, value, left_out in LATER_SETTINGS:
        if _value(config, key) == value:
            _pop(config, left_out)
    for key in NON_RESULT_KEYS:
        _pop(config, key)
    return config


def flat_settings(tree, prefix=""):
    """``{"dataset": {"lr": 0.1}}`` -> ``{"dataset.lr": 0.1}`` (lists as JSON text, so that they compare)."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flat_settings(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = json.dumps(value) if isinstance(value, list) else value
    return flat


def settings(config, task_identity):
    """The identity of the plain ``config`` (``identity``) as flat settings: ``{"dataset.lr": 0.05, ...}``."""
    return flat_settings(identity(config, task_identity))


def digest(run_identity):
    """The hex SHA-256 of an identity (or any JSON data), keys sorted."""
    text = json.dumps(run_identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
