#!/usr/bin/env python
"""Wall time of a full AutoDO run (SEP + BOTH + HES) over a Baseline run (NONE) at the same epochs, measured in
one invocation of this script, one run after the other.

The default runs 6 epochs, with hyper steps in the data set's share of them (Fashion-MNIST: from a third on, 4 of
6), so that it finishes in a few minutes on two CPU cores; any launch.py override can be added.

    python bench/hyper_cost.py
    python bench/hyper_cost.py dataset.epochs=15
    python bench/hyper_cost.py hyper_opt.pass_fraction=0.5
"""

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autodo.run_folder import find_runs  # noqa: E402

DATASET = "fashion_mnist" if Path("/usr/share/datasets/fashion-mnist").is_dir() else "digits"
COMMON = ["ir=100", "nr=0.1", "dataset.epochs=6"]
METHODS = {"NONE": ["aug_model=NONE"], "HES": ["aug_model=SEP", "los_model=BOTH", "hyper_opt=HES"]}


def run(method, overrides, out_dir):
    if method == "NONE":  # hyper_opt settings (hyper_opt.pass_fraction=0.5) are the HES run's
        overrides = [o for o in overrides if not o.startswith("hyper_opt.")]
    dataset = [] if any(o.startswith("dataset=") for o in overrides) else [f"dataset={DATASET}"]
    args = [*dataset, *COMMON, *METHODS[method], *overrides, f"out_dir={out_dir}"]
    subprocess.run([sys.executable, str(REPO / "launch.py"), *args], check=True, capture_output=True)
    (run,) = find_runs([out_dir])
    return run.result["wall_time_s"], run.folder.read_metrics()


def main(overrides):
    times, hyper_share = {}, []
    for method in METHODS:
        with tempfile.TemporaryDirectory() as out_dir:
            times[method], rows = run(method, overrides, out_dir)
        hyper_share += [row["hyper_time_s"] / row["epoch_time_s"] for row in rows if "hyper_time_s" in row]
    print(f"{' '.join(COMMON + overrides)} (default dataset {DATASET})")
    print(f"NONE: {times['NONE']:.1f} s   HES (SEP+BOTH): {times['HES']:.1f} s")
    print(f"hyper pass: {100 * sum(hyper_share) / len(hyper_share):.0f}% of an epoch that has one")
    print(f"wall-time ratio HES / NONE: {times['HES'] / times['NONE']:.2f}   (target <= 1.5)")


if __name__ == "__main__":
    main(sys.argv[1:])
