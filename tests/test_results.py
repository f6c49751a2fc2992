"""The table of finished runs (autodo.results) and aggregate.py: each run once, seeds counted as distinct seeds,
runs that differ in more than their seed never averaged, standard output the table alone."""

import json
import shutil
import statistics
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO, run_config

from autodo.tasks.train.methods import method_name
from autodo.results import load_runs
from autodo.tasks.train.report import label_runs, summary_table
from autodo.registry import open_run

sys.path.insert(0, str(REPO))
import aggregate  # noqa: E402

CELL = "digits 10-0.1"


def config_of(seed, sr=1.0, **changes):
    return run_config(seed=seed, sr=sr, **changes)


def make_run(out, seed, acc, sr=1.0, **changes):
    config = config_of(seed, sr, **changes)
    folder = open_run(config, out)
    folder.write_result({"config": config, "epochs": 3, "test_acc_final": acc, "test_acc_best": acc + 1,
                         "test_acc_at_best_valid": acc, "majority_acc": acc + 2, "minority_acc": acc - 2,
                         "wall_time_s": 1.0})
    return folder


def make_legacy_run(folder, seed, acc):
    """A run folder as written before run.json: Hydra's config, a result whose config lacks the newer flags."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "config.yaml").write_text("seed: 0\n")
    config = config_of(seed)
    del config["train_on_valid"], config["head_refit"]
    (folder / "result.json").write_text(json.dumps({"config": config, "epochs": 3, "test_acc_final": acc}))


def test_finished_runs_become_rows_and_the_rest_are_counted_with_the_reason(tmp_path, capsys):
    make_run(tmp_path / "sweep", 0, 90.0)
    make_run(tmp_path / "sweep" / "deeper", 1, 80.0)
    shutil.copytree(make_run(tmp_path / "other", 1, 80.0).path, tmp_path / "sweep" / "copy")  # the same run again
    open_run(config_of(2), tmp_path / "sweep")  # unfinished
    damaged = make_run(tmp_path / "sweep", 3, 70.0)
    damaged.result.write_text('{"config": ')
    runs, skipped = load_runs([tmp_path / "sweep"])
    assert sorted(runs["seed"]) == [0, 1] and sorted(runs["test_acc_final"]) == [80.0, 90.0]
    assert sorted(found.status for found in skipped) == ["damaged", "duplicate", "unfinished"]

    assert aggregate.main([str(tmp_path / "sweep"), "--runs-csv", str(tmp_path / "runs.csv")]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].split() == ["cell", *CELL.split()]  # standard output: the table alone
    assert "2 finished runs; 3 run folders not counted (--verbose lists them)" in err
    assert (tmp_path / "runs.csv").read_text().count("\n") == 3
    assert aggregate.main([str(tmp_path / "sweep"), "--verbose"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].split() == ["cell", *CELL.split()]
    assert f"not counted (damaged): {damaged.path}: result.json is unreadable" in err
    assert "not counted (duplicate)" in err and "not counted (unfinished)" in err


def test_no_runs_is_one_line_and_exit_1(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert aggregate.main([str(tmp_path / "empty")]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.strip().splitlines() == [f"error: no finished runs under {tmp_path / 'empty'} "
                                                      "(0 run folders not counted)"]


def test_missing_folder_is_an_error(tmp_path, capsys):
    assert aggregate.main([str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_error_table_is_mean_and_sample_std_over_seeds(tmp_path):
    for seed, acc in enumerate([90.0, 80.0, 85.0]):
        make_run(tmp_path, seed, acc)
    runs, _ = load_runs([tmp_path])
    table = summary_table(runs, "final")
    errors = [10.0, 20.0, 15.0]
    expected = f"{statistics.mean(errors):.2f} ± {statistics.stdev(errors):.2f} (3)"
    assert table.loc[("Baseline", "small_cnn", 3), CELL] == expected
    best = summary_table(runs, "best_test").loc[("Baseline", "small_cnn", 3), CELL]
    assert best.startswith(f"{statistics.mean(errors) - 1:.2f}")
    accuracy = summary_table(runs, "final", error=False).loc[("Baseline", "small_cnn", 3), CELL]
    assert accuracy.startswith(f"{100 - statistics.mean(errors):.2f}")
    minority = summary_table(runs, "final", minority=True).loc[("Baseline", "small_cnn", 3), CELL]
    assert minority.startswith(f"{100 - statistics.mean([88.0, 78.0, 83.0]):.2f}")
    assert method_name("SEP", "BOTH", "HES") == "lambda^{A,W,S}"
    assert method_name("SEP", "BOTH", "UNROLL") == "lambda^{A,W,S} UNROLL"
    assert method_name("SHA", "BOTH", "UNROLL") == "SHA+BOTH+UNROLL"


def test_runs_that_differ_in_more_than_their_seed_are_never_averaged(tmp_path):
    """Two seeds at the data set's learning rate and one at another: two rows, each counting its own seeds."""
    make_run(tmp_path, 0, 90.0)
    make_run(tmp_path, 1, 80.0)
    make_run(tmp_path, 0, 50.0, **{"dataset.lr": 0.5})
    make_run(tmp_path, 0, 60.0, sr=0.5)  # another cell, only at the data set's learning rate: the same row
    table = summary_table(load_runs([tmp_path])[0], "final")
    assert table.loc[("Baseline [dataset.lr=0.05]", "small_cnn", 3), CELL] == "15.00 ± 7.07 (2)"
    assert table.loc[("Baseline [dataset.lr=0.5]", "small_cnn", 3), CELL] == "50.00 (1)"
    assert table.loc[("Baseline [dataset.lr=0.05]", "small_cnn", 3), f"{CELL} sr 0.5"] == "40.00 (1)"


