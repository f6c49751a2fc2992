"""How far a long phase has come, in log lines that other tools read (no carriage returns, unlike a progress bar):
the count, the time spent and the time left at the rate so far, as tqdm computes and writes them
(``tqdm.format_meter``). Imports nothing from the project."""

import logging
import time

from tqdm import tqdm

log = logging.getLogger("autodo")


def timing(done, total, elapsed_s):
    """``[00:34<01:20, 2.85s/it]``: the time ``done`` of ``total`` steps took and the time the rest will take at
    that rate."""
    return tqdm.format_meter(done, total, elapsed_s, bar_format="[{elapsed}<{remaining}, {rate_fmt}]")


class Progress:
    """A phase of ``total`` steps, ``done`` of them before this launch (resumed, or cached): ``step()`` after each
    logs ``<what> 7/50 [05:01<30:40, 43.05s/it]`` at most once per ``every_s`` seconds, and after the last (unless
    ``last=False``: a part of a step that logs its own end, such as an epoch's training pass, says only how a long
    one goes); the rate is this launch's."""

    def __init__(self, what, total, done=0, every_s=30.0, last=True):
        self.what, self.total, self.before, self.done, self.every_s = what, total, done, done, every_s
        self.last = last
        self.started = self.said = time.perf_counter()

    def step(self, detail=""):
        self.done += 1
        now = time.perf_counter()
        if (self.done < self.total or not self.last) and now - self.said < self.every_s:
            return
        self.said = now
        log.info("%s %d/%d %s%s", self.what, self.done, self.total,
                 timing(self.done - self.before, self.total - self.before, now - self.started),
                 f"  {detail}" if detail else "")
