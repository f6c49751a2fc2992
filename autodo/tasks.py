"""The kinds of run (``conf/task``): ``train`` (AutoDO and the methods beside it, the default) and ``subsample``
(augmentation subsampling). Every task runs through ``launch.py`` into a run folder (autodo.run_folder) and is read
back by ``aggregate.py``; each says here what of the config its result depends on, how its folder is named, what
it runs and the line ``launch.py`` prints of its result."""

from autodo.methods import method_of, method_slug

TASKS = ("train", "subsample")


def task_of(config):
    """The task of a plain run config; runs written before tasks existed are training runs."""
    return config.get("task", "train")


def task_identity(config):
    """What the run of the canonical plain ``config`` computes, as a dict (autodo.run_folder.identity)."""
    if task_of(config) == "subsample":
        from autodo.subsample.task import identity

        return identity(config)
    config.pop("task", None)  # a training run is identified as it was before tasks existed
    return config


def task_slug(config):
    """The middle of the run folder's name: the method of a training run, the policy of a subsample run."""
    if task_of(config) == "subsample":
        from autodo.subsample.task import slug

        return slug(config)
    return method_slug(*method_of(config))


def run_task(cfg, folder, data_root):
    """Run ``cfg`` (checked) in its run folder; return its result."""
    if cfg.task == "subsample":
        from autodo.subsample.task import run_subsample

        return run_subsample(cfg, folder, data_root)
    from autodo.experiment import run_experiment

    return run_experiment(cfg, folder, data_root)


def check_task(cfg, data_root):
    """The checks of ``cfg`` that need its data (a budget above the train set's size), before anything is written."""
    if cfg.task == "subsample":
        from autodo.subsample.task import check_budget

        check_budget(cfg, data_root)


def summary_line(config, result):
    if task_of(config) == "subsample":
        return (f"test accuracy {result['test_acc']:.2f}% with {result['augmented_count']} of {result['train_size']} "
                f"points augmented (minority {result['minority_acc']:.2f}%)")
    return (f"test accuracy: final {result['test_acc_final']:.2f}%, best {result['test_acc_best']:.2f}%, "
            f"at best validation {result['test_acc_at_best_valid']:.2f}%  "
            f"(majority {result['majority_acc']:.2f}%, minority {result['minority_acc']:.2f}%)")
