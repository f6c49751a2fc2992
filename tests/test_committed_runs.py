"""Every run folder committed under bench/runs/ (the runs behind BENCHMARKS.md's generated sections) keeps its
identity under this version: the signature recomputed from its result's config is the one its run.json stored, and
its name is the one a launch of that config would give it, so a relaunch finds it finished and the tables count it."""

import json
from pathlib import Path

import pytest

from autodo.run_folder import RUN_JSON, RunFolder

from autodo.registry import read_run, run_name, signature

RUNS = Path(__file__).resolve().parent.parent / "bench" / "runs"
FOLDERS = sorted(path.parent for path in RUNS.rglob(RUN_JSON) if (path.parent / "result.json").exists())


def test_there_are_committed_runs():
    assert len(FOLDERS) >= 100


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_a_committed_run_keeps_its_signature_and_name(folder):
    config = json.loads((folder / "result.json").read_text())["config"]
    assert signature(config) == RunFolder(folder).stored_signature()
    assert run_name(config) == folder.name
    read_run(RunFolder(folder))  # and it reads back as a finished run
