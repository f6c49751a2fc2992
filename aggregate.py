#!/usr/bin/env python
"""The paper's table of the finished runs under one or more folders (searched recursively): test error (or
accuracy) in %, mean ± std over seeds (distinct seeds), a row per method named as in the paper, a column per data
set and IR-NR. For the runs of another task (--task, the default where the folders hold no training run): subsample,
test accuracy against augmentation budget, a row per task, augmentation and policy; active_learning, the learning
curves, a row per acquisition function and a column per count of labeled points. Standard output holds the table
alone, in the asked format; counts, the runs and the folders not counted (with the reason) go to standard error
(--verbose lists them).

    python aggregate.py outputs/
    python aggregate.py outputs/ --select best_valid --minority --format markdown
    python aggregate.py outputs/ --format latex > table.tex
    python aggregate.py outputs/ --figures                        # + learning curves, per-class, lambda per epoch
    python aggregate.py outputs/ --inspect outputs/<run folder>   # + confusion matrix, t-SNE
    python aggregate.py outputs/ --task subsample --figures       # + accuracy against budget
    python aggregate.py outputs/ --task subsample --augmented wrong  # which points the policies augment
    python aggregate.py outputs/ --task active_learning --minority --figures  # minority accuracy against labels
    python aggregate.py outputs/ --task active_learning --inspect outputs/<run folder> --iteration 3
"""

import argparse
import os
import re
import sys

import pandas as pd

from autodo.errors import UserError
from autodo.results import load_runs, other_tasks
from autodo.tasks.train.report import SELECTIONS, label_runs, summary_stats, summary_table
from autodo.run_folder import DamagedRun, RunFolder
from autodo.registry import TASKS, face, read_run, task_of

# LaTeX: a method's lambda^... as math, every other special character escaped, ± as math
_LAMBDA = re.compile(r"lambda\^(\{[^}]*\}|\w)(?:_(\w+))?")
_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "±": r"$\pm$"}


def latex_text(text):
    """``text`` for a LaTeX table cell: ``lambda^{A,W}`` as ``$\\lambda^{A,W}$``, the rest escaped."""
    parts, end = [], 0
    for match in _LAMBDA.finditer(text):
        parts.append("".join(_SPECIAL.get(c, c) for c in text[end:match.start()]))
        sub = rf"_{{\mathrm{{{match.group(2)}}}}}" if match.group(2) else ""
        parts.append(rf"$\lambda^{match.group(1)}{sub}$")
        end = match.end()
    parts.append("".join(_SPECIAL.get(c, c) for c in text[end:]))
    return "".join(parts)


def to_latex(table):
    frame = table.reset_index()
    frame = frame.map(lambda value: latex_text(str(value)))
    frame.columns = [latex_text(str(column)) for column in frame.columns]
    return frame.to_latex(index=False, escape=False)


FORMATS = {
    "text": lambda table: table.to_string(),
    "markdown": lambda table: table.reset_index().to_markdown(index=False),
    "csv": lambda table: table.reset_index().to_csv(index=False),
    "latex": to_latex,
}
# the numbers behind the table, a line per cell with mean, std and seeds as columns of their own (pandas reads them
# as they are); NaN (the std of one seed) is an empty CSV field and JSON's null
TIDY_FORMATS = {
    "tidy-csv": lambda frame: frame.to_csv(index=False).rstrip("\n"),
    "jsonl": lambda frame: frame.to_json(orient="records", lines=True).rstrip("\n"),
}
# a training run's columns as they are named in a tidy export: method is the conf/method name
TRAIN_NAMES = {"method": "row", "preset": "method"}


