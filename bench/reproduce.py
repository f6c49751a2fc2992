#!/usr/bin/env python
"""Reproduce the AutoDO paper's claims at CPU scale and write the generated part of BENCHMARKS.md.

Runs ``experiment=reproduce`` (Fashion-MNIST, small CNN, the reference's proportions: 40 epochs, hyper passes from
the 11th; every row, four seeds) in the cell ir=100 nr=0.1, the rows its claim needs in the clean cell ir=1 nr=0.0
sr=0.5, and the rivals with the rows they are set against in the asymmetric cell ir=100 nr=0.2
nr_type=asymmetric; or ``--experiment reproduce_8epochs``, the first 8-epoch reproduction (every row of its time in
both cells), kept as what happens when lambda gets too few visits. It runs seed by seed, so that a preset stopped part-way holds
every row of its first seeds; a relaunch skips the finished runs and resumes the others. Then it makes the tables
(autodo.results, as aggregate.py), checks the paper's claims and the targets on them, draws the figures into
bench/figures/<experiment>/, runs the cost benchmarks, and rewrites the preset's section of BENCHMARKS.md between
its markers (the hand-written reading around them is kept).

    python bench/reproduce.py                              # runs into bench/runs/reproduce/
    python bench/reproduce.py --experiment reproduce_8epochs   # into bench/runs/reproduce_8epochs/
    python bench/reproduce.py --out DIR seed=0,1            # launch.py overrides narrow or change the sweep
    python bench/reproduce.py seed=0,1,2,3 hydra/launcher=local hydra.launcher.max_parallel=8   # 16 cores: 8 runs
                                                            # at once, 2 torch threads each
    python bench/reproduce.py --skip-runs --skip-costs      # only remake tables, figures and BENCHMARKS.md
"""

import argparse
import math
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parent.parent
# each benchmark's finished runs, committed without their checkpoints and event files (.gitignore): the tables in
# BENCHMARKS.md can be remade from them (--skip-runs), and a relaunch on any machine runs only what is missing
RUNS = REPO / "bench" / "runs"
sys.path.insert(0, str(REPO))

from autodo.io import atomic_write_bytes  # noqa: E402
from autodo.provenance import machine  # noqa: E402
from autodo.results import load_runs  # noqa: E402
from autodo.tables import beats, cell_name, mean_std_text, paired_difference  # noqa: E402
from autodo.tasks.train import figures  # noqa: E402
from autodo.tasks.train.report import label_runs, summary_table  # noqa: E402
from autodo.run_folder import DamagedRun, RunFolder  # noqa: E402

# each preset's cells, with the overrides of the cell's own sweep. The clean cell keeps half of the train split
# (25,000 images, as many as the biased cell's 25,250); in the reference's proportions it runs only the rows its
# claim needs. The asymmetric cell (look-alike classes flipped at the same imbalance) runs the rivals beside the rows
# they are set against
BIASED, CLEAN = {"ir": 100, "nr": 0.1}, {"ir": 1, "nr": 0.0, "sr": 0.5}
ASYMMETRIC = {"ir": 100, "nr": 0.2, "nr_type": "asymmetric"}
ASYMMETRIC_ROWS = ("baseline", "logit_adjusted", "train_on_valid_la", "autodo_frozen_valid", "autodo", "autodo_valid",
                   "mwnet", "dividemix", "elr", "gce", "sce")
EXPERIMENTS = {"reproduce": ((BIASED, ()), (CLEAN, ("method=baseline,autodo",)),
                             (ASYMMETRIC, ("method=" + ",".join(ASYMMETRIC_ROWS),))),
               "reproduce_8epochs": ((BIASED, ()), (CLEAN, ()))}
FULL = "lambda^{A,W,S}"
RIVALS = ("GCE", "SCE", "ELR", "MW-Net", "DivideMix")
# each rival is set against the Baseline, the strongest simple baselines without the clean images (the
# logit-adjusted loss) and with them (the same on train + valid), and full AutoDO
RIVAL_OPPONENTS = ("Baseline", "logit-adjusted CE", "logit-adjusted CE + valid in train", FULL)
# rule -> (test accuracy, the validation accuracy that chooses under it)
RULES = {"final epoch": ("test_acc_final", "valid_acc_final"),
         "best validation epoch": ("test_acc_at_best_valid", "valid_acc_best")}
