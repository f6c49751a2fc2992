from pathlib import Path

import pytest

from autodo.config import check_overrides, validate_config
from autodo.errors import UserError

CONF = Path(__file__).resolve().parent.parent / "conf"


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("ir=0.5", "ir must be a number >= 1"),
        ("ir=abc", "ir must be a number >= 1"),
        ("nr=1.0", "nr must be a number in [0, 1)"),
        ("nr=-0.1", "nr must be a number in [0, 1)"),
        ("sr=0", "sr must be a number in (0, 1]"),
        ("sr=1.5", "sr must be a number in (0, 1]"),
        ("seed=-1", "seed must be an integer in [0, 2**32)"),
        ("seed=1.5", "seed must be an integer in [0, 2**32)"),
        ("dataset.epochs=0", "dataset.epochs must be an integer > 0"),
        ("hyper_opt.pass_fraction=0", "hyper_opt.pass_fraction must be a number in (0, 1]"),
        ("hyper_opt.neumann_alpha=0", "hyper_opt.neumann_alpha must be a number > 0"),
        ("hyper_opt.lr_factor.soft_labels=0", "hyper_opt.lr_factor.soft_labels must be a number > 0"),
        ("los_model.smoothing=1", "los_model.smoothing must be a number in (0, 1)"),
        ("los_model.smoothing=high", "los_model.smoothing must be a number in (0, 1)"),
        ("dataset.neumann_alpha=-1", "dataset.neumann_alpha must be a number > 0"),
        ("aug_model.init_probability=1", "aug_model.init_probability must be a number in (0, 1)"),
        ("dataset.learned_augment.init_magnitude=0", "init_magnitude must be a number in (0, 1)"),
        ("dataset.randsub.num_ops=-1", "dataset.randsub.num_ops must be an integer >= 0"),
        ("device=gpu", "device must be one of auto, cpu, cuda"),
        ("out_dir=false", "out_dir must be a folder path"),
        ("aug_model=FOO", "aug_model must be one of AUTO, DADA, NONE, RAND, SEP, SHA, TRIVIAL"),
        ("dataset.fast_autoaugment=fa_mnist", "dataset.fast_autoaugment must be one of fa_reduced_cifar10, "),
        ("dataset=nope", "dataset must be one of cifar10, cifar100, digits"),
        ("ir=1,10,0", "ir=0 is not allowed"),
        ("frobnicate=1", "unknown option 'frobnicate'"),
        ("dataset.foo=1", "unknown key dataset.foo; dataset has "),
        ("dataset.epoch=5", "unknown key dataset.epoch; did you mean dataset.epochs?"),
        ("optim.momentun=0.8", "unknown key optim.momentun; did you mean optim.momentum?"),
        ("+bar=1", "'+bar=1' is not allowed: settings are set (key=value), not added (+key) or removed (~key)"),
        ("++dataset.foo=1", "'++dataset.foo=1' is not allowed"),
        ("~seed", "'~seed' is not allowed"),
        ("ir=[1", "cannot parse"),
    ],
)
def test_bad_overrides_are_one_line_errors_naming_the_value(override, fragment):
    with pytest.raises(UserError) as info:
        check_overrides([override], CONF)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_the_soft_label_start_reaches_the_loss_model(tmp_path):
    import torch
    import torch.nn.functional as F

    from autodo.trainer import build_run

    cfg = composed("method=autodo", "los_model.smoothing=0.2", "device=cpu", "ir=10", "nr=0.2")
    validate_config(cfg)
    loss_model = build_run(cfg, tmp_path).loss_model
    given = F.softmax(loss_model.label_logits, 1)[torch.arange(len(loss_model.given_labels)), loss_model.given_labels]
    torch.testing.assert_close(given, torch.full_like(given, 1 - 0.2 + 0.2 / 10))


@pytest.mark.parametrize(
    "args", [[], ["ir=100", "nr=0.1", "sr=0.5", "seed=3"], ["-m", "ir=1,10", "seed=range(0,4)"],
             ["dataset=fashion_mnist", "model=wrn16_4", "dataset.epochs=2", "hydra.job.chdir=false"]]
)
def test_good_overrides_pass(args):
    check_overrides(args, CONF)


def composed(*overrides):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=list(overrides))


def test_validate_config_checks_the_composed_values():
    cfg = composed("aug_model=SEP", "los_model=BOTH", "hyper_opt=HES")
    validate_config(cfg)
    cfg.nr = 1.5
    with pytest.raises(UserError, match="nr=1.5"):
        validate_config(cfg)


@pytest.mark.parametrize("method", ["HES", "UNROLL"])
def test_hyper_opt_with_nothing_to_learn_is_refused(method):
    with pytest.raises(UserError, match=f"hyper_opt={method} has nothing to learn"):
        validate_config(composed(f"hyper_opt={method}", "aug_model=RAND", "los_model=NONE"))
    validate_config(composed(f"hyper_opt={method}", "aug_model=RAND", "los_model=WGHT"))
    validate_config(composed(f"hyper_opt={method}", "aug_model=SHA", "los_model=NONE"))


