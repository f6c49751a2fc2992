import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


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


def run_dirs(out_dir, finished=True):
    """The run folders under ``out_dir`` (those with a result.json, or all), sorted by name."""
    from autodo.run_folder import find_runs

    return sorted((found.folder.path for found in find_runs([out_dir]) if found.status == "finished" or not finished),
                  key=lambda path: path.name)


def only_run(out_dir):
    (run_dir,) = run_dirs(out_dir, finished=False)
    return run_dir


@pytest.fixture
def run_launch(tmp_path):
    def run(*args, **kwargs):
        return launch(*args, cwd=tmp_path, **kwargs)

    return run
