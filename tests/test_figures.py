"""The sweep's figures (autodo.figures through aggregate.py --figures/--inspect)."""

import json
import shutil
import sys

import numpy as np
import pytest
import torch

from conftest import REPO, run_dirs

from autodo.inspection import final_test_features

sys.path.insert(0, str(REPO))
import aggregate  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


# the tests that share the module's fixture run on one pytest worker: under pytest -n each worker would make it anew
SWEEP = pytest.mark.xdist_group("test_figures-sweep")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    from conftest import launch

    folder = tmp_path_factory.mktemp("figures")
    launch("-m", "method=baseline,raa", "ir=1,10", "seed=0,1", "dataset.epochs=2", cwd=folder)
    return folder


def run_of(sweep, name):
    (run_dir,) = [path for path in run_dirs(sweep / "outputs") if path.name.startswith(name)]
    return run_dir


@SWEEP
def test_figures_of_a_sweep_and_of_chosen_runs(sweep, capsys):
    run_dir = run_of(sweep, "digits-ir10-nr0-raa-epochs=2-seed1-")
    assert aggregate.main([str(sweep / "outputs"), "--figures", "--inspect", str(run_dir),
                           "--data-root", str(sweep / "local_data")]) == 0
    assert "figures: " in capsys.readouterr().err
    figures = sweep / "outputs" / "figures"
    names = sorted(p.name for p in figures.iterdir())
    assert names == [f"confusion_{run_dir.name}.png", "learning_curves.png", "per_class_accuracy.png",
                     f"tsne_{run_dir.name}.png"]
    for path in figures.iterdir():
        assert path.read_bytes()[:8] == PNG and path.stat().st_size > 10_000


@SWEEP
def test_inspected_features_are_the_final_model_s(sweep):
    """The rebuilt model and test set give the run's own final test accuracy."""
    run_dir = run_of(sweep, "digits-ir10-nr0-baseline-epochs=2-seed0-")
    features, predictions, labels = final_test_features(run_dir, sweep / "local_data", torch.device("cpu"))
    result = json.loads((run_dir / "result.json").read_text())
    assert features.shape == (360, features.shape[1]) and len(labels) == 360
    assert 100 * np.mean(predictions == labels) == pytest.approx(result["test_acc_final"], abs=1e-9)


