"""Every task's live log (autodo.run_log), read back: TensorBoard's with its own event reader (grouped tags, the run's
settings as hparams, each step's training loss), MLflow's with MlflowClient and W&B's offline files with W&B's record
format, all offline."""

import json
import struct
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import run_dirs
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from autodo.run_log import tag


def read_log(run_dir):
    events = EventAccumulator(str(run_dir / "tb"), size_guidance={"scalars": 0})
    events.Reload()
    return events


def logged_hparams(events):
    """The run's hparams (the session start's values) and the metric tags the HPARAMS tab shows."""
    values, metrics = {}, []
    for content in events.PluginTagToContent("hparams").values():
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
        if data.HasField("session_start_info"):
            values = {key: value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind"))
                      for key, value in data.session_start_info.hparams.items()}
        if data.HasField("experiment"):
            metrics = [info.name.tag for info in data.experiment.metric_infos]
    return values, metrics


@pytest.mark.parametrize("key, expected", [
    ("test_acc", "test/acc"), ("valid_loss", "valid/loss"), ("train_acc_wrong_labels", "train/acc_wrong_labels"),
    ("hyper_steps", "hyper/steps"), ("hypergrad_norm", "hyper/grad_norm"),
    ("weight_minority", "lambda/weight_minority"),
    ("aug_rotate_p", "lambda/aug_rotate_p"), ("soft_broken", "lambda/soft_broken"), ("epoch_time_s", "time/epoch_s"),
    ("hyper_time_s", "time/hyper_s"), ("lr", "train/lr"), ("minority_acc", "test/minority_acc"),
])
def test_tags_are_grouped_by_what_they_measure(key, expected):
    assert tag(key) == expected


def test_a_training_run_logs_grouped_epochs_each_step_s_loss_and_its_settings(run_launch, tmp_path):
    run_launch("method=autodo", "dataset.epochs=3", "ir=10", "nr=0.1")
    (run_dir,) = run_dirs(tmp_path / "outputs")
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    events = read_log(run_dir)
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "valid/acc", "test/acc", "test/minority_acc", "test/majority_acc", "hyper/steps",
            "lambda/weight_minority", "time/epoch_s", "test/per_class_acc/9"} <= tags
    assert not [t for t in tags if "/" not in t]  # nothing flat
    # each epoch at the training step it ended at, with metrics.jsonl's numbers
    steps_per_epoch = events.Scalars("train/step_loss")[-1].step // 3
    test_acc = events.Scalars("test/acc")
    assert [e.step for e in test_acc] == [steps_per_epoch * k for k in (1, 2, 3)]
    assert [e.value for e in test_acc] == pytest.approx([row["test_acc"] for row in rows])
    assert [e.value for e in events.Scalars("hyper/steps")] == [row["hyper_steps"] for row in rows[1:]]
    # every step's loss: their mean over an epoch is about the epoch's (weighted by batch size) mean loss
    losses = events.Scalars("train/step_loss")
    assert [e.step for e in losses] == list(range(1, 3 * steps_per_epoch + 1))
    first = [e.value for e in losses[:steps_per_epoch]]
    assert sum(first) / len(first) == pytest.approx(rows[0]["train_loss"], rel=0.05)
    values, metrics = logged_hparams(events)
    assert values["dataset.name"] == "digits" and values["ir"] == 10 and values["los_model.name"] == "BOTH"
    assert "out_dir" not in values and {"test/acc", "valid/acc"} <= set(metrics)


def test_a_resumed_run_logs_each_epoch_once_at_its_step(tmp_path):
    """Killed after an epoch's checkpoint, relaunched: TensorBoard reads every epoch once, with metrics.jsonl's
    numbers (what the killed launch logged after its checkpoint hidden, nothing of the checkpoint's own lost)."""
    import signal
    import subprocess
    import sys
    import time

    from conftest import REPO

    args = [sys.executable, str(REPO / "launch.py"), "dataset.epochs=6"]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics = None
    while proc.poll() is None and not (metrics and metrics.exists() and metrics.read_text().count("\n") >= 2):
        metrics = next((tmp_path / "outputs").glob("*/metrics.jsonl"), None) if (tmp_path / "outputs").exists() \
            else None
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    subprocess.run(args, cwd=tmp_path, check=True, capture_output=True)
    (run_dir,) = run_dirs(tmp_path / "outputs")
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    events = read_log(run_dir)
    test_acc = events.Scalars("test/acc")
    steps_per_epoch = test_acc[0].step
    assert [e.step for e in test_acc] == [steps_per_epoch * k for k in range(1, 7)]
    assert [e.value for e in test_acc] == pytest.approx([row["test_acc"] for row in rows])
    assert [e.step for e in events.Scalars("train/step_loss")] == list(range(1, 6 * steps_per_epoch + 1))


def test_the_other_tasks_log_too(run_launch, tmp_path):
    run_launch("task=active_learning", "dataset=digits", "dataset.epochs=2", "ir=10", "nr=0.1",
               "active_learning.initial=40", "active_learning.budget=30", "active_learning.iterations=2",
               "active_learning.min_steps=0", "out_dir=al")
    (al,) = run_dirs(tmp_path / "al")
    events = read_log(al)
    assert [e.step for e in events.Scalars("test/acc")] == [40, 70, 100]
    assert "test/minority_acc" in events.Tags()["scalars"]
    assert logged_hparams(events)[0]["active_learning.budget"] == 30

    run_launch("task=subsample", "dataset=digits", "dataset.epochs=2", "subsample.classes=[1,7]", "out_dir=sub")
    (sub,) = run_dirs(tmp_path / "sub")
    result = json.loads((sub / "result.json").read_text())
    events = read_log(sub)
    assert events.Scalars("test/acc")[-1].value == pytest.approx(result["test_acc"])
    assert logged_hparams(events)[0]["subsample.policy"] == result["config"]["subsample"]["policy"]


