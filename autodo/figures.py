"""What every task's figures are drawn with (matplotlib, PNG files written atomically): panels, one style per label
(a colour-blind-safe colour, then a marker or hatch), the same in every figure of a report, a mean with its ±1 std
band over seeds; and a model's confusion matrix and t-SNE of its test features
(``aggregate.py --inspect``, autodo.inspection). Each task draws its own figures from these (autodo.tasks.train.figures,
and the reports of the other tasks)."""

import io
import re
from pathlib import Path
from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from autodo.io import atomic_write_bytes  # noqa: E402

TSNE_POINTS = 2000  # t-SNE of at most this many test images (a fixed random subset)


def panel_grid(cells, rows, height=3.2, width=4.5):
    figure, axes = plt.subplots(rows, len(cells), figsize=(width * len(cells), height * rows), squeeze=False)
    return figure, {cell: axes[:, i] for i, cell in enumerate(cells)}


# Okabe and Ito's colour-blind-safe colours (Wong, Nature Methods 8:441, 2011), the two blues apart; after eight labels
# they come again with a marker on lines and a hatch on bars, so that a dozen rows stay apart
COLOURS = ("#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#000000", "#56b4e9", "#f0e442")
MARKERS = ("", "o", "s", "^", "D")
HATCHES = ("", "//", "..", "xx", "\\\\")


class Style(NamedTuple):
    colour: str
    marker: str  # "" for none
    hatch: str


def styles(labels):
    """A ``Style`` per label, in the order given: a report draws every figure from one list of its labels, so a
    method looks the same in all of them. Distinct for up to 40 labels."""
    labels = list(dict.fromkeys(labels))
    if len(labels) > len(COLOURS) * len(MARKERS):
        raise ValueError(f"{len(labels)} labels, at most {len(COLOURS) * len(MARKERS)} can be told apart")
    return {label: Style(COLOURS[i % len(COLOURS)], MARKERS[i // len(COLOURS)], HATCHES[i // len(COLOURS)])
            for i, label in enumerate(labels)}


def legend_handle(style, label, points=False):
    """A solid line in ``style`` (marked as ``draw_band`` marks it), whatever the line styles drawn: dashes in a
    figure mean a second quantity."""
    from matplotlib.lines import Line2D

    return Line2D([], [], color=style.colour, marker=_marker(style, points), linestyle="-", label=label)


def _marker(style, points):
    return style.marker or ("o" if points else None)


def math_label(label):
    """The paper's row names as mathtext: ``lambda^{A,W,S}`` -> $\\lambda^{A,W,S}$, ``lambda^A_SHA`` ->
    $\\lambda^{A}_{SHA}$; the rest of the label as it is."""
    return re.sub(r"lambda\^(\{[^}]*\}|\w)(?:_(\w+))?",
                  lambda m: "$\\lambda^{%s}%s$" % (m[1].strip("{}"), f"_{{{m[2]}}}" if m[2] else ""), label)


def over_seeds(values):
    """The mean and std (ddof 1; 0 with one seed) over seeds of an (epochs x seeds) array."""
    mean = values.mean(1)
    return mean, values.std(1, ddof=1) if values.shape[1] > 1 else np.zeros_like(mean)


def draw_band(axis, x, mean, std, style, linestyle="-", points=False):
    """A curve of ``mean`` against ``x`` in ``style`` (a ``Style``) with its ±1 std band; ``points``: a curve of a
    few measured points (labels, budgets), each marked (a circle where the style has no marker)."""
    axis.plot(x, mean, linestyle, color=style.colour, marker=_marker(style, points), markersize=4,
              markevery=1 if points else max(1, len(x) // 10))
    axis.fill_between(x, mean - std, mean + std, color=style.colour, alpha=0.15)


def leave_empty(axis, why):
    """An axis with nothing to draw: its reason in words instead of empty 0-1 axes."""
    axis.set_axis_off()
    axis.text(0.5, 0.5, why, ha="center", va="center", fontsize="small", color="0.4", transform=axis.transAxes)


def confusion_and_tsne(features, predictions, labels, name, folder):
    """Write the confusion matrix and the t-SNE of a model's test ``features`` (its ``predictions`` against the
    ``labels``) as ``confusion_<name>.png`` and ``tsne_<name>.png`` into ``folder``; return their paths."""
    from sklearn.manifold import TSNE
    from sklearn.metrics import ConfusionMatrixDisplay

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
