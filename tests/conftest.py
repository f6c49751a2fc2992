import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # Hydra finds the checked sweeper (hydra_plugins/) however pytest is started

# Under pytest -n N the N workers share the cores as torch threads, in their own processes and in every launch.py
# they start (before torch is imported: OpenMP reads it once). With every core each, OpenMP's threads of the two
# workers fought over the 2 cores: 105 s against 75 s for the DivideMix, hypergradient and ablation tests.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1 and "OMP_NUM_THREADS" not in os.environ:
    os.environ["OMP_NUM_THREADS"] = str(max(1, len(os.sched_getaffinity(0)) // _workers))


def launch(*args, cwd, timeout=600, check=True):
    """Run ``python launch.py *args`` in ``cwd``; outputs and data go under ``cwd``."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, str(REPO / "launch.py"), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"launch.py {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def run_config(**changes):
    """A plain run config (as in result.json) of a digits Baseline at 10-0.1, with dotted ``changes``
    (``**{"dataset.lr": 0.5}``)."""
    config = {"dataset": {"name": "digits", "epochs": 30, "lr": 0.05, "path": None}, "model": {"name": "small_cnn"},
              "aug_model": {"name": "NONE"}, "los_model": {"name": "NONE"}, "hyper_opt": {"name": "NONE"},
              "ir": 10, "nr": 0.1, "nr_type": "uniform", "sr": 1.0, "seed": 0, "train_on_valid": False,
              "head_refit": False,
              "device": "auto", "num_workers": 0, "data_root": "./local_data", "out_dir": "./outputs",
              "eval_batch_size": 1024}
    for key, value in changes.items():
        node = config
        *parents, leaf = key.split(".")
        for parent in parents:
            node = node[parent]
        node[leaf] = value
    return config


def subsample_config(**settings):
    """A plain run config of the subsample task on digits, with ``settings`` of ``subsample``."""
    config = run_config(task="subsample", ir=1, nr=0.0)
    config["subsample"] = {"classes": None, "augmentation": "translate", "policy": "loss", "budget": 0.1,
                           "selection": "top", "rounds": 1, "copies": 4, "evaluate": "augmented", "head": "logistic",
                           "l2": 1e-3,
                           **settings}
    config["optim"], config["amp"] = {"momentum": 0.9}, False
    return config


def al_config(**settings):
    """A plain run config of the active-learning task on digits, with ``settings`` of ``active_learning``."""
    config = run_config(task="active_learning")
    config["active_learning"] = {"acquisition": "fisher", "initial": 100, "budget": 100, "iterations": 5,
                                 "min_steps": 0, "retrain": "scratch", "init": "random", "pseudo_label": "prediction",
                                 "passes": 8, "projection": None, **settings}
    config["optim"], config["amp"] = {"momentum": 0.9}, False
    return config


def write_active_learning_run(out_dir, config, accuracies):
    """A finished active-learning run of ``config`` with one model per accuracy, 100 labels apart, as if run."""
    import json

    from autodo.registry import open_run

    folder = open_run(config, out_dir)
    rows = [{"labeled": 100 * (i + 1), "test_acc": acc, "minority_acc": acc / 2, "labeled_minority_share": 5.0}
            for i, acc in enumerate(accuracies)]
    folder.metrics.write_text("".join(json.dumps(row) + "\n" for row in rows))
    folder.write_result({"config": config, "test_acc": accuracies[-1], "labeled": 100 * len(accuracies),
                         "wall_time_s": 1.0})


def run_dirs(out_dir, finished=True):
    """The run folders under ``out_dir`` (those with a result.json, or all), sorted by name."""
    from autodo.registry import find_runs

    return sorted((found.folder.path for found in find_runs([out_dir]) if found.status == "finished" or not finished),
                  key=lambda path: path.name)


def only_run(out_dir):
    (run_dir,) = run_dirs(out_dir, finished=False)
    return run_dir


def assert_refused(proc, message, out_dir):
    """``proc`` (a finished launch) refused its input as the project does: one line naming ``message``, exit 2,
    nothing written under ``out_dir``."""
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
    assert not out_dir.exists()


@pytest.fixture
def run_launch(tmp_path):
    def run(*args, **kwargs):
        return launch(*args, cwd=tmp_path, **kwargs)

    return run