def test_runs_on_a_share_of_the_train_split_are_their_own_cell(tmp_path):
    make_run(tmp_path, 0, 90.0)
    make_run(tmp_path, 0, 70.0, sr=0.5)
    table = summary_table(load_runs([tmp_path])[0], "final")
    assert table.loc[("Baseline", "small_cnn", 3), CELL] == "10.00 (1)"
    assert table.loc[("Baseline", "small_cnn", 3), "digits 10-0.1 sr 0.5"] == "30.00 (1)"


def test_asymmetric_noise_is_a_cell_of_its_own(tmp_path):
    make_run(tmp_path, 0, 90.0)
    flips = [[2, 7], [3, 8]]
    asymmetric = make_run(tmp_path, 0, 70.0, nr_type="asymmetric", **{"dataset.flips": flips})
    assert "-nr0.1asym-baseline-" in asymmetric.path.name
    table = summary_table(load_runs([tmp_path])[0], "final")
    assert table.loc[("Baseline", "small_cnn", 3), CELL] == "10.00 (1)"
    assert table.loc[("Baseline", "small_cnn", 3), "digits 10-0.1 asym"] == "30.00 (1)"


def test_table_formats(tmp_path, capsys):
    make_run(tmp_path, 0, 90.0)
    make_run(tmp_path, 1, 80.0, **{"aug_model.name": "SEP", "los_model.name": "BOTH", "hyper_opt.name": "HES"})
    for fmt, marker in (("markdown", "|:"), ("csv", "method,model,epochs")):
        assert aggregate.main([str(tmp_path), "--format", fmt]) == 0
        assert marker in capsys.readouterr().out


