"""Figures of a sweep, as PNG files (matplotlib):

- ``learning_curves.png``: test error and train loss per epoch, mean and a ±1 std band over seeds, a line per
  method and a column per data set and IR-NR (from each run's ``metrics.jsonl``);
- ``per_class_accuracy.png``: final test accuracy per class, mean over seeds, a bar per method;
- ``lambda_diagnostics.png``: what lambda learns, per epoch (autodo.metrics.hyper_diagnostics), mean and a ±1 std
  band over seeds: whether low weights find the wrong labels, what the soft labels correct and break, how far each
  table moved, and how much of the noise the network memorised;
- for chosen runs, ``confusion_<run>.png`` (the final model's test confusion matrix) and ``tsne_<run>.png`` (a
  t-SNE of its test features, coloured by class, as the reference's feature-density figures).
"""

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from autodo.io import atomic_write_bytes  # noqa: E402
from autodo.results import label_runs  # noqa: E402
from autodo.run_folder import METRICS, RESULT, DamagedRun, RunFolder  # noqa: E402
from autodo.tasks import read_run  # noqa: E402

TSNE_POINTS = 2000  # t-SNE of at most this many test images (a fixed random subset)


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


def _panels(cells, rows, height=3.2):
    figure, axes = plt.subplots(rows, len(cells), figsize=(4.5 * len(cells), height * rows), squeeze=False)
    return figure, {cell: axes[:, i] for i, cell in enumerate(cells)}


def _colours(labels):
    """A colour per label, the same in every panel: tab20, then tab20b (distinct for up to 40)."""
    return {label: (plt.cm.tab20 if i < 20 else plt.cm.tab20b)(i % 20) for i, label in enumerate(labels)}


def _over_seeds(values):
    """The mean and std (ddof 1; 0 with one seed) over seeds of an (epochs x seeds) array."""
    mean = values.mean(1)
    return mean, values.std(1, ddof=1) if values.shape[1] > 1 else np.zeros_like(mean)


def _draw_band(axis, mean, std, colour, style="-"):
    """A curve against epochs 1, 2, ... with its ±1 std band; returns the line."""
    epochs = np.arange(1, len(mean) + 1)
    (line,) = axis.plot(epochs, mean, style, color=colour)
    axis.fill_between(epochs, mean - std, mean + std, color=colour, alpha=0.2)
    return line


