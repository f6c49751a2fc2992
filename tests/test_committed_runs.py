"""Every run folder committed under bench/runs/ (the runs behind BENCHMARKS.md's generated sections) keeps its
identity under this version: the signature recomputed from its result's config is the one its run.json stored (or,
for a folder written before identities left out the settings a run does not read, the former one of the same config,
autodo.registry.former_signature), and it is the folder a launch of that config opens, so a relaunch finds it
finished and the tables count it."""

import copy
import json
from pathlib import Path

import pytest

from autodo.run_folder import RUN_JSON, RunFolder

from autodo.registry import former_signature, read_run, run_place, signature

RUNS = Path(__file__).resolve().parent.parent / "bench" / "runs"
FOLDERS = sorted(path.parent for path in RUNS.rglob(RUN_JSON) if (path.parent / "result.json").exists())


def test_there_are_committed_runs():
    assert len(FOLDERS) >= 100


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_a_committed_run_keeps_its_signature_and_name(folder):
    config = json.loads((folder / "result.json").read_text())["config"]
    stored = RunFolder(folder).stored_signature()
    assert stored in (signature(config), former_signature(config))
    assert run_place(config, folder.parent) == (folder, stored)
    read_run(RunFolder(folder))  # and it reads back as a finished run
    # the same run launched by this version: its config holds the settings added since, at their defaults
    today = copy.deepcopy(config)
    today.setdefault("nr_type", "uniform")
    today["dataset"].setdefault("flips", [[2, 7], [3, 8]])
    today["los_model"].setdefault("loss", "ce")
    assert signature(today) == signature(config)
