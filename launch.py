#!/usr/bin/env python
"""Run one experiment, or a sweep with -m:

    python launch.py dataset=fashion_mnist ir=100 nr=0.1 seed=3
    python launch.py -m dataset=digits ir=1,10 nr=0.0,0.1 seed=0,1,2,3
    python launch.py --help        # config groups and their options
"""

import shutil
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import to_absolute_path

from autodo.config import check_overrides, register_resolvers
from autodo.errors import UserError

CONF_DIR = Path(__file__).resolve().parent / "conf"


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def remove_fresh_run_dir(run_dir):
    """Remove what Hydra wrote into a run folder that holds nothing else, so that bad input leaves no trace."""
    run_dir = Path(run_dir)
    shutil.rmtree(run_dir / ".hydra", ignore_errors=True)
    for log_file in run_dir.glob("*.log"):
        log_file.unlink()
    if run_dir.is_dir() and not any(run_dir.iterdir()):
        run_dir.rmdir()


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg):
    from autodo.experiment import run_experiment

    run_dir = HydraConfig.get().runtime.output_dir
    try:
        result = run_experiment(cfg, run_dir, to_absolute_path(cfg.data_root))
    except UserError as error:
        remove_fresh_run_dir(run_dir)
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise  # Hydra reports the failed job; the sweep's other jobs still run
        fail(error)
    print(f"run folder: {run_dir}")
    print(f"test accuracy: final {result['test_acc_final']:.2f}%, best {result['test_acc_best']:.2f}%, "
          f"at best validation {result['test_acc_at_best_valid']:.2f}%  "
          f"(majority {result['majority_acc']:.2f}%, minority {result['minority_acc']:.2f}%)")
    return result


if __name__ == "__main__":
    register_resolvers()
    try:
        check_overrides(sys.argv[1:], CONF_DIR)
    except UserError as error:
        fail(error)
    main()
