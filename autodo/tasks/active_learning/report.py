"""The active_learning task's results: a row per finished run with its learning curve (a point per trained model:
labels, test accuracy, minority-class accuracy), the curves as a table (mean ± std over seeds per acquisition
function and label count, with the labels each needs to reach random's final accuracy) and as the seed's figure
(accuracy against labels, overall and minority classes, mean and a ±1 std band over seeds)."""

import json

import pandas as pd

from autodo.tables import cell_name, mean_std_text

ACQUISITION_SETTINGS = ("acquisition", "pseudo_label", "passes", "projection")  # the rest is the protocol
SETTINGS = ("acquisition", "initial", "budget", "iterations", "min_steps", "retrain", "init", "pseudo_label",
            "passes", "projection")
NUMBERS = ("labeled", "test_acc", "majority_acc", "minority_acc", "valid_acc", "labeled_minority_share",
           "labeled_wrong_share", "wall_time_s")
COLUMNS = "a column per count of labeled points"  # what the table's columns are
FIGURE = "active_learning_curves.png"
# what a table can show of each trained model: its metrics key, and what it is
VALUES = {"accuracy": ("test_acc", "test accuracy (%)"),
          "minority": ("minority_acc", "minority-class test accuracy (%)"),
          "minority_share": ("labeled_minority_share", "labeled points of a minority class (%)")}


def row(found):
    """The row of a finished active-learning run (autodo.run_folder.FoundRun), its curve read from metrics.jsonl."""
    from autodo.identity import identity
    from autodo.tasks.active_learning import task

    result, config = found.result, found.result["config"]
    everything = identity(config, task.identity)
    settings = everything["active_learning"]
    curve = [{key: line[key] for key in ("labeled", *(column for column, _ in VALUES.values()))}
             for line in found.folder.read_metrics()]
    row = {"run_dir": str(found.folder.path), "dataset": config["dataset"]["name"], "model": config["model"]["name"],
           "cell": cell_name(config["dataset"]["name"], config["ir"], config["nr"], config["sr"],
                             config.get("nr_type", "uniform")),
           "seed": config["seed"], **{key: settings[key] for key in SETTINGS},
           **{key: result.get(key, float("nan")) for key in NUMBERS}, "curve": curve}
    del everything["seed"]
    row["settings_key"] = json.dumps(everything, sort_keys=True, default=str)
    for key in ACQUISITION_SETTINGS:  # what is left is the protocol the acquisition functions are compared under
        everything["active_learning"].pop(key, None)
    row["protocol_key"] = json.dumps(everything, sort_keys=True, default=str)
    return row


def frame(rows):
    columns = ["run_dir", "dataset", "model", "cell", "seed", *SETTINGS, *NUMBERS, "curve", "settings_key",
               "protocol_key"]
    return pd.DataFrame(rows, columns=columns)


def _acquisition_name(row):
    """The acquisition function as a row name, with the settings of its own that it reads (its start and retraining
    are the schedule's)."""
    name = row["acquisition"]
    if row["acquisition"] == "fisher" and row["pseudo_label"] != "prediction":
        name += f" ({row['pseudo_label']} pseudo-labels)"
    if row["passes"]:  # read by this acquisition function (the identity zeroes it otherwise)
        name += f" ({row['passes']} passes)"
    if row["projection"] is not None:
        name += f" (projection {row['projection']})"
    return name


def _schedule(row):
    """The labeling schedule and training of a run: only runs of one schedule are compared."""
    return (f"{row['initial']}+{row['iterations']}x{row['budget']}, min {row['min_steps']} steps, {row['init']} init, "
            f"{row['retrain']}")


def curves(runs, value="accuracy"):
    """A row per run and trained model: the run's task, schedule and acquisition, its seed, the labels and
    ``value``."""
    column = VALUES[value][0]
    points = [{"cell": run["cell"], "model": run["model"], "schedule": _schedule(run),
               "acquisition_name": _acquisition_name(run), "acquisition": run["acquisition"],
               "settings_key": run["settings_key"], "protocol_key": run["protocol_key"], "seed": run["seed"],
               "labeled": point["labeled"],
               "value": point[column]}
              for _, run in runs.iterrows() for point in run["curve"]]
    return pd.DataFrame(points, columns=["cell", "model", "schedule", "acquisition_name", "acquisition",
                                         "settings_key", "protocol_key", "seed", "labeled", "value"])