FIXED_POLICIES = ("RAA", "FAA", "TrivialAugment", "DADA (searched here)")
HONEST_BASELINES = ("logit-adjusted CE", "class-balanced CE", "Baseline + valid in train",
                    "logit-adjusted CE + valid in train", "Baseline + head refit on valid",
                    "Baseline + confident learning (remove)", "Baseline + confident learning (relabel)",
                    "logit-adjusted CE + confident learning (remove)",
                    "lambda^{A,W,S} frozen (no hyper steps)", "lambda^{A,W,S} frozen (no hyper steps) + valid in train")
PAPER_CHAIN = ("Baseline", "lambda^A_SHA", "lambda^A", "lambda^{A,W}", FULL)  # each part adds, says the paper
TARGET_ERROR_RATIO = 0.6  # full AutoDO's final test error against the Baseline's
TARGET_AUROC = 0.85  # the learned weights against the wrong labels, within class, at the last epoch
COST_BENCHMARKS = ("train_throughput.py", "hyper_cost.py", "aggregate_speed.py")
FIGURES = {"learning_curves": figures.learning_curves, "per_class_accuracy": figures.per_class_accuracy,
           "lambda_diagnostics": figures.lambda_diagnostics}


def section_markers(experiment):
    """The BENCHMARKS.md markers of the preset's generated section."""
    flag = "" if experiment == "reproduce" else f" --experiment {experiment}"
    return tuple(f"<!-- generated by bench/reproduce.py{flag}: {mark} -->" for mark in ("begin", "end"))


def preset_seeds(experiment):
    """The seeds that the preset sweeps (its ``hydra.sweeper.params.seed``)."""
    preset = OmegaConf.load(REPO / "conf" / "experiment" / f"{experiment}.yaml")
    return str(preset.hydra.sweeper.params.seed).split(",")


def run_sweeps(experiment, out, overrides):
    """Each cell's sweep, one seed after the other unless the command line names the seeds: a preset of many hours
    stopped part-way then holds every row of its first seeds, which can be read, rather than every seed of its
    first rows."""
    given = {override.split("=", 1)[0] for override in overrides}
    seeds = [[]] if "seed" in given else [[f"seed={seed}"] for seed in preset_seeds(experiment)]
    for seed in seeds:
        for cell, own in EXPERIMENTS[experiment]:
            own = [override for override in own if override.split("=", 1)[0] not in given]  # the command line wins
            command = [sys.executable, str(REPO / "launch.py"), "-m", f"experiment={experiment}",
                       *(f"{key}={value}" for key, value in cell.items()), *own, *seed, f"out_dir={out}", *overrides]
            print("+", " ".join(command[1:]), flush=True)
            subprocess.run(command, check=True)


def error_stats(runs, column="test_acc_final"):
    """(method, cell) -> (mean, std, seeds) of the test error in % (100 - ``column``) of the labelled ``runs``."""
    runs = runs.assign(error=100.0 - runs[column])
    stats = runs.groupby(["method", "cell"])["error"].agg(["mean", "std", "count"])
    return {key: (row["mean"], row["std"], int(row["count"])) for key, row in stats.iterrows()}


def last_logged(runs, key):
    """(method, cell) -> the mean over seeds of ``key`` in the last line of the runs' metrics.jsonl (runs that do
    not log it are left out)."""
    values = {}
    for run_dir, method, cell in zip(runs["run_dir"], runs["method"], runs["cell"]):
        try:
            last = RunFolder(run_dir).read_metrics()[-1]
        except (DamagedRun, IndexError):  # figures.readable_runs names it
            continue
        if key in last:
            values.setdefault((method, cell), []).append(last[key])
    return {group: sum(found) / len(found) for group, found in values.items()}


def learned_rows(runs, cell):
    """(rows that keep the validation set for hyper steps only, rows that also train or refit on it): the rows with
    hyper steps in ``cell``."""
    learned = runs[(runs["cell"] == cell) & (runs["hyper_opt"] != "NONE")]
    by_valid = learned["train_on_valid"] | learned["head_refit"]
    return sorted(set(learned.loc[~by_valid, "method"])), sorted(set(learned.loc[by_valid, "method"]))


def seed_errors(runs, method, cell, column="test_acc_final"):
    """seed -> test error in % (100 - ``column``) of ``method``'s runs in ``cell`` (labelled runs)."""
    chosen = runs[(runs["method"] == method) & (runs["cell"] == cell)]
    return pd.Series(100.0 - chosen[column].to_numpy(), index=chosen["seed"].to_numpy())


