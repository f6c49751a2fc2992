"""Every augmentation model, loss model and hyper optimiser runs end to end on digits and reports what it
learned."""

import json

import pytest
import torch
from conftest import only_run

COMMON = ["ir=10", "nr=0.2", "dataset.epochs=3"]  # hyper passes in epochs 2 and 3 (digits: from a third on)


@pytest.mark.parametrize(
    "method",
    [
        ["aug_model=RAND"],
        ["aug_model=TRIVIAL"],
        ["aug_model=AUTO"],
        ["aug_model=SEP"],  # fixed at its start values
        ["aug_model=SHA", "hyper_opt=HES"],
        ["aug_model=SEP", "los_model=BOTH", "hyper_opt=HES"],
        ["aug_model=SEP", "los_model=BOTH", "hyper_opt=HES", "hyper_opt.pass_fraction=0.5"],
        ["aug_model=SEP", "los_model=WGHT", "hyper_opt=UNROLL"],
        ["aug_model=SEP", "los_model=BOTH", "hyper_opt=HES", "train_on_valid=true"],  # method=autodo_valid
        ["los_model=SOFT", "hyper_opt=HES"],
        ["los_model=LA"],
        ["los_model=CB"],
        ["los_model=GCE"],
        ["los_model=SCE"],
        ["los_model=ELR"],
        ["aug_model=SEP", "los_model=GCE", "hyper_opt=HES"],  # hypergradients through a robust loss
        ["los_model=MWN", "hyper_opt=LOOKAHEAD"],  # method=mwnet
        ["los_model=MWN", "hyper_opt=UNROLL"],  # its look-ahead of the head alone
        ["aug_model=SEP", "los_model=BOTH", "hyper_opt=LOOKAHEAD"],  # every table through the whole network
        ["los_model=DIVIDEMIX"],  # method=dividemix
    ],
    ids=lambda method: "+".join(m.split("=")[1] for m in method),
)
def test_method_runs_and_reports(run_launch, tmp_path, method):
    run_launch(*COMMON, *method)
    run_dir = only_run(tmp_path / "outputs")
    result = json.loads((run_dir / "result.json").read_text())
    assert result["epochs"] == 3 and 0 <= result["test_acc_final"] <= 100
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    options = dict(m.split("=") for m in method)
    learned_aug = options.get("aug_model") in ("SHA", "SEP")
    hyper = options.get("hyper_opt", "NONE") != "NONE"
    assert ("hypergrad_norm" in rows[0], "hypergrad_norm" in rows[-1]) == (False, hyper)
    if hyper:
        assert rows[-1]["hyper_skipped"] == 0 and rows[-1]["hypergrad_norm"] > 0
        batches = json.loads((run_dir / "split.json").read_text())["train_size"] // 128  # digits' hyper batch
        assert rows[-1]["hyper_steps"] == round(float(options.get("hyper_opt.pass_fraction", 1)) * batches)
    if learned_aug:
        magnitudes = [rows[-1][f"aug_{op}_m"] for op in ("rotate", "scale_x")]
        assert all(m != 0.5 for m in magnitudes) == hyper  # learned only with a hyper optimiser
    los = options.get("los_model", "NONE")
    assert 0 <= rows[-1]["train_acc_wrong_labels"] <= 100  # nr=0.2: the network's memorisation of the noise
    assert ("weight_noise_auroc" in rows[-1]) == ("weight_noise_auroc_within_class" in rows[-1]) == \
        (los in ("WGHT", "BOTH", "MWN"))  # MW-Net: of the weights its network gave in the epoch
    assert ("weight_logit_shift_mean" in rows[-1]) == (los in ("WGHT", "BOTH"))
    assert ("soft_logit_shift_mean" in rows[-1]) == (los in ("SOFT", "BOTH"))
    assert ("division_clean_noise_auroc" in rows[-1]) == (los == "DIVIDEMIX")  # after its warm-up epoch
    assert ("aug_logit_shift_mean" in rows[-1]) == learned_aug
    assert ("soft_corrected" in rows[-1]) == (los in ("SOFT", "BOTH"))
    if los in ("WGHT", "BOTH", "MWN"):
        assert rows[-1]["weight_majority"] != 1.0 and 0 <= rows[-1]["weight_noise_auroc"] <= 1


def test_mw_net_weighs_every_loss_1_until_its_first_hyper_pass(run_launch, tmp_path):
    """Before the first hyper pass learns it, MW-Net's network would weigh the losses at random: the run trains as
    the Baseline does (the same classifier start, the same batches), then the two part."""
    args = [*COMMON, "dataset.hyper_start=0.5"]  # a hyper pass before epochs 2 and 3
    run_launch(*args, "method=mwnet", "out_dir=mwnet")
    run_launch(*args, "method=baseline", "out_dir=baseline")
    mwnet, baseline = ([json.loads(line) for line in (only_run(tmp_path / out) / "metrics.jsonl").open()]
                       for out in ("mwnet", "baseline"))
    assert mwnet[0]["train_loss"] == baseline[0]["train_loss"] and mwnet[0]["test_acc"] == baseline[0]["test_acc"]
    assert mwnet[-1]["hypergrad_norm"] > 0 and mwnet[-1]["train_loss"] != baseline[-1]["train_loss"]