def test_latex_is_the_table_alone_escaped_and_compiles(tmp_path, capsys):
    make_run(tmp_path, 0, 90.0)
    make_run(tmp_path, 1, 80.0, **{"aug_model.name": "SEP", "los_model.name": "BOTH", "hyper_opt.name": "HES"})
    make_run(tmp_path, 2, 85.0, **{"aug_model.name": "SHA", "hyper_opt.name": "HES"})
    make_run(tmp_path, 3, 80.0)
    assert aggregate.main([str(tmp_path), "--format", "latex"]) == 0
    latex = capsys.readouterr().out
    assert latex.startswith("\\begin{tabular}") and latex.rstrip().endswith("\\end{tabular}")
    assert "small\\_cnn" in latex and "$\\lambda^{A,W,S}$" in latex and "$\\lambda^A_{\\mathrm{SHA}}$" in latex
    assert "15.00 $\\pm$ 7.07 (2)" in latex and "20.00 (1)" in latex and "±" not in latex
    assert aggregate.latex_text("a_b & 50% #1 {x} ~ ^ \\") == \
        "a\\_b \\& 50\\% \\#1 \\{x\\} \\textasciitilde{} \\textasciicircum{} \\textbackslash{}"
    if shutil.which("pdflatex") is None:
        if __import__("os").environ.get("CI") == "true":
            raise AssertionError("pdflatex is missing under CI=true: .ci/run installs it")
        pytest.skip("no pdflatex here (apt-get install texlive-latex-recommended)")
    (tmp_path / "t.tex").write_text("\\documentclass{article}\\usepackage{booktabs}\\begin{document}\n"
                                    f"{latex}\\end{{document}}\n")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_runs_written_before_run_json_and_the_valid_set_flags_read_as_without_them(tmp_path):
    make_legacy_run(tmp_path / "old", 0, 90.0)
    runs, skipped = load_runs([tmp_path])
    assert skipped == [] and not runs["train_on_valid"][0] and not runs["head_refit"][0]
    assert label_runs(runs)["method"][0] == "Baseline"


def test_policy_runs_drawn_before_per_batch_seeds_are_not_counted(tmp_path):
    """A fixed-policy run written before its per-image draws came from per-batch seeds (its run.json holds the
    signature of its config without that, or it has no run.json) is not this version's run of its config: it is
    skipped, saying why; the run of this version is counted."""
    import hashlib

    from autodo.registry import identity

    policy = {"aug_model": {"name": "RAND"}}
    make_run(tmp_path / "sweep", 1, 80.0, **policy)
    old = make_run(tmp_path / "sweep", 0, 90.0, **policy)
    former = identity(config_of(0, **policy))
    del former["item_transform_draws"]
    text = json.dumps(former, sort_keys=True, separators=(",", ":"))
    (old.path / "run.json").write_text(json.dumps({"signature": hashlib.sha256(text.encode()).hexdigest()}))
    legacy = tmp_path / "sweep" / "legacy"
    (legacy / ".hydra").mkdir(parents=True)
    (legacy / ".hydra" / "config.yaml").write_text("seed: 2\n")
    (legacy / "result.json").write_text(json.dumps({"config": config_of(2, **policy), "epochs": 3,
                                                    "test_acc_final": 70.0}))
    runs, skipped = load_runs([tmp_path / "sweep"])
    assert list(runs["seed"]) == [1]
    assert len(skipped) == 2 and all("before per-batch seeds" in found.reason for found in skipped)


def test_paired_difference_is_the_paired_t_statistics_parts():
    """Against scipy's paired t-test: mean / SE of the per-seed gains is its statistic; seeds missing on one side
    are left out; one seed has no SE, and no claim holds on it."""
    import pandas as pd
    from scipy.stats import ttest_rel

    from autodo.tables import beats, paired_difference

    a = pd.Series([10.0, 12.0, 11.5, 9.0, 99.0], index=[0, 1, 2, 3, 7])
    b = pd.Series([13.0, 12.5, 14.0, 12.0], index=[0, 1, 2, 3])
    mean, se, count, agree = paired_difference(a, b)
    assert count == 4 and agree == 4 and mean == pytest.approx((3 + 0.5 + 2.5 + 3) / 4)
    assert mean / se == pytest.approx(ttest_rel(b[:4], a[:4]).statistic)
    assert beats(a, b)[0] and not beats(b, a)[0]
    assert paired_difference(pd.Series([1.0]), pd.Series([2.0]))[2:] == (1, 1)
    assert not beats(pd.Series([1.0]), pd.Series([2.0]))[0]
    noisy = pd.Series([13.0, 9.0, 14.0, 8.0], index=[0, 1, 2, 3])  # gains +3, -3, +2.5, -1: within the noise
    assert not beats(a, noisy)[0]


