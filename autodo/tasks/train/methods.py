"""What a run's method is called: its row name in the tables (the paper's) and its short name in run-folder names
(the ``conf/method/`` preset that sets it).

A method is (aug_model, los_model, hyper_opt), how the run uses the clean validation set besides hyper steps
(``train_on_valid``, ``head_refit``), what it does to the train labels before training (``label_cleaning.action``:
confident learning) and the named improvements beyond the paper that its learned lambda makes (``improvements_of``).
"""

from pathlib import Path

from autodo.vocabulary import PAPER_SMOOTHING

LAMBDA_TABLES = ("augment", "weights", "soft_labels")  # the lambda tables, as hyper_opt.lr_factor names them

# paper row names of (aug_model, los_model, hyper_opt), and of the simple baselines beside them
PAPER_ROWS = {
    ("NONE", "NONE", "NONE"): "Baseline",
    ("RAND", "NONE", "NONE"): "RAA",
    ("AUTO", "NONE", "NONE"): "FAA",
    ("TRIVIAL", "NONE", "NONE"): "TrivialAugment",
    ("DADA", "NONE", "NONE"): "DADA",
    ("NONE", "LA", "NONE"): "logit-adjusted CE",
    ("NONE", "CB", "NONE"): "class-balanced CE",
    ("NONE", "GCE", "NONE"): "GCE",
    ("NONE", "SCE", "NONE"): "SCE",
    ("NONE", "ELR", "NONE"): "ELR",
    ("NONE", "MWN", "LOOKAHEAD"): "MW-Net",
    ("NONE", "MWN", "UNROLL"): "MW-Net, look-ahead of the head alone",
    ("NONE", "DIVIDEMIX", "NONE"): "DivideMix",
    ("SHA", "NONE", "HES"): "lambda^A_SHA",
    ("SEP", "NONE", "HES"): "lambda^A",
    ("SEP", "WGHT", "HES"): "lambda^{A,W}",
    ("SEP", "BOTH", "HES"): "lambda^{A,W,S}",
    ("SEP", "BOTH", "UNROLL"): "lambda^{A,W,S} UNROLL",
    ("SEP", "BOTH", "NONE"): "lambda^{A,W,S} frozen (no hyper steps)",
}

# conf/method/<name>.yaml: the settings each preset makes (tests/test_methods.py keeps the two in step)
PRESETS = {
    "baseline": ("NONE", "NONE", "NONE", False, False, "none", ()),
    "raa": ("RAND", "NONE", "NONE", False, False, "none", ()),
    "faa": ("AUTO", "NONE", "NONE", False, False, "none", ()),
    "trivial": ("TRIVIAL", "NONE", "NONE", False, False, "none", ()),
    "dada": ("DADA", "NONE", "NONE", False, False, "none", ()),
    "logit_adjusted": ("NONE", "LA", "NONE", False, False, "none", ()),
    "class_balanced": ("NONE", "CB", "NONE", False, False, "none", ()),
    "gce": ("NONE", "GCE", "NONE", False, False, "none", ()),
    "sce": ("NONE", "SCE", "NONE", False, False, "none", ()),
    "elr": ("NONE", "ELR", "NONE", False, False, "none", ()),
    "mwnet": ("NONE", "MWN", "LOOKAHEAD", False, False, "none", ()),
    "dividemix": ("NONE", "DIVIDEMIX", "NONE", False, False, "none", ()),
    "train_on_valid": ("NONE", "NONE", "NONE", True, False, "none", ()),
    "head_refit": ("NONE", "NONE", "NONE", False, True, "none", ()),
    "autodo_sha": ("SHA", "NONE", "HES", False, False, "none", ()),
    "autodo_a": ("SEP", "NONE", "HES", False, False, "none", ()),
    "autodo_aw": ("SEP", "WGHT", "HES", False, False, "none", ()),
    "autodo": ("SEP", "BOTH", "HES", False, False, "none", ()),
    "autodo_unroll": ("SEP", "BOTH", "UNROLL", False, False, "none", ()),
    "autodo_frozen": ("SEP", "BOTH", "NONE", False, False, "none", ()),
    "autodo_refit": ("SEP", "BOTH", "HES", False, True, "none", ()),
    "autodo_valid": ("SEP", "BOTH", "HES", True, False, "none", ()),
    "autodo_frozen_valid": ("SEP", "BOTH", "NONE", True, False, "none", ()),
    "train_on_valid_la": ("NONE", "LA", "NONE", True, False, "none", ()),
    "autodo_prior": ("SEP", "BOTH", "HES", False, False, "none", (("prior", "logit_adjust"),)),
    "confident_learning": ("NONE", "NONE", "NONE", False, False, "remove", ()),
    "confident_relabel": ("NONE", "NONE", "NONE", False, False, "relabel", ()),
    "confident_learning_la": ("NONE", "LA", "NONE", False, False, "remove", ()),
}
_PRESET_OF = {settings: name for name, settings in PRESETS.items()}


# the named improvements beyond the paper (improvements_of): how a row name and a folder name say each
IMPROVEMENT_TEXT = {
    "prior": lambda prior: {"logit_adjust": "logit-adjusted loss", "balance": "class-balanced weights"}[prior],
    "lr": lambda factors: "hyper lr x(A {:g}, W {:g}, S {:g})".format(*factors),
    "smoothing": lambda smoothing: f"soft-label start {smoothing:g}",
}
IMPROVEMENT_SLUG = {
    "prior": lambda correction: {"logit_adjust": "la", "balance": "cb"}[correction],
    "lr": lambda factors: "lr{:g}-{:g}-{:g}".format(*factors),
    "smoothing": lambda smoothing: f"smooth{smoothing:g}",
}


