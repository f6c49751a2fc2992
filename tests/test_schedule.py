import math

import pytest
import torch

from autodo.schedule import WarmupCosine, co_divide_schedule


def test_cosine_after_warmup_matches_the_formula():
    schedule = WarmupCosine(total_steps=100, warmup_steps=10, min_factor=1e-3)
    for step in (10, 37, 99, 100):
        expected = 1e-3 + (1 - 1e-3) * (1 + math.cos(math.pi * step / 100)) / 2
        assert schedule(step) == pytest.approx(expected)


def test_warmup_rises_linearly_from_a_tenth_to_the_cosine():
    schedule = WarmupCosine(total_steps=100, warmup_steps=10, min_factor=1e-3)
    assert schedule(0) == pytest.approx(0.1)
    assert schedule(5) == pytest.approx((0.1 + schedule.cosine(10)) / 2)
    assert schedule(9) < schedule(10)


def test_no_warmup():
    assert WarmupCosine(total_steps=10, warmup_steps=0, min_factor=0.0)(0) == 1.0


def test_drives_the_optimiser_per_step():
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.5)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupCosine(20, 4, 0.01))
    lrs = []
    for _ in range(20):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[0] == pytest.approx(0.05) and max(lrs) == lrs[4] and lrs[-1] < 0.01


def test_dividemix_warms_up_for_its_share_of_the_epochs_and_divides_at_least_once():
    assert [co_divide_schedule(0.1, epochs) for epochs in (40, 15, 8, 2, 1)] == [4, 2, 1, 1, 1]
    assert co_divide_schedule(0.9, 10) == 9 and co_divide_schedule(0.99, 10) == 9  # one divided epoch is left
