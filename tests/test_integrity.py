"""Integrity under bit rot: every artefact a later run trusts is verified when read back (its SHA-256 beside it), a
corrupt one is one line and exit 2 with nothing trained on it, and a training loss that is not finite stops the run,
its last good checkpoint kept."""

import json
import os
import struct
import subprocess
import sys

import pytest
import torch

from autodo.errors import UserError
from autodo.io import CorruptFile, atomic_torch_save, digest_path, verified_torch_load
from conftest import REPO, only_run, run_config


def test_a_saved_artefact_reads_back_and_a_changed_byte_is_refused(tmp_path):
    path = tmp_path / "artefact.pt"
    atomic_torch_save(path, {"weights": torch.arange(1000.0)})
    assert torch.equal(verified_torch_load(path)["weights"], torch.arange(1000.0))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1  # one bit flipped where torch.load would not notice
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFile, match="artefact.pt.sha256"):
        verified_torch_load(path)


def test_a_file_written_before_digests_is_read_unverified(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"x": torch.ones(3)}, path)
    assert not digest_path(path).exists() and torch.equal(verified_torch_load(path)["x"], torch.ones(3))


def test_a_rewrite_never_leaves_a_digest_of_other_bytes(tmp_path, monkeypatch):
    """The old digest goes before the new file is written: a crash in between leaves no digest, not a wrong one."""
    import autodo.io

    path = tmp_path / "artefact.pt"
    atomic_torch_save(path, {"x": torch.zeros(3)})
    written = []

    def crash_after_the_file(target, data, real=autodo.io.atomic_write_bytes):
        real(target, data)
        written.append(target)
        raise KeyboardInterrupt

    monkeypatch.setattr(autodo.io, "atomic_write_bytes", crash_after_the_file)
    with pytest.raises(KeyboardInterrupt):
        atomic_torch_save(path, {"x": torch.ones(3)})
    assert written == [path] and not digest_path(path).exists()
    assert torch.equal(verified_torch_load(path)["x"], torch.ones(3))


def test_nan_written_into_a_checkpoint_is_refused_on_relaunch(run_launch, tmp_path):
    """The fault trial: four NaN floats written into an unfinished run's checkpoint.pt; the relaunch trained on them
    and exited 0 with "train loss nan"."""
    run_launch("dataset.epochs=2")
    run_dir = only_run(tmp_path / "outputs")
    (run_dir / "result.json").unlink()  # as if killed in its last epoch
    with open(run_dir / "checkpoint.pt", "r+b") as f:
        f.seek(min(11456, (run_dir / "checkpoint.pt").stat().st_size - 16))
        f.write(struct.pack("<4f", *[float("nan")] * 4))
    proc = run_launch("dataset.epochs=2", check=False)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0
    assert "checkpoint.pt is unreadable (its bytes do not match checkpoint.pt.sha256)" in proc.stderr
    assert not (run_dir / "result.json").exists()


def test_a_changed_byte_in_a_split_cache_is_refused(run_launch, tmp_path):
    """The fault trial: one byte changed in a split cache gave one wrong label more, and that run was counted."""
    run_launch("ir=10", "nr=0.1", "dataset.epochs=1")
    (cache,) = (tmp_path / "local_data").rglob("split_ir10_sr1_nr0.1.pt")
    data = bytearray(cache.read_bytes())
    data[-200] ^= 1
    cache.write_bytes(bytes(data))
    proc = run_launch("ir=10", "nr=0.1", "dataset.epochs=1", "seed=0", "method=logit_adjusted", check=False)
    assert proc.returncode == 2 and "corrupt split cache" in proc.stderr and "do not match" in proc.stderr
    assert len(list((tmp_path / "outputs").iterdir())) == 1  # nothing written for the refused run


def test_a_diverging_loss_stops_the_run_and_keeps_its_last_good_checkpoint(tmp_path):
    from autodo.engine import finite_loss

    assert finite_loss({"loss": 0.5}, "epoch 3") == {"loss": 0.5}
    with pytest.raises(UserError, match="the training loss is nan at epoch 3: the run stops"):
        finite_loss({"loss": float("nan")}, "epoch 3")


