#!/usr/bin/env python
"""Run one experiment, or a sweep with -m:

    python launch.py dataset=fashion_mnist ir=100 nr=0.1 seed=3
    python launch.py -m dataset=digits ir=1,10 nr=0.0,0.1 seed=0,1,2,3
    python launch.py --help        # config groups and their options
"""

import logging
import sys
import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import to_absolute_path
from omegaconf import OmegaConf

from autodo.config import check_overrides, validate_config, with_table_signature
from autodo.errors import UserError, one_line
from autodo.registry import check_task, read_run, run_task, summary_line

CONF_DIR = Path(__file__).resolve().parent / "conf"
log = logging.getLogger("autodo")


class Interrupted(Exception):
    """Ctrl-C while a run trained in ``folder``: what to say of it in one line."""

    def __init__(self, folder):
        from autodo.run_folder import DamagedRun

        try:
            done = len(folder.read_metrics()) if folder.checkpoint.exists() else 0
        except DamagedRun:
            done = 0
        kept = f"the checkpoint of its first {done} epochs or iterations is kept" if done else "nothing was kept"
        super().__init__(f"interrupted: {folder.path}: {kept}; relaunch the same command to resume")


def fail(message, status=2):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(status)


def run(cfg):
    """Check ``cfg``, then run its task in its run folder (nothing is run if the run is finished); return the
    folder, the run's result and whether it was finished before."""
    from autodo.provenance import provenance_text
    from autodo.run_folder import DamagedRun, log_to, stop_logging
    from autodo.registry import open_run, settings_text

    validate_config(cfg)  # before anything is written
    check_task(cfg, to_absolute_path(cfg.data_root))
    with_table_signature(cfg)
    config = OmegaConf.to_container(cfg, resolve=True)
    folder = open_run(config, to_absolute_path(cfg.out_dir), launched_as=HydraConfig.get().overrides.task)
    if not folder.finished():
        with folder.claimed():
            if not folder.finished():  # again, under the lock: another launch may have finished it meanwhile
                handler = log_to(folder)
                log.info("run folder %s", folder.path)
                log.info("code: %s", provenance_text())
                log.info("config: %s", settings_text(config))
                try:
                    return folder, run_task(cfg, folder, to_absolute_path(cfg.data_root)), False
                except KeyboardInterrupt:
                    folder.discard()
                    raise Interrupted(folder) from None
                except BaseException:
                    folder.discard()
                    raise
                finally:
                    stop_logging(handler)
    try:
        return folder, read_run(folder), True
    except DamagedRun as error:
        raise UserError(f"run folder {folder.path} is damaged: {error}; move it away to run it again") from None


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg):
    hydra_cfg = HydraConfig.get()
    try:
        folder, result, finished = run(cfg)
    except (Interrupted, KeyboardInterrupt) as error:
        if hydra_cfg.mode == RunMode.MULTIRUN:
            raise
        fail(str(error) or "interrupted before the run began", status=130)
    except Exception as error:
        if hydra_cfg.verbose and not isinstance(error, UserError):
            traceback.print_exc()
        if hydra_cfg.mode == RunMode.MULTIRUN:
            raise  # the sweep lists it at the end; its other jobs still run
        if isinstance(error, UserError):
            fail(error)
        fail(f"{one_line(error)} (hydra.verbose=true shows the traceback)", status=1)
    print(f"run folder: {folder.path}" + (" (finished already: nothing run)" if finished else ""))
    print(summary_line(result["config"], result))
    return result


if __name__ == "__main__":
    if not {"-sc", "--shell-completion"} & set(sys.argv[1:]):  # Hydra's tab completion passes its own words
        try:
            check_overrides(sys.argv[1:], CONF_DIR)
        except UserError as error:
            fail(error)
    main()
