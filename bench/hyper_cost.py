#!/usr/bin/env python
"""Wall time of a full AutoDO run (SEP + BOTH + HES) over a Baseline run (NONE) at the same epochs, measured in
one invocation of this script, one run after the other.

The default measures in the method's proportions, the reference's: hyper passes from a quarter of the epochs on
(50 of 200 there), in 8 epochs (6 with a hyper pass), so that it finishes in a few minutes on two CPU cores. It
also reports the hyper pass against a training epoch of the same run (training and evaluation, without the
pass). Any launch.py override can be added.

    python bench/hyper_cost.py
    python bench/hyper_cost.py dataset.epochs=40                 # the reproduction's budget on Fashion-MNIST
    python bench/hyper_cost.py hyper_opt.pass_fraction=0.5
"""

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autodo.registry import find_runs  # noqa: E402

DATASET = "fashion_mnist" if Path("/usr/share/datasets/fashion-mnist").is_dir() else "digits"
COMMON = ["ir=100", "nr=0.1", "dataset.epochs=8", "dataset.hyper_start=0.25"]
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
    times = {}
    for method in METHODS:
        with tempfile.TemporaryDirectory() as out_dir:
            times[method], rows = run(method, overrides, out_dir)
    hyper_rows = [row for row in rows if "hyper_time_s" in row]
    hyper_s = sum(row["hyper_time_s"] for row in hyper_rows)
    epoch_s = sum(row["epoch_time_s"] - row["hyper_time_s"] for row in hyper_rows)  # training and evaluation
    print(f"{' '.join(COMMON + overrides)} (default dataset {DATASET})")
    print(f"NONE: {times['NONE']:.1f} s   HES (SEP+BOTH): {times['HES']:.1f} s   "
          f"({len(hyper_rows)} of {len(rows)} epochs with a hyper pass)")
    print(f"hyper pass: {100 * hyper_s / (hyper_s + epoch_s):.0f}% of an epoch that has one; "
          f"{hyper_s / epoch_s:.2f} x the training epoch beside it")
    print(f"wall-time ratio HES / NONE: {times['HES'] / times['NONE']:.2f}   (target <= 1.5)")


if __name__ == "__main__":
    main(sys.argv[1:])
