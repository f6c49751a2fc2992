"""A run's identity: what it computes, as canonical data, and the signature that names it (Dora's model). This module
knows no task: each task says which of a config's settings its result depends on (its ``identity`` function, given
here as an argument); this module puts numbers in canonical form, leaves out the settings that change where and how
fast a run computes, and the settings added after runs had been computed, at the value every run had before them.
"""

import hashlib
import json
import math

# settings that change where and how fast a run computes, not what it computes
NON_RESULT_KEYS = ("data_root", "out_dir", "device", "num_workers", "eval_batch_size", "dataset.path",
                   "dataset.system_dir")
# (setting, value, what is left out): a setting added later is left out of identity (the whole block named last)
# at the value at which every run computed before it existed computed, so that those runs keep their folders
LATER_SETTINGS = (
    ("task", "train", "task"),  # runs written before tasks existed were training runs
    ("label_cleaning.action", "none", "label_cleaning"),
    ("clean_split.selection", 0, "clean_split"),
    ("subsample.stratify", False, "subsample.stratify"),
)


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


def digest(run_identity):
    """The hex SHA-256 of an identity (or any JSON data), keys sorted."""
    text = json.dumps(run_identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
