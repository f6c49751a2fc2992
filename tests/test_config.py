from pathlib import Path

import pytest
from omegaconf import OmegaConf

from autodo.config import check_overrides, run_name, validate_config
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
        ("seed=-1", "seed must be an integer >= 0"),
        ("seed=1.5", "seed must be an integer >= 0"),
        ("dataset.epochs=0", "dataset.epochs must be an integer > 0"),
        ("device=gpu", "device must be one of auto, cpu, cuda"),
        ("aug_model=FOO", "aug_model must be one of NONE"),
        ("dataset=nope", "dataset must be one of cifar10, cifar100, digits"),
        ("ir=1,10,0", "ir=0 is not allowed"),
        ("frobnicate=1", "unknown option 'frobnicate'"),
        ("ir=[1", "cannot parse"),
    ],
)
def test_bad_overrides_are_one_line_errors_naming_the_value(override, fragment):
    with pytest.raises(UserError) as info:
        check_overrides([override], CONF)
    assert fragment in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "args", [[], ["ir=100", "nr=0.1", "sr=0.5", "seed=3"], ["-m", "ir=1,10", "seed=range(0,4)"],
             ["dataset=fashion_mnist", "model=wrn16_4", "dataset.epochs=2", "hydra.job.chdir=false"]]
)
def test_good_overrides_pass(args):
    check_overrides(args, CONF)


def test_validate_config_checks_the_composed_values():
    cfg = OmegaConf.load(CONF / "config.yaml")
    cfg.dataset = {"epochs": 2, "warmup_epochs": 0, "batch_size": 8, "lr": 0.1}
    validate_config(cfg)
    cfg.nr = 1.5
    with pytest.raises(UserError, match="nr=1.5"):
        validate_config(cfg)


def test_run_name():
    assert run_name("") == "default"
    assert run_name("dataset.path=/data/x,ir=10") == "dataset.path=_data_x,ir=10"