# ============ the optional loggers: MLflow's file store and W&B offline ============

def wandb_records(out_dir):
    """Every record of the W&B offline runs under ``out_dir``, as ``(kind, record)``: W&B writes them in LevelDB's
    log format (32 KiB blocks of chunks, each with a 7-byte header), after a 7-byte file header."""
    from wandb.proto import wandb_internal_pb2

    for path in sorted(Path(out_dir).glob("wandb/offline-run-*/run-*.wandb")):
        data, pos, pending = path.read_bytes(), 7, b""
        while pos + 7 <= len(data):
            if 32768 - pos % 32768 < 7:  # a block's tail too short for a header is padding
                pos += 32768 - pos % 32768
                continue
            _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
            chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
            if kind == 0:
                break
            pending = chunk if kind in (1, 2) else pending + chunk
            if kind in (1, 4):  # a whole record, or the last chunk of one
                record = wandb_internal_pb2.Record.FromString(pending)
                yield record.WhichOneof("record_type"), record


def wandb_history(out_dir):
    """``{step: {tag: value}}`` of everything the W&B runs under ``out_dir`` logged, and their config."""
    history, config = {}, {}
    for kind, record in wandb_records(out_dir):
        if kind == "history":
            items = {"/".join(i.nested_key) or i.key: json.loads(i.value_json) for i in record.history.item}
            history.setdefault(items["_step"], {}).update({k: v for k, v in items.items() if not k.startswith("_")})
        elif kind == "run":
            config.update({i.key: json.loads(i.value_json) for i in record.run.config.update if i.key != "_wandb"})
    return history, config


def test_a_run_logs_to_mlflow_s_file_store(run_launch, tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # as autodo.run_log does, to read the store here
    run_launch("method=autodo", "dataset.epochs=3", "ir=10", "nr=0.1", "logger=mlflow")
    (run_dir,) = run_dirs(tmp_path / "outputs")
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    client = MlflowClient((tmp_path / "outputs" / "mlruns").as_uri())
    (run,) = client.search_runs([client.get_experiment_by_name("autodo").experiment_id])
    assert run.info.run_name == run_dir.name and run.info.status == "FINISHED"
    assert run.data.tags["autodo.signature"] == json.loads((run_dir / "run.json").read_text())["signature"]
    assert run.data.params["dataset.name"] == "digits" and run.data.params["los_model.name"] == "BOTH"
    history = client.get_metric_history(run.info.run_id, "test/acc")
    assert [m.value for m in history] == pytest.approx([row["test_acc"] for row in rows])
    assert client.get_metric_history(run.info.run_id, "hyper/steps")[0].value == rows[1]["hyper_steps"]
    assert len(client.get_metric_history(run.info.run_id, "train/step_loss")) == history[-1].step


def test_a_run_logs_to_wandb_offline(run_launch, tmp_path):
    run_launch("task=active_learning", "dataset=digits", "dataset.epochs=2", "ir=10", "nr=0.1",
               "active_learning.initial=40", "active_learning.budget=30", "active_learning.iterations=2",
               "active_learning.min_steps=0", "logger=wandb")
    (run_dir,) = run_dirs(tmp_path / "outputs")
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    history, config = wandb_history(tmp_path / "outputs")
    assert sorted(history) == [40, 70, 100]
    assert [history[step]["test/acc"] for step in (40, 70, 100)] == pytest.approx([r["test_acc"] for r in rows])
    assert config["active_learning.budget"] == 30 and config["dataset.name"] == "digits"


@pytest.mark.parametrize("name", ["mlflow", "wandb"])
def test_a_resumed_run_goes_on_in_the_same_logger_run(tmp_path, name, monkeypatch):
    """Two launches of one run (the second a resume): one MLflow run, or one W&B run id, with both launches'
    numbers."""
    from autodo.run_log import RunLog

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # set by the first launch in its process
    signature = "ab" * 32
    folder = SimpleNamespace(path=tmp_path / "outputs" / "digits-run", tensorboard=tmp_path / "outputs" / "tb",
                             stored_signature=lambda: signature)
    logger = SimpleNamespace(name=name, tracking_uri=None, experiment="autodo", mode="offline", project="autodo",
                             entity=None)
    for step in (1, 2):
        with RunLog(folder, {"seed": 0}, purge_step=step, logger=logger) as log:
            log.add_row({"test_acc": 10.0 * step}, step)
    if name == "mlflow":
        from mlflow.tracking import MlflowClient

        client = MlflowClient((tmp_path / "outputs" / "mlruns").as_uri())
        (run,) = client.search_runs([client.get_experiment_by_name("autodo").experiment_id])
        assert [m.value for m in client.get_metric_history(run.info.run_id, "test/acc")] == [10.0, 20.0]
    else:
        ids = {record.run.run_id for kind, record in wandb_records(tmp_path / "outputs") if kind == "run"}
        assert ids == {signature[:32]}
        assert wandb_history(tmp_path / "outputs")[0] == {1: {"test/acc": 10.0}, 2: {"test/acc": 20.0}}


def test_a_logger_without_its_package_is_one_line(monkeypatch):
    import importlib.util

    from hydra import compose, initialize_config_dir

    from autodo.config import validate_config
    from autodo.errors import UserError
    from conftest import REPO

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["logger=wandb"])
    with pytest.raises(UserError, match=r"logger=wandb is not allowed here: the wandb package is not installed "
                                        r"\(pip install wandb\)"):
        validate_config(cfg)
