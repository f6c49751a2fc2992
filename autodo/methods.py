"""What a run's method is called: its row name in the tables (the paper's) and its short name in run-folder names
(the ``conf/method/`` preset that sets it).

A method is (aug_model, los_model, hyper_opt), how the run uses the clean validation set besides hyper steps
(``train_on_valid``, ``head_refit``) and what it does to the train labels before training (``label_cleaning.action``:
confident learning).
"""

from pathlib import Path

# paper row names of (aug_model, los_model, hyper_opt), and of the simple baselines beside them
PAPER_ROWS = {
    ("NONE", "NONE", "NONE"): "Baseline",
    ("RAND", "NONE", "NONE"): "RAA",
    ("AUTO", "NONE", "NONE"): "FAA",
    ("TRIVIAL", "NONE", "NONE"): "TrivialAugment",
    ("DADA", "NONE", "NONE"): "DADA",
    ("NONE", "LA", "NONE"): "logit-adjusted CE",
    ("NONE", "CB", "NONE"): "class-balanced CE",
    ("SHA", "NONE", "HES"): "lambda^A_SHA",
    ("SEP", "NONE", "HES"): "lambda^A",
    ("SEP", "WGHT", "HES"): "lambda^{A,W}",
    ("SEP", "BOTH", "HES"): "lambda^{A,W,S}",
    ("SEP", "BOTH", "UNROLL"): "lambda^{A,W,S} UNROLL",
    ("SEP", "BOTH", "NONE"): "lambda^{A,W,S} frozen (no hyper steps)",
}

# conf/method/<name>.yaml: the settings each preset makes (tests/test_methods.py keeps the two in step)
PRESETS = {
    "baseline": ("NONE", "NONE", "NONE", False, False, "none"),
    "raa": ("RAND", "NONE", "NONE", False, False, "none"),
    "faa": ("AUTO", "NONE", "NONE", False, False, "none"),
    "trivial": ("TRIVIAL", "NONE", "NONE", False, False, "none"),
    "dada": ("DADA", "NONE", "NONE", False, False, "none"),
    "logit_adjusted": ("NONE", "LA", "NONE", False, False, "none"),
    "class_balanced": ("NONE", "CB", "NONE", False, False, "none"),
    "train_on_valid": ("NONE", "NONE", "NONE", True, False, "none"),
    "head_refit": ("NONE", "NONE", "NONE", False, True, "none"),
    "autodo_sha": ("SHA", "NONE", "HES", False, False, "none"),
    "autodo_a": ("SEP", "NONE", "HES", False, False, "none"),
    "autodo_aw": ("SEP", "WGHT", "HES", False, False, "none"),
    "autodo": ("SEP", "BOTH", "HES", False, False, "none"),
    "autodo_unroll": ("SEP", "BOTH", "UNROLL", False, False, "none"),
    "autodo_frozen": ("SEP", "BOTH", "NONE", False, False, "none"),
    "autodo_refit": ("SEP", "BOTH", "HES", False, True, "none"),
    "autodo_valid": ("SEP", "BOTH", "HES", True, False, "none"),
    "confident_learning": ("NONE", "NONE", "NONE", False, False, "remove"),
    "confident_relabel": ("NONE", "NONE", "NONE", False, False, "relabel"),
}
_PRESET_OF = {settings: name for name, settings in PRESETS.items()}


def method_name(aug_model, los_model, hyper_opt, train_on_valid=False, head_refit=False, label_cleaning="none",
                policy=None):
    """The row name; where a DADA table came from (``policy``: search or a file), how a run used the clean
    validation set besides hyper steps and how it cleaned its train labels are suffixes, so that a searched table
    and a brought one are never averaged together."""
    name = PAPER_ROWS.get((aug_model, los_model, hyper_opt), f"{aug_model}+{los_model}+{hyper_opt}")
    if aug_model == "DADA":
        name += " (searched here)" if policy == "search" else f" (table: {Path(policy).name})"
    cleaning = f" + confident learning ({label_cleaning})" if label_cleaning != "none" else ""
    return (name + (" + valid in train" if train_on_valid else "") + (" + head refit on valid" if head_refit else "")
            + cleaning)


def method_slug(aug_model, los_model, hyper_opt, train_on_valid=False, head_refit=False, label_cleaning="none"):
    """The preset's name (``autodo``), or the settings spelled out (``sep-wght-unroll+valid``) for a method no
    preset makes."""
    settings = (aug_model, los_model, hyper_opt, bool(train_on_valid), bool(head_refit), label_cleaning)
    if settings in _PRESET_OF:
        return _PRESET_OF[settings]
    return (f"{aug_model}-{los_model}-{hyper_opt}".lower() + ("+valid" if train_on_valid else "")
            + ("+refit" if head_refit else "") + (f"+cl-{label_cleaning}" if label_cleaning != "none" else ""))


def method_of(config):
    """The method settings of a plain run config (a dict, as in ``result.json``); older runs lack the flags."""
    return (config["aug_model"]["name"], config["los_model"]["name"], config["hyper_opt"]["name"],
            config.get("train_on_valid", False), config.get("head_refit", False),
            config.get("label_cleaning", {}).get("action", "none"))
