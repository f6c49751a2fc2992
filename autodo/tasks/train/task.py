"""The training task's face (autodo.registry): what of a config a training run computes, its folder's slug, its checks,
its run, its summary line and the number every finished run has."""

from autodo.identity import canonical, digest, leave_out_dataset_settings, settings, unread_dataset_settings
from autodo.tasks.train.methods import learns_from_clean, lr_factors, method_of, method_slug
from autodo.vocabulary import PAPER_SMOOTHING

HEADLINE = "test_acc_final"
# the numbers of its result.json, each a finite number when present
RESULT_NUMBERS = ("epochs", "test_acc_final", "test_acc_best", "test_acc_at_best_valid", "majority_acc", "minority_acc",
                  "minority_acc_best", "minority_acc_at_best_valid", "valid_acc_final", "valid_acc_best",
                  "wall_time_s", "search_time_s", "cleaning_time_s")
REPORT = "autodo.tasks.train.report"  # its rows, table and figures for aggregate.py


def identity(config, keep_unread=False):
    """What the training run of the canonical plain ``config`` computes: the named improvements only where they change
    the run (a run at the paper's values is identified as before they existed), of ``clean_split`` what the run reads,
    the augmentation as it draws (autodo.augment.choice.augmentation_identity), and neither the data set's settings
    for another augmentation or for hyper passes it does not make, nor ``overfit`` without them (``keep_unread``:
    as versions before 2026-12-05 identified it, with them)."""
    from autodo.augment.choice import augmentation_identity

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
    if not keep_unread:
        leave_out_dataset_settings(config, unread_dataset_settings(config.get("aug_model", {}).get("name"),
                                                                   hyper.get("name")))
        if hyper.get("name", "NONE") == "NONE":  # overfit: the hyper passes' validation batches from the test set
            config.pop("overfit", None)
    return augmentation_identity(config)


def _clean_split_identity(config):
    """Of ``clean_split`` (when on: autodo.identity leaves it out at selection 0), what the run reads: the selection
    part alone for a run that learns from no clean image, and the tuning part's size as a count."""
    split = config.get("clean_split")
    if not split or not split.get("selection"):
        return
    if not learns_from_clean(config):
        split.pop("tuning", None)
    elif split.get("tuning") is None:
        split["tuning"] = config["dataset"]["valid_size"] - split["selection"]


# the settings ``slug`` names (a key, or the settings under it), left out of a folder name's settings set apart
SLUG_SETTINGS = ("train_on_valid", "head_refit", "label_cleaning.action", "clean_split", "los_model.prior_correction",
                 "los_model.smoothing", "hyper_opt.lr_factor")


def slug(config):
    """The method (the conf/method preset's name), and the clean images held out and learned from, where split."""
    split = identity(canonical(config)).get("clean_split") or {}
    split = split if split.get("selection") else {}
    return method_slug(*method_of(config)) + "".join(
        f"-{short}{split[key]}" for key, short in (("selection", "sel"), ("tuning", "tune")) if key in split)


def former_run(stored, config, run_identity):
    """Why the folder with the stored signature ``stored`` (None: older than run.json) does not hold this version's
    run of ``config``, where a former version computed it otherwise; else None."""
    former = run_identity(config)
    if former.pop("item_transform_draws", None) is None:
        return None
    if stored is None or stored == digest(former):
        return ("its per-image augmentation drew from the loading process's random stream, as versions before "
                "per-batch seeds did: not counted; a relaunch runs it again")
    return None


def check(cfg, data_root):
    """The checks that need the data: a train split that keeps every class where ``sr`` cuts it, more folds than
    confident learning can fill."""
    if cfg.sr < 1:
        from autodo.data.pipeline import planned_split

        planned_split(cfg, data_root)
    if cfg.label_cleaning.action != "none":
        from autodo.tasks.train.cleaning import check as check_folds

        check_folds(cfg, data_root)


def run(cfg, folder, data_root):
    from omegaconf import OmegaConf

    from autodo.tasks.train.run import run_experiment

    # the run's settings, for its TensorBoard hparams
    return run_experiment(cfg, folder, data_root, settings(OmegaConf.to_container(cfg, resolve=True), identity))


def summary_line(result):
    return (f"test accuracy: final {result['test_acc_final']:.2f}%, best {result['test_acc_best']:.2f}%, "
            f"at best validation {result['test_acc_at_best_valid']:.2f}%  "
            f"(majority {result['majority_acc']:.2f}%, minority {result['minority_acc']:.2f}%)")


def inspection_model(cfg, folder, data_root, iteration=None):
    """The run's final model, rebuilt as training built it (with the DADA table it applied, from its policy.json, and
    the train labels confident learning cleaned, from its cleaning.json) and loaded from its checkpoint; with its
    data and device (``iteration`` is for active-learning runs)."""
    from autodo.augment.table_file import PolicyTable, read_table
    from autodo.checkpoint import load_checkpoint
    from autodo.errors import UserError
    from autodo.io import unreadable, verified_torch_load
    from autodo.tasks.train.cleaning import CLEANING, read_label_issues
    from autodo.tasks.train.dada_table import POLICY
    from autodo.trainer import build_run

    policy = folder.file(POLICY)
    table = PolicyTable(read_table(policy), str(policy)) if cfg.aug_model.name == "DADA" else None
    issues = None
    if cfg.get("label_cleaning", {}).get("action", "none") != "none":
        if not folder.file(CLEANING).exists():
            raise UserError(f"{folder.file(CLEANING)} is missing: the run's cleaned train set cannot be rebuilt")
        issues = read_label_issues(folder.file(CLEANING))
    try:
        verified_torch_load(folder.checkpoint)
    except Exception as error:  # noqa: BLE001 - whatever broke, the finished run's final model is lost
        raise UserError(f"checkpoint {folder.checkpoint} of this finished run is unreadable ({unreadable(error)}): its "
                        "final model cannot be inspected (its tables and figures do not need it)") from None
    parts = build_run(cfg, data_root, table, issues)
    load_checkpoint(folder.checkpoint, parts.state(), {}, parts.device)  # the weights: no loader goes on
    return parts.predictor, parts.data, parts.device


def inspect_error(run_dir, folder, result, iteration):
    """Why the finished run ``run_dir`` cannot be inspected, or None."""
    if iteration is not None:
        return f"--iteration is for active-learning runs: {run_dir!r} is a task=train run"
    if not folder.checkpoint.exists():
        return f"--inspect {run_dir!r} has no {folder.checkpoint.name} (the run's final model)"
    return None
