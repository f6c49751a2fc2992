"""The training task's figures, as PNG files (autodo.figures draws them):

- ``learning_curves.png``: test error and train loss per epoch, mean and a ±1 std band over seeds, a line per
  method and a column per data set and IR-NR (from each run's ``metrics.jsonl``);
- ``per_class_accuracy.png``: final test accuracy per class, mean over seeds with its ±1 std error bar, a bar per
  method (a bar at 0 % keeps its outline);
- ``lambda_diagnostics.png``: what lambda learns, per epoch (autodo.metrics.hyper_diagnostics), mean and a ±1 std
  band over seeds: whether low weights find the wrong labels, what the soft labels correct and break, how far each
  table moved, and how much of the noise the network memorised.

A method has one style (autodo.figures.styles) in all three, from the list of every method in the runs.
"""

import numpy as np

from autodo.figures import (draw_band, leave_empty, legend_handle, math_label, over_seeds, panel_grid, save_figure,
                             styles)
from autodo.run_folder import METRICS, RESULT, DamagedRun, RunFolder
from autodo.tasks.train.report import label_runs
from autodo.tasks.train.task import HEADLINE, RESULT_NUMBERS

CURVES = ("test_acc", "train_loss")  # what the learning curves draw of every epoch


def readable_runs(runs):
    """``(drawable, damaged)``: the runs whose ``metrics.jsonl`` holds every epoch with the curves' numbers, and
    ``(run_dir, reason)`` of the others."""
    keep, damaged = [], []
    for index, run_dir in zip(runs.index, runs["run_dir"]):
        try:
            rows = RunFolder(run_dir).read_metrics()
            missing = [key for row in rows for key in CURVES if not isinstance(row.get(key), (int, float))]
            if missing or len(rows) != runs.at[index, "epochs"]:
                raise DamagedRun(f"{METRICS} lacks {missing[0]}" if missing else
                                 f"{METRICS} has {len(rows)} epochs, {RESULT} {runs.at[index, 'epochs']}")
            keep.append(index)
        except DamagedRun as error:
            damaged.append((run_dir, str(error)))
    return runs.loc[keep], damaged


def _curves(run_dirs, key):
    """An (epochs x seeds) array of ``key`` from the runs' ``metrics.jsonl``."""
    return np.array([[row[key] for row in RunFolder(d).read_metrics()] for d in run_dirs], dtype=float).T


def _method_groups(runs):
    """(cell, method label, rows) for each group of runs averaged together: the same method, cell, model and
    epochs, as in the tables; the label names the model and epochs only when the runs have several."""
    runs = label_runs(runs)
    budgets = runs[["model", "epochs"]].drop_duplicates()
    for (cell, method, model, epochs), rows in runs.groupby(["cell", "method", "model", "epochs"]):
        yield cell, method if len(budgets) == 1 else f"{method} ({model}, {epochs} epochs)", rows


def _styles(groups):
    """Every method's style, from all the runs' methods in name order: the same in every figure."""
    return styles(sorted({label for _, label, _ in groups}))