def claims(runs):
    """The paper's orderings and this project's targets (the reproduction issue's), each with its numbers and
    whether it holds here. Every "A beats B" is judged on the per-seed differences (runs of one seed share their
    data): it holds when the mean gain exceeds two standard errors, and says how many seeds agree. The AutoDO row
    set against the honest baselines is the one with the best mean final validation accuracy among the rows that
    keep the validation set for hyper steps only; their validation accuracy is not held out (the hyper steps fit
    it), which bench/budget.py's held-out selection part mends."""
    runs = label_runs(runs)
    (dataset,) = set(runs["dataset"])
    biased, clean = (cell_name(dataset, **cell) for cell in (BIASED, CLEAN))
    final = error_stats(runs)
    nan = (float("nan"),) * 3

    def mean(method, stats=final, cell=biased):
        return stats.get((method, cell), nan)[0]

    lines = []

    def check(text, holds, *numbers):
        """A claim, judged only when every number it rests on was measured (a row not run, or one seed's std)."""
        verdict = "not measured" if any(map(math.isnan, numbers)) else "holds" if holds else "**does not hold**"
        lines.append(f"- {verdict}: {text}")

    def paired(a, b, cell=biased, column="test_acc_final", rule=""):
        """The claim "a beats b", judged on the per-seed differences of their test errors."""
        errors_a, errors_b = seed_errors(runs, a, cell, column), seed_errors(runs, b, cell, column)
        holds, (gain, se, count, agree) = beats(errors_a, errors_b)
        where = f" at {cell.split(' ', 1)[1]}" if cell != biased else ""
        check(f"{a} ({errors_a.mean():.2f}) beats {b} ({errors_b.mean():.2f}){where}{rule}: gain {gain:+.2f} ± "
              f"{se:.2f}, {agree} of {count} seeds", holds, gain, se)

    best_valid = error_stats(runs, "test_acc_at_best_valid")
    base, full = mean("Baseline"), mean(FULL)
    check(f"full AutoDO's final test error is at most {TARGET_ERROR_RATIO}x the Baseline's at 100-0.1 "
          f"({full:.2f} vs {base:.2f}: {full / base:.2f}x)", full <= TARGET_ERROR_RATIO * base, full, base)
    base_bv, full_bv = mean("Baseline", best_valid), mean(FULL, best_valid)
    lines.append(f"- at the epoch of best validation accuracy: full AutoDO {full_bv:.2f} vs the Baseline's "
                 f"{base_bv:.2f}, {full_bv / base_bv:.2f}x (the Baseline's validation images are held out; full "
                 "AutoDO's are not: its hyper steps fit them; bench/budget.py holds a selection part out)")
    paired(FULL, "Baseline", column="test_acc_at_best_valid", rule=" at the epoch of best validation accuracy")
    for policy in FIXED_POLICIES:
        paired(FULL, policy)
    valid_acc = last_logged(runs, "valid_acc")
    held_out, trained_on_valid = learned_rows(runs, biased)
    selected = max(held_out, key=lambda row: valid_acc.get((row, biased), float("-inf")), default=FULL)
    if held_out:
        lines.append(f"- chosen by validation: of the AutoDO rows that keep the validation set for hyper steps, "
                     f"{selected} has the best final validation accuracy ({valid_acc[(selected, biased)]:.2f}%; not "
                     "held out: the hyper steps fit it)")
    for row in [selected, *trained_on_valid]:
        for baseline in HONEST_BASELINES:
            paired(row, baseline)
    auroc = last_logged(runs, "weight_noise_auroc_within_class")
    corrected, broken = last_logged(runs, "soft_corrected_count"), last_logged(runs, "soft_broken_count")
    for row in dict.fromkeys([FULL, selected]):
        found = auroc.get((row, biased), float("nan"))
        check(f"{row}: the learned weights find the wrong labels, within-class AUROC at the last epoch {found:.3f} "
              f"(target >= {TARGET_AUROC})", found >= TARGET_AUROC, found)
        fixed, spoilt = corrected.get((row, biased), float("nan")), broken.get((row, biased), float("nan"))
        check(f"{row}: the soft labels correct more wrong labels than they break ({fixed:.0f} against {spoilt:.0f}, "
              f"mean over seeds)", fixed > spoilt, fixed, spoilt)
    for simpler, richer in zip(PAPER_CHAIN, PAPER_CHAIN[1:]):
        paired(richer, simpler)
    errors_full, errors_base = seed_errors(runs, FULL, clean), seed_errors(runs, "Baseline", clean)
    worse = beats(errors_base, errors_full)[0]
    gain, se, count, agree = paired_difference(errors_full, errors_base)
    check(f"clean cell {clean.split(' ', 1)[1]}: full AutoDO ({errors_full.mean():.2f}) is no worse than the Baseline "
          f"({errors_base.mean():.2f}), i.e. the Baseline does not beat it: full AutoDO's gain {gain:+.2f} ± {se:.2f}, "
          f"{agree} of {count} seeds", not worse, gain, se)
    return lines