def test_best_valid_says_which_runs_chose_their_epoch_on_held_out_images(tmp_path, capsys):
    make_run(tmp_path, 0, 90.0)  # the Baseline learns from no clean image: held out
    make_run(tmp_path, 0, 91.0, train_on_valid=True)  # trained on its validation images: not held out
    make_run(tmp_path, 0, 92.0, train_on_valid=True, clean_split={"selection": 50, "tuning": 100})  # held out
    assert aggregate.main([str(tmp_path), "--select", "best_valid"]) == 0
    err = capsys.readouterr().err
    assert ("the epoch is chosen on held-out validation images for 2 of 3 runs; the other 1 learned from their "
            "validation images") in err and err.rstrip().endswith(": Baseline + valid in train")
    assert aggregate.main([str(tmp_path)]) == 0
    assert "held-out" not in capsys.readouterr().err  # the final-epoch rule chooses nothing


@pytest.mark.parametrize("fmt", ["tidy-csv", "jsonl"])
def test_the_tidy_export_has_every_name_and_number_in_a_column_of_its_own(tmp_path, capsys, fmt):
    """Issue 31, item 4: csv cells were strings ("1.11 ± 0.00 (2)"); pandas reads the tidy export as it is."""
    import io

    autodo = {"aug_model.name": "SEP", "los_model.name": "BOTH", "hyper_opt.name": "HES"}
    for seed, acc in enumerate((90.0, 86.0, 85.0)):
        make_run(tmp_path, seed, acc)
    make_run(tmp_path, 0, 95.5, **autodo)
    assert aggregate.main([str(tmp_path), "--format", fmt, "--select", "best_valid"]) == 0
    text = capsys.readouterr().out
    frame = pd.read_csv(io.StringIO(text)) if fmt == "tidy-csv" else pd.read_json(io.StringIO(text), lines=True)
    frame = frame.set_index("method")
    baseline, full = frame.loc["baseline"], frame.loc["autodo"]
    assert baseline["row"] == "Baseline" and full["row"] == "lambda^{A,W,S}"
    assert baseline["mean"] == pytest.approx(100 - statistics.mean([90.0, 86.0, 85.0]))
    assert baseline["std"] == pytest.approx(statistics.stdev([90.0, 86.0, 85.0])) and baseline["seeds"] == 3
    assert full["mean"] == pytest.approx(4.5) and pd.isna(full["std"]) and full["seeds"] == 1
    assert (baseline["dataset"], baseline["ir"], baseline["nr"], baseline["sr"]) == ("digits", 10, 0.1, 1.0)
    assert (baseline["rule"], baseline["value"], baseline["model"], baseline["epochs"]) == (
        "best_valid", "test error (%)", "small_cnn", 3)


def test_the_runs_csv_names_each_run_s_method_as_method_does(tmp_path):
    make_run(tmp_path, 0, 90.0)
    make_run(tmp_path, 0, 95.0, **{"aug_model.name": "SEP", "los_model.name": "BOTH", "hyper_opt.name": "HES"})
    assert aggregate.main([str(tmp_path), "--runs-csv", str(tmp_path / "runs.csv")]) == 0
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert list(runs.columns[:3]) == ["method", "row", "cell"]
    assert sorted(zip(runs["method"], runs["row"], runs["test_acc_final"])) == [
        ("autodo", "lambda^{A,W,S}", 95.0), ("baseline", "Baseline", 90.0)]


def test_verbose_without_finished_runs_lists_the_folders_not_a_pandas_frame(tmp_path, capsys):
    open_run(config_of(0), tmp_path)  # unfinished
    assert aggregate.main([str(tmp_path), "--verbose"]) == 1
    out, err = capsys.readouterr()
    assert "Empty DataFrame" not in out + err and "not counted (unfinished)" in err
