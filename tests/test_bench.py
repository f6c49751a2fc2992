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
