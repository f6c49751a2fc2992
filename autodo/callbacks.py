"""Hydra callbacks: the table of a sweep's results, printed when the sweep ends."""

from hydra.experimental.callback import Callback

from autodo.results import load_runs, summary_table


class PrintSweepTable(Callback):
    """After a multirun, print mean ± std test error over seeds of the runs under the sweep folder."""

    def on_multirun_end(self, config, **kwargs):
        runs, skipped = load_runs([config.hydra.sweep.dir])
        print(f"\n{len(runs)} finished runs under {config.hydra.sweep.dir} ({skipped} unfinished or failed); "
              "test error (%), final epoch, mean ± std over seeds (seeds):")
        if len(runs):
            print(summary_table(runs).to_string())