def test_mw_net_s_whole_network_look_ahead_learns_to_weigh_the_wrong_labels_down(run_launch, tmp_path):
    """Under uniform noise (IR 1), MW-Net's V learns the paper's falling function of the loss from its first pass:
    the wrong labels (high losses before the network memorises them) get the lowest weights."""
    run_launch("ir=1", "nr=0.4", "dataset.epochs=12", "dataset.hyper_start=0.5", "method=mwnet")
    rows = [json.loads(line) for line in (only_run(tmp_path / "outputs") / "metrics.jsonl").open()]
    assert rows[6]["weight_noise_auroc"] > 0.8  # the first epoch weighed by V


def test_nothing_to_learn_is_refused_and_leaves_nothing(run_launch, tmp_path):
    proc = run_launch("hyper_opt=HES", check=False)
    assert proc.returncode == 2 and "has nothing to learn" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "outputs").exists()


def test_ablations(run_launch, tmp_path):
    run_launch(*COMMON, "los_model=WGHT", "hyper_opt=HES", "oversplit=true", "out_dir=oversplit")
    split = json.loads((only_run(tmp_path / "oversplit") / "split.json").read_text())
    assert split["train_size"] == split["valid_size"] == 1437  # digits' whole train part
    # overfit: the hyper steps validate on the test set, so lambda learns something else from the same start
    learned = {}
    for overfit in ("false", "true"):
        run_launch(*COMMON, "los_model=WGHT", "hyper_opt=HES", f"overfit={overfit}", f"out_dir=overfit_{overfit}")
        run_dir = only_run(tmp_path / f"overfit_{overfit}")
        learned[overfit] = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert learned["true"][0]["test_acc"] == learned["false"][0]["test_acc"]  # epoch 1: no hyper pass yet
    assert learned["true"][-1]["weight_majority"] != learned["false"][-1]["weight_majority"]


def test_train_on_valid_trains_on_both_sets(run_launch, tmp_path):
    splits = {}
    for method in ("baseline", "train_on_valid"):
        run_launch("ir=10", "nr=0.2", "dataset.epochs=1", f"method={method}", f"out_dir={method}")
        run_dir = only_run(tmp_path / method)
        splits[method] = json.loads((run_dir / "split.json").read_text())
    plain, both = splits["baseline"], splits["train_on_valid"]
    assert both["train_size"] == plain["train_size"] + plain["valid_size"] and both["valid_size"] == 300
    assert both["wrong_label_count"] == plain["wrong_label_count"]  # the validation labels are clean
    assert [b - p for b, p in zip(both["train_class_counts"], plain["train_class_counts"])] == \
        plain["valid_class_counts"]


def test_train_on_valid_is_refused_without_a_validation_split(run_launch, tmp_path):
    proc = run_launch("train_on_valid=true", "oversplit=true", check=False)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "train_on_valid=true is not allowed with oversplit=true" in proc.stderr
    assert not (tmp_path / "outputs").exists()


def test_head_refit_replaces_the_final_test_result_with_the_refit_models(run_launch, tmp_path):
    from autodo.inspection import final_test_features

    run_launch(*COMMON, "method=head_refit")
    run_dir = only_run(tmp_path / "outputs")
    result = json.loads((run_dir / "result.json").read_text())
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert result["head_refit_test_acc_before"] == rows[-1]["test_acc"]  # metrics.jsonl: the network's own
    assert result["test_acc_final"] != rows[-1]["test_acc"]
    assert result["head_refit_valid_fit_acc"] > rows[-1]["valid_acc"]  # it was fitted there
    # the model rebuilt from the checkpoint
    _, predictions, labels = final_test_features(run_dir, tmp_path / "local_data", torch.device("cpu"))
    assert 100 * (predictions == labels).mean() == pytest.approx(result["test_acc_final"])


def test_every_method_preset_is_in_the_table_that_names_run_folders():
    """autodo.tasks.train.methods.PRESETS says what each conf/method/ preset sets (run-folder names come from it)."""
    from hydra import compose, initialize_config_dir

    from omegaconf import OmegaConf

    from autodo.config import group_options
    from autodo.tasks.train.methods import PRESETS, method_of, method_slug
    from conftest import REPO

    assert sorted(PRESETS) == group_options(REPO / "conf", "method")
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        for name, settings in PRESETS.items():
            composed = method_of(OmegaConf.to_container(compose("config", overrides=[f"method={name}"])))
            assert composed == settings and method_slug(*composed) == name


@pytest.mark.parametrize("overrides, row, slug", [
    ([], "lambda^{A,W,S}", "autodo"),
    (["los_model.prior_correction=logit_adjust"], "lambda^{A,W,S} + logit-adjusted loss", "autodo_prior"),
    (["hyper_opt.lr_factor.soft_labels=4"], "lambda^{A,W,S} + hyper lr x(A 1, W 1, S 4)", "sep-both-hes+lr1-1-4"),
    (["los_model.smoothing=0.2", "train_on_valid=true"], "lambda^{A,W,S} + soft-label start 0.2 + valid in train",
     "sep-both-hes+smooth0.2+valid"),
    (["los_model=LA"], "SEP+LA+HES", "sep-la-hes"),  # the prior correction is LA's own, not an improvement
    (["los_model=NONE", "hyper_opt.lr_factor.soft_labels=4"], "lambda^A", "autodo_a"),  # no soft labels learned
])
def test_named_improvements_name_their_rows_and_folders(overrides, row, slug):
    """An improvement beyond the paper is never averaged with the paper's method: its row and folder say it."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from autodo.tasks.train.methods import method_name, method_of, method_slug
    from conftest import REPO

    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        config = OmegaConf.to_container(compose("config", overrides=["method=autodo", *overrides]))
    assert method_name(*method_of(config)) == row and method_slug(*method_of(config)) == slug
