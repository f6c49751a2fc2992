"""The kinds of run (``conf/task``): ``train`` (AutoDO and the methods beside it, the default), ``subsample``
(augmentation subsampling) and ``active_learning``. Every task runs through ``launch.py`` into a run folder
(autodo.run_folder) and is read back by ``aggregate.py``. Each task other than training is a module
(``OTHER_TASKS``) that says what of the config its result depends on (``identity``), how its folder is named
(``slug``), what it checks before anything is written (``check``), how it runs (``run_<task>``) and the line
``launch.py`` prints of its result (``summary_line``); its report module gives ``aggregate.py`` its rows and table."""

import importlib

from autodo.methods import PAPER_SMOOTHING, learns_from_clean, lr_factors, method_of, method_slug

OTHER_TASKS = {"subsample": ("autodo.subsample.task", "autodo.subsample.report"),
               "active_learning": ("autodo.active.task", "autodo.active.report")}
TASKS = ("train", *OTHER_TASKS)


def task_of(config):
    """The task of a plain run config; runs written before tasks existed are training runs."""
    return config.get("task", "train")


def task_module(task):
    return importlib.import_module(OTHER_TASKS[task][0])


def report_module(task):
    return importlib.import_module(OTHER_TASKS[task][1])


def task_identity(config):
    """What the run of the canonical plain ``config`` computes, as a dict (autodo.run_folder.identity)."""
    if task_of(config) != "train":
        return task_module(task_of(config)).identity(config)
    from autodo.augment.choice import augmentation_identity

    config.pop("task", None)  # a training run is identified as it was before tasks existed
    if config.get("label_cleaning", {}).get("action", "none") == "none":  # and before confident learning did
        config.pop("label_cleaning", None)
    # and before the named improvements did: only what changes the run is kept of them
    los, hyper = config.get("los_model", {}), config.get("hyper_opt", {})
    if not los.get("soft_labels") or los.get("smoothing") == PAPER_SMOOTHING:
        los.pop("smoothing", None)
    if "lr_factor" in hyper:
        factors = lr_factors(config)
        if factors:
            hyper["lr_factor"] = factors
        else:
            del hyper["lr_factor"]
    _clean_split_identity(config)
    return augmentation_identity(config)


def _clean_split_identity(config):
    """Of ``clean_split``, what the run reads: nothing when it is off (as every run before it existed), the
    selection part alone for a run that learns from no clean image, and the tuning part's size as a count."""
    split = config.get("clean_split")
    if split is None:
        return
    if not split.get("selection"):
        del config["clean_split"]
    elif not learns_from_clean(config):
        split.pop("tuning", None)
    elif split.get("tuning") is None:
        split["tuning"] = config["dataset"]["valid_size"] - split["selection"]


def task_slug(config):
    """The middle of the run folder's name: the method of a training run, the settings of another task's."""
    if task_of(config) != "train":
        return task_module(task_of(config)).slug(config)
    return method_slug(*method_of(config))


def check_task(cfg, data_root):
    """The checks of ``cfg`` that need its data or model (a budget above the train set's size, more folds than
    confident learning can fill), before anything is written."""
    if cfg.task != "train":
        task_module(cfg.task).check(cfg, data_root)
    elif cfg.label_cleaning.action != "none":
        from autodo.cleaning import check

        check(cfg, data_root)


def run_task(cfg, folder, data_root):
    """Run ``cfg`` (checked) in its run folder; return its result."""
    if cfg.task != "train":
        return getattr(task_module(cfg.task), f"run_{cfg.task}")(cfg, folder, data_root)
    from autodo.experiment import run_experiment

    return run_experiment(cfg, folder, data_root)


def summary_line(config, result):
    """What ``launch.py`` prints of a finished run's result."""
    if task_of(config) != "train":
        return task_module(task_of(config)).summary_line(result)
    return (f"test accuracy: final {result['test_acc_final']:.2f}%, best {result['test_acc_best']:.2f}%, "
            f"at best validation {result['test_acc_at_best_valid']:.2f}%  "
            f"(majority {result['majority_acc']:.2f}%, minority {result['minority_acc']:.2f}%)")