def test_a_run_whose_loss_diverges_ends_with_one_line(run_launch, tmp_path):
    proc = run_launch("dataset.lr=1e30", "dataset.epochs=3", check=False)
    assert proc.returncode == 2 and "the training loss is" in proc.stderr and "at epoch 1" in proc.stderr
    assert not list((tmp_path / "outputs").glob("*/result.json"))


# ============ the run lock ============

def _folder(tmp_path):
    from autodo.registry import open_run
    from conftest import run_config

    return open_run(run_config(), tmp_path / "out")


def test_a_claim_leaves_no_lock_file_and_a_second_claim_meanwhile_is_refused(tmp_path):
    folder = _folder(tmp_path)
    with folder.claimed():
        assert (folder.path / ".lock").exists()
        with pytest.raises(UserError, match="is in use"):
            with type(folder)(folder.path).claimed():
                pass
        folder.write_metrics([{"epoch": 1}])
    assert not (folder.path / ".lock").exists()


def test_a_deleted_lock_file_stops_its_holder_before_it_writes(tmp_path):
    """The fault trial: `rm <run>/.lock` let a second process train the run at once; the holder now notices at its
    next write and stops without writing, and the second holds the folder alone."""
    folder = _folder(tmp_path)
    with folder.claimed():
        (folder.path / ".lock").unlink()
        second = type(folder)(folder.path)
        with second.claimed():  # a new lock file: the second launch trains
            with pytest.raises(UserError, match="lock file was deleted or replaced"):
                folder.write_metrics([{"epoch": 1}])
            with pytest.raises(UserError, match="lock file was deleted or replaced"):
                folder.verify_claim()  # before a checkpoint
            second.write_metrics([{"epoch": 1}])
        folder.discard()  # the first process's failure: the folder is no longer its to remove
    assert folder.metrics.exists()


def test_no_write_into_a_run_another_process_finished(tmp_path):
    folder = _folder(tmp_path)
    with folder.claimed():
        folder.result.write_text("{}")  # written by another process, as an old version's would
        with pytest.raises(UserError, match="finished run written by another process"):
            folder.write_result({"config": {}})


