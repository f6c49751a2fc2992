"""Checks of the configuration, with one-line errors that name the bad value and what is allowed.

``check_overrides`` reads the command line before Hydra does anything (so a bad value leaves nothing on disk);
``validate_config`` checks the composed configuration, whatever it came from (command line, preset, file). The
shared settings' rules are here; each task package brings its own (``RULES`` and ``validate``, through the task
registry), and none of it imports torch.
"""

import difflib
import importlib.util
import re
from functools import cache
from pathlib import Path

from omegaconf import OmegaConf, open_dict

from autodo.errors import UserError, joined
from autodo.rules import (BOOLEAN, FACTOR, NON_NEGATIVE, OPEN_UNIT, POSITIVE, POSITIVE_INT, SHARE, at_least,
                          check_value, int_list, is_flip_map, is_int, is_number, one_of)
from autodo.registry import TASKS, package
from autodo.vocabulary import FAST_AUTOAUGMENT_TABLES

OTHER_TASKS = tuple(task for task in TASKS if task != "train")  # each has its settings under its name
CONFIG_GROUPS = ("task", "dataset", "model", "aug_model", "los_model", "hyper_opt", "method", "experiment", "logger",
                 "debug")
_PATH = (lambda v: isinstance(v, str) and v != "", "a folder path (quote it if it reads as a number)")

