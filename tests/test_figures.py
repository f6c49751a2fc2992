"""The sweep's figures (autodo.figures through aggregate.py --figures/--inspect)."""

import json
import shutil
import sys

import numpy as np
import pytest
import torch

from conftest import REPO, run_dirs

from autodo.figures import final_test_features

sys.path.insert(0, str(REPO))
import aggregate  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    from conftest import launch

    folder = tmp_path_factory.mktemp("figures")
    launch("-m", "method=baseline,raa", "ir=1,10", "seed=0,1", "dataset.epochs=2", cwd=folder)
    return folder


def run_of(sweep, name):
    (run_dir,) = [path for path in run_dirs(sweep / "outputs") if path.name.startswith(name)]
    return run_dir


def test_figures_of_a_sweep_and_of_chosen_runs(sweep, capsys):
    run_dir = run_of(sweep, "digits-ir10-nr0-raa-seed1-")
    assert aggregate.main([str(sweep / "outputs"), "--figures", "--inspect", str(run_dir),
                           "--data-root", str(sweep / "local_data")]) == 0
    assert "figures: " in capsys.readouterr().err
    figures = sweep / "outputs" / "figures"
    names = sorted(p.name for p in figures.iterdir())
    assert names == [f"confusion_{run_dir.name}.png", "learning_curves.png", "per_class_accuracy.png",
                     f"tsne_{run_dir.name}.png"]
    for path in figures.iterdir():
        assert path.read_bytes()[:8] == PNG and path.stat().st_size > 10_000


def test_inspected_features_are_the_final_model_s(sweep):
    """The rebuilt model and test set give the run's own final test accuracy."""
    run_dir = run_of(sweep, "digits-ir10-nr0-baseline-seed0-")
    features, predictions, labels = final_test_features(run_dir, sweep / "local_data", torch.device("cpu"))
    result = json.loads((run_dir / "result.json").read_text())
    assert features.shape == (360, features.shape[1]) and len(labels) == 360
    assert 100 * np.mean(predictions == labels) == pytest.approx(result["test_acc_final"], abs=1e-9)


def test_an_unfinished_run_or_one_without_its_model_is_refused_in_one_line(sweep, tmp_path, capsys):
    (tmp_path / "run").mkdir()
    assert aggregate.main([str(sweep / "outputs"), "--inspect", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.strip().endswith("is not a finished run folder (no result.json)")
    without_model = tmp_path / "copy"
    shutil.copytree(run_of(sweep, "digits-ir1-nr0-baseline-seed0-"), without_model)
    (without_model / "checkpoint.pt").unlink()
    assert aggregate.main([str(sweep / "outputs"), "--inspect", str(without_model)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith("has no checkpoint.pt (the run's final model)")


def test_a_run_with_a_half_written_metrics_file_is_left_out_of_the_figures_with_the_reason(sweep, tmp_path,
                                                                                          capsys):
    copy = tmp_path / "outputs"
    shutil.copytree(sweep / "outputs", copy, ignore=shutil.ignore_patterns("figures", ".submitit"))
    damaged = run_of(tmp_path, "digits-ir10-nr0-raa-seed1-")
    damaged.joinpath("metrics.jsonl").write_text(damaged.joinpath("metrics.jsonl").read_text()[:-20])
    assert aggregate.main([str(copy), "--figures"]) == 0
    out, err = capsys.readouterr()
    assert f"not drawn: {damaged}: metrics.jsonl: line 2 is not JSON" in err
    assert (copy / "figures" / "learning_curves.png").read_bytes()[:8] == PNG
    assert out.splitlines()[0].split()[0] == "cell"  # the table is still the whole of standard output