def rival_section(runs):
    """The rivals in each cell they ran in, under both rules: a table of each against each of ``RIVAL_OPPONENTS`` on
    the per-seed differences of the test errors, the row with the lowest mean test error, and the row chosen by
    validation among the rows whose validation accuracy is held out (those that learn from no clean image: the others
    fit it)."""
    runs = label_runs(runs)
    # runs older than result.json's valid_acc_final: their last metrics line's
    runs = runs.assign(valid_acc_final=runs["valid_acc_final"].fillna(runs["run_dir"].map(last_valid_acc)))
    (dataset,) = set(runs["dataset"])
    lines = []
    for cell in (cell_name(dataset, **cell) for cell in (BIASED, ASYMMETRIC)):
        present = runs[runs["cell"] == cell]
        for rule, (test, valid) in RULES.items():
            lines += [f"#### {cell}, {rule}", "", rival_table(runs, cell, test), ""]
            if present.empty:
                continue
            errors = (100.0 - present.groupby("method")[test].mean()).sort_values()
            lines.append(f"- lowest mean test error: {errors.index[0]} ({errors.iloc[0]:.2f})")
            held_out = present[present["valid_held_out"]].groupby("method")[[valid, test]].mean()
            if not held_out.empty:
                chosen = held_out[valid].idxmax()
                lines.append(f"- chosen by held-out validation among the rows that learn from no clean image: {chosen} "
                             f"(validation {held_out.loc[chosen, valid]:.2f}%, test error "
                             f"{100 - held_out.loc[chosen, test]:.2f})")
            lines.append("")
    return lines


def last_valid_acc(run_dir):
    """The validation accuracy of the run's last epoch (its metrics.jsonl), or NaN where it cannot be read."""
    try:
        return RunFolder(run_dir).read_metrics()[-1]["valid_acc"]
    except (DamagedRun, IndexError):  # figures.readable_runs names it
        return float("nan")


def rival_table(runs, cell, column):
    """A row per rival run in ``cell`` (its mean test error, 100 - ``column``) and a column per opponent: whether the
    rival beats it (the gain exceeds two standard errors), the mean gain ± its standard error and the seeds that
    agree, of those both ran."""
    rows = []
    for rival in RIVALS:
        errors = seed_errors(runs, rival, cell, column)
        if errors.empty:
            continue
        row = {"rival (test error)": f"{rival} ({errors.mean():.2f})"}
        for opponent in RIVAL_OPPONENTS:
            holds, (gain, se, count, agree) = beats(errors, seed_errors(runs, opponent, cell, column))
            row[f"beats {opponent}?"] = ("not measured" if math.isnan(gain) or math.isnan(se) else
                                         f"{'**yes**' if holds else 'no'}: {gain:+.2f} ± {se:.2f}, {agree} of {count}")
        rows.append(row)
    return pd.DataFrame(rows).to_markdown(index=False) if rows else "(no rival has run here yet)"


def cost_table(runs):
    """Each method's wall time per run as a ratio to the Baseline run of the same seed and cell, mean ± std over the
    seeds that have both, per cell. A seed's rows run on one machine, but seeds may not (a preset split between this
    machine and a lent one): seconds would mix machines, a ratio within a seed does not. Empty where a method has no
    such run in a cell (the clean cell keeps only the rows its claim needs)."""
    per_run = label_runs(runs).groupby(["method", "cell", "seed"], as_index=False)["wall_time_s"].mean()
    baseline = per_run[per_run["method"] == "Baseline"].drop(columns="method")
    per_run = per_run.merge(baseline, on=["cell", "seed"], suffixes=("", "_baseline"))
    ratios = per_run.assign(ratio=per_run["wall_time_s"] / per_run["wall_time_s_baseline"])
    stats = ratios.groupby(["method", "cell"])["ratio"].agg(["mean", "std", "count"])
    text = [mean_std_text(m, s, n, unit="x") for m, s, n in zip(stats["mean"], stats["std"], stats["count"])]
    return stats.assign(text=text)["text"].unstack("cell").fillna("").reset_index().to_markdown(index=False)


