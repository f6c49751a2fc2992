"""What a sweep says (autodo.sweep): sbatch's refusals as one line naming the setting, failed jobs as one line."""

import pytest

from autodo.errors import UserError
from autodo.sweep import failure_line, submission_error


@pytest.mark.parametrize("said, setting", [
    ("sbatch: error: Memory specification can not be satisfied\n"
     "sbatch: error: Batch job submission failed: Requested node configuration is not available",
     "hydra.launcher.mem_gb"),
    ("sbatch: error: invalid partition specified: gpu\nsbatch: error: Batch job submission failed: Invalid "
     "partition name specified", "hydra.launcher.partition"),
    ("sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified",
     "hydra.launcher.account"),
])
def test_sbatch_refusals_name_the_setting(said, setting):
    message = submission_error(RuntimeError(said))
    assert message.startswith("the cluster refused the sweep's jobs (") and message.endswith(f"change {setting}")
    assert "\n" not in message


def test_other_launcher_errors_are_not_submission_errors():
    assert submission_error(RuntimeError("Job (task=0) failed during processing")) is None
    assert "see conf/hydra/launcher/slurm.yaml" in submission_error(RuntimeError("sbatch: error: something new"))


def test_a_failed_job_is_one_line():
    assert failure_line(["seed=1"], ZeroDivisionError("division by zero\nmore")) == \
        "  seed=1: ZeroDivisionError: division by zero"
    assert failure_line(["seed=1"], UserError("ir=0 is bad")) == "  seed=1: ir=0 is bad"
