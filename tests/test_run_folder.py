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


def test_folder_names_say_the_settings_the_command_line_set_beside_the_grid():
    """Two runs apart only in a setting outside the grid (model, epochs) were both ``digits-ir1-nr0-baseline-seed0-``:
    the name says what the command line set that the run reads and the name does not say already."""
    epochs = config(**{"dataset.epochs": 5})
    launched = ["dataset.epochs=5", "dataset.hyper_lr=0.1", "out_dir=/x", "device=cpu", "method=baseline", "ir=10",
                "seed=0", "experiment=budget", "hydra/launcher=local", "model=small_cnn"]
    assert run_name(epochs, launched_as=launched) == \
        f"digits-ir10-nr0.1-baseline-epochs=5,model=small_cnn-seed0-{signature(epochs)[:8]}"  # hyper_lr: unread
    autodo = config(**{"aug_model.name": "SEP", "los_model.name": "BOTH", "hyper_opt.name": "HES",
                       "dataset.hyper_lr": 0.1})
    assert "-autodo-hyper_lr=0.1-seed0-" in run_name(autodo, launched_as=["method=autodo", "dataset.hyper_lr=0.1"])
    # what the slug names already is not said twice; a value as the run has it, however spelled; no spaces or
    # slashes; long settings cut
    assert "-train_on_valid-seed0-" in run_name(config(train_on_valid=True), launched_as=["train_on_valid=true"])
    assert "-baseline-lr=0.5-seed0-" in run_name(config(**{"dataset.lr": 0.5}), launched_as=["dataset.lr=0.50"])
    widths = run_name(config(**{"model.widths": [16, 32, 64, 64]}), launched_as=["model.widths=[16,32,64,64]"])
    assert "-baseline-widths=[16,_32,_64,_64]-seed0-" in widths
    long = run_name(config(**{"model.widths": list(range(40))}), launched_as=["model.widths=[0,1]"])
    assert long.split("-baseline-")[1] == f"widths={list(range(40))}"[:60].replace(" ", "_") + long[-15:]


def test_a_run_spelled_otherwise_is_found_by_its_signature_whatever_its_name(tmp_path):
    first = open_run(config(**{"dataset.epochs": 5}), tmp_path, launched_as=["dataset.epochs=5"])
    assert "-epochs=5-" in first.path.name
    again = open_run(config(**{"dataset.epochs": 5}), tmp_path, launched_as=["dataset.epochs=5", "optim.momentum=0.9"])
    assert again.path == first.path and not again.created
    other = open_run(config(**{"dataset.epochs": 6}), tmp_path, launched_as=["dataset.epochs=6"])
    assert other.path != first.path


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


HYPER = {"hyper_lr": 0.05, "hyper_warmup": 0.067, "hyper_batch_size": 256, "hyper_start": 0.333, "neumann_alpha": 0.5}
POLICIES = {"randaugment": {"num_ops": 3, "magnitude": 5}, "fast_autoaugment": "fa_reduced_cifar10",
            "randsub": {"num_ops": 0, "magnitude": 5}, "learned_augment": {"init_probability": 0.05,
                                                                        "init_magnitude": 0.5}}
# one changed value of each data set's setting that only some runs read
CHANGED = {"dataset.hyper_lr": 0.01, "dataset.hyper_warmup": 0.5, "dataset.hyper_batch_size": 64,
           "dataset.hyper_start": 0.25, "dataset.neumann_alpha": 0.1, "dataset.randaugment.magnitude": 9,
           "dataset.fast_autoaugment": "fa_reduced_svhn", "dataset.randsub.num_ops": 2,
           "dataset.learned_augment.init_probability": 0.2, "overfit": True}


def full(make=run_config, **changes):
    """``make(**changes)`` with the data set's hyper-pass and policy settings, as a composed config has them."""
    config = make()
    config["dataset"].update({**HYPER, **json.loads(json.dumps(POLICIES))})
    config["overfit"] = False
    for key, value in changes.items():
        node = config
        *parents, leaf = key.split(".")
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return config


@pytest.mark.parametrize("groups, read", [
    ({}, set()),  # the Baseline
    ({"aug_model.name": "RAND"}, {"dataset.randaugment.magnitude"}),
    ({"aug_model.name": "AUTO"}, {"dataset.fast_autoaugment"}),
    ({"aug_model.name": "SEP"}, {"dataset.randsub.num_ops", "dataset.learned_augment.init_probability"}),
    ({"aug_model.name": "SEP", "los_model.name": "BOTH", "hyper_opt.name": "HES"},
     {*(f"dataset.{key}" for key in HYPER), "dataset.randsub.num_ops",
      "dataset.learned_augment.init_probability", "overfit"}),
    ({"los_model.name": "WGHT", "hyper_opt.name": "UNROLL"},  # no Neumann series
     {f"dataset.{key}" for key in HYPER if key != "neumann_alpha"} | {"overfit"}),
])
def test_a_run_is_identified_by_the_settings_it_reads_only(groups, read):
    """Issue 30, item 6: ``-m method=baseline,autodo dataset.hyper_lr=0.01,0.05`` trained the Baseline twice."""
    reference = signature(full(**groups))
    for key, value in CHANGED.items():
        assert (signature(full(**groups, **{key: value})) != reference) == (key in read), key


def test_the_other_tasks_read_no_hyper_pass_setting_and_only_their_augmentation_s():
    from conftest import al_config, subsample_config

    for make, read in ((subsample_config, set()), (lambda: subsample_config(augmentation="RAND"),
                                                   {"dataset.randaugment.magnitude"}), (al_config, set())):
        reference = signature(full(make))
        for key, value in CHANGED.items():
            assert (signature(full(make, **{key: value})) != reference) == (key in read), key


def test_a_folder_a_former_version_named_is_found_resumed_and_counted_once(tmp_path):
    """Versions before 2026-12-05 identified runs with the settings they do not read: a folder named and stored by
    that signature holds this run: a launch opens it (to resume or find it finished), and it is counted, once."""
    from autodo.registry import former_signature, run_place
    from autodo.run_folder import open_folder

    baseline = full(**{"dataset.hyper_lr": 0.01})
    former = former_signature(baseline)
    assert former != signature(baseline) and former != former_signature(full())
    old = open_folder(tmp_path / run_name(baseline, former), former, baseline)  # as the former version opened it
    assert run_place(baseline, tmp_path) == (old.path, former)
    assert open_run(baseline, tmp_path).path == old.path  # resumed there, not started again elsewhere
    old.write_metrics([{"epoch": 1, "test_acc": 90.0, "train_loss": 1.0}])
    old.write_result({"config": baseline, "epochs": 1, "test_acc_final": 90.0})
    # the same run spelled otherwise (a hyper learning rate it does not read): this version's folder, a duplicate
    other = open_run(full(), tmp_path)
    assert other.path.name == run_name(full()) and other.path != old.path
    other.write_metrics([{"epoch": 1, "test_acc": 90.0, "train_loss": 1.0}])
    other.write_result({"config": full(), "epochs": 1, "test_acc_final": 90.0})
    assert sorted(found.status for found in find_runs([tmp_path])) == ["duplicate", "finished"]