@SWEEP
def test_an_unfinished_run_or_one_without_its_model_is_refused_in_one_line(sweep, tmp_path, capsys):
    (tmp_path / "run").mkdir()
    assert aggregate.main([str(sweep / "outputs"), "--inspect", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.strip().endswith("is not a finished run folder (no result.json)")
    without_model = tmp_path / "copy"
    shutil.copytree(run_of(sweep, "digits-ir1-nr0-baseline-epochs=2-seed0-"), without_model)
    (without_model / "checkpoint.pt").unlink()
    assert aggregate.main([str(sweep / "outputs"), "--inspect", str(without_model)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith("has no checkpoint.pt (the run's final model)")


@SWEEP
def test_a_run_with_a_half_written_metrics_file_is_left_out_of_the_figures_with_the_reason(sweep, tmp_path,
                                                                                          capsys):
    copy = tmp_path / "outputs"
    shutil.copytree(sweep / "outputs", copy, ignore=shutil.ignore_patterns("figures", ".submitit"))
    damaged = run_of(tmp_path, "digits-ir10-nr0-raa-epochs=2-seed1-")
    damaged.joinpath("metrics.jsonl").write_text(damaged.joinpath("metrics.jsonl").read_text()[:-20])
    assert aggregate.main([str(copy), "--figures"]) == 0
    out, err = capsys.readouterr()
    assert f"not drawn: {damaged}: metrics.jsonl: line 2 is not JSON" in err
    assert (copy / "figures" / "learning_curves.png").read_bytes()[:8] == PNG
    assert out.splitlines()[0].split()[0] == "cell"  # the table is still the whole of standard output


def test_lambda_diagnostics_draw_the_seeds_mean_of_what_each_run_logs(tmp_path):
    """Each line is the mean (and std) over seeds of a key of the runs' metrics.jsonl; a method is drawn in a row
    only when its runs log the row's keys (the Baseline has no weights, but memorises)."""
    from conftest import run_config

    from autodo.tasks.train.figures import lambda_diagnostics
    from autodo.results import load_runs
    from autodo.registry import open_run

    logged = {}
    for seed in (0, 1):
        for los in ("NONE", "BOTH"):
            config = run_config(seed=seed, **{"los_model.name": los, "dataset.epochs": 3})
            folder = open_run(config, tmp_path / "runs")
            rows = [{"epoch": e, "test_acc": 80.0, "train_loss": 1.0, "train_acc_wrong_labels": 10.0 * e + seed}
                    for e in (1, 2, 3)]
            if los == "BOTH":
                for row in rows:
                    row.update(weight_noise_auroc_within_class=0.5 + 0.1 * row["epoch"] + 0.01 * seed,
                               soft_corrected=0.02 * seed, soft_broken=0.01, weight_logit_shift_mean=0.3,
                               weight_logit_shift_std=0.1, soft_logit_shift_mean=0.4, soft_logit_shift_std=0.2)
            folder.write_metrics(rows)
            folder.write_result({"config": config, "epochs": 3, "test_acc_final": 80.0, "wall_time_s": 1.0})
            logged[(los, seed)] = rows
    runs, _ = load_runs([tmp_path / "runs"])
    drawn = lambda_diagnostics(runs, tmp_path / "lambda.png")
    assert (tmp_path / "lambda.png").read_bytes()[:8] == PNG
    by_key = {(method, key): value for (_, _, method, key), value in drawn.items()}
    assert {method for method, key in by_key if key == "weight_noise_auroc_within_class"} == {"NONE+BOTH+NONE"}
    assert {method for method, key in by_key if key == "train_acc_wrong_labels"} == {"Baseline", "NONE+BOTH+NONE"}
    assert not any(key.startswith("aug_") for _, key in by_key)  # no run learns an augmentation
    mean, std = by_key[("NONE+BOTH+NONE", "weight_noise_auroc_within_class")]
    expected = np.array([[r["weight_noise_auroc_within_class"] for r in logged[("BOTH", s)]] for s in (0, 1)])
    assert np.allclose(mean, expected.mean(0)) and np.allclose(std, expected.std(0, ddof=1))
    mean, _ = by_key[("NONE+BOTH+NONE", "soft_corrected")]
    assert np.allclose(mean, 100 * 0.01)  # in %: seeds 0 and 2 percent
    mean, _ = by_key[("Baseline", "train_acc_wrong_labels")]
    assert np.allclose(mean, [10.5, 20.5, 30.5])

    # a clean cell: nothing is wrong, so only what the soft labels break is drawn; a Baseline there logs nothing
    for los in ("NONE", "BOTH"):
        config = run_config(nr=0.0, **{"los_model.name": los, "dataset.epochs": 1})
        folder = open_run(config, tmp_path / "clean" / los)
        folder.write_metrics([{"epoch": 1, "test_acc": 80.0, "train_loss": 1.0,
                               **({"soft_broken": 0.03} if los == "BOTH" else {})}])
        folder.write_result({"config": config, "epochs": 1, "test_acc_final": 80.0, "wall_time_s": 1.0})
    clean, _ = load_runs([tmp_path / "clean"])
    assert {key for *_, key in lambda_diagnostics(clean, tmp_path / "clean.png")} == {"soft_broken"}
    assert lambda_diagnostics(clean[clean["los_model"] == "NONE"], tmp_path / "none.png") == {}
    assert not (tmp_path / "none.png").exists()


def _captured(monkeypatch, module):
    """The figures ``module`` draws, kept open instead of saved."""
    drawn = []
    monkeypatch.setattr(module, "save_figure", lambda figure, path: drawn.append(figure))
    return drawn


def test_a_method_has_one_style_in_every_figure_and_no_panel_is_left_empty(tmp_path, monkeypatch):
    """The three figures of a report give a method one colour (its legend lines solid, though its std lines are
    dashed), the paper's names as mathtext, bars at 0 % with their outline and error bars, and a panel that nothing
    logs a reason instead of empty axes."""
    from matplotlib.colors import to_hex

    from conftest import run_config

    from autodo.figures import COLOURS
    from autodo.registry import open_run
    from autodo.results import load_runs
    from autodo.tasks.train import figures

    methods = {"Baseline": {}, "lambda^{A,W,S}": {"aug_model.name": "SEP", "los_model.name": "BOTH",
                                                   "hyper_opt.name": "HES"}}
    for nr in (0.0, 0.1):
        for seed in (0, 1):
            for name, changes in methods.items():
                config = run_config(nr=nr, seed=seed, **{"dataset.epochs": 2, **changes})
                folder = open_run(config, tmp_path / "runs")
                diagnostics = ({"weight_logit_shift_mean": 0.3, "weight_logit_shift_std": 0.1} if changes else {})
                if changes and nr:  # the wrong labels' AUROC: only in the noisy cell
                    diagnostics["weight_noise_auroc_within_class"] = 0.7
                folder.write_metrics([{"epoch": e, "test_acc": 80.0 + seed, "train_loss": 1.0, **diagnostics}
                                      for e in (1, 2)])
                per_class = [0.0] + [90.0 + seed] * 9  # class 0 never right: a bar at 0 %
                folder.write_result({"config": config, "epochs": 2, "test_acc_final": 80.0, "wall_time_s": 1.0,
                                     "test_per_class_acc": per_class})
    runs, _ = load_runs([tmp_path / "runs"])
    drawn = _captured(monkeypatch, figures)
    figures.learning_curves(runs, tmp_path / "a.png")
    figures.per_class_accuracy(runs, tmp_path / "b.png")
    figures.lambda_diagnostics(runs, tmp_path / "c.png")
    curves, bars, diagnostics = drawn

    def legend_colours(legend):
        return {text.get_text().split(" (")[0]: to_hex(handle.get_color() if hasattr(handle, "get_color")
                                                          else handle.get_facecolor())
                for text, handle in zip(legend.get_texts(), legend.legend_handles)}

    expected = {"Baseline": COLOURS[0], r"$\lambda^{A,W,S}$": COLOURS[1]}
    assert legend_colours(curves.legends[0]) == expected
    assert legend_colours(diagnostics.legends[0]) == {r"$\lambda^{A,W,S}$": COLOURS[1]}
    assert {handle.get_linestyle() for handle in diagnostics.legends[0].legend_handles} == {"-"}
    assert any(line.get_linestyle() == "--" for axis in diagnostics.axes for line in axis.lines)
    assert legend_colours(bars.legends[0]) == expected
    for axis in bars.axes:
        for container in axis.containers:
            if not hasattr(container, "patches"):
                continue
            colour = to_hex(container.patches[0].get_edgecolor())
            assert colour in expected.values() and container.errorbar is not None
            zero = container.patches[0]  # class 0: drawn, 0 high, outlined in the method's colour
            assert zero.get_height() == 0 and zero.get_linewidth() > 0
        assert axis.get_ylim()[0] < 0  # the outline of a bar at 0 % shows above the axis
    # the clean cell (nr 0) has no wrong labels to find: its AUROC panel says so instead of drawing empty axes
    assert len(diagnostics.axes) == 4 and all(axis.lines for axis in diagnostics.axes if axis.axison)
    (empty,) = [axis for axis in diagnostics.axes if not axis.axison]
    assert "no run of digits 10-0" in empty.texts[0].get_text() and "AUROC" in empty.texts[0].get_text()


def test_styles_tell_a_dozen_rows_apart_and_the_paper_names_become_mathtext():
    from autodo.figures import math_label, styles

    labels = [f"row {i}" for i in range(12)]
    assert len(set(styles(labels).values())) == 12
    assert len({style.colour for style in styles(labels[:8]).values()}) == 8  # eight colours before any marker
    assert styles(labels)["row 8"].marker and not styles(labels)["row 7"].marker
    assert styles(["b", "a"]) != styles(["a", "b"]) and styles(["a", "b"])["a"] == styles(["a", "b", "c"])["a"]
    assert math_label("lambda^{A,W,S} UNROLL") == r"$\lambda^{A,W,S}$ UNROLL"
    assert math_label("lambda^A_SHA") == r"$\lambda^{A}_{SHA}$"
    assert math_label("Baseline [dataset.hyper_lr=0.01]") == "Baseline [dataset.hyper_lr=0.01]"
    with pytest.raises(ValueError, match="41 labels"):
        styles(range(41))