def test_learned_augmentation_start_and_neumann_step_come_from_the_data_set():
    reference = composed("dataset=svhn", "method=autodo")
    assert (reference.aug_model.init_probability, reference.aug_model.init_magnitude,
            reference.hyper_opt.neumann_alpha, reference.dataset.randsub.num_ops) == (0.2, 0.5, 0.01, 3)
    grey = composed("dataset=fashion_mnist", "method=autodo_sha")
    assert (grey.aug_model.init_probability, grey.hyper_opt.neumann_alpha, grey.dataset.randsub.num_ops) == \
        (0.05, 0.5, 0)
    assert composed("dataset=fashion_mnist", "method=autodo", "aug_model.init_probability=0.3").aug_model \
        .init_probability == 0.3


@pytest.mark.parametrize("epochs, start, warmup, expected", [
    (30, 0.333, 0.033, (10, 1)), (15, 0.333, 0.067, (5, 1)), (200, 0.25, 0.025, (50, 5)), (40, 0.25, 0.025, (10, 1)),
    (3, 0.333, 0.033, (1, 0)), (1, 0.9, 0.5, (0, 1)), (10, 0.99, 0.0, (9, 0)),
])
def test_hyper_start_and_warm_up_are_shares_of_the_epochs(epochs, start, warmup, expected):
    """Nearest whole epoch (halves up), and always at least one epoch with a hyper pass: never an error."""
    from autodo.schedule import hyper_schedule

    cfg = composed("hyper_opt=HES", "los_model=WGHT", f"dataset.epochs={epochs}", f"dataset.hyper_start={start}",
                   f"dataset.hyper_warmup={warmup}")
    validate_config(cfg)
    assert hyper_schedule(cfg.dataset) == expected


@pytest.mark.parametrize("override, fragment", [
    ("dataset.hyper_start=1", "dataset.hyper_start must be a number in [0, 1)"),
    ("dataset.hyper_warmup=-0.1", "dataset.hyper_warmup must be a number in [0, 1]"),
    ("dataset.hyper_start=10", "(a share of dataset.epochs)"),
])
def test_hyper_shares_out_of_range_are_one_line_errors(override, fragment):
    with pytest.raises(UserError) as info:
        check_overrides([override], CONF)
    assert fragment in str(info.value)


@pytest.mark.parametrize("method, groups", [
    ("baseline", ("NONE", "NONE", "NONE")), ("raa", ("RAND", "NONE", "NONE")), ("faa", ("AUTO", "NONE", "NONE")),
    ("trivial", ("TRIVIAL", "NONE", "NONE")),
    ("autodo_sha", ("SHA", "NONE", "HES")), ("autodo_a", ("SEP", "NONE", "HES")),
    ("autodo_aw", ("SEP", "WGHT", "HES")), ("autodo", ("SEP", "BOTH", "HES")),
    ("autodo_unroll", ("SEP", "BOTH", "UNROLL")), ("autodo_frozen", ("SEP", "BOTH", "NONE")),
])
def test_methods_name_the_paper_rows(method, groups):
    from autodo.tasks.train.methods import method_name

    cfg = composed(f"method={method}")
    assert (cfg.aug_model.name, cfg.los_model.name, cfg.hyper_opt.name) == groups
    assert "+" not in method_name(*groups)  # a row name of its own, not the fallback
    validate_config(cfg)


def test_explicit_groups_win_over_a_method():
    cfg = composed("method=autodo", "los_model=WGHT")
    assert (cfg.aug_model.name, cfg.los_model.name) == ("SEP", "WGHT")
    check_overrides(["-m", "method=baseline,autodo"], CONF)
    with pytest.raises(UserError, match="method must be one of autodo"):
        check_overrides(["method=best"], CONF)


@pytest.mark.parametrize("method, groups, flags, name", [
    ("train_on_valid", ("NONE", "NONE", "NONE"), (True, False), "Baseline + valid in train"),
    ("autodo_valid", ("SEP", "BOTH", "HES"), (True, False), "lambda^{A,W,S} + valid in train"),
    ("head_refit", ("NONE", "NONE", "NONE"), (False, True), "Baseline + head refit on valid"),
    ("autodo_refit", ("SEP", "BOTH", "HES"), (False, True), "lambda^{A,W,S} + head refit on valid"),
])
def test_valid_set_methods_set_their_flag_and_name_their_row(method, groups, flags, name):
    from autodo.tasks.train.methods import method_name

    cfg = composed(f"method={method}")
    assert (cfg.aug_model.name, cfg.los_model.name, cfg.hyper_opt.name) == groups
    assert (cfg.train_on_valid, cfg.head_refit) == flags
    assert method_name(*groups, *flags) == name
    validate_config(cfg)
    assert composed(f"method={method}", "head_refit=false").head_refit is False  # the command line wins


@pytest.mark.parametrize("args, message", [
    (["experiment=digits_demo"], "experiment=digits_demo is a sweep: add -m"),
    (["seed=0,1"], "seed=0,1 is a sweep: add -m"),
])
def test_a_sweep_without_multirun_is_one_line_not_one_job_of_it(args, message):
    with pytest.raises(UserError, match=message):
        check_overrides(args, CONF)
    check_overrides(["-m", *args], CONF)  # with -m it is the sweep it says