def learning_curves(runs, path):
    groups = list(_method_groups(runs))
    figure, panels = _panels(sorted({cell for cell, _, _ in groups}), rows=2)
    colours = _colours(dict.fromkeys(g[1] for g in groups))
    handles = {}
    for cell, label, rows in groups:
        error_axis, loss_axis = panels[cell]
        for axis, values in ((error_axis, 100.0 - _curves(rows["run_dir"], "test_acc")),
                             (loss_axis, _curves(rows["run_dir"], "train_loss"))):
            line = _draw_band(axis, *_over_seeds(values), colours[label])
            handles.setdefault(label, (line, f"{label} ({values.shape[1]})"))
    for cell, (error_axis, loss_axis) in panels.items():
        error_axis.set(title=cell, ylabel="test error (%)")
        loss_axis.set(xlabel="epoch", ylabel="train loss")
    figure.tight_layout()
    # one legend for all panels, beside them: (seeds) after each method
    figure.legend(*zip(*handles.values()), loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
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
    for cell, method, rows in _method_groups(runs):
        logged = [RunFolder(d).read_metrics() for d in rows["run_dir"]]
        for label, lines in DIAGNOSTICS:
            for key, _, scale in lines:
                if not all(key in row for run in logged for row in run):
                    continue
                values = scale * np.array([[row[key] for row in run] for run in logged], dtype=float).T
                drawn[(label, cell, method, key)] = _over_seeds(values)
    if not drawn:
        return drawn
    labels = [label for label, _ in DIAGNOSTICS if any(key[0] == label for key in drawn)]
    figure, panels = _panels(sorted({key[1] for key in drawn}), rows=len(labels), height=2.6)
    colours = _colours(dict.fromkeys(key[2] for key in drawn))
    styles = {key: style for _, lines in DIAGNOSTICS for key, style, _ in lines}
    handles = {}
    for (label, cell, method, key), (mean, std) in drawn.items():
        line = _draw_band(panels[cell][labels.index(label)], mean, std, colours[method], styles[key])
        handles.setdefault(method, line)
    for cell, axes in panels.items():
        for axis, label in zip(axes, labels):
            axis.set(ylabel=label)
        axes[0].set(title=cell)
        axes[-1].set(xlabel="epoch")
    figure.tight_layout()
    figure.legend(handles.values(), handles.keys(), loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    save_figure(figure, path)
    return drawn


def per_class_accuracy(runs, path):
    groups = list(_method_groups(runs))
    figure, panels = _panels(sorted({cell for cell, _, _ in groups}), rows=1, height=4.0)
    methods = list(dict.fromkeys(label for _, label, _ in groups))
    colours = _colours(methods)
    width = 0.8 / len(methods)
    for cell, label, rows in groups:
        results = [read_run(RunFolder(d)) for d in rows["run_dir"]]
        accuracy = np.mean([r["test_per_class_acc"] for r in results], axis=0)
        classes = np.arange(len(accuracy))
        offset = width * (methods.index(label) - (len(methods) - 1) / 2)  # the group centred on its class
        panels[cell][0].bar(classes + offset, accuracy, width, color=colours[label], label=f"{label} ({len(rows)})")
    for cell, (axis,) in panels.items():
        # the legend sits above the bars, in headroom over 100 %
        axis.set(title=cell, xlabel="class", ylabel="final test accuracy (%)", ylim=(0, 125), yticks=range(0, 101, 20))
        axis.legend(fontsize="x-small", loc="upper center", ncol=min(len(methods), 3))
    save_figure(figure, path)


@torch.no_grad()
def final_test_features(run_dir, data_root=None, device="cpu", iteration=None):
    """The test features, predictions and labels of a run's final model (of a training run: the run's parts rebuilt
    from its config and loaded from its checkpoint, as training built them), or of the model an active-learning run
    trained in ``iteration`` (default: its last)."""
    folder = RunFolder(run_dir)
    cfg = OmegaConf.create(read_run(folder)["config"])
    cfg.device = str(device)
    data_root = data_root or cfg.data_root
    if cfg.get("task", "train") == "active_learning":
        from autodo.active.task import iteration_model

        model, data, device = iteration_model(cfg, folder, data_root, iteration)
    else:
        from autodo.augment.dada import PolicyTable, read_table
        from autodo.build import build_run
        from autodo.checkpoint import load_checkpoint
        from autodo.cleaning import read_label_issues
        from autodo.errors import UserError

        # a DADA run's table as the run applied it (its policy.json): no search again, no file to find
        table = PolicyTable(read_table(folder.policy), str(folder.policy)) if cfg.aug_model.name == "DADA" else None
        # and the train labels a confident-learning run cleaned, as it found them
        issues = None
        if cfg.get("label_cleaning", {}).get("action", "none") != "none":
            if not folder.cleaning.exists():
                raise UserError(f"{folder.cleaning} is missing: the run's cleaned train set cannot be rebuilt")
            issues = read_label_issues(folder.cleaning)
        parts = build_run(cfg, data_root, table, issues)
        load_checkpoint(folder.checkpoint, parts.state(), {}, parts.device)  # the weights: no loader goes on
        model, data, device = parts.model, parts.data, parts.device
    model.eval()
    features, predictions, labels = [], [], []
    for images, batch_labels, _ in data.test_loader:
        batch_features = model.encoder(data.eval_transform(images.to(device)))
        features.append(batch_features.float().cpu())
        predictions.append(model.head(batch_features).argmax(1).cpu())
        labels.append(batch_labels)
    return torch.cat(features).numpy(), torch.cat(predictions).numpy(), torch.cat(labels).numpy()


def inspect_run(run_dir, data_root, folder, device="cpu", iteration=None):
    """Write the confusion matrix and the t-SNE of one finished run (an active-learning run: of its model of
    ``iteration``, default its last) into ``folder``; return their paths."""
    from sklearn.manifold import TSNE
    from sklearn.metrics import ConfusionMatrixDisplay

    features, predictions, labels = final_test_features(run_dir, data_root, device, iteration)
    name = Path(run_dir).name + ("" if iteration is None else f"_iteration{iteration}")
    figure, axis = plt.subplots(figsize=(7, 6))
    ConfusionMatrixDisplay.from_predictions(labels, predictions, ax=axis, colorbar=False,
                                            include_values=labels.max() < 20)
    axis.set_title(f"{name}\ntest accuracy {100 * (predictions == labels).mean():.2f}%", fontsize="small")
    confusion = Path(folder) / f"confusion_{name}.png"
    save_figure(figure, confusion)

    keep = np.random.default_rng(0).permutation(len(labels))[:TSNE_POINTS]
    points = TSNE(init="pca", random_state=0, perplexity=min(30.0, len(keep) - 1.0)).fit_transform(features[keep])
    figure, axis = plt.subplots(figsize=(7, 6))
    scatter = axis.scatter(points[:, 0], points[:, 1], c=labels[keep], cmap="tab10" if labels.max() < 10 else
                           "nipy_spectral", s=6)
    wrong = predictions[keep] != labels[keep]
    axis.scatter(points[wrong, 0], points[wrong, 1], marker="x", c="black", s=10, linewidths=0.5)
    axis.legend(*scatter.legend_elements(num=min(int(labels.max()) + 1, 20)), fontsize="x-small", title="class")
    axis.set_title(f"{name}\nt-SNE of {len(keep)} test features (x: misclassified)", fontsize="small")
    axis.set_xticks([]), axis.set_yticks([])
    tsne = Path(folder) / f"tsne_{name}.png"
    save_figure(figure, tsne)
    return confusion, tsne


def save_figure(figure, path):
    buffer = io.BytesIO()
    if not figure.legends:  # a figure with a legend beside its panels was laid out before it got the legend
        figure.tight_layout()
    figure.savefig(buffer, dpi=110, format="png", bbox_inches="tight")
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
