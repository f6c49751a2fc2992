"""A run's live log, for watching and comparing runs (metrics.jsonl stays the record every table is made from):

- TensorBoard, always, in the run folder's ``tb/`` (``tensorboard --logdir <out_dir>`` shows a sweep): numbers
  grouped by what they measure (``train/``, ``valid/``, ``test/``, ``hyper/``, ``lambda/``, ``time/``), and the
  run's settings as hparams, so that the HPARAMS tab sets a sweep's runs side by side;
- and, where ``logger=`` asks, the same numbers and settings in MLflow (``logger=mlflow``: a file store under
  ``<out_dir>/mlruns`` by default, no server) or Weights & Biases (``logger=wandb``: offline by default, files under
  ``<out_dir>/wandb`` for ``wandb sync``). Their run is found again by the run's signature, so that a resumed run
  goes on in the same MLflow or W&B run.
"""

import numbers
import os
import time
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams

# what lambda learned (autodo.metrics.hyper_diagnostics): loss weights, soft labels, augmentation
LAMBDA_PREFIXES = ("weight_", "soft_", "aug_")
GROUPS = ("train", "valid", "test", "hyper")
# the numbers the HPARAMS tab shows beside each run's settings: the last value logged under these tags
HPARAM_METRICS = ("test/acc", "valid/acc", "test/minority_acc", "train/loss")
SIGNATURE_TAG = "autodo.signature"  # the MLflow tag that finds a run's MLflow run again
MLFLOW_BATCH = 1000  # the most metrics MLflow takes in one log_batch


def tag(key):
    """The grouped tag of a metrics.jsonl key: ``test_acc`` -> ``test/acc``, ``weight_minority`` ->
    ``lambda/weight_minority``, ``epoch_time_s`` -> ``time/epoch_s``, ``lr`` -> ``train/lr``."""
    if key.startswith(LAMBDA_PREFIXES):
        return f"lambda/{key}"
    if key.endswith("_time_s"):
        return f"time/{key[:-len('_time_s')]}_s"
    if key == "hypergrad_norm":
        return "hyper/grad_norm"
    if key in ("majority_acc", "minority_acc"):  # of the test set, as every task reports them
        return f"test/{key}"
    group, _, name = key.partition("_")
    return f"{group}/{name}" if group in GROUPS and name else f"train/{key}"


def scalars(row, leave_out=("epoch",)):
    """The numbers of a metrics row under their tags; a list of per-class numbers (``test_per_class_acc``) as one
    tag per class (``test/per_class_acc/3``)."""
    found = {}
    for key, value in row.items():
        if key in leave_out or isinstance(value, bool):
            continue
        if isinstance(value, numbers.Number):
            found[tag(key)] = value
        elif isinstance(value, list) and all(isinstance(v, numbers.Number) for v in value):
            found.update({f"{tag(key)}/{index}": item for index, item in enumerate(value)})
    return found


def _plain(settings):
    """Settings as the loggers take them: numbers, text and booleans as they are, anything else as text."""
    return {key: value if isinstance(value, (bool, numbers.Number, str)) else str(value)
            for key, value in settings.items()}


class RunLog:
    """The run's TensorBoard writer and, where asked for, its MLflow or W&B run: each call logs to all of them."""

    def __init__(self, folder, settings, purge_step=None, logger=None):
        """``folder``: the run folder (autodo.run_folder.RunFolder); ``settings``: the run's identity, flat
        (``dataset.lr`` -> 0.05); ``purge_step``: the first step a resumed run logs again (TensorBoard hides what a
        killed launch logged from there on); ``logger``: the ``logger`` config (None: TensorBoard alone)."""
        self.writer = SummaryWriter(str(folder.tensorboard), purge_step=purge_step)
        experiment, session_start, _ = hparams(_plain(settings), dict.fromkeys(HPARAM_METRICS, 0.0))
        self.writer.file_writer.add_summary(experiment)
        self.writer.file_writer.add_summary(session_start)
        self.other = None
        if logger is not None:
            kind = {"mlflow": MLflowRun, "wandb": WandbRun}[logger.name]
            self.other = kind(logger, _plain(settings), folder.path.name, folder.stored_signature(),
                              folder.path.parent)

    def add_row(self, row, step, leave_out=("epoch",)):
        """The numbers of a metrics row (``scalars``) at ``step``."""
        self.add_steps([(scalars(row, leave_out), step)])

    def add_series(self, name, values, first_step):
        """``values`` of one tag at ``first_step`` and the steps after it (an epoch's training losses)."""
        self.add_steps([({name: value}, step) for step, value in enumerate(values, start=first_step)])

    def add_steps(self, points):
        """``(tagged numbers, step)`` pairs, to each log at once (MLflow in one batch)."""
        for tagged, step in points:
            for name, value in tagged.items():
                self.writer.add_scalar(name, value, step)
        if self.other is not None:
            self.other.log(points)

    def __enter__(self):
        return self

    def __exit__(self, *error):
        self.writer.close()
        if self.other is not None:
            self.other.close(failed=error[0] is not None)


class MLflowRun:
    """The run's MLflow run (through MlflowClient, so that no global active run is left behind): its settings as
    params, its numbers as metrics, tagged with the run's signature to be found again on resume."""

    def __init__(self, logger, settings, name, signature, out_dir):
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        uri = logger.tracking_uri or (Path(out_dir) / "mlruns").absolute().as_uri()
        if uri.startswith("file:"):  # MLflow 3 keeps its file store working behind this switch (no server needed)
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client = MlflowClient(uri)
        experiment = self.client.get_experiment_by_name(logger.experiment)
        experiment_id = (experiment.experiment_id if experiment is not None
                         else self.client.create_experiment(logger.experiment))
        found = self.client.search_runs([experiment_id], f"tags.`{SIGNATURE_TAG}` = '{signature}'", max_results=1)
        if found:
            self.run_id = found[0].info.run_id
            self.client.update_run(self.run_id, status="RUNNING")
        else:
            self.run_id = self.client.create_run(experiment_id, run_name=name,
                                                 tags={SIGNATURE_TAG: signature}).info.run_id
            self.client.log_batch(self.run_id, params=[Param(key, str(value)) for key, value in settings.items()])

    def log(self, points):
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(name, float(value), now, step) for tagged, step in points for name, value in tagged.items()]
        for start in range(0, len(metrics), MLFLOW_BATCH):
            self.client.log_batch(self.run_id, metrics=metrics[start:start + MLFLOW_BATCH])

    def close(self, failed):
        self.client.set_terminated(self.run_id, status="FAILED" if failed else "FINISHED")


class WandbRun:
    """The run's W&B run (offline by default): its settings as the W&B config, its numbers logged at their step; its
    id is the run's signature, so a resumed run goes on in it."""

    def __init__(self, logger, settings, name, signature, out_dir):
        import wandb

        os.environ.setdefault("WANDB_SILENT", "true")  # the run's own log says what happens; W&B's banner, nothing
        self.run = wandb.init(mode=logger.mode, project=logger.project, entity=logger.entity, dir=str(out_dir),
                              name=name, id=signature[:32], resume="allow", config=settings)

    def log(self, points):
        for tagged, step in points:
            self.run.log(dict(tagged), step=step)

    def close(self, failed):
        self.run.finish(exit_code=1 if failed else 0)