def say(*lines):
    for line in lines:
        print(line, file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", help="sweep or run folders to search")
    parser.add_argument("--task", choices=TASKS,
                        help="the runs of which task to show (default: train, or the task of the runs found)")
    parser.add_argument("--select", choices=SELECTIONS, default="final",
                        help="which epoch a run reports: the final one (default), the one with the best validation "
                             "accuracy, or the best by test accuracy (the paper's); task=train")
    parser.add_argument("--minority", action="store_true", help="the minority classes' accuracy, not all classes'")
    parser.add_argument("--accuracy", action="store_true", help="accuracy instead of error (task=train; the other "
                                                                "tasks' tables are of accuracy)")
    parser.add_argument("--augmented", choices=("wrong", "minority"),
                        help="task=subsample: instead of accuracy, the share (%%) of the augmented points that carry a "
                             "wrong label, or that are of a minority class")
    parser.add_argument("--format", choices=[*FORMATS, *TIDY_FORMATS], default="text",
                        help="the table's format; tidy-csv and jsonl: the numbers behind it, a line per cell with its "
                             "row's names, mean, std and seeds in columns of their own (README: the tidy export)")
    parser.add_argument("--verbose", action="store_true",
                        help="also list every counted run and every run folder not counted, with the reason "
                             "(standard error)")
    parser.add_argument("--runs-csv", help="also write the one-line-per-run table to this CSV file")
    parser.add_argument("--figures", action="store_true",
                        help="also draw the learning curves, per-class accuracy and (for runs that log them) lambda's "
                             "diagnostics per epoch into <first folder>/figures/")
    parser.add_argument("--inspect", action="append", default=[], metavar="RUN_DIR",
                        help="also draw this finished run's confusion matrix and t-SNE of its test features into "
                             "<first folder>/figures/ (repeatable)")
    parser.add_argument("--iteration", type=int, metavar="K",
                        help="--inspect of an active-learning run: the model of this iteration (default: its last)")
    parser.add_argument("--data-root", help="where the inspected runs' data sets are (default: their data_root)")
    args = parser.parse_args(argv)
    missing = [folder for folder in args.folders + args.inspect if not os.path.isdir(folder)]
    if missing:
        say(f"error: {missing[0]!r} is not a folder")
        return 2
    unreadable = [message for message in (inspect_error(run_dir, args.iteration) for run_dir in args.inspect)
                  if message]
    if args.iteration is not None and not args.inspect:
        say("error: --iteration is a setting of --inspect (see --help)")
        return 2
    if unreadable:
        say(f"error: {unreadable[0]}")
        return 2
    unwritable = output_error(args)
    if unwritable:
        say(f"error: {unwritable}")
        return 2

    runs, skipped = load_runs(args.folders, args.task or "train")
    if args.task is None and not len(runs) and other_tasks(skipped):
        args.task = other_tasks(skipped)[0]
        runs, skipped = load_runs(args.folders, args.task)
    args.task = args.task or "train"
    unused = ([("--augmented", args.augmented)] if args.task != "subsample" else []) + (
        [] if args.task == "train" else
        [("--select", args.select != "final"), ("--accuracy", args.accuracy)])
    unused = [name for name, given in unused if given]
    if unused:
        say(f"error: {unused[0]} is not an option of --task {args.task} (see --help)")
        return 2
    others = pd.Series([task_of(found.result["config"]) for found in skipped if found.status == "other task"])
    if len(others):
        say(f"{len(others)} runs of other tasks not shown (" + "; ".join(
            f"{count} task={task}: --task {task} shows them" for task, count in others.value_counts().items()) + ")")
    skipped = [found for found in skipped if found.status != "other task"]
    if args.task != "train":
        return show_task(runs, skipped, args)
    if args.verbose:
        list_runs(runs.drop(columns=["run_dir", "settings", "settings_key"]), skipped)
    not_counted = f"{len(skipped)} run folders not counted" + (" (--verbose lists them)" if skipped and not
                                                                 args.verbose else "")
    if not len(runs):
        say(f"error: no finished runs under {', '.join(args.folders)} ({not_counted})")
        return 1
    say(f"{len(runs)} finished runs; {not_counted}")
    if args.runs_csv:
        columns = ["method", "row", "cell",
                   *(column for column in runs if column not in ("preset", "settings", "settings_key"))]
        label_runs(runs).rename(columns=TRAIN_NAMES)[columns].to_csv(args.runs_csv, index=False)
    what = ("minority-class " if args.minority else "") + ("accuracy" if args.accuracy else "error")
    say(f"test {what} (%), {args.select} epoch: mean ± std over seeds (seeds)")
    if args.select == "best_valid":
        say(held_out_note(runs))
    if args.format in TIDY_FORMATS:
        stats = summary_stats(runs, args.select, minority=args.minority, error=not args.accuracy)
        print(TIDY_FORMATS[args.format](stats.rename(columns=TRAIN_NAMES).assign(
            rule=args.select, value=f"test {what} (%)")))
    else:
        print(FORMATS[args.format](summary_table(runs, args.select, minority=args.minority, error=not args.accuracy)))
    if args.figures or args.inspect:
        try:
            draw_figures(runs, args)
        except UserError as error:  # a run to inspect whose data set or checkpoint cannot be read
            say(f"error: {error}")
            return 2
    return 0


def list_runs(runs, skipped):
    """--verbose: every counted run, a line each, and every run folder not counted, with the reason."""
    if len(runs):
        with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200):
            say(runs.to_string(index=False, float_format="{:.2f}".format))
    say(*(f"not counted ({found.status}): {found.folder.path}: {found.reason}" for found in skipped))


