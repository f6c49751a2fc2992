"""The training task (``task=train``, the default): AutoDO and the methods beside it. Its face is
``autodo.tasks.train.task``; here are its settings' checks (``RULES``, ``validate``), which import no torch."""

from math import comb

from autodo.errors import UserError
from autodo.rules import BOOLEAN, NON_NEGATIVE, OPEN_UNIT, POSITIVE, SHARE, at_least, is_int, is_number, one_of
from autodo.vocabulary import FAST_AUTOAUGMENT_OPS, LEARNED_AUGMENTATIONS, PRIOR_CORRECTIONS, ROBUST_LOSSES
from autodo.tasks.train.methods import learns_weights

CLEANING_ACTIONS = ("none", "remove", "relabel")  # label_cleaning.action
SEARCHED_SUB_POLICIES = comb(len(FAST_AUTOAUGMENT_OPS), 2)  # DADA's: every pair of two different ops

RULES = {
    "overfit": BOOLEAN,
    "oversplit": BOOLEAN,
    "train_on_valid": BOOLEAN,
    "head_refit": BOOLEAN,
    "label_cleaning.action": one_of(*CLEANING_ACTIONS),
    "label_cleaning.folds": at_least(2, "cross-validation folds"),
    "clean_split.selection": (lambda v: is_int(v) and v >= 0, "an integer >= 0 (held-out validation images; 0: "
                                                              "no split)"),
    "clean_split.tuning": (lambda v: v is None or (is_int(v) and v >= 1),
                           "null (every validation image not held out) or an integer >= 1"),
    "los_model.prior_correction": one_of(*PRIOR_CORRECTIONS),
    "los_model.smoothing": OPEN_UNIT,
    "los_model.gce_q": (lambda v: is_number(v) and 0 < v <= 1, "a number in (0, 1] (0 would be cross-entropy)"),
    "los_model.sce_alpha": NON_NEGATIVE,
    "los_model.sce_beta": NON_NEGATIVE,
    "los_model.elr_lambda": POSITIVE,
    "los_model.weight_net_hidden": at_least(1, "MW-Net's hidden units"),
    "los_model.weight_net_lr_factor": POSITIVE,
    "los_model.loss": one_of(*ROBUST_LOSSES),  # a fact of the option: checked for a yaml of one's own
    "los_model.elr_beta": (lambda v: is_number(v) and 0 <= v < 1, "a number in [0, 1) (the targets' momentum)"),
    "los_model.dividemix_warmup": (lambda v: is_number(v) and 0 < v < 1,
                                   "a number in (0, 1) (a share of dataset.epochs)"),
    "los_model.dividemix_threshold": OPEN_UNIT,
    "los_model.dividemix_temperature": POSITIVE,
    "los_model.dividemix_alpha": POSITIVE,
    "los_model.dividemix_lambda_u": NON_NEGATIVE,
    "los_model.dividemix_rampup": SHARE,
    "hyper_opt.pass_fraction": (lambda v: is_number(v) and 0 < v <= 1, "a number in (0, 1]"),
    "hyper_opt.lr_factor.augment": POSITIVE,
    "hyper_opt.lr_factor.weights": POSITIVE,
    "hyper_opt.lr_factor.soft_labels": POSITIVE,
    "hyper_opt.neumann_alpha": POSITIVE,
    "hyper_opt.neumann_terms": (lambda v: is_int(v) and v >= 0, "an integer >= 0 (the Neumann series' terms)"),
    "hyper_opt.min_lr_factor": (lambda v: is_number(v) and 0 <= v <= 1, "a number in [0, 1]"),
    # the learned augmentation's start values are logits' sigmoids: 0 and 1 are out of reach
    "aug_model.init_probability": OPEN_UNIT,
    "aug_model.init_magnitude": OPEN_UNIT,
    "aug_model.policy": (lambda v: isinstance(v, str) and v != "", "search, or the path of a JSON table file"),
    "aug_model.search_size": at_least(2, "batch norm needs two images"),
    "aug_model.search_epochs": at_least(1),
    "aug_model.keep": (lambda v: is_int(v) and 1 <= v <= SEARCHED_SUB_POLICIES,
                       f"an integer in 1 .. {SEARCHED_SUB_POLICIES} (the sub-policies searched)"),
}
# the training settings that mean nothing to the other tasks (each of which has its settings under its name): they
# must be left at these values there
TRAINING_ONLY = {"aug_model.name": "NONE", "los_model.name": "NONE", "los_model.weights": False,
                 "los_model.soft_labels": False, "los_model.prior_correction": "none", "los_model.loss": "ce",
                 "hyper_opt.name": "NONE",
                 "overfit": False, "oversplit": False, "train_on_valid": False, "head_refit": False,
                 "label_cleaning.action": "none", "clean_split.selection": 0, "clean_split.tuning": None}