# the settings every task reads: key -> (test, what is allowed)
SHARED_RULES = {
    "task": one_of(*TASKS),
    "ir": (lambda v: is_number(v) and v >= 1, "a number >= 1 (class-imbalance ratio)"),
    "nr": (lambda v: is_number(v) and 0 <= v < 1, "a number in [0, 1) (label-noise ratio)"),
    "nr_type": one_of("uniform", "asymmetric"),
    "sr": (lambda v: is_number(v) and 0 < v <= 1, "a number in (0, 1] (subsampling ratio)"),
    "seed": (lambda v: is_int(v) and 0 <= v < 2**32, "an integer in [0, 2**32) (run index)"),
    "device": one_of("auto", "cpu", "cuda"),
    "out_dir": _PATH,
    "data_root": _PATH,
    "amp": (lambda v: isinstance(v, bool), "true or false"),
    "num_workers": (lambda v: is_int(v) and v >= 0, "an integer >= 0"),
    "eval_batch_size": POSITIVE_INT,
    "dataset.epochs": POSITIVE_INT,
    "dataset.warmup_epochs": (lambda v: is_int(v) and v >= 0, "an integer >= 0"),
    "dataset.batch_size": POSITIVE_INT,
    "dataset.lr": POSITIVE,
    "dataset.hyper_lr": POSITIVE,
    "dataset.hyper_batch_size": POSITIVE_INT,
    "dataset.hyper_warmup": SHARE,
    "dataset.hyper_start": (lambda v: is_number(v) and 0 <= v < 1, "a number in [0, 1) (a share of dataset.epochs)"),
    "dataset.fast_autoaugment": one_of(*FAST_AUTOAUGMENT_TABLES),
    "dataset.randsub.num_ops": (lambda v: is_int(v) and v >= 0, "an integer >= 0 (0: no colour ops)"),
    # the learned augmentation's start values are logits' sigmoids: 0 and 1 are out of reach
    "dataset.learned_augment.init_probability": OPEN_UNIT,
    "dataset.learned_augment.init_magnitude": OPEN_UNIT,
    "dataset.neumann_alpha": POSITIVE,
    "dataset.num_classes": at_least(2, "the classes of an ImageNet folder of one's own"),
    "dataset.valid_size": (lambda v: (is_int(v) and v >= 1) or (is_number(v) and 0 < v < 1),
                           "a count (an integer >= the number of classes) or a share in (0, 1)"),
    "dataset.test_size": (lambda v: is_int(v) and v >= 1, "an integer >= the number of classes"),
    "dataset.flips": (lambda v: v is None or is_flip_map(v),
                      "null or a list of [from, to] class pairs, each from once and never to itself"),
    "dataset.path": (lambda v: v is None or (isinstance(v, str) and v != ""), "null or a folder path"),
    "dataset.system_dir": _PATH,
    "dataset.crop": POSITIVE_INT,
    "dataset.resize": POSITIVE_INT,
    "dataset.augment.crop_padding": (lambda v: is_int(v) and v >= 0, "an integer >= 0 (pixels)"),
    "dataset.augment.hflip": BOOLEAN,
    "dataset.augment.erasing": BOOLEAN,
    "dataset.randaugment.num_ops": (lambda v: is_int(v) and v >= 0, "an integer >= 0"),
    # RandAugment's magnitudes are torchvision's 31 bins
    "dataset.randaugment.magnitude": (lambda v: is_int(v) and 0 <= v <= 30, "an integer in 0 .. 30"),
    "dataset.randsub.magnitude": (lambda v: is_int(v) and 0 <= v <= 30, "an integer in 0 .. 30"),
    "optim.momentum": (lambda v: is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "optim.nesterov": BOOLEAN,
    "optim.weight_decay": NON_NEGATIVE,
    "optim.min_lr_factor": FACTOR,
    "model.encoder.depth": (lambda v: is_int(v) and v >= 10 and (v - 4) % 6 == 0,
                            "an integer >= 10 with depth - 4 a multiple of 6 (a wide ResNet's)"),
    "model.encoder.widen_factor": at_least(1),
    "model.encoder.dropout": (lambda v: is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "model.encoder.widths": int_list(1, length=4),
    "model.encoder.pool_after": (lambda v: int_list(0)[0](v) and all(i < 4 for i in v),
                                 "a list of layer numbers in 0 .. 3"),
    "logger.tracking_uri": (lambda v: v is None or (isinstance(v, str) and v != ""), "null or an MLflow tracking URI"),
    "logger.experiment": (lambda v: isinstance(v, str) and v != "", "an MLflow experiment name"),
    "logger.mode": one_of("offline", "online"),
    "logger.project": (lambda v: isinstance(v, str) and v != "", "a W&B project name"),
    "logger.entity": (lambda v: v is None or (isinstance(v, str) and v != ""), "null or a W&B entity"),
}
_NAME = (lambda v: v is None or (isinstance(v, str) and v != ""), "null or a name")
# the launchers' settings (conf/hydra/launcher/): key -> (the launchers that have it, its rule)
LAUNCHER_RULES = {
    "hydra.launcher.max_parallel": (("local",), (lambda v: is_int(v) and v >= 1, "an integer >= 1 (jobs at once)")),
    "hydra.launcher.timeout_min": (("local", "slurm"), at_least(1, "minutes")),
    "hydra.launcher.gpus_per_node": (("local", "slurm"), (lambda v: v is None or (is_int(v) and v >= 0),
                                                          "null or an integer >= 0")),
    "hydra.launcher.partition": (("slurm",), _NAME),
    "hydra.launcher.account": (("slurm",), _NAME),
    "hydra.launcher.qos": (("slurm",), _NAME),
    "hydra.launcher.cpus_per_task": (("slurm",), (lambda v: v is None or (is_int(v) and v >= 1),
                                                  "null or an integer >= 1")),
    "hydra.launcher.mem_gb": (("slurm",), (lambda v: v is None or (is_number(v) and v > 0),
                                           "null (the partition's default) or a number > 0")),
    "hydra.launcher.array_parallelism": (("slurm",), at_least(1)),
    "hydra.launcher.max_num_timeout": (("slurm",), at_least(0)),
    "hydra.launcher.signal_delay_s": (("slurm",), at_least(0)),
}
# what a config group's option is, not a setting of it: chosen with the group (dataset=, model=, los_model=, ...)
FACTS = {"dataset.name": "dataset", "dataset.num_classes": "dataset", "dataset.in_channels": "dataset",
         "dataset.mean": "dataset", "dataset.std": "dataset", "model.name": "model", "model.encoder._target_": "model",
         "aug_model.name": "aug_model", "los_model.name": "los_model", "los_model.weights": "los_model",
         "los_model.soft_labels": "los_model", "los_model.loss": "los_model",
         "los_model.weight_net": "los_model", "los_model.co_divide": "los_model", "hyper_opt.name": "hyper_opt",
         "logger.name": "logger"}
# ... except where the option leaves it to the user: an ImageNet folder of one's own has its own classes
USERS_FACTS = {"dataset.num_classes": ("dataset", "imagenet")}


@cache
def all_rules():
    """Every setting's rule: the shared ones and each task's."""
    return {**SHARED_RULES, **{key: rule for task in TASKS for key, rule in package(task).RULES.items()}}


def group_options(conf_dir, group):
    return sorted(path.stem for path in (Path(conf_dir) / group).glob("*.yaml"))


def validate_config(cfg, on_this_machine=True):
    """Check the composed ``cfg``: every value, and the rules between settings; what depends on the machine
    (a CUDA device) only ``on_this_machine`` (a sweep planned here but run on a cluster's nodes skips it)."""
    absent = object()
    for key in all_rules():
        value = OmegaConf.select(cfg, key, default=absent)
        if value is not absent:  # a key of some options of a group only (hyper_opt.pass_fraction)
            check_value(all_rules(), key, value)
    _check_sizes(cfg)
    _check_flips(cfg)
    if cfg.task != "train":
        _check_training_settings_left_alone(cfg)
    package(cfg.task).validate(cfg)
    _check_logger(cfg)
    if cfg.device == "cuda" and on_this_machine:
        import torch

        if not torch.cuda.is_available():
            raise UserError("device='cuda' is not allowed here: no CUDA device is available (use auto or cpu)")


def with_table_signature(cfg):
    """``cfg`` (validated) with ``aug_model.table_sha256`` when it applies a DADA table brought in a file: the
    table's signature, so that the run is identified by the table it applies, not by where the file lies."""
    if cfg.aug_model.name == "DADA" and cfg.aug_model.policy != "search":
        from autodo.augment.table_file import table_signature

        with open_dict(cfg):
            cfg.aug_model.table_sha256 = table_signature(cfg.aug_model.policy)
    return cfg


def _check_sizes(cfg):
    """The stratified splits need an image of every class: a count of at least the number of classes."""
    classes = cfg.dataset.num_classes
    for key in ("valid_size", "test_size"):
        value = cfg.dataset.get(key)
        if is_int(value) and value < classes:
            raise UserError(f"dataset.{key}={value} is not allowed with dataset={cfg.dataset.name}: a stratified split "
                            f"needs at least one image of each of its {classes} classes")


def _check_flips(cfg):
    """Asymmetric noise needs the data set's map, and the map names classes the data set has."""
    flips, classes = cfg.dataset.get("flips"), cfg.dataset.num_classes
    if cfg.nr_type == "asymmetric":
        if flips is None:
            raise UserError(f"nr_type=asymmetric is not allowed with dataset={cfg.dataset.name}: it has no flip map "
                            "(set dataset.flips=[[from,to],...])")
        if not 0 < cfg.nr < 0.5:  # at 0 no label flips (uniform's nr=0 is that run); from 0.5 a class is mostly wrong
            raise UserError(f"nr={cfg.nr} is not allowed with nr_type=asymmetric: it must be in (0, 0.5), so that a "
                            "flipped class keeps more right labels than wrong ones")
    unknown = sorted({c for pair in flips or [] for c in pair if c >= classes})
    if unknown:
        text = "[" + ", ".join(f"[{a}, {b}]" for a, b in flips) + "]"
        raise UserError(f"dataset.flips={text} is not allowed with dataset={cfg.dataset.name}: it names class "
                        f"{', '.join(map(str, unknown))}, and the data set's classes are 0 .. {classes - 1}")


# the package each logger option needs, and what to install
LOGGER_PACKAGES = {"mlflow": ("mlflow", "mlflow-skinny"), "wandb": ("wandb", "wandb")}


def _check_logger(cfg):
    if cfg.get("logger") is None:
        return
    module, install = LOGGER_PACKAGES[cfg.logger.name]
    if importlib.util.find_spec(module) is None:
        raise UserError(f"logger={cfg.logger.name} is not allowed here: the {module} package is not installed "
                        f"(pip install {install}), or leave logger unset for TensorBoard alone")


def _check_training_settings_left_alone(cfg):
    for key, default in package("train").TRAINING_ONLY.items():
        if OmegaConf.select(cfg, key) != default:
            raise UserError(f"{key}={OmegaConf.select(cfg, key)!r} is not allowed with task={cfg.task}: it is a "
                            f"setting of task=train (leave it {default})")


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
        if key in LAUNCHER_RULES:
            _check_launcher_setting(override, parsed)
        if key.startswith("hydra"):
            continue  # Hydra's own settings (hydra/launcher=slurm, hydra.launcher.partition=...) are Hydra's to check
        if key in FACTS and _group_choice(parsed, *USERS_FACTS.get(key, ("", None))) is None:
            raise UserError(f"{key} is not a setting: it is part of the {FACTS[key]} option chosen (choose another "
                            f"{FACTS[key]}=...)")
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
                check_value(all_rules(), key, value)
    if not {"-m", "--multirun"} & set(args):
        _check_not_a_sweep(parsed, conf_dir)
    _check_composition(parsed, conf_dir)


def _group_choice(parsed, group, option):
    """``option`` if the command line chooses it for ``group``, else None."""
    chosen = {str(o.value()) for o in parsed if o.key_or_group == group and not o.is_sweep_override()}
    return option if option in chosen else None


def _check_not_a_sweep(parsed, conf_dir):
    """A sweep preset or a swept value without ``-m`` would run one job of it: say so instead."""
    for override in parsed:
        if override.key_or_group == "experiment" and not override.is_sweep_override():
            path = Path(conf_dir) / "experiment" / f"{override.value()}.yaml"
            preset = OmegaConf.load(path) if path.exists() else {}
            if OmegaConf.select(preset, "hydra.sweeper.params"):
                raise UserError(f"experiment={override.value()} is a sweep: add -m (python launch.py -m "
                                f"experiment={override.value()} ...)")
        elif override.is_sweep_override():
            raise UserError(f"{override.input_line} is a sweep: add -m (python launch.py -m ...)")


def _check_launcher_setting(override, parsed):
    """A launcher's setting: one of the chosen launcher's, within its range (Hydra would answer in five lines)."""
    key = override.key_or_group
    launchers, rule = LAUNCHER_RULES[key]
    chosen = {str(o.value()) for o in parsed if o.key_or_group == "hydra/launcher" and not o.is_sweep_override()}
    if not chosen & set(launchers):
        raise UserError(f"{key} is a setting of hydra/launcher={launchers[0]}: add hydra/launcher={launchers[0]}")
    for value in list(override.sweep_iterator()) if override.is_sweep_override() else [override.value()]:
        check_value({key: rule}, key, value)


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
        unknown = re.match(r"Could not override '([^']+)'", str(error))
        raise UserError(_unknown_key(unknown.group(1), overrides, conf_dir) if unknown else joined(error)) from None


def _unknown_key(key, overrides, conf_dir):
    """``unknown key dataset.epoch; did you mean dataset.epochs?``: the closest key beside it (Hydra would advise
    ``+dataset.epoch``, which is refused: a key is set, not added)."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import DictConfig
    from omegaconf.errors import OmegaConfBaseException

    parent, _, leaf = key.rpartition(".")
    try:
        with initialize_config_dir(config_dir=str(Path(conf_dir).absolute()), version_base="1.3"):
            cfg = compose("config", overrides=[o for o in overrides if o.split("=", 1)[0] != key])
    except (HydraException, OmegaConfBaseException):  # another key is unknown too: the first one named
        return f"unknown key {key}"
    node = OmegaConf.select(cfg, parent) if parent else cfg
    names = [str(name) for name in node] if isinstance(node, DictConfig) else []
    close = difflib.get_close_matches(leaf, names, n=1)
    where = f"{parent}." if parent else ""
    return f"unknown key {key}" + (f"; did you mean {where}{close[0]}?" if close else
                                   f"; {parent or 'the config'} has {', '.join(sorted(names))}")
