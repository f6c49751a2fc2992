"""What every task's tables are made of: a cell's name and its ``mean ± std (n)`` text, and the
paired judgement of "A beats B" on per-seed differences."""

import pandas as pd


def cell_name(dataset, ir, nr, sr=1.0, nr_type="uniform"):
    """A table column: the data set and IR-NR as the paper writes them (100-0.0, 10-0.1), ``asym`` after NR for
    asymmetric noise, and the subsampling ratio where it is not 1 (runs on different shares of the train split, or
    with different noise, are never averaged together)."""
    name = f"{dataset} {ir:g}-{nr:.1f}" if round(nr, 1) == nr else f"{dataset} {ir:g}-{nr:g}"
    name += " asym" if nr_type == "asymmetric" else ""
    return name if sr == 1 else f"{name} sr {sr:g}"


def mean_std_text(mean, std, count, unit=""):
    """A table cell: ``mean ± std (count)``, or ``mean (1)`` where one value has no std."""
    return f"{mean:.2f}{unit} ± {std:.2f} ({count})" if count > 1 else f"{mean:.2f}{unit} ({count})"


def paired_difference(errors_a, errors_b):
    """How much lower ``errors_a`` is than ``errors_b`` (each a pandas Series: seed -> test error) on the seeds both
    have: ``(mean, standard error, seeds, seeds that agree)`` of the per-seed differences B - A (positive: A is
    better). Runs of one seed share their data and split, so the difference within a seed is the measurement;
    the standard error is the differences' std (ddof=1) over the square root of their number (nan with one seed)."""
    both = pd.concat([errors_a.rename("a"), errors_b.rename("b")], axis=1, join="inner").dropna()
    gains = both["b"] - both["a"]
    count = len(gains)
    se = gains.std(ddof=1) / count ** 0.5 if count > 1 else float("nan")
    return (gains.mean() if count else float("nan")), se, count, int((gains > 0).sum())


def beats(errors_a, errors_b):
    """Whether A beats B on the per-seed differences: the mean gain exceeds two standard errors (autodo's rule for
    every "A beats B" claim); and the numbers it rests on (``paired_difference``)."""
    mean, se, count, agree = paired_difference(errors_a, errors_b)
    return bool(count > 1 and mean > 2 * se), (mean, se, count, agree)