def labels_needed(labels, values, target):
    """The labels at which the curve (``values`` at increasing ``labels``) first reaches ``target``, interpolated
    linearly between its points; NaN if it never does."""
    for i, (count, value) in enumerate(zip(labels, values)):
        if value >= target:
            if i == 0:
                return float(count)
            before, was = labels[i - 1], values[i - 1]
            return before + (count - before) * (target - was) / (value - was)
    return float("nan")


# a table's row (the acquisition function, its protocol and settings kept apart) and column
KEYS = ["cell", "model", "schedule", "acquisition_name", "acquisition", "protocol_key", "settings_key", "labeled"]


def stats(runs, value="accuracy"):
    """The numbers behind ``table``'s curves, tidy: a line per cell, model, schedule, acquisition function (its
    protocol and settings: ``protocol_key``, ``settings_key``) and label count: the ``mean``, ``std`` (ddof=1) and
    number of distinct ``seeds`` of ``VALUES[value]``."""
    return curves(runs, value).groupby(KEYS).agg(mean=("value", "mean"), std=("value", "std"),
                                                 seeds=("seed", "nunique")).reset_index()


def table(runs, value="accuracy"):
    """Mean and std (ddof=1) over seeds of ``VALUES[value]``: a row per cell, model, schedule and acquisition
    function, a column per label count; and, on the mean curves, the labels each acquisition function needs to
    reach the final mean of ``random`` under the same protocol (all settings but the acquisition function's) and the
    saving against random's labels."""
    numbers = stats(runs, value)
    numbers["text"] = [mean_std_text(m, s, n) for m, s, n in zip(numbers["mean"], numbers["std"], numbers["seeds"])]
    table = numbers.pivot_table(index=KEYS[:-1], columns="labeled", values="text", aggfunc="first").fillna("")
    table.columns = [f"{labels} labels" for labels in table.columns]
    reached = {}  # a row's labels to reach random's final mean, and the saving
    for row_key, curve in numbers.groupby(KEYS[:-1]):
        random = numbers[(numbers["protocol_key"] == row_key[5]) & (numbers["acquisition"] == "random")]
        if row_key[4] == "random":  # random reaches its own final where it ends, whatever its curve did before
            count = random["labeled"].iloc[-1]
        else:
            count = (labels_needed(curve["labeled"].tolist(), curve["mean"].tolist(), random["mean"].iloc[-1])
                     if len(random) else None)
        reached[row_key] = ("" if count is None else "not reached" if count != count else f"{count:.0f}",
                            "" if count is None or count != count
                            else f"{100 * (1 - count / random['labeled'].iloc[-1]):.0f}%")
    table["labels to reach random's final"] = [reached[row_key][0] for row_key in table.index]
    table["saving against random"] = [reached[row_key][1] for row_key in table.index]
    return table.droplevel(["acquisition", "protocol_key", "settings_key"])


def figure(runs, path):
    """The seed's learning curves: for each cell, model and schedule, test accuracy and minority-class test accuracy
    against the labels, a line per acquisition function (mean, ±1 std band over seeds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from autodo.figures import draw_band, legend_handle, save_figure, styles

    runs = runs.assign(schedule=[_schedule(run) for _, run in runs.iterrows()])
    panels = runs[["cell", "model", "schedule"]].drop_duplicates().values.tolist()
    figure, axes = plt.subplots(2, max(len(panels), 1), figsize=(5 * max(len(panels), 1), 7.6), squeeze=False)
    style = styles(sorted(curves(runs)["acquisition_name"].unique()))  # the same in every panel
    for column, (cell, model, schedule) in enumerate(panels):
        task = runs[(runs["cell"] == cell) & (runs["model"] == model) & (runs["schedule"] == schedule)]
        for axis, value in zip(axes[:, column], ("accuracy", "minority")):
            handles = []
            for (name, _), line in curves(task, value).groupby(["acquisition_name", "settings_key"]):
                stats = line.groupby("labeled")["value"].agg(["mean", "std", "count"])
                stats["std"] = stats["std"].fillna(0.0)
                draw_band(axis, stats.index, stats["mean"], stats["std"], style[name], points=True)
                handles.append(legend_handle(style[name], f"{name} ({stats['count'].min()})", points=True))
            axis.set(title=f"{cell} ({model})\n{schedule}", xlabel="labeled points", ylabel=VALUES[value][1])
            axis.legend(handles=handles, fontsize=7)
    save_figure(figure, path)
