"""Checks of the configuration, with one-line errors that name the bad value and what is allowed.

``check_overrides`` reads the command line before Hydra does anything (so a bad value leaves nothing on disk);
``validate_config`` checks the composed configuration, whatever it came from (command line, preset, file).
"""

import numbers
from pathlib import Path
from omegaconf import ListConfig, OmegaConf, open_dict

from autodo.active.acquisition import ACQUISITIONS
from autodo.augment.choice import LEARNED
from autodo.augment.copies import AUGMENTATIONS
from autodo.augment.dada import SUB_POLICIES, read_table, table_signature
from autodo.cleaning import ACTIONS as CLEANING_ACTIONS
from autodo.errors import UserError, joined
from autodo.losses import PRIOR_CORRECTIONS
from autodo.tasks import TASKS

OTHER_TASKS = tuple(task for task in TASKS if task != "train")  # each has its settings under its name
# dataset.fast_autoaugment: the published tables in autodo/augment/fast_autoaugment.json (aug_model=AUTO)
FAST_AUTOAUGMENT_TABLES = ("fa_reduced_cifar10", "fa_reduced_svhn", "fa_resnet50_rimagenet")
CONFIG_GROUPS = ("task", "dataset", "model", "aug_model", "los_model", "hyper_opt", "method", "experiment")
# the training settings that mean nothing to the other tasks (each of which has its settings under its name)
TRAINING_ONLY = {"aug_model.name": "NONE", "los_model.name": "NONE", "los_model.weights": False,
                 "los_model.soft_labels": False, "los_model.prior_correction": "none", "hyper_opt.name": "NONE",
                 "overfit": False, "oversplit": False, "train_on_valid": False, "head_refit": False,
                 "label_cleaning.action": "none", "clean_split.selection": 0, "clean_split.tuning": None}


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


_OPEN_UNIT = (lambda v: _is_number(v) and 0 < v < 1, "a number in (0, 1)")
_SHARE = (lambda v: _is_number(v) and 0 <= v <= 1, "a number in [0, 1] (a share of dataset.epochs)")
_POSITIVE = (lambda v: _is_number(v) and v > 0, "a number > 0")

