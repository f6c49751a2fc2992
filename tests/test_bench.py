"""The benchmarks run (on digits, briefly): they print their ratio line. Their figures are not asserted."""

import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.parametrize("script, args, line", [
    ("train_throughput.py", ["dataset=digits"], "throughput ratio (autodo / bare):"),
    ("hyper_cost.py", ["dataset=digits", "dataset.epochs=2", "dataset.hyper_start_epoch=1"],
     "wall-time ratio HES / NONE:"),
])
def test_benchmark_prints_its_ratio(tmp_path, script, args, line):
    proc = subprocess.run([sys.executable, str(REPO / "bench" / script), *args, f"data_root={tmp_path}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert line in proc.stdout


def test_aggregation_benchmark_prints_its_ratio(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "aggregate_speed.py"), "--runs", "200"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "(190 finished runs; 10 unfinished, failed or corrupt run folders skipped)" in proc.stdout
    assert "time ratio (aggregate / 10 s target):" in proc.stdout