def cost_benchmarks():
    """Each cost benchmark's last two lines (its measurements and its ratio)."""
    lines = []
    for script in COST_BENCHMARKS:
        proc = subprocess.run([sys.executable, str(REPO / "bench" / script)], capture_output=True, text=True,
                              check=True, cwd=REPO)
        printed = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
        lines.append(f"- `python bench/{script}`: {'; '.join(printed[-2:])}")
    return lines


def committed_costs(path, experiment):
    """The cost benchmarks' lines already in the preset's section of ``path`` (--skip-costs keeps them: they are
    timed on an idle machine, which a remake of the tables need not have)."""
    begin, end = section_markers(experiment)
    text = path.read_text() if path.exists() else ""
    found = re.search(re.escape(begin) + ".*?" + re.escape(end), text, re.S)
    return [line for line in (found.group(0) if found else "").splitlines() if line.startswith("- `python bench/")]


def made_on(elapsed):
    """Where this invocation ran, in words: where the runs it launched were timed, or, with --skip-runs (``elapsed``
    0), only where the tables were written: each run's wall time is its own, measured where it ran."""
    where = machine()
    text = (f"{platform.system()} {platform.machine()}, {where['cpu']}, {where['cores']} cores ({where['threads']} "
            f"torch threads); Python {where['python']}, torch {where['torch']}")
    return (f"Machine: {text}" if elapsed else
            f"Tables written on {text}; no run was made by this invocation, each run's wall time is its own, measured "
            "where it ran")


def generated_section(experiment, command, runs, elapsed, drawn, costs):
    (dataset,) = set(runs["dataset"])
    epochs = sorted(set(runs["epochs"]))
    seeds = sorted(set(runs["seed"]))
    begin, end = section_markers(experiment)
    parts = [
        begin,
        f"Command: `{command}` ({len(runs)} finished runs; epochs {epochs}, seeds "
        f"{seeds}). {made_on(elapsed)}. Compute: {runs['wall_time_s'].sum() / 3600:.2f} h summed over the runs' "
        "wall times (a cost runs share, confident learning's folds, is in each of theirs)"
        + (f", this invocation {elapsed / 3600:.2f} h." if elapsed else "."),
        "",
        "### Test error (%), final epoch: mean ± std over seeds (seeds)",
        "",
        summary_table(runs, "final").reset_index().to_markdown(index=False),
        "",
        "### Minority-class test error (%), final epoch",
        "",
        summary_table(runs, "final", minority=True).reset_index().to_markdown(index=False),
        "",
        "### Test error (%) at the epoch of best validation accuracy",
        "",
        summary_table(runs, "best_valid").reset_index().to_markdown(index=False),
        "",
        "### The paper's claims and this project's targets. \"A beats B\" is judged on the per-seed differences of "
        "the test error: their mean (the gain, in points) ± its standard error, and the seeds that agree; it holds "
        "when the gain exceeds two standard errors",
        "",
        *claims(runs),
        "",
        "### The rivals (not in the paper), each against the Baseline, the logit-adjusted loss (alone and on train + "
        "valid) and full AutoDO: \"**yes**\" where its gain exceeds two standard errors (per-seed differences of the "
        "test error, as above)",
        "",
        *rival_section(runs),
        "### Wall time per run as a ratio to the same seed's Baseline run: mean ± std over seeds (seeds)",
        "",
        cost_table(runs),
        "",
        "### Figures",
        "",
        *(f"![{name}](bench/figures/{experiment}/{name}.png)\n" for name in drawn),
    ]
    if costs:
        parts += ["### Cost benchmarks (each a ratio measured in one run)", "", *costs, ""]
    return "\n".join(parts + [end])


def write_benchmarks(section, path, begin, end):
    """Replace the part of ``path`` between the markers ``begin`` and ``end`` by ``section`` (which holds them)."""
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{begin}\n{end}\n"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"error: {path} has no generated section ({begin} ... {end})")
    atomic_write_bytes(path, pattern.sub(lambda _: section, text).encode())
    print(f"wrote {path}")


