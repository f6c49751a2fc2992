"""The run folder (autodo.run_folder): a run's identity, its creation, and reading damaged folders without a crash."""

import json
import math

import pytest
from conftest import run_config

from autodo.errors import UserError
from autodo.run_folder import DamagedRun, RunFolder
from autodo.registry import find_runs, identity, open_run, run_name, signature


config = run_config


def test_a_run_is_what_it_computes():
    reference = signature(config())
    # spelled otherwise, or run elsewhere, faster or on another device: the same run
    for same in (config(ir=10.0), config(sr=1), config(device="cuda", num_workers=4, eval_batch_size=7),
                 config(data_root="/data", out_dir="/results", **{"dataset.path": "/x"})):
        assert signature(same) == reference
    # anything that changes what it computes: another run
    for other in (config(ir=100), config(nr=0.2), config(seed=1), config(**{"dataset.epochs": 3}),
                  config(**{"aug_model.name": "RAND"}), config(train_on_valid=True)):
        assert signature(other) != reference
    assert "device" not in identity(config()) and "path" not in identity(config())["dataset"]


def test_folder_names_read_as_the_run_and_end_with_the_signature():
    assert run_name(config()) == f"digits-ir10-nr0.1-baseline-seed0-{signature(config())[:8]}"
    sep = config(sr=0.5, seed=3, **{"aug_model.name": "SEP", "los_model.name": "BOTH", "hyper_opt.name": "HES"})
    assert run_name(sep).startswith("digits-ir10-nr0.1-sr0.5-autodo-seed3-")
    odd = config(**{"aug_model.name": "SHA", "hyper_opt.name": "UNROLL"}, head_refit=True)
    assert run_name(odd).startswith("digits-ir10-nr0.1-sha-none-unroll+refit-seed0-")


def test_open_run_creates_once_and_refuses_a_folder_holding_another_run(tmp_path):
    folder = open_run(config(), tmp_path, launched_as=["ir=10"])
    assert folder.created and json.loads((folder.path / "run.json").read_text())["signature"] == signature(config())
    again = open_run(config(device="cpu"), tmp_path)
    assert again.path == folder.path and not again.created
    other = json.dumps({"signature": "f" * 64})
    (folder.path / "run.json").write_text(other)  # a signature-prefix collision, or a folder edited by hand
    with pytest.raises(UserError, match="holds another run"):
        open_run(config(), tmp_path)
    assert (folder.path / "run.json").read_text() == other  # left as it was


def test_discard_removes_only_a_folder_this_process_created_before_it_trained(tmp_path):
    created = open_run(config(), tmp_path)
    kept = open_run(config(), tmp_path)  # the same folder, found
    kept.discard()
    assert created.path.is_dir()
    created.checkpoint.write_bytes(b"an epoch")
    created.discard()
    assert created.path.is_dir()  # it holds progress
    created.checkpoint.unlink()
    created.discard()
    assert not created.path.exists()


def finished(out, seed=0, acc=90.0, **changes):
    folder = open_run(config(seed=seed, **changes), out)
    folder.write_metrics([{"epoch": 1, "test_acc": acc, "train_loss": 1.0}])
    folder.write_result({"config": config(seed=seed, **changes), "epochs": 1, "test_acc_final": acc})
    return folder


@pytest.mark.parametrize("damage, reason", [
    (lambda f: f.result.write_text('{"config": '), "result.json is unreadable"),
    (lambda f: f.result.write_text(json.dumps({"config": config(), "test_acc_final": "abc"})),
     "test_acc_final='abc' is not a finite number"),
    # a non-finite number is damage: counted, it would be a seed in a mean that leaves it out (or -inf as the mean)
    (lambda f: f.result.write_text(json.dumps({"config": config(), "test_acc_final": float("nan")})),
     "test_acc_final=nan is not a finite number"),
    (lambda f: f.result.write_text(json.dumps({"config": config(), "test_acc_final": 90.0, "wall_time_s": -math.inf})),
     "wall_time_s=-inf is not a finite number"),
    (lambda f: f.result.write_text(json.dumps({"test_acc_final": 1.0})), "result.json holds no config"),
    (lambda f: f.result.write_text(json.dumps({"config": config(seed=5), "test_acc_final": 1.0})),
     "is not the run's of run.json"),
    (lambda f: (f.path / "run.json").write_text("{"), "run.json is unreadable"),
])
def test_damaged_folders_are_reported_with_the_reason(tmp_path, damage, reason):
    damage(finished(tmp_path))
    (found,) = find_runs([tmp_path])
    assert found.status == "damaged" and reason in found.reason