def validate(cfg):
    """The rules between a training run's settings, each a one-line ``UserError``."""
    if cfg.aug_model.name == "DADA":
        _check_dada(cfg)
    if cfg.hyper_opt.name != "NONE":
        learned = (cfg.aug_model.name in LEARNED_AUGMENTATIONS or learns_weights(cfg.los_model)
                   or cfg.los_model.soft_labels)
        if not learned:
            raise UserError(f"hyper_opt={cfg.hyper_opt.name} has nothing to learn with aug_model="
                            f"{cfg.aug_model.name} los_model={cfg.los_model.name}: use aug_model=SHA or SEP, "
                            "or los_model=WGHT, SOFT, BOTH or MWN")
    _check_clean_split(cfg)
    _check_loss_model(cfg)
    if cfg.train_on_valid and cfg.oversplit:
        raise UserError("train_on_valid=true is not allowed with oversplit=true: oversplit leaves no validation "
                        "split to train on")


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


def _check_loss_model(cfg):
    """A robust loss's settings, and MW-Net's network, which only hyper passes learn."""
    los = cfg.los_model
    if los.get("weight_net") and cfg.hyper_opt.name == "NONE":
        raise UserError(f"los_model={los.name} is not allowed with hyper_opt=NONE: its weighting network is learned by "
                        "hyper steps alone (use hyper_opt=LOOKAHEAD, MW-Net's one-step look-ahead, UNROLL or HES)")
    if los.loss == "elr" and cfg.hyper_opt.name != "NONE":
        raise UserError(f"los_model.loss=elr is not allowed with hyper_opt={cfg.hyper_opt.name}: ELR's targets follow "
                        "the training steps alone (use hyper_opt=NONE)")
    if los.loss == "sce" and los.sce_alpha == 0 and los.sce_beta == 0:
        raise UserError("los_model.sce_alpha=0 and los_model.sce_beta=0 are not allowed together: the loss would be 0 "
                        "(set one of them > 0)")
    if los.get("co_divide"):
        _check_co_divide(cfg)


def _check_co_divide(cfg):
    """DivideMix trains its two networks by its own steps: no hyper step, learned augmentation, class prior in the loss
    or head refit of one of them."""
    conflicts = (("hyper_opt", cfg.hyper_opt.name, cfg.hyper_opt.name != "NONE", "NONE"),
                 ("aug_model", cfg.aug_model.name, cfg.aug_model.name in LEARNED_AUGMENTATIONS,
                  "NONE or a fixed policy"),
                 ("los_model.prior_correction", cfg.los_model.prior_correction,
                  cfg.los_model.prior_correction != "none", "none"),
                 ("head_refit", "true", cfg.head_refit, "false"))
    for key, value, conflict, allowed in conflicts:
        if conflict:
            raise UserError(f"{key}={value} is not allowed with los_model={cfg.los_model.name}: DivideMix trains its "
                            f"two networks by its own steps (use {key}={allowed})")


def _check_dada(cfg):
    from autodo.augment.table_file import read_table

    if cfg.aug_model.policy != "search":
        read_table(cfg.aug_model.policy)
    elif cfg.dataset.get("resize"):
        raise UserError(f"aug_model.policy=search is not allowed with dataset={cfg.dataset.name}: the search holds "
                        "its images in memory (data sets of one image size); bring a table (aug_model.policy=<file>)")
