"""Finding finished runs (autodo.results) and listing them (aggregate.py)."""

import json
import sys

from conftest import REPO

from autodo.results import load_runs

sys.path.insert(0, str(REPO))
import aggregate  # noqa: E402


def make_run(folder, seed, acc, result=True, sr=1.0):
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "config.yaml").write_text("seed: 0\n")
    if result is True:
        config = {"dataset": {"name": "digits"}, "model": {"name": "small_cnn"}, "aug_model": {"name": "NONE"},
                  "los_model": {"name": "NONE"}, "hyper_opt": {"name": "NONE"}, "ir": 10, "nr": 0.1, "sr": sr,
                  "seed": seed}
        metrics = dict(epochs=3, test_acc_final=acc, test_acc_best=acc + 1, test_acc_at_best_valid=acc,
                       majority_acc=acc + 2, minority_acc=acc - 2, wall_time_s=1.0)
        (folder / "result.json").write_text(json.dumps({"config": config, **metrics}))
    elif result:
        (folder / "result.json").write_text(result)


def test_finished_runs_become_rows_and_the_rest_are_counted(tmp_path, capsys):
    make_run(tmp_path / "sweep" / "seed=0", 0, 90.0)
    make_run(tmp_path / "sweep" / "deeper" / "seed=1", 1, 80.0)
    make_run(tmp_path / "sweep" / "unfinished", 2, 0, result=False)
    make_run(tmp_path / "sweep" / "corrupt", 3, 0, result='{"config": ')
    runs, skipped = load_runs([tmp_path / "sweep"])
    assert sorted(runs["seed"]) == [0, 1] and skipped == 2
    assert sorted(runs["test_acc_final"]) == [80.0, 90.0] and set(runs["dataset"]) == {"digits"}

    assert aggregate.main([str(tmp_path / "sweep"), "--runs-csv", str(tmp_path / "runs.csv")]) == 0
    out = capsys.readouterr().out
    assert "2 finished runs; 2 unfinished, failed or corrupt run folders skipped" in out
    assert (tmp_path / "runs.csv").read_text().count("\n") == 3


def test_missing_folder_is_an_error(tmp_path, capsys):
    assert aggregate.main([str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_error_table_is_mean_and_sample_std_over_seeds(tmp_path):
    import statistics

    from autodo.results import method_name, summary_table

    for seed, acc in enumerate([90.0, 80.0, 85.0]):
        make_run(tmp_path / f"s{seed}", seed, acc)
    runs, _ = load_runs([tmp_path])
    table = summary_table(runs, "final")
    errors = [10.0, 20.0, 15.0]
    expected = f"{statistics.mean(errors):.2f} ± {statistics.stdev(errors):.2f} (3)"
    assert table.loc[("Baseline", "small_cnn", 3), "digits 10-0.1"] == expected
    best = summary_table(runs, "best_test").loc[("Baseline", "small_cnn", 3), "digits 10-0.1"]
    assert best.startswith(f"{statistics.mean(errors) - 1:.2f}")
    accuracy = summary_table(runs, "final", error=False).loc[("Baseline", "small_cnn", 3), "digits 10-0.1"]
    assert accuracy.startswith(f"{100 - statistics.mean(errors):.2f}")
    minority = summary_table(runs, "final", minority=True).loc[("Baseline", "small_cnn", 3), "digits 10-0.1"]
    assert minority.startswith(f"{100 - statistics.mean([88.0, 78.0, 83.0]):.2f}")
    assert method_name("SEP", "BOTH", "HES") == "lambda^{A,W,S}"
    assert method_name("SEP", "BOTH", "UNROLL") == "lambda^{A,W,S} UNROLL"
    assert method_name("SHA", "BOTH", "UNROLL") == "SHA+BOTH+UNROLL"


def test_runs_on_a_share_of_the_train_split_are_their_own_cell(tmp_path):
    from autodo.results import summary_table

    make_run(tmp_path / "full", 0, 90.0)
    make_run(tmp_path / "half", 0, 70.0, sr=0.5)
    table = summary_table(load_runs([tmp_path])[0], "final")
    assert table.loc[("Baseline", "small_cnn", 3), "digits 10-0.1"] == "10.00 ± 0.00 (1)"
    assert table.loc[("Baseline", "small_cnn", 3), "digits 10-0.1 sr 0.5"] == "30.00 ± 0.00 (1)"


def test_table_formats(tmp_path, capsys):
    make_run(tmp_path / "a", 0, 90.0)
    make_run(tmp_path / "b", 1, 80.0)
    for fmt, marker in (("markdown", "|:"), ("latex", "\\begin{tabular}"), ("csv", "method,model,epochs")):
        assert aggregate.main([str(tmp_path), "--format", fmt]) == 0
        assert marker in capsys.readouterr().out


def test_runs_written_before_the_valid_set_flags_read_as_without_them(tmp_path):
    make_run(tmp_path / "old", 0, 90.0)  # its config has no train_on_valid or head_refit
    runs, skipped = load_runs([tmp_path])
    assert skipped == 0 and not runs["train_on_valid"][0] and not runs["head_refit"][0]
    from autodo.results import label_runs

    assert label_runs(runs)["method"][0] == "Baseline"