def test_a_relaunch_that_waited_for_the_lock_finds_the_run_finished(run_launch, tmp_path):
    """The fault trial: `finished()` was checked before the lock and not after it; a launch held at its lock while
    the first finished then trained the run again and rewrote result.json. strace holds the second launch in its
    first flock for 60 s, long enough for the first launch's 12 epochs even on a loaded machine."""
    import shutil
    import subprocess
    import sys
    import time

    from conftest import REPO

    if shutil.which("strace") is None:
        pytest.skip("no strace here (apt-get install strace; .ci/run installs it)")
    args = ["dataset.epochs=12"]
    first = subprocess.Popen([sys.executable, str(REPO / "launch.py"), *args], cwd=tmp_path, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while not list((tmp_path / "outputs").glob("*/.lock")):  # the first holds the folder
        assert first.poll() is None, first.communicate()
        time.sleep(0.1)
    second = subprocess.run(["strace", "-f", "-o", str(tmp_path / "strace.log"), "-e", "trace=flock", "-e",
                             "inject=flock:delay_enter=60000000:when=1", sys.executable, str(REPO / "launch.py"), *args],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert first.wait(timeout=300) == 0
    run_dir = only_run(tmp_path / "outputs")
    assert second.returncode == 0 and "finished already" in second.stdout, second.stderr[-2000:]
    log = (run_dir / "launch.log").read_text()
    assert log.count("run folder ") == log.count("code: ") == 1  # the second launch trained nothing
    assert log.count("epoch 12/12 ") == 1


# ============ a last batch of one ============

def test_confident_learning_on_a_small_cell_copes_with_a_fold_s_last_batch_of_one(run_launch, tmp_path):
    """The fault trial: a fold's last batch held one image, and batch norm refused it (every seed tried)."""
    proc = run_launch("dataset=digits", "ir=5", "nr=0.3", "seed=0", "method=confident_learning_la", "dataset.epochs=1")
    assert "test accuracy: final" in proc.stdout


def test_a_training_pass_leaves_out_a_last_batch_of_one():
    from autodo.engine import train_one_epoch
    from autodo.losses import LossModel
    from autodo.models.classifier import Classifier
    from autodo.models.small_cnn import SmallCNN

    torch.manual_seed(0)
    model = Classifier(SmallCNN(1), 3)
    labels = torch.tensor([0, 1, 2, 0, 1])
    batches = [(torch.rand(4, 1, 8, 8), labels[:4], torch.arange(4)),
               (torch.rand(1, 1, 8, 8), labels[4:], torch.tensor([4]))]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    loss = LossModel(labels, 3, learn_weights=False, learn_soft_labels=False, symmetric=False)
    stats = train_one_epoch(model, batches, lambda x: x, None, loss, optimizer, scheduler,
                            torch.amp.GradScaler("cpu", enabled=False), torch.device("cpu"), False)
    assert scheduler.last_epoch == 1 and 0 <= stats["acc"] <= 100  # one step: the batch of one was left out


# ============ one run in two folders ============

def test_two_folders_of_one_run_with_other_numbers_are_a_conflict_counted_neither_way(tmp_path):
    """The fault trial: `aggregate.py a b` gave 41.39 and `aggregate.py b a` 1.00 (device is outside identity: CPU
    and GPU outputs merged); the other folder was called a duplicate."""
    import aggregate
    from autodo.registry import find_runs, open_run
    from autodo.results import load_runs
    from conftest import run_config

    for out, acc in (("a", 58.61), ("b", 99.0)):
        folder = open_run(run_config(), tmp_path / out)
        folder.write_result({"config": run_config(), "epochs": 1, "test_acc_final": acc, "wall_time_s": 1.0})
    same = open_run(run_config(), tmp_path / "c")  # a third copy agreeing with a: still no count for either
    same.write_result({"config": run_config(), "epochs": 1, "test_acc_final": 58.61, "wall_time_s": 5.0})
    for order in (["a", "b", "c"], ["b", "a", "c"], ["c", "b", "a"]):
        found = find_runs([tmp_path / name for name in order])
        assert not [f for f in found if f.status == "finished"], order
        conflicts = [f for f in found if f.status == "conflict"]
        assert len(conflicts) >= 2 and all("test_acc_final" in f.reason and "58.61" in f.reason for f in conflicts)
        runs, _ = load_runs([tmp_path / name for name in order])
        assert len(runs) == 0
    assert aggregate.main([str(tmp_path / "a"), str(tmp_path / "b")]) == 1  # no finished run to show


def test_two_folders_of_one_run_with_the_same_numbers_count_once(tmp_path):
    from autodo.registry import find_runs, open_run
    from conftest import run_config

    for out, seconds in (("a", 1.0), ("b", 3.0)):  # only the time differs
        folder = open_run(run_config(), tmp_path / out)
        folder.write_result({"config": run_config(), "epochs": 1, "test_acc_final": 90.0, "wall_time_s": seconds})
    assert sorted(f.status for f in find_runs([tmp_path / "b", tmp_path / "a"])) == ["duplicate", "finished"]


# ============ the tools on hostile folders ============

@pytest.mark.parametrize("damage, reason", [
    (lambda d: (d / "result.json").write_text(json.dumps({**json.loads((d / "result.json").read_text()),
                                                          "config": {**run_config(), "aug_model": [1]}})),
     "its config is not a run's config"),
    (lambda d: (d / "result.json").write_text("[" * 100_000 + "]" * 100_000), "result.json is unreadable"),
    (lambda d: (d / "run.json").write_text('{"signature": 5}'), "run.json holds no signature"),
    (lambda d: ((d / "result.json").unlink(), os.mkfifo(d / "result.json")), "result.json is not a regular file"),
])
def test_a_hostile_folder_is_damaged_with_its_reason_not_a_crash_or_a_hang(run_launch, tmp_path, capsys, damage,
                                                                           reason):
    import aggregate

    run_launch("dataset.epochs=1")
    run_dir = only_run(tmp_path / "outputs")
    damage(run_dir)
    assert aggregate.main([str(tmp_path / "outputs"), "--verbose"]) == 1  # no finished run, and no traceback
    assert reason in capsys.readouterr().err
    proc = run_launch("dataset.epochs=1", check=False)
    assert proc.returncode == 2 and "is damaged" in proc.stderr and reason in proc.stderr, proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--runs-csv", "/nonexistent/x.csv"], "--runs-csv '/nonexistent/x.csv'"),
    (["--figures"], "is a file, not a folder"),
])
def test_an_output_the_tools_cannot_write_is_one_line_before_anything_else(tmp_path, capsys, args, message):
    import aggregate
    from autodo.registry import open_run

    folder = open_run(run_config(), tmp_path / "out")
    folder.write_result({"config": run_config(), "epochs": 1, "test_acc_final": 90.0, "wall_time_s": 1.0})
    (tmp_path / "out" / "figures").write_text("a file")
    assert aggregate.main([str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


# ============ smaller ============

def test_a_full_disk_while_a_folder_is_created_leaves_no_half_folder(tmp_path, monkeypatch):
    import errno

    import autodo.run_folder
    from autodo.registry import open_run

    def full(path, obj):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(autodo.run_folder, "atomic_write_json", full)
    with pytest.raises(OSError):
        open_run(run_config(), tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []  # the fault trial left a folder with config.yaml alone


def test_run_folders_behind_symbolic_links_are_found(tmp_path):
    from autodo.registry import find_runs, open_run

    folder = open_run(run_config(), tmp_path / "elsewhere")
    folder.write_result({"config": run_config(), "epochs": 1, "test_acc_final": 90.0, "wall_time_s": 1.0})
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "linked").symlink_to(folder.path)
    (tmp_path / "results" / "loop").symlink_to(tmp_path / "results")  # a loop of links is walked once
    (found,) = find_runs([tmp_path / "results"])
    assert found.status == "finished"


def test_inspecting_a_finished_run_with_a_corrupt_checkpoint_gives_advice_for_a_finished_run(run_launch, tmp_path,
                                                                                            capsys):
    import aggregate

    run_launch("dataset.epochs=1")
    run_dir = only_run(tmp_path / "outputs")
    data = bytearray((run_dir / "checkpoint.pt").read_bytes())
    data[len(data) // 2] ^= 1
    (run_dir / "checkpoint.pt").write_bytes(bytes(data))
    assert aggregate.main([str(tmp_path / "outputs"), "--inspect", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "of this finished run is unreadable" in err and "delete it" not in err


def test_ctrl_c_is_one_line_exit_130_and_the_run_resumes(tmp_path):
    """The fault trial (the researcher's day): Ctrl-C printed a 60-line traceback and exited 1."""
    import signal
    import time

    args = [sys.executable, str(REPO / "launch.py"), "dataset.epochs=200"]
    # Ctrl-C's default action in the launch, even where this test runs in the background (which ignores SIGINT)
    proc = subprocess.Popen(args, cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    while not list((tmp_path / "outputs").glob("*/checkpoint.pt")):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err.count("\n") == 1 and "relaunch the same command to resume" in err, err
    run_dir = only_run(tmp_path / "outputs")
    assert (run_dir / "checkpoint.pt").exists() and "first" in err and not (run_dir / ".lock").exists()


@pytest.mark.parametrize("args, message", [
    (["sr=1e-9"], "sr=1e-09 and ir=1 leave no train image of the 1137: raise sr"),
    (["dataset.valid_size=100000"], "dataset.valid_size=100000 is not allowed here: the train part holds 1437"),
])
def test_a_split_the_data_cannot_fill_is_one_line_and_nothing_written(run_launch, tmp_path, args, message):
    """The fault trials: an empty train set, a validation split larger than the data (library errors, exit 1, a
    split cache or an empty run folder written)."""
    proc = run_launch(*args, check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
    assert not list((tmp_path / "outputs").glob("*")) and not list(tmp_path.glob("local_data/*/run0/split*"))


def test_a_sweep_over_a_setting_a_method_does_not_read_trains_that_method_once(run_launch, tmp_path):
    """Issue 30, item 6, as written: the Baseline reads no hyper learning rate."""
    proc = run_launch("-m", "method=baseline,autodo", "dataset.hyper_lr=0.01,0.05", "dataset.epochs=2",
                      "dataset.hyper_start=0.5")
    assert proc.stdout.count("launched once") == 1
    names = [path.name for path in (tmp_path / "outputs").iterdir() if not path.name.startswith(".")]
    assert sorted(name.split("-")[3] for name in names) == ["autodo", "autodo", "baseline"]
    assert proc.stdout.count("Baseline") == 1  # one row in the sweep's table
