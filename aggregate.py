#!/usr/bin/env python
"""List the finished runs under one or more folders (searched recursively) with their metrics.

    python aggregate.py outputs/
"""

import argparse
import os
import sys

import pandas as pd

from autodo.results import load_runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", help="sweep or run folders to search")
    parser.add_argument("--csv", help="also write the table to this CSV file")
    args = parser.parse_args(argv)
    missing = [folder for folder in args.folders if not os.path.isdir(folder)]
    if missing:
        print(f"error: {missing[0]!r} is not a folder", file=sys.stderr)
        return 2
    runs, skipped = load_runs(args.folders)
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200):
        print(runs.drop(columns="run_dir").to_string(index=False, float_format="{:.2f}".format))
    print(f"{len(runs)} finished runs; {skipped} unfinished, failed or corrupt run folders skipped")
    if args.csv:
        runs.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
