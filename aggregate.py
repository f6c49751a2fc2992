#!/usr/bin/env python
"""The finished runs under one or more folders (searched recursively): one line each, then the test error (%)
as mean ± std over seeds (count), a row per method (named as in the paper) and a column per data set and IR-NR.

    python aggregate.py outputs/
    python aggregate.py outputs/ --select best_valid
"""

import argparse
import os
import sys

import pandas as pd

from autodo.results import SELECTIONS, error_table, load_runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", help="sweep or run folders to search")
    parser.add_argument("--csv", help="also write the table of runs to this CSV file")
    parser.add_argument("--select", choices=SELECTIONS, default="final",
                        help="which epoch's test accuracy a run reports: the final one (default), the one at the "
                             "best validation accuracy, or the best over epochs (the paper's)")
    args = parser.parse_args(argv)
    missing = [folder for folder in args.folders if not os.path.isdir(folder)]
    if missing:
        print(f"error: {missing[0]!r} is not a folder", file=sys.stderr)
        return 2
    runs, skipped = load_runs(args.folders)
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200):
        print(runs.drop(columns="run_dir").to_string(index=False, float_format="{:.2f}".format))
    print(f"{len(runs)} finished runs; {skipped} unfinished, failed or corrupt run folders skipped")
    if len(runs):
        print(f"\ntest error (%), {args.select} epoch: mean ± std over seeds (seeds)")
        print(error_table(runs, args.select).to_string())
    if args.csv:
        runs.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
