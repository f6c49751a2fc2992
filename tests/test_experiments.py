"""The sweep presets in conf/experiment: the paper's grids compose into real runs, and the CPU demo runs."""

import pytest
from hydra import compose, initialize_config_dir

from autodo.config import group_options
from conftest import REPO, run_dirs

CONF = REPO / "conf"
PAPER_GRIDS = {  # preset: (data set, the IR values of the paper's table, seeds)
    "paper_svhn": ("svhn", "1,100", "0,1,2,3"),
    "paper_cifar10": ("cifar10", "1,10", "0,1,2,3"),
    "paper_cifar100": ("cifar100", "1,10", "0,1,2,3"),
    "paper_imagenet": ("imagenet", "10", "0"),
}


def preset(name):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=[f"experiment={name}"], return_hydra_config=True)


def test_every_preset_is_tested():
    assert set(group_options(CONF, "experiment")) == {*PAPER_GRIDS, "digits_demo", "reproduce", "reproduce_8epochs",
                                                          "al_fashion_mnist", "budget"}


def test_the_active_learning_preset_sweeps_every_acquisition_on_the_biased_pool():
    """bench/active_learning.py's preset (its runs are tested in tests/test_bench.py)."""
    from autodo.tasks.active_learning import ACQUISITIONS

    cfg = preset("al_fashion_mnist")
    params = cfg.hydra.sweeper.params
    assert cfg.task == "active_learning" and cfg.dataset.name == "fashion_mnist" and cfg.ir == 100
    assert sorted(params["active_learning.acquisition"].split(",")) == sorted(ACQUISITIONS)
    assert params.seed == "0,1,2,3" and cfg.active_learning.iterations == 6


def test_the_reproduction_sweeps_every_method_row_in_the_reference_s_proportions():
    """bench/reproduce.py's preset (its runs are tested in tests/test_bench.py): every method we offer, and at least
    30 hyper passes (a visit of each sample's lambda each) from a quarter of the epochs on, as the reference's 150
    from epoch 50 of 200, the hyper learning rate warmed up over 1/40 of them (5 of 200)."""
    from autodo.schedule import hyper_schedule

    cfg = preset("reproduce")
    params = cfg.hydra.sweeper.params
    assert cfg.dataset.name == "fashion_mnist" and cfg.model.name == "small_cnn" and params.seed == "0,1,2,3"
    assert sorted(params.method.split(",")) == group_options(CONF, "method")
    start, warmup = hyper_schedule(cfg.dataset)
    assert (start, warmup) == (cfg.dataset.epochs // 4, 1) and cfg.dataset.epochs - start >= 30


def test_the_budget_study_holds_a_selection_part_out_and_nests_the_budgets_in_the_reproduction_s_proportions():
    """bench/budget.py's preset (its tables are tested in tests/test_bench.py): the reproduction's schedule, 2,000
    held-out images, budgets up to the rest of the 10,000, and every job of its sweep valid; the rows that learn from
    no clean image are one run per seed, whatever the budget."""
    from omegaconf import OmegaConf

    from autodo.config import validate_config
    from autodo.registry import signature

    cfg, reproduction = preset("budget"), preset("reproduce")
    params = cfg.hydra.sweeper.params
    assert (cfg.ir, cfg.nr, cfg.dataset.name, params.seed) == (100, 0.1, "fashion_mnist", "0,1,2,3")
    assert OmegaConf.to_container(cfg.dataset) == OmegaConf.to_container(reproduction.dataset)
    budgets = [int(b) for b in str(params["clean_split.tuning"]).split(",")]
    assert cfg.clean_split.selection == 2000 and budgets == sorted(budgets) and len(budgets) >= 4
    assert budgets[0] <= 250 and budgets[-1] == cfg.dataset.valid_size - cfg.clean_split.selection
    signatures = {}
    for method in params.method.split(","):
        for budget in budgets:
            with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
                job = compose("config", overrides=["experiment=budget", f"method={method}",
                                                   f"clean_split.tuning={budget}"])
            validate_config(job)
            signatures.setdefault(method, set()).add(signature(OmegaConf.to_container(job, resolve=True)))
    assert len(signatures["baseline"]) == len(signatures["logit_adjusted"]) == 1
    assert all(len(found) == len(budgets) for method, found in signatures.items()
               if method not in ("baseline", "logit_adjusted"))


def test_the_8_epoch_reproduction_gives_lambda_five_visits():
    from autodo.schedule import hyper_schedule

    cfg = preset("reproduce_8epochs")
    assert set(cfg.hydra.sweeper.params.method.split(",")) < set(group_options(CONF, "method"))
    assert cfg.dataset.epochs - hyper_schedule(cfg.dataset)[0] == 5


@pytest.mark.parametrize("name", PAPER_GRIDS)
def test_a_paper_grid_sweeps_its_data_set_and_real_method_rows(name):
    cfg = preset(name)
    dataset, ir, seeds = PAPER_GRIDS[name]
    params = cfg.hydra.sweeper.params
    assert cfg.dataset.name == dataset and params.ir == ir and params.seed == seeds and params.nr == "0.0,0.1"
    methods = params.method.split(",")
    assert "baseline" in methods and "autodo" in methods
    assert set(methods) <= set(group_options(CONF, "method"))


def test_the_cpu_demo_grid_runs_and_prints_its_table(run_launch, tmp_path):
    # one seed and 2 epochs (hyper steps in the second) instead of 3 and 30
    out = run_launch("-m", "experiment=digits_demo", "seed=0", "dataset.epochs=2").stdout
    runs = [path.name.rsplit("-", 1)[0] for path in run_dirs(tmp_path / "outputs")]
    assert sorted(runs) == sorted(f"digits-ir{ir}-nr{nr}-{method}-epochs=2-seed0" for ir in (1, 10) for nr in (0, 0.1)
                                  for method in ("autodo", "baseline", "raa"))
    assert "12 finished runs of the sweep's 12 " in out
    for row, cell in [("Baseline", "digits 10-0.1"), ("RAA", "digits 1-0.0"), ("lambda^{A,W,S}", "digits 10-0.0")]:
        assert row in out and cell in out
