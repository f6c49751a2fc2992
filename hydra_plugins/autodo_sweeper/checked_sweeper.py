"""The ``checked`` sweeper: Hydra's basic sweeper (the cartesian product of the swept values), with every job
(and the launcher's own settings) checked before the first job starts and a report after the last (autodo.sweep)."""

import sys
import time
from dataclasses import dataclass
from typing import Dict, Optional

from hydra._internal.core_plugins.basic_launcher import BasicLauncher
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobStatus


@dataclass
class CheckedSweeperConf:
    _target_: str = "hydra_plugins.autodo_sweeper.checked_sweeper.CheckedSweeper"
    max_batch_size: Optional[int] = None
    params: Optional[Dict[str, str]] = None


ConfigStore.instance().store(group="hydra/sweeper", name="checked", node=CheckedSweeperConf, provider="autodo")


class CheckedSweeper(BasicSweeper):
    def sweep(self, arguments):
        from autodo import sweep
        from autodo.errors import UserError

        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        jobs = self.split_arguments(parser.parse_overrides(self._parse_config() + list(arguments)), None)[0]
        try:
            getattr(self.launcher, "check_settings", lambda: None)()  # a launcher's own settings, before any job
            jobs, notes, folders = sweep.plan_jobs(
                jobs, lambda overrides: self.hydra_context.config_loader.load_sweep_config(self.config, overrides),
                jobs_run_here=self._runs_jobs_here())
        except UserError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)
        for note in notes:
            print(note)
        returns, failures, launched = [], [], 0
        # jobs run one after the other in this process: a batch each, with the sweep's status after each (the
        # submitit launchers report their jobs while they wait for them)
        one_by_one = isinstance(self.launcher, BasicLauncher) and self.max_batch_size is None
        started = time.perf_counter()
        for batch in self.split_overrides_to_chunks(jobs, 1 if one_by_one else self.max_batch_size) if jobs else []:
            try:
                results = self.launcher.launch(batch, initial_job_idx=launched)
            except Exception as error:  # noqa: BLE001 - the launcher's own failure, said in one line
                message = sweep.submission_error(error)
                if message is not None:
                    print(f"error: {message}", file=sys.stderr)
                    sys.exit(2)
                failures.append((["(the launcher)"], error))
                break
            returns.append(results)
            launched += len(batch)
            failures += [(overrides, result._return_value) for overrides, result in zip(batch, results)
                         if result.status == JobStatus.FAILED]
            if one_by_one:
                print(sweep.status_line(launched, len(failures), 0, len(jobs), time.perf_counter() - started),
                      flush=True)
        sweep.report(self.config.hydra.sweep.dir, failures, folders)
        return returns

    def _runs_jobs_here(self):
        """Whether the jobs run on this machine (not on a cluster's nodes, whose devices may differ)."""
        return "Slurm" not in type(self.launcher).__name__