def learned_tables(config):
    """The lambda tables (``LAMBDA_TABLES``) that the plain run ``config`` learns with hyper steps."""
    if config["hyper_opt"]["name"] == "NONE":
        return ()
    los = config["los_model"]
    learned = {"augment": config["aug_model"]["name"] in ("SHA", "SEP"),
               "weights": learns_weights(los),
               "soft_labels": los.get("soft_labels", False)}
    return tuple(table for table in LAMBDA_TABLES if learned[table])


def learns_weights(los_model):
    """Whether the loss model ``los_model`` (a plain dict or a config) has loss weights to learn: a table (``weights``)
    or MW-Net's network (``weight_net``)."""
    return bool(los_model.get("weights") or los_model.get("weight_net"))


def improvements_of(config):
    """The named improvements beyond the paper that the plain run ``config`` makes to its learned lambda, as a tuple
    of (name, value) in a fixed order: ``prior``, the class prior taken out of a learned loss model's job
    (``los_model.prior_correction`` with weights or soft labels); ``lr``, a hyper learning rate per lambda table
    (``hyper_opt.lr_factor`` other than 1 for a table the run learns: the factors of augmentation, weights, soft
    labels); ``smoothing``, the soft labels' start (``los_model.smoothing`` other than the paper's). Empty for the
    paper's methods."""
    los = config["los_model"]
    found = []
    if (learns_weights(los) or los.get("soft_labels")) and los.get("prior_correction", "none") != "none":
        found.append(("prior", los["prior_correction"]))
    factors = lr_factors(config)
    if factors:
        found.append(("lr", tuple(float(factors.get(table, 1)) for table in LAMBDA_TABLES)))
    if los.get("soft_labels") and los.get("smoothing", PAPER_SMOOTHING) != PAPER_SMOOTHING:
        found.append(("smoothing", los["smoothing"]))
    return tuple(found)


def lr_factors(config):
    """``hyper_opt.lr_factor`` of the tables the plain run ``config`` learns, where it is not 1 (a factor of 1, or of
    a table the run does not learn, changes nothing)."""
    factors = config["hyper_opt"].get("lr_factor", {})
    return {table: factors[table] for table in learned_tables(config) if factors.get(table, 1) != 1}


def method_name(aug_model, los_model, hyper_opt, train_on_valid=False, head_refit=False, label_cleaning="none",
                improvements=(), policy=None):
    """The row name; the named improvements, where a DADA table came from (``policy``: search or a file), how a run
    used the clean validation set besides hyper steps and how it cleaned its train labels are suffixes, so that a
    searched table and a brought one are never averaged together."""
    name = PAPER_ROWS.get((aug_model, los_model, hyper_opt), f"{aug_model}+{los_model}+{hyper_opt}")
    name += "".join(f" + {IMPROVEMENT_TEXT[key](value)}" for key, value in improvements)
    if aug_model == "DADA":
        name += " (searched here)" if policy == "search" else f" (table: {Path(policy).name})"
    cleaning = f" + confident learning ({label_cleaning})" if label_cleaning != "none" else ""
    return (name + (" + valid in train" if train_on_valid else "") + (" + head refit on valid" if head_refit else "")
            + cleaning)


def method_slug(aug_model, los_model, hyper_opt, train_on_valid=False, head_refit=False, label_cleaning="none",
                improvements=()):
    """The preset's name (``autodo``), or the settings spelled out (``sep-wght-unroll+valid``) for a method no
    preset makes."""
    settings = (aug_model, los_model, hyper_opt, bool(train_on_valid), bool(head_refit), label_cleaning,
                tuple(improvements))
    if settings in _PRESET_OF:
        return _PRESET_OF[settings]
    return (f"{aug_model}-{los_model}-{hyper_opt}".lower()
            + "".join(f"+{IMPROVEMENT_SLUG[key](value)}" for key, value in improvements)
            + ("+valid" if train_on_valid else "") + ("+refit" if head_refit else "")
            + (f"+cl-{label_cleaning}" if label_cleaning != "none" else ""))


def method_of(config):
    """The method settings of a plain run config (a dict, as in ``result.json``); older runs lack the flags."""
    return (config["aug_model"]["name"], config["los_model"]["name"], config["hyper_opt"]["name"],
            config.get("train_on_valid", False), config.get("head_refit", False),
            config.get("label_cleaning", {}).get("action", "none"), improvements_of(config))


def learns_from_clean(config):
    """Whether the run of the plain ``config`` learns from the clean validation images (its tuning part, under
    ``clean_split``): hyper steps that validate on them, training or a head refit on them, a DADA search on them.
    Such a run's validation accuracy is held out only where ``clean_split`` holds a selection part out."""
    hyper_on_valid = config.get("hyper_opt", {}).get("name", "NONE") != "NONE" and not config.get("overfit", False)
    aug_model = config.get("aug_model", {})
    searched = aug_model.get("name") == "DADA" and aug_model.get("policy") == "search"
    return bool(hyper_on_valid or config.get("train_on_valid") or config.get("head_refit") or searched)


def valid_held_out(config):
    """Whether the validation accuracy of the run of ``config`` (a plain dict or an OmegaConf config) is of images
    it never learned from, so that choosing its epoch or its row by it is honest."""
    config = config if isinstance(config, dict) else _plain(config)
    return bool(config.get("clean_split", {}).get("selection")) or not learns_from_clean(config)


def _plain(cfg):
    from omegaconf import OmegaConf

    return OmegaConf.to_container(cfg, resolve=True)
