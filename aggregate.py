#!/usr/bin/env python
"""The finished runs under one or more folders (searched recursively): one line each, then the paper's table:
test error (or accuracy) in %, mean ± std over seeds (seeds), a row per method named as in the paper, a column
per data set and IR-NR.

    python aggregate.py outputs/
    python aggregate.py outputs/ --select best_valid --minority --format markdown
"""

import argparse
import os
import sys

import pandas as pd

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
    args = parser.parse_args(argv)
    missing = [folder for folder in args.folders if not os.path.isdir(folder)]
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
