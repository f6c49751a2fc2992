"""Every setting in conf/ has a stated range, and a value outside it is one line naming the value and what is allowed,
before anything is written: a table goes through every setting of every task, data set, model and method option,
so that a setting added without its rule, or a rule without its test, fails here."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from autodo.config import FACTS, all_rules, check_overrides, group_options, validate_config
from autodo.errors import UserError
from conftest import REPO, assert_refused, launch

CONF = REPO / "conf"
# a bad value of every setting, with the options it needs to be read (task=, a group option)
BAD = {
    "task": ("evaluate", ()),
    "ir": ("inf", ()), "nr": ("nan", ()), "nr_type": ("gaussian", ()), "dataset.flips": ("[[3,3]]", ()),
    "sr": ("0", ()), "seed": ("99999999999999999999", ()),
    "device": ("tpu", ()), "amp": ("maybe", ()), "num_workers": ("-1", ()), "eval_batch_size": ("0", ()),
    "out_dir": ("''", ()), "data_root": ("''", ()),
    "overfit": ("2", ()), "oversplit": ("yes", ()), "train_on_valid": ("1", ()), "head_refit": ("0.5", ()),
    "label_cleaning.action": ("drop", ()), "label_cleaning.folds": ("1", ()),
    "clean_split.selection": ("-1", ()), "clean_split.tuning": ("0", ()),
    "dataset.epochs": ("0", ()), "dataset.warmup_epochs": ("-1", ()), "dataset.batch_size": ("0", ()),
    "dataset.lr": ("inf", ()), "dataset.hyper_lr": ("-0.1", ()), "dataset.hyper_batch_size": ("1.5", ()),
    "dataset.hyper_warmup": ("2", ()), "dataset.hyper_start": ("1", ()), "dataset.fast_autoaugment": ("fa_mnist", ()),
    "dataset.randsub.num_ops": ("-1", ()), "dataset.randsub.magnitude": ("31", ()),
    "dataset.randaugment.num_ops": ("-2", ()), "dataset.randaugment.magnitude": ("1000", ()),
    "dataset.learned_augment.init_probability": ("0", ()), "dataset.learned_augment.init_magnitude": ("1", ()),
    "dataset.neumann_alpha": ("nan", ()), "dataset.valid_size": ("0", ()), "dataset.test_size": ("0", ()),
    "dataset.num_classes": ("1", ("dataset=imagenet",)),
    "dataset.path": ("''", ("dataset=imagenet",)), "dataset.system_dir": ("''", ("dataset=fashion_mnist",)),
    "dataset.crop": ("0", ("dataset=imagenet",)), "dataset.resize": ("-1", ("dataset=imagenet",)),
    "dataset.augment.crop_padding": ("-4", ()), "dataset.augment.hflip": ("left", ()),
    "dataset.augment.erasing": ("3", ()),
    "optim.momentum": ("abc", ()), "optim.nesterov": ("1", ()), "optim.weight_decay": ("-1", ()),
    "optim.min_lr_factor": ("2", ()),
    "model.encoder.depth": ("17", ("model=wrn16_4",)), "model.encoder.widen_factor": ("0", ("model=wrn16_4",)),
    "model.encoder.dropout": ("1", ("model=wrn16_4",)), "model.encoder.widths": ("[16,32]", ()),
    "model.encoder.pool_after": ("[0,5]", ()),
    "los_model.prior_correction": ("reweight", ()), "los_model.smoothing": ("1", ("los_model=BOTH",)),
    "los_model.gce_q": ("0", ("los_model=GCE",)),
    "los_model.sce_alpha": ("-1", ("los_model=SCE",)), "los_model.sce_beta": ("-0.5", ("los_model=SCE",)),
    "los_model.weight_net_hidden": ("0", ("method=mwnet",)), "los_model.weight_net_lr_factor": ("0", ("method=mwnet",)),
    "los_model.loss": ("mae", ()),
    "los_model.elr_lambda": ("0", ("los_model=ELR",)), "los_model.elr_beta": ("1", ("los_model=ELR",)),
    "los_model.dividemix_warmup": ("1", ("method=dividemix",)),
    "los_model.dividemix_threshold": ("1", ("method=dividemix",)),
    "los_model.dividemix_temperature": ("0", ("method=dividemix",)),
    "los_model.dividemix_alpha": ("-4", ("method=dividemix",)),
    "los_model.dividemix_lambda_u": ("-1", ("method=dividemix",)),
    "los_model.dividemix_rampup": ("1.5", ("method=dividemix",)),
    "hyper_opt.pass_fraction": ("0", ("method=autodo",)), "hyper_opt.neumann_alpha": ("0", ("method=autodo",)),
    "hyper_opt.neumann_terms": ("-1", ("method=autodo",)), "hyper_opt.min_lr_factor": ("-1", ("method=autodo",)),
    "hyper_opt.lr_factor.augment": ("0", ("method=autodo",)), "hyper_opt.lr_factor.weights": ("inf", ("method=autodo",)),
    "hyper_opt.lr_factor.soft_labels": ("-1", ("method=autodo",)),
    "aug_model.init_probability": ("1", ("aug_model=SEP",)), "aug_model.init_magnitude": ("0", ("aug_model=SEP",)),
    "aug_model.policy": ("''", ("aug_model=DADA",)), "aug_model.search_size": ("1", ("aug_model=DADA",)),
    "aug_model.search_epochs": ("0", ("aug_model=DADA",)), "aug_model.keep": ("106", ("aug_model=DADA",)),
    "subsample.classes": ("[3,1]", ("task=subsample",)), "subsample.augmentation": ("warp", ("task=subsample",)),
    "subsample.policy": ("best", ("task=subsample",)), "subsample.budget": ("1.0", ("task=subsample",)),
    "subsample.selection": ("all", ("task=subsample",)), "subsample.stratify": ("2", ("task=subsample",)),
    "subsample.rounds": ("0", ("task=subsample",)), "subsample.copies": ("0", ("task=subsample",)),
    "subsample.evaluate": ("both", ("task=subsample",)), "subsample.head": ("svm", ("task=subsample",)),
    "subsample.l2": ("inf", ("task=subsample",)),
    "active_learning.acquisition": ("bald", ("task=active_learning",)),
    "active_learning.initial": ("0", ("task=active_learning",)),
    "active_learning.budget": ("-5", ("task=active_learning",)),
    "active_learning.iterations": ("0", ("task=active_learning",)),
    "active_learning.min_steps": ("1000000000000000", ("task=active_learning",)),
    "active_learning.retrain": ("maybe", ("task=active_learning",)),
    "active_learning.init": ("imagenet", ("task=active_learning",)),
    "active_learning.pseudo_label": ("truth", ("task=active_learning",)),
    "active_learning.passes": ("1", ("task=active_learning",)),
    "active_learning.projection": ("0", ("task=active_learning",)),
    "logger.tracking_uri": ("''", ("logger=mlflow",)), "logger.experiment": ("''", ("logger=mlflow",)),
    "logger.mode": ("cloud", ("logger=wandb",)), "logger.project": ("''", ("logger=wandb",)),
    "logger.entity": ("''", ("logger=wandb",)),
}


def composed(*overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=list(overrides))


def _leaves(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def every_setting():
    """Every key of every composed config: the defaults and each option of each group."""
    keys = set()
    choices = [[]] + [[f"{group}={option}"] for group in ("task", "dataset", "model", "aug_model", "los_model",
                                                           "hyper_opt", "method", "logger", "debug")
                      for option in group_options(CONF, group)]
    for overrides in choices:
        keys |= set(_leaves(OmegaConf.to_container(composed(*overrides), resolve=True)))
    return keys


def test_every_setting_has_a_rule_or_is_its_option_s():
    unruled = sorted(key for key in every_setting() if key not in all_rules() and key not in FACTS)
    assert unruled == []
    assert set(BAD) == set(all_rules())  # and every rule is tried below


@pytest.mark.parametrize("key", sorted(BAD))
def test_a_value_outside_a_setting_s_range_is_one_line_naming_it(key):
    bad, context = BAD[key]
    with pytest.raises(UserError) as info:
        check_overrides([*context, f"{key}={bad}"], CONF)
        validate_config(composed(*context, f"{key}={bad}"))
    message = str(info.value)
    assert "\n" not in message and key in message


@pytest.mark.parametrize("key", sorted(FACTS))
def test_what_an_option_is_cannot_be_set_on_its_own(key):
    with pytest.raises(UserError, match=f"{key} is not a setting: it is part of the {FACTS[key]} option chosen"):
        check_overrides([f"{key}=3"], CONF)


def test_an_imagenet_folder_of_one_s_own_says_its_classes():
    check_overrides(["dataset=imagenet", "dataset.path=/data/inet", "dataset.num_classes=4"], CONF)


@pytest.mark.parametrize("args, message", [
    (["dataset.lr=inf"], "dataset.lr=inf is not allowed"),
    (["optim.momentum=nan"], "optim.momentum=nan is not allowed"),
    (["dataset.num_classes=3"], "dataset.num_classes is not a setting"),
    (["dataset.valid_size=5"], "dataset.valid_size=5 is not allowed with dataset=digits"),
    (["-m", "hydra/launcher=local", "hydra.launcher.max_parallel=abc"], "hydra.launcher.max_parallel='abc'"),
    (["-m", "hydra.launcher.max_parallel=2"], "a setting of hydra/launcher=local: add hydra/launcher=local"),
    (["nr=0.2", "nr_type=asymmetric", "dataset.flips=[[6,0],[12,3]]"], "it names class 12, and the data set's "
                                                                         "classes are 0 .. 9"),
    (["dataset=cifar100", "nr=0.2", "nr_type=asymmetric"], "nr_type=asymmetric is not allowed with dataset=cifar100"),
    (["dataset.flips=[[1,2],[1,3]]"], "each from once"),
    (["nr_type=asymmetric"], "nr=0.0 is not allowed with nr_type=asymmetric: it must be in (0, 0.5)"),
    (["nr=0.5", "nr_type=asymmetric"], "nr=0.5 is not allowed with nr_type=asymmetric"),
    (["los_model=MWN"], "los_model=MWN is not allowed with hyper_opt=NONE"),
    (["los_model=BOTH", "los_model.loss=gce"], "los_model.loss is not a setting: it is part of the los_model option"),
    (["los_model=ELR", "aug_model=SEP", "hyper_opt=HES"], "los_model.loss=elr is not allowed with hyper_opt=HES"),
    (["los_model=SCE", "los_model.sce_alpha=0", "los_model.sce_beta=0"], "are not allowed together"),
    (["method=dividemix", "aug_model=SEP", "hyper_opt=HES"], "hyper_opt=HES is not allowed with los_model=DIVIDEMIX"),
    (["method=dividemix", "aug_model=SEP"], "aug_model=SEP is not allowed with los_model=DIVIDEMIX"),
    (["method=dividemix", "los_model.prior_correction=logit_adjust"],
     "los_model.prior_correction=logit_adjust is not allowed with los_model=DIVIDEMIX"),
    (["method=dividemix", "head_refit=true"], "head_refit=true is not allowed with los_model=DIVIDEMIX"),
    (["los_model=BOTH", "los_model.co_divide=true"], "los_model.co_divide is not a setting"),
])
def test_bad_settings_end_to_end_exit_2_with_nothing_written(tmp_path, args, message):
    assert_refused(launch(*args, cwd=tmp_path, check=False), message, tmp_path / "outputs")
    assert not (tmp_path / "local_data").exists()


LAUNCHER_BAD = {"max_parallel": ("local", "1.5"), "timeout_min": ("local", "0"), "gpus_per_node": ("slurm", "-1"),
                "partition": ("slurm", "''"), "account": ("slurm", "''"), "qos": ("slurm", "''"),
                "cpus_per_task": ("slurm", "0"), "mem_gb": ("slurm", "nan"), "array_parallelism": ("slurm", "0"),
                "max_num_timeout": ("slurm", "-1"), "signal_delay_s": ("slurm", "abc")}


def test_every_launcher_setting_has_a_rule():
    from autodo.config import LAUNCHER_RULES

    keys = set()
    for launcher in ("local", "slurm"):
        own = OmegaConf.load(CONF / "hydra" / "launcher" / f"{launcher}.yaml")
        keys |= {f"hydra.launcher.{key}" for key in own if key not in ("defaults", "_target_", "additional_parameters")}
    assert keys == set(LAUNCHER_RULES) == {f"hydra.launcher.{key}" for key in LAUNCHER_BAD}


@pytest.mark.parametrize("key", sorted(LAUNCHER_BAD))
def test_a_bad_launcher_setting_is_one_line(key):
    launcher, bad = LAUNCHER_BAD[key]
    with pytest.raises(UserError) as info:
        check_overrides(["-m", f"hydra/launcher={launcher}", f"hydra.launcher.{key}={bad}"], CONF)
    assert f"hydra.launcher.{key}=" in str(info.value) and "\n" not in str(info.value)
    other = {"local": "slurm", "slurm": "local"}[launcher]
    if key not in ("timeout_min", "gpus_per_node"):  # a setting of one launcher only, given to the other
        with pytest.raises(UserError, match=f"is a setting of hydra/launcher={launcher}"):
            check_overrides(["-m", f"hydra/launcher={other}", f"hydra.launcher.{key}=1"], CONF)
