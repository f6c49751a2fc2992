#!/usr/bin/env python
"""How long aggregate.py takes over a sweep of 10,000 run folders (target: under 10 s), measured in one run.

The folders are copies of a real run folder (a 1-epoch digits run made first), with every file a run keeps
(the checkpoint as an empty file: aggregate.py never opens it), spread over 8 methods, 4 cells and seeds, each
created as launch.py creates a run folder (autodo.run_folder), and one in 20 left unfinished. The time is that of `aggregate.py <sweep>` as a user runs it, printing included.

    python bench/aggregate_speed.py
    python bench/aggregate_speed.py --runs 1000
"""

import argparse
import itertools
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autodo.registry import find_runs, open_run  # noqa: E402

METHODS = [("NONE", "NONE", "NONE"), ("RAND", "NONE", "NONE"), ("TRIVIAL", "NONE", "NONE"), ("SHA", "NONE", "HES"),
           ("SEP", "NONE", "HES"), ("SEP", "WGHT", "HES"), ("SEP", "BOTH", "HES"), ("SEP", "BOTH", "UNROLL")]
CELLS = [(1, 0.0), (1, 0.1), (100, 0.0), (100, 0.1)]
TARGET_S = 10.0


def make_template(workdir):
    subprocess.run([sys.executable, str(REPO / "launch.py"), "dataset.epochs=1", f"out_dir={workdir}",
                    f"data_root={workdir / 'data'}"], cwd=workdir, check=True, capture_output=True)
    (template,) = find_runs([workdir])
    return template


def make_sweep(template, sweep, runs):
    kept = [template.folder.metrics, template.folder.tensorboard, template.folder.log]
    settings = itertools.product(range(runs // (len(METHODS) * len(CELLS)) + 1), METHODS, CELLS)
    for index, (seed, (aug, los, hyper), (ir, nr)) in zip(range(runs), settings):
        config = {**template.result["config"], "ir": ir, "nr": nr, "seed": seed, "aug_model": {"name": aug},
                  "los_model": {"name": los}, "hyper_opt": {"name": hyper}}
        folder = open_run(config, sweep)
        for path in kept:
            (shutil.copytree if path.is_dir() else shutil.copy)(path, folder.path / path.name)
        folder.checkpoint.touch()
        if index % 20 != 19:  # one in 20 unfinished
            folder.write_result({**template.result, "config": config})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000, help="run folders in the sweep")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        workdir = Path(workdir)
        make_sweep(make_template(workdir), workdir / "sweep", args.runs)
        start = time.perf_counter()
        said = subprocess.run([sys.executable, str(REPO / "aggregate.py"), str(workdir / "sweep")],
                              check=True, capture_output=True, text=True).stderr
        seconds = time.perf_counter() - start
    summary = next(line for line in said.splitlines() if "finished runs;" in line)
    print(f"aggregate.py over {args.runs} run folders: {seconds:.2f} s ({summary})")
    print(f"time ratio (aggregate / {TARGET_S:g} s target): {seconds / TARGET_S:.3f}")


if __name__ == "__main__":
    main()