def test_every_run_is_found_once(tmp_path):
    one = finished(tmp_path / "a")
    finished(tmp_path / "b")  # the same run in another sweep folder
    finished(tmp_path / "a", seed=1)
    open_run(config(seed=2), tmp_path / "a")  # unfinished
    statuses = sorted(f.status for f in find_runs([tmp_path]))
    assert statuses == ["duplicate", "finished", "finished", "unfinished"]
    (duplicate,) = [f for f in find_runs([tmp_path]) if f.status == "duplicate"]
    assert str(one.path) in duplicate.reason


def test_metrics_with_a_half_written_line_are_damage_not_a_crash(tmp_path):
    folder = finished(tmp_path)
    folder.metrics.write_text(folder.metrics.read_text() + '{"epoch": 2, "test_')
    with pytest.raises(DamagedRun, match="line 2 is not JSON"):
        RunFolder(folder.path).read_metrics()


def test_a_run_being_trained_cannot_be_claimed_again(tmp_path):
    folder = open_run(config(), tmp_path)
    with folder.claimed():
        with pytest.raises(UserError, match="is in use: another process is training this run"):
            with open_run(config(), tmp_path).claimed():
                pass
    with open_run(config(), tmp_path).claimed():  # released with the first
        pass


def test_settings_added_later_keep_the_identity_of_runs_written_before_them_at_the_value_they_had():
    """los_model.smoothing and hyper_opt.lr_factor came after runs of the paper's method were written: at the
    paper's values a run keeps its signature (and folder); any other value is another run."""
    before = run_config(**{"los_model": {"name": "BOTH", "weights": True, "soft_labels": True},
                           "hyper_opt": {"name": "HES", "pass_fraction": 1.0}})
    now = run_config(**{"los_model": {**before["los_model"], "smoothing": 0.05},
                        "hyper_opt": {**before["hyper_opt"],
                                      "lr_factor": {"augment": 1, "weights": 1.0, "soft_labels": 1.0}}})
    assert signature(now) == signature(before)
    now["los_model"]["smoothing"] = 0.2
    smoothed = signature(now)
    now["los_model"]["smoothing"], now["hyper_opt"]["lr_factor"]["soft_labels"] = 0.05, 4.0
    assert len({signature(before), smoothed, signature(now)}) == 3
    now["los_model"] = {"name": "WGHT", "weights": True, "soft_labels": False, "smoothing": 0.2}
    before["los_model"] = {"name": "WGHT", "weights": True, "soft_labels": False}
    assert signature(now) == signature(before)  # neither a start nor a factor of soft labels it does not learn


def test_runs_with_random_per_image_transforms_are_identified_by_how_those_draw():
    """The per-image policies (and a resizing data set's random crop) draw from per-batch seeds since they stopped
    depending on num_workers: those runs are new runs; a run without them keeps its identity."""
    for name in ("RAND", "TRIVIAL", "AUTO"):
        assert identity(run_config(aug_model={"name": name}))["item_transform_draws"] == "per-batch seeds"
    resized = run_config(**{"dataset.resize": 36, "dataset.crop": 32})
    assert identity(resized)["item_transform_draws"] == "per-batch seeds"
    for plain in (run_config(), run_config(aug_model={"name": "SEP"})):
        assert "item_transform_draws" not in identity(plain)
