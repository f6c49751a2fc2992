"""The sweep's figures (autodo.figures through aggregate.py --figures/--inspect)."""

import json
import sys

import numpy as np
import pytest
import torch

from conftest import REPO

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


def test_figures_of_a_sweep_and_of_chosen_runs(sweep, capsys):
    run_dir = sweep / "outputs" / "dataset.epochs=2,ir=10,method=raa,seed=1"
    assert aggregate.main([str(sweep / "outputs"), "--figures", "--inspect", str(run_dir),
                           "--data-root", str(sweep / "local_data")]) == 0
    assert "figures: " in capsys.readouterr().out
    figures = sweep / "outputs" / "figures"
    names = sorted(p.name for p in figures.iterdir())
    assert names == [f"confusion_{run_dir.name}.png", "learning_curves.png", "per_class_accuracy.png",
                     f"tsne_{run_dir.name}.png"]
    for path in figures.iterdir():
        assert path.read_bytes()[:8] == PNG and path.stat().st_size > 10_000


def test_inspected_features_are_the_final_model_s(sweep):
    """The rebuilt model and test set give the run's own final test accuracy."""
    run_dir = sweep / "outputs" / "dataset.epochs=2,ir=10,method=baseline,seed=0"
    features, predictions, labels = final_test_features(run_dir, sweep / "local_data", torch.device("cpu"))
    result = json.loads((run_dir / "result.json").read_text())
    assert features.shape == (360, features.shape[1]) and len(labels) == 360
    assert 100 * np.mean(predictions == labels) == pytest.approx(result["test_acc_final"], abs=1e-9)


def test_an_unfinished_run_is_refused(sweep, tmp_path, capsys):
    (tmp_path / "run" / ".hydra").mkdir(parents=True)
    assert aggregate.main([str(sweep / "outputs"), "--inspect", str(tmp_path / "run")]) == 2
    assert "is not a finished run folder" in capsys.readouterr().err