def _legend(figure, handles):
    """One legend for all panels, beside them, of ``handles`` (a solid line, or a bar, per method)."""
    figure.legend(handles=list(handles.values()), loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")


def learning_curves(runs, path):
    groups = list(_method_groups(runs))
    figure, panels = panel_grid(sorted({cell for cell, _, _ in groups}), rows=2)
    style = _styles(groups)
    handles = {}
    for cell, label, rows in groups:
        error_axis, loss_axis = panels[cell]
        for axis, values in ((error_axis, 100.0 - _curves(rows["run_dir"], "test_acc")),
                             (loss_axis, _curves(rows["run_dir"], "train_loss"))):
            draw_band(axis, np.arange(1, len(values) + 1), *over_seeds(values), style[label])
        # (seeds) after each method
        handles.setdefault(label, legend_handle(style[label], f"{math_label(label)} ({len(rows)})"))
    for cell, (error_axis, loss_axis) in panels.items():
        error_axis.set(title=cell, ylabel="test error (%)")
        loss_axis.set(xlabel="epoch", ylabel="train loss")
    figure.tight_layout()
    _legend(figure, handles)
    save_figure(figure, path)


# the rows of lambda_diagnostics.png: (y label, the lines: (metrics.jsonl key, line style, scale)); a method's line
# is drawn when every epoch of each of its runs logs the key (the loss weights' need WGHT or BOTH, the wrong labels'
# a noisy cell)
DIAGNOSTICS = (
    ("AUROC of low weight against\nthe wrong labels, within class", (("weight_noise_auroc_within_class", "-", 1),)),
    ("soft labels: wrong labels corrected\n(solid), right ones broken (dashed), %",
     (("soft_corrected", "-", 100), ("soft_broken", "--", 100))),
    ("weights' logit change: mean (solid),\nstd over samples (dashed)",
     (("weight_logit_shift_mean", "-", 1), ("weight_logit_shift_std", "--", 1))),
    ("soft labels' logit change (L2):\nmean (solid), std (dashed)",
     (("soft_logit_shift_mean", "-", 1), ("soft_logit_shift_std", "--", 1))),
    ("augmentation's logit change (L2):\nmean (solid), std (dashed)",
     (("aug_logit_shift_mean", "-", 1), ("aug_logit_shift_std", "--", 1))),
    ("train accuracy on the wrong\nlabels (%): memorisation", (("train_acc_wrong_labels", "-", 1),)),
)


def lambda_diagnostics(runs, path):
    """Draw ``lambda_diagnostics.png`` (a row per ``DIAGNOSTICS`` entry that some method logs, a column per cell) at
    ``path``; return what was drawn, ``{(row label, cell, method, key): (mean, std) over seeds per epoch}``, empty
    (and nothing written) when no run logs any of it."""
    drawn = {}
    groups = list(_method_groups(runs))
    for cell, method, rows in groups:
        logged = [RunFolder(d).read_metrics() for d in rows["run_dir"]]
        for label, lines in DIAGNOSTICS:
            for key, _, scale in lines:
                if not all(key in row for run in logged for row in run):
                    continue
                values = scale * np.array([[row[key] for row in run] for run in logged], dtype=float).T
                drawn[(label, cell, method, key)] = over_seeds(values)
    if not drawn:
        return drawn
    labels = [label for label, _ in DIAGNOSTICS if any(key[0] == label for key in drawn)]
    figure, panels = panel_grid(sorted({key[1] for key in drawn}), rows=len(labels), height=2.6)
    style = _styles(groups)
    dashes = {key: dash for _, lines in DIAGNOSTICS for key, dash, _ in lines}
    handles = {}
    for (label, cell, method, key), (mean, std) in drawn.items():
        draw_band(panels[cell][labels.index(label)], np.arange(1, len(mean) + 1), mean, std, style[method],
                  dashes[key])
        handles.setdefault(method, legend_handle(style[method], math_label(method)))
    for cell, axes in panels.items():
        for axis, label in zip(axes, labels):
            axis.set(ylabel=label)
            if not axis.lines:  # e.g. the wrong labels' rows in a clean cell
                leave_empty(axis, f"{label.splitlines()[0]} ...:\nno run of {cell} logs it")
        axes[0].set(title=cell)
        axes[-1].set(xlabel="epoch")
    figure.tight_layout()
    _legend(figure, handles)
    save_figure(figure, path)
    return drawn


def per_class_accuracy(runs, path):
    groups = list(_method_groups(runs))
    style = _styles(groups)
    accuracy = {d: RunFolder(d).read_result(lambda config: (RESULT_NUMBERS, HEADLINE))["test_per_class_acc"]
                for d in runs["run_dir"]}
    classes = np.arange(max(len(a) for a in accuracy.values()))
    # a bar per method and class, each at least about 0.5 mm wide
    figure, panels = panel_grid(sorted({cell for cell, _, _ in groups}), rows=1, height=4.0,
                                width=max(4.5, 0.025 * len(style) * len(classes)))
    here = {cell: [method for method in style if any(g[:2] == (cell, method) for g in groups)] for cell in panels}
    width = 0.8 / max(len(methods) for methods in here.values())
    legend = {}
    for cell, label, rows in groups:
        mean, std = over_seeds(np.array([accuracy[d] for d in rows["run_dir"]], dtype=float).T)
        offset = width * (here[cell].index(label) - (len(here[cell]) - 1) / 2)  # the cell's bars centred on a class
        # an outline in the method's colour keeps a bar at 0 % in sight, just above the axis; a hatch is drawn in the
        # outline's colour, on white
        legend[label] = panels[cell][0].bar(
            classes[:len(mean)] + offset, mean, width, yerr=std, capsize=1.5, error_kw={"elinewidth": 0.8},
            color="white" if style[label].hatch else style[label].colour, edgecolor=style[label].colour,
            linewidth=1.2, hatch=style[label].hatch or None, label=f"{math_label(label)} ({len(rows)})")
    for cell, (axis,) in panels.items():
        # below 0, room for the outline of a bar at 0 %
        axis.set(title=cell, xlabel="class", ylabel="final test accuracy (%)", ylim=(-3, 103), xticks=classes)
    figure.tight_layout()
    _legend(figure, {method: legend[method] for method in style if method in legend})
    save_figure(figure, path)