def task_benchmark(argv, script, doc, sweeps, task, section, markers):
    """The main of the benchmark script ``script`` (its path; ``doc`` its --help) of a task other than training
    (bench/subsample.py, bench/active_learning.py): run each of ``sweeps`` (a list of overrides) into --out unless
    --skip-runs, load the finished runs of ``task``, draw its report's figure into bench/figures/ and write into
    BENCHMARKS.md, between ``markers`` (begin, end), the command, machine and compute, the lines ``section(runs)``
    and the figure."""
    from autodo.registry import report_module

    name = Path(script).stem
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(RUNS / name), help=f"the sweeps' out_dir (default: bench/runs/{name})")
    parser.add_argument("--skip-runs", action="store_true", help="use the finished runs as they are")
    parser.add_argument("--benchmarks", default=str(REPO / "BENCHMARKS.md"), help="the file to write")
    args = parser.parse_args(argv)
    out = os.path.abspath(args.out)
    started = time.perf_counter()
    for sweep in () if args.skip_runs else sweeps:
        command = [sys.executable, str(REPO / "launch.py"), "-m", *sweep, f"out_dir={out}"]
        print("+", " ".join(command[1:]), flush=True)
        subprocess.run(command, check=True)
    elapsed = 0 if args.skip_runs else time.perf_counter() - started
    runs, skipped = load_runs([out], task=task)
    if not len(runs):
        raise SystemExit(f"error: no finished task={task} runs under {out}")
    print(f"{len(runs)} finished runs; {len(skipped)} run folders not counted")
    report = report_module(task)
    report.figure(runs, Path(args.benchmarks).parent / "bench" / "figures" / report.FIGURE)
    command = " ".join([f"python bench/{Path(script).name}", *(argv if argv is not None else sys.argv[1:])])
    text = "\n".join([
        markers[0],
        f"Command: `{command}` ({len(runs)} finished runs, seeds {sorted(set(runs['seed']))}). {made_on(elapsed)}. "
        f"Compute: {runs['wall_time_s'].sum() / 3600:.2f} h summed over runs"
        + (f", this invocation {elapsed / 3600:.2f} h." if elapsed else "."),
        "",
        *section(runs),
        "",
        f"![{task}](bench/figures/{report.FIGURE})",
        markers[1],
    ])
    print(text)
    write_benchmarks(text, Path(args.benchmarks), *markers)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiment", choices=sorted(EXPERIMENTS), default="reproduce",
                        help="the preset (default: reproduce, the reference's proportions)")
    parser.add_argument("--out", help="the sweeps' out_dir (default: bench/runs/<experiment>)")
    parser.add_argument("--skip-runs", action="store_true", help="use the finished runs as they are")
    parser.add_argument("--skip-costs", action="store_true",
                        help="do not run the cost benchmarks: keep their lines already in the section")
    parser.add_argument("--benchmarks", default=str(REPO / "BENCHMARKS.md"),
                        help="the file to write (default: the repository's BENCHMARKS.md); the figures go to "
                             "bench/figures/<experiment>/ beside it")
    args, overrides = parser.parse_known_args(argv)
    out = os.path.abspath(args.out or RUNS / args.experiment)
    started = time.perf_counter()
    if not args.skip_runs:
        run_sweeps(args.experiment, out, overrides)
    elapsed = 0 if args.skip_runs else time.perf_counter() - started
    runs, skipped = load_runs([out])
    if not len(runs):
        raise SystemExit(f"error: no finished runs under {out}")
    if runs["epochs"].nunique() > 1:  # the claims compare rows by their means: one budget
        raise SystemExit(f"error: {out} holds runs of {sorted(set(runs['epochs']))} epochs: give each preset its own "
                         "--out")
    print(f"{len(runs)} finished runs; {len(skipped)} run folders not counted")
    figure_dir = Path(args.benchmarks).parent / "bench" / "figures" / args.experiment
    drawable, damaged = figures.readable_runs(runs)
    for run_dir, reason in damaged:
        print(f"not drawn: {run_dir}: {reason}")
    drawn = []
    for name, draw in FIGURES.items():
        path = figure_dir / f"{name}.png"
        path.unlink(missing_ok=True)  # a figure with nothing to draw writes no file: no stale one stays linked
        draw(drawable, path)
        drawn += [name] if path.exists() else []
    costs = committed_costs(Path(args.benchmarks), args.experiment) if args.skip_costs else cost_benchmarks()
    command = " ".join(["python bench/reproduce.py", *(argv if argv is not None else sys.argv[1:])])
    section = generated_section(args.experiment, command, runs, elapsed, drawn, costs)
    print(section)
    write_benchmarks(section, Path(args.benchmarks), *section_markers(args.experiment))
    return 0


if __name__ == "__main__":
    sys.exit(main())
