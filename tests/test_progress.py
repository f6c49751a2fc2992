"""Progress lines of the long phases (autodo.progress): the count, the time spent and the time left at this launch's
rate, as log lines (no carriage returns), at most one per interval and always after the last step."""

import logging

from autodo import progress as progress_module
from autodo.progress import Progress, timing


def test_the_time_left_is_the_rest_at_the_rate_so_far():
    assert timing(10, 40, 20.0) == "[00:20<01:00,  2.00s/it]"
    assert timing(4, 12, 16.0) == "[00:16<00:32,  4.00s/it]"


def test_each_step_is_a_line_with_the_time_left_and_a_resumed_phase_counts_from_where_it_was(caplog, monkeypatch):
    clock = iter([0.0, 10.0, 20.0])  # started, then after each step
    monkeypatch.setattr(progress_module.time, "perf_counter", lambda: next(clock))
    with caplog.at_level(logging.INFO, logger="autodo"):
        phase = Progress("folds done", 5, done=3, every_s=0)  # 3 folds cached by an earlier launch
        phase.step("fold 4")
        phase.step()
    assert [record.getMessage() for record in caplog.records] == [
        "folds done 4/5 [00:10<00:10, 10.00s/it]  fold 4", "folds done 5/5 [00:20<00:00, 10.00s/it]"]
    assert all("\r" not in record.getMessage() for record in caplog.records)


def test_lines_come_at_most_once_an_interval_and_after_the_last_step(caplog, monkeypatch):
    times = iter([0.0, 1.0, 2.0, 31.0, 32.0, 33.0])
    monkeypatch.setattr(progress_module.time, "perf_counter", lambda: next(times))
    with caplog.at_level(logging.INFO, logger="autodo"):
        phase = Progress("epoch", 5, every_s=30)
        for _ in range(5):
            phase.step()
    assert [record.getMessage().split(" [")[0] for record in caplog.records] == ["epoch 3/5", "epoch 5/5"]


def test_a_part_of_a_step_says_only_how_a_long_one_goes(caplog, monkeypatch):
    """``last=False`` (an epoch's training pass, a hyper pass: the epoch's line says their end): a short part logs
    nothing, a long one a line per interval."""
    times = iter([0.0, 1.0, 2.0, 0.0, 31.0, 62.0])
    monkeypatch.setattr(progress_module.time, "perf_counter", lambda: next(times))
    with caplog.at_level(logging.INFO, logger="autodo"):
        short = Progress("epoch 1/2: steps", 2, last=False)
        short.step(), short.step()
        long = Progress("epoch 2/2: steps", 2, last=False)
        long.step(), long.step()
    assert [record.getMessage().split(" [")[0] for record in caplog.records] == ["epoch 2/2: steps 1/2",
                                                                               "epoch 2/2: steps 2/2"]