# key -> (test, what is allowed)
SCALAR_RULES = {
    "ir": (lambda v: _is_number(v) and v >= 1, "a number >= 1 (class-imbalance ratio)"),
    "nr": (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1) (label-noise ratio)"),
    "sr": (lambda v: _is_number(v) and 0 < v <= 1, "a number in (0, 1] (subsampling ratio)"),
    "seed": (lambda v: _is_int(v) and v >= 0, "an integer >= 0 (run index)"),
    "device": (lambda v: v in ("auto", "cpu", "cuda"), "one of auto, cpu, cuda"),
    "out_dir": (lambda v: isinstance(v, str) and v != "", "a folder path (quote it if it reads as a number)"),
    "data_root": (lambda v: isinstance(v, str) and v != "", "a folder path (quote it if it reads as a number)"),
    "amp": (lambda v: isinstance(v, bool), "true or false"),
    "overfit": (lambda v: isinstance(v, bool), "true or false"),
    "oversplit": (lambda v: isinstance(v, bool), "true or false"),
    "train_on_valid": (lambda v: isinstance(v, bool), "true or false"),
    "head_refit": (lambda v: isinstance(v, bool), "true or false"),
    "label_cleaning.action": (lambda v: v in CLEANING_ACTIONS, f"one of {', '.join(CLEANING_ACTIONS)}"),
    "label_cleaning.folds": (lambda v: _is_int(v) and v >= 2, "an integer >= 2 (cross-validation folds)"),
    "clean_split.selection": (lambda v: _is_int(v) and v >= 0, "an integer >= 0 (held-out validation images; 0: "
                                                               "no split)"),
    "clean_split.tuning": (lambda v: v is None or (_is_int(v) and v >= 1),
                           "null (every validation image not held out) or an integer >= 1"),
    "num_workers": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "eval_batch_size": (lambda v: _is_int(v) and v > 0, "an integer > 0"),
    "dataset.epochs": (lambda v: _is_int(v) and v > 0, "an integer > 0"),
    "dataset.warmup_epochs": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "dataset.batch_size": (lambda v: _is_int(v) and v > 0, "an integer > 0"),
    "dataset.lr": _POSITIVE,
    "dataset.hyper_lr": _POSITIVE,
    "dataset.hyper_batch_size": (lambda v: _is_int(v) and v > 0, "an integer > 0"),
    "los_model.prior_correction": (lambda v: v in PRIOR_CORRECTIONS, f"one of {', '.join(PRIOR_CORRECTIONS)}"),
    "los_model.smoothing": _OPEN_UNIT,
    "dataset.hyper_warmup": _SHARE,
    "dataset.hyper_start": (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1) (a share of dataset.epochs)"),
    "hyper_opt.pass_fraction": (lambda v: _is_number(v) and 0 < v <= 1, "a number in (0, 1]"),
    "hyper_opt.lr_factor.augment": _POSITIVE,
    "hyper_opt.lr_factor.weights": _POSITIVE,
    "hyper_opt.lr_factor.soft_labels": _POSITIVE,
    "dataset.fast_autoaugment": (lambda v: v in FAST_AUTOAUGMENT_TABLES,
                                 f"one of {', '.join(FAST_AUTOAUGMENT_TABLES)}"),
    "dataset.randsub.num_ops": (lambda v: _is_int(v) and v >= 0, "an integer >= 0 (0: no colour ops)"),
    # the learned augmentation's start values are logits' sigmoids: 0 and 1 are out of reach
    "dataset.learned_augment.init_probability": _OPEN_UNIT,
    "dataset.learned_augment.init_magnitude": _OPEN_UNIT,
    "aug_model.init_probability": _OPEN_UNIT,
    "aug_model.init_magnitude": _OPEN_UNIT,
    "aug_model.policy": (lambda v: isinstance(v, str) and v != "", "search, or the path of a JSON table file"),
    "aug_model.search_size": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "aug_model.search_epochs": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "aug_model.keep": (lambda v: _is_int(v) and 1 <= v <= len(SUB_POLICIES),
                       f"an integer in 1 .. {len(SUB_POLICIES)} (the sub-policies searched)"),
    "dataset.neumann_alpha": _POSITIVE,
    "hyper_opt.neumann_alpha": _POSITIVE,
}


def _is_budget(value):
    """A share in [0, 1) or a count (an integer >= 0); 1.0 is neither (policy=all augments every point)."""
    return (isinstance(value, float) and 0 <= value < 1) or (_is_int(value) and value >= 0)


def _is_class_list(value):
    return value is None or (isinstance(value, (list, tuple, ListConfig)) and len(value) >= 2
                             and all(map(_is_int, value)) and list(value) == sorted(set(value)))


def _one_of(*options):
    return (lambda v: v in options, f"one of {', '.join(options)}")


SCALAR_RULES.update({
    "task": _one_of(*TASKS),
    "subsample.classes": (_is_class_list, "null (every class) or a list of two or more class numbers in increasing "
                                          "order"),
    "subsample.augmentation": _one_of(*AUGMENTATIONS),
    "subsample.policy": _one_of("none", "all", "random", "loss", "influence"),
    "subsample.budget": (_is_budget, "a share of the train points in [0, 1) or a count (an integer >= 0)"),
    "subsample.selection": _one_of("top", "proportional"),
    "subsample.stratify": (lambda v: isinstance(v, bool), "true or false"),
    "subsample.rounds": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "subsample.copies": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "subsample.evaluate": _one_of("augmented", "clean"),
    "subsample.head": _one_of("logistic", "network"),
    "subsample.l2": _POSITIVE,
    "active_learning.acquisition": _one_of(*ACQUISITIONS),
    "active_learning.initial": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "active_learning.budget": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "active_learning.iterations": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "active_learning.min_steps": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "active_learning.retrain": _one_of("scratch", "warm"),
    "active_learning.init": _one_of("random", "rotation"),
    "active_learning.pseudo_label": _one_of("prediction", "rotation"),
    "active_learning.passes": (lambda v: _is_int(v) and v >= 2, "an integer >= 2"),
    "active_learning.projection": (lambda v: v is None or (_is_int(v) and v >= 1), "null or an integer >= 1"),
})


