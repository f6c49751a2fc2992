"""What every task's figures are drawn with (matplotlib, PNG files written atomically): panels, one colour per label,
a mean with its ±1 std band over seeds; and a model's confusion matrix and t-SNE of its test features
(``aggregate.py --inspect``, autodo.inspection). Each task draws its own figures from these (autodo.tasks.train.figures,
and the reports of the other tasks)."""

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from autodo.io import atomic_write_bytes  # noqa: E402

TSNE_POINTS = 2000  # t-SNE of at most this many test images (a fixed random subset)


def panel_grid(cells, rows, height=3.2):
    figure, axes = plt.subplots(rows, len(cells), figsize=(4.5 * len(cells), height * rows), squeeze=False)
    return figure, {cell: axes[:, i] for i, cell in enumerate(cells)}


def colour_map(labels):
    """A colour per label, the same in every panel: tab20, then tab20b (distinct for up to 40)."""
    return {label: (plt.cm.tab20 if i < 20 else plt.cm.tab20b)(i % 20) for i, label in enumerate(labels)}


def over_seeds(values):
    """The mean and std (ddof 1; 0 with one seed) over seeds of an (epochs x seeds) array."""
    mean = values.mean(1)
    return mean, values.std(1, ddof=1) if values.shape[1] > 1 else np.zeros_like(mean)


def draw_band(axis, mean, std, colour, style="-"):
    """A curve against epochs 1, 2, ... with its ±1 std band; returns the line."""
    epochs = np.arange(1, len(mean) + 1)
    (line,) = axis.plot(epochs, mean, style, color=colour)
    axis.fill_between(epochs, mean - std, mean + std, color=colour, alpha=0.2)
    return line


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
