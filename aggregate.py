#!/usr/bin/env python
"""The finished runs under one or more folders (searched recursively): one line each, then the paper's table:
test error (or accuracy) in %, mean ± std over seeds (seeds), a row per method named as in the paper, a column
per data set and IR-NR.

    python aggregate.py outputs/
    python aggregate.py outputs/ --select best_valid --minority --format markdown
    python aggregate.py outputs/ --figures                        # + learning curves, per-class accuracy
    python aggregate.py outputs/ --inspect "outputs/ir=10,method=autodo,nr=0.1"   # + confusion, t-SNE
"""

import argparse
import os
import sys

import pandas as pd
from omegaconf import OmegaConf

from autodo.results import SELECTIONS, load_runs, summary_table

FORMATS = {
    "text": lambda table: table.to_string(),
    "markdown": lambda table: table.reset_index().to_markdown(index=False),
    "csv": lambda table: table.reset_index().to_csv(index=False),
    "latex": lambda table: table.reset_index().to_latex(index=False),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", help="sweep or run folders to search")
    parser.add_argument("--select", choices=SELECTIONS, default="final",
                        help="which epoch a run reports: the final one (default), the one with the best validation "
                             "accuracy, or the best by test accuracy (the paper's)")
    parser.add_argument("--minority", action="store_true", help="the minority classes' accuracy, not all classes'")
    parser.add_argument("--accuracy", action="store_true", help="accuracy instead of error")
    parser.add_argument("--format", choices=FORMATS, default="text", help="the table's format")
    parser.add_argument("--runs-csv", help="also write the one-line-per-run table to this CSV file")
    parser.add_argument("--figures", action="store_true",
                        help="also draw the learning curves and per-class accuracy into <first folder>/figures/")
    parser.add_argument("--inspect", action="append", default=[], metavar="RUN_DIR",
                        help="also draw this finished run's confusion matrix and t-SNE of its test features into "
                             "<first folder>/figures/ (repeatable)")
    parser.add_argument("--data-root", help="where the inspected runs' data sets are (default: their data_root)")
    args = parser.parse_args(argv)
    missing = [folder for folder in args.folders + args.inspect if not os.path.isdir(folder)]
    if missing:
        print(f"error: {missing[0]!r} is not a folder", file=sys.stderr)
        return 2
    runs, skipped = load_runs(args.folders)
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200):
        print(runs.drop(columns="run_dir").to_string(index=False, float_format="{:.2f}".format))
    print(f"{len(runs)} finished runs; {skipped} unfinished, failed or corrupt run folders skipped")
    if args.runs_csv:
        runs.to_csv(args.runs_csv, index=False)
    if len(runs):
        what = ("minority-class " if args.minority else "") + ("accuracy" if args.accuracy else "error")
        print(f"\ntest {what} (%), {args.select} epoch: mean ± std over seeds (seeds)\n")
        table = summary_table(runs, args.select, minority=args.minority, error=not args.accuracy)
        print(FORMATS[args.format](table))
    if args.figures or args.inspect:
        return draw_figures(runs, args)
    return 0


def draw_figures(runs, args):
    from autodo import figures

    folder = os.path.join(args.folders[0], "figures")
    unfinished = [run_dir for run_dir in args.inspect if not os.path.isfile(os.path.join(run_dir, "result.json"))]
    if unfinished:
        print(f"error: --inspect {unfinished[0]!r} is not a finished run folder (no result.json)", file=sys.stderr)
        return 2
    written = []
    if args.figures and len(runs):
        for name, draw in (("learning_curves.png", figures.learning_curves),
                           ("per_class_accuracy.png", figures.per_class_accuracy)):
            draw(runs, os.path.join(folder, name))
            written.append(os.path.join(folder, name))
    for run_dir in args.inspect:
        data_root = args.data_root or OmegaConf.load(os.path.join(run_dir, ".hydra", "config.yaml")).data_root
        written.extend(figures.inspect_run(run_dir, data_root, folder))
    print("figures: " + ", ".join(map(str, written)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