def check_value(key, value):
    """Raise a one-line ``UserError`` if ``value`` is not allowed for ``key``."""
    if key in SCALAR_RULES:
        test, allowed = SCALAR_RULES[key]
        if not test(value):
            raise UserError(f"{key}={value!r} is not allowed: {key} must be {allowed}")


def group_options(conf_dir, group):
    return sorted(path.stem for path in (Path(conf_dir) / group).glob("*.yaml"))


def validate_config(cfg, on_this_machine=True):
    """Check the composed ``cfg``: every value, and the rules between settings; what depends on the machine
    (a CUDA device) only ``on_this_machine`` (a sweep planned here but run on a cluster's nodes skips it)."""
    absent = object()
    for key in SCALAR_RULES:
        value = OmegaConf.select(cfg, key, default=absent)
        if value is not absent:  # a key of some options of a group only (hyper_opt.pass_fraction)
            check_value(key, value)
    if cfg.task != "train":
        _check_other_task(cfg)
    if cfg.aug_model.name == "DADA":
        _check_dada(cfg)
    if cfg.hyper_opt.name != "NONE":
        learned = cfg.aug_model.name in LEARNED or cfg.los_model.weights or cfg.los_model.soft_labels
        if not learned:
            raise UserError(f"hyper_opt={cfg.hyper_opt.name} has nothing to learn with aug_model="
                            f"{cfg.aug_model.name} los_model={cfg.los_model.name}: use aug_model=SHA or SEP, "
                            "or los_model=WGHT, SOFT or BOTH")
    _check_clean_split(cfg)
    if cfg.train_on_valid and cfg.oversplit:
        raise UserError("train_on_valid=true is not allowed with oversplit=true: oversplit leaves no validation "
                        "split to train on")
    if cfg.device == "cuda" and on_this_machine:
        import torch

        if not torch.cuda.is_available():
            raise UserError("device='cuda' is not allowed here: no CUDA device is available (use auto or cpu)")


def _check_clean_split(cfg):
    selection, tuning, valid_size = cfg.clean_split.selection, cfg.clean_split.tuning, cfg.dataset.valid_size
    if not selection:
        if tuning is not None:
            raise UserError(f"clean_split.tuning={tuning} is not allowed with clean_split.selection=0: without a "
                            "held-out selection part every validation image is learned from (set a selection size)")
        return
    if cfg.oversplit:
        raise UserError(f"clean_split.selection={selection} is not allowed with oversplit=true: oversplit leaves no "
                        "validation split to hold a selection part out of")
    if selection + (tuning or 1) > valid_size:
        raise UserError(f"clean_split.selection={selection} and clean_split.tuning={tuning} are not allowed with "
                        f"dataset.valid_size={valid_size}: selection + tuning (at least 1) must be <= valid_size")
    classes = cfg.dataset.num_classes
    if selection < classes:
        raise UserError(f"clean_split.selection={selection} is not allowed with dataset={cfg.dataset.name}: the "
                        f"held-out part must hold every class, at least {classes} images")


def _check_dada(cfg):
    if cfg.aug_model.policy != "search":
        read_table(cfg.aug_model.policy)
    elif cfg.dataset.get("resize"):
        raise UserError(f"aug_model.policy=search is not allowed with dataset={cfg.dataset.name}: the search holds "
                        "its images in memory (data sets of one image size); bring a table (aug_model.policy=<file>)")


def with_table_signature(cfg):
    """``cfg`` (validated) with ``aug_model.table_sha256`` when it applies a DADA table brought in a file: the
    table's signature, so that the run is identified by the table it applies, not by where the file lies."""
    if cfg.aug_model.name == "DADA" and cfg.aug_model.policy != "search":
        with open_dict(cfg):
            cfg.aug_model.table_sha256 = table_signature(cfg.aug_model.policy)
    return cfg


def _check_other_task(cfg):
    for key, default in TRAINING_ONLY.items():
        if OmegaConf.select(cfg, key) != default:
            raise UserError(f"{key}={OmegaConf.select(cfg, key)!r} is not allowed with task={cfg.task}: it is a "
                            f"setting of task=train (leave it {default})")
    if cfg.task == "subsample":
        _check_subsample(cfg)