def held_out_note(runs):
    """What --select best_valid chose on: validation images held out of everything the run learned (a held-out
    selection part, clean_split, or a row that learns from no clean image), or images the run also learned from."""
    seen = ~runs["valid_held_out"].astype(bool)
    note = f"the epoch is chosen on held-out validation images for {int((~seen).sum())} of {len(runs)} runs"
    if not seen.any():
        return note
    rows = sorted(set(label_runs(runs[seen])["method"]))
    return (f"{note}; the other {int(seen.sum())} learned from their validation images (hyper steps, training or "
            f"a head refit on them: clean_split.selection holds a part out): {'; '.join(rows)}")


def show_task(runs, skipped, args):
    """The table (and with --figures the figure) of the runs of a task other than training."""
    from autodo.registry import report_module

    report = report_module(args.task)

    if args.verbose:
        list_runs(runs.drop(columns=["run_dir", "settings_key"]), skipped)
    if not len(runs):
        say(f"error: no finished task={args.task} runs under {', '.join(args.folders)} ({len(skipped)} run folders "
            "not counted)")
        return 1
    say(f"{len(runs)} finished task={args.task} runs; {len(skipped)} run folders not counted")
    if args.runs_csv:
        runs.drop(columns=["settings_key"]).to_csv(args.runs_csv, index=False)
    value = {"wrong": "wrong", "minority": "minority_share"}.get(args.augmented,
                                                                "minority" if args.minority else "accuracy")
    say(f"{report.VALUES[value][1]}: mean ± std over seeds (seeds); {report.COLUMNS}")
    if args.format in TIDY_FORMATS:
        stats = report.stats(runs, value).rename(columns=lambda column: column.removesuffix("_key"))
        print(TIDY_FORMATS[args.format](stats.assign(value=report.VALUES[value][1])))
    else:
        print(FORMATS[args.format](report.table(runs, value)))
    written = []
    if args.figures:
        written.append(os.path.join(args.folders[0], "figures", report.FIGURE))
        report.figure(runs, written[0])
    try:
        written.extend(inspect_runs(args, os.path.join(args.folders[0], "figures")))
    except UserError as error:  # a run to inspect whose data set cannot be read
        say(f"error: {error}")
        return 2
    if written:
        say("figures: " + ", ".join(map(str, written)))
    return 0


def output_error(args):
    """Why a file asked for cannot be written (one line), or None: checked before anything is read or drawn."""
    if args.runs_csv:
        folder = os.path.dirname(os.path.abspath(args.runs_csv))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            return f"--runs-csv {args.runs_csv!r}: {folder!r} is not a folder this process may write in"
    if args.figures or args.inspect:
        figures = os.path.join(args.folders[0], "figures")
        if os.path.exists(figures) and not os.path.isdir(figures):
            return f"--figures: {figures!r} is a file, not a folder (move it away)"
        writable = figures if os.path.isdir(figures) else args.folders[0]
        if not os.access(writable, os.W_OK):
            return f"--figures: {writable!r} is not a folder this process may write in (the figures go to {figures!r})"
    return None


def inspect_error(run_dir, iteration=None):
    """Why ``run_dir`` (with ``--iteration``) cannot be inspected (one line), or None."""
    folder = RunFolder(run_dir)
    if not folder.finished():
        return f"--inspect {run_dir!r} is not a finished run folder (no {folder.result.name})"
    try:
        result = read_run(folder)
    except DamagedRun as error:
        return f"--inspect {run_dir!r}: {error}"
    return face(task_of(result["config"])).inspect_error(run_dir, folder, result, iteration)


def inspect_runs(args, folder):
    """The confusion matrix and t-SNE of each run of --inspect, into ``folder``; their paths."""
    from autodo.inspection import inspect_run

    return [path for run_dir in args.inspect
            for path in inspect_run(run_dir, args.data_root, folder, iteration=args.iteration)]


def draw_figures(runs, args):
    from autodo.tasks.train import figures

    folder = os.path.join(args.folders[0], "figures")
    written = []
    if args.figures:
        runs, damaged = figures.readable_runs(runs)
        say(*(f"not drawn: {run_dir}: {reason}" for run_dir, reason in damaged))
        for name, draw in (("learning_curves.png", figures.learning_curves),
                           ("per_class_accuracy.png", figures.per_class_accuracy)):
            if len(runs):
                draw(runs, os.path.join(folder, name))
                written.append(os.path.join(folder, name))
        if len(runs) and figures.lambda_diagnostics(runs, os.path.join(folder, "lambda_diagnostics.png")):
            written.append(os.path.join(folder, "lambda_diagnostics.png"))
    written.extend(inspect_runs(args, folder))
    say("figures: " + ", ".join(map(str, written)))


if __name__ == "__main__":
    sys.exit(main())