def _check_subsample(cfg):
    classes = cfg.subsample.classes
    if classes is not None and not all(0 <= c < cfg.dataset.num_classes for c in classes):
        raise UserError(f"subsample.classes={list(classes)} is not allowed: {cfg.dataset.name}'s classes are 0 .. "
                        f"{cfg.dataset.num_classes - 1}")
    if classes is not None and cfg.subsample.head == "network":
        raise UserError(f"subsample.classes={list(classes)} is not allowed with subsample.head=network: the network "
                        "is trained on every class (leave it null)")


def check_overrides(args, conf_dir):
    """Check command-line overrides (sweeps included) before Hydra composes or writes anything.

    Catches unknown config-group options, unknown keys (nested ones by composing the config once), keys added
    (``+key``) or removed (``~key``) and bad scalar values; the rules between settings are ``validate_config``'s,
    for every job of a sweep the checked sweeper's.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    primary = OmegaConf.load(Path(conf_dir) / "config.yaml")
    known = set(primary) | set(CONFIG_GROUPS) | set(OTHER_TASKS)
    overrides = [a for a in args if ("=" in a or a.startswith("~")) and not a.startswith("-")]
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException as error:
        raise UserError(f"cannot parse the overrides {' '.join(overrides)}: {str(error).splitlines()[0]}") from None
    tasks = {str(value) for o in parsed if o.key_or_group == "task"
             for value in (o.sweep_iterator() if o.is_sweep_override() else [o.value()])}
    tasks = tasks or {_preset_task(conf_dir, value) for o in parsed if o.key_or_group == "experiment"
                      for value in (o.sweep_iterator() if o.is_sweep_override() else [o.value()])} or {"train"}
    for override in parsed:
        key = override.key_or_group
        if key.startswith("hydra"):
            continue  # Hydra's own settings (hydra/launcher=slurm, hydra.launcher.partition=...) are Hydra's to check
        if override.is_add() or override.is_force_add() or override.is_delete():
            # a key added or removed would change the run's identity without changing what it computes
            raise UserError(f"{override.input_line!r} is not allowed: settings are set (key=value), not added "
                            f"(+key) or removed (~key); see python launch.py --help")
        values = list(override.sweep_iterator()) if override.is_sweep_override() else [override.value()]
        if key in CONFIG_GROUPS:
            allowed = group_options(conf_dir, key)
            for value in values:
                if value not in allowed:
                    raise UserError(f"{key}={value!r} is not allowed: {key} must be one of {', '.join(allowed)}")
        elif key.split(".")[0] in OTHER_TASKS and key.split(".")[0] not in tasks:
            task = key.split(".")[0]  # each task other than training has its settings under its name
            raise UserError(f"{key} is a setting of task={task}, not of task={','.join(sorted(tasks))}: add "
                            f"task={task}")
        elif key.split(".")[0] not in known:
            raise UserError(f"unknown option {key!r}: allowed are {', '.join(sorted(known - {'hydra', 'defaults'}))}")
        else:
            for value in values:
                check_value(key, value)
    _check_composition(parsed, conf_dir)


def _preset_task(conf_dir, experiment):
    """The task an ``experiment`` preset selects (``override /task: ...`` in its defaults), or train."""
    path = Path(conf_dir) / "experiment" / f"{experiment}.yaml"
    defaults = OmegaConf.to_container(OmegaConf.load(path)).get("defaults", []) if path.exists() else []
    chosen = [entry["override /task"] for entry in defaults if isinstance(entry, dict) and "override /task" in entry]
    return chosen[0] if chosen else "train"


def _check_composition(parsed, conf_dir):
    """Compose the config as Hydra will (a sweep's first value of each swept setting; the sweeper checks every
    job), so that a key the config does not have is one line here, not Hydra's error."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    def first(override):
        if override.is_sweep_override():
            return next(iter(override.sweep_string_iterator()))
        return override.get_value_element_as_str()

    overrides = [f"{o.get_key_element()}={first(o)}" for o in parsed if not o.key_or_group.startswith("hydra")]
    try:
        with initialize_config_dir(config_dir=str(Path(conf_dir).absolute()), version_base="1.3"):
            compose("config", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as error:
        raise UserError(joined(error)) from None
