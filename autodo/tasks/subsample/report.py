"""The subsample task's results: a row per finished run, the table of test accuracy against augmentation budget
(mean ± std over seeds) per policy, and the seed's figure: accuracy against the share of points augmented, mean and
a ±1 std band over seeds, a line per policy, with the no-augmentation and full-augmentation lines."""

import json

import pandas as pd

from autodo.tables import cell_name, mean_std_text

SETTINGS = ("head", "augmentation", "policy", "evaluate", "selection", "stratify", "rounds", "copies", "l2")
NUMBERS = ("test_acc", "test_acc_clean", "test_acc_augmented", "valid_acc", "majority_acc", "minority_acc",
           "augmented_share", "augmented_wrong_share", "augmented_minority_share", "train_wrong_share",
           "train_minority_share", "wall_time_s")
COLUMNS = "budget: the share (or count) of train points augmented, 0 none, 1 all"  # what the table's columns are
FIGURE = "subsample_budget.png"
# what a table can show of each run: its column, and what it is
VALUES = {"accuracy": ("test_acc", "test accuracy (%)"),
          "minority": ("minority_acc", "minority-class test accuracy (%)"),
          "wrong": ("augmented_wrong_share", "augmented points with a wrong label (%)"),
          "minority_share": ("augmented_minority_share", "augmented points of a minority class (%)")}


def row(found):
    """The row of a finished subsample run (autodo.run_folder.FoundRun)."""
    from autodo.identity import identity
    from autodo.tasks.subsample import task

    result, config = found.result, found.result["config"]
    everything = identity(config, task.identity)
    settings = everything["subsample"]  # as the run computed it (policy none: budget 0)
    classes = settings["classes"]
    row = {"run_dir": str(found.folder.path), "dataset": config["dataset"]["name"], "model": config["model"]["name"],
           "cell": cell_name(config["dataset"]["name"], config["ir"], config["nr"], config["sr"],
                             config.get("nr_type", "uniform")),
           "classes": "all" if classes is None else "+".join(map(str, classes)), "seed": config["seed"],
           "budget": settings["budget"], **{key: settings[key] for key in SETTINGS if key != "stratify"},
           "stratify": settings.get("stratify", False)}  # an identity leaves it out when false
    row.update({key: result.get(key, float("nan")) for key in NUMBERS})
    for key in ("augmented_wrong_share", "augmented_minority_share", "train_wrong_share", "train_minority_share"):
        row[key] *= 100.0
    del everything["seed"]
    row["settings_key"] = json.dumps(everything, sort_keys=True, default=str)
    return row


def _policy_name(row):
    """The policy as a row name: ``loss`` and ``influence`` are the top-k picks; picks drawn in proportion to the
    score, picked within each class and rescored in rounds say so."""
    name = row["policy"]
    if row["selection"] != "top":
        name += f" ({row['selection']})"
    if row["stratify"]:
        name += " (per class)"
    if row["rounds"] > 1:
        name += f" ({row['rounds']} rounds)"
    return name


def label_subsample_runs(runs):
    return runs.assign(policy_name=[_policy_name(row) for _, row in runs.iterrows()])


KEYS = ["cell", "classes", "head", "evaluate", "augmentation", "policy_name", "budget"]  # a table's row and column


def stats(runs, value="accuracy"):
    """The numbers behind ``table``, tidy: a line per task (cell, classes, head, test images as they are or
    augmented), augmentation, policy, budget and settings (``settings_key``: runs differing in more than the seed
    are never averaged): the ``mean``, ``std`` (ddof=1) and number of distinct ``seeds`` of ``VALUES[value]``."""
    runs = label_subsample_runs(runs).assign(value=runs[VALUES[value][0]])
    return runs.groupby(KEYS + ["settings_key"]).agg(mean=("value", "mean"), std=("value", "std"),
                                                     seeds=("seed", "nunique")).reset_index()


def table(runs, value="accuracy"):
    """Mean and std (ddof=1) over seeds of ``VALUES[value]`` (%): a row per task (cell, classes, head, test images
    as they are or augmented), augmentation and policy, a column per budget (0: none, 1: all)."""
    numbers = stats(runs, value)
    numbers["text"] = [mean_std_text(m, s, n) for m, s, n in zip(numbers["mean"], numbers["std"], numbers["seeds"])]
    table = numbers.pivot_table(index=KEYS[:-1], columns="budget", values="text", aggfunc="first").fillna("")
    table.columns = [f"budget {b:g}" for b in table.columns]
    return table


def figure(runs, path):
    """The seed's plot for each (cell, classes, augmentation): test accuracy against the share of train points
    augmented, one line per scored or random policy (mean, ±1 std band over seeds), no augmentation and full
    augmentation as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from autodo.figures import draw_band, legend_handle, save_figure, styles

    runs = label_subsample_runs(runs)
    keys = ["cell", "classes", "head", "evaluate", "augmentation"]
    panels = runs[runs["policy"] != "none"][keys].drop_duplicates().values.tolist()
    policies = runs[~runs["policy"].isin(["none", "all"])]
    style = styles(sorted(policies["policy_name"].unique()))  # a policy's style is the same in every panel
    figure, axes = plt.subplots(1, max(len(panels), 1), figsize=(5 * max(len(panels), 1), 3.8), squeeze=False)
    for axis, (cell, classes, head, evaluate, augmentation) in zip(axes[0], panels):
        task = runs[(runs["cell"] == cell) & (runs["classes"] == classes) & (runs["head"] == head)
                    & (runs["evaluate"] == evaluate)]
        panel = task[task["augmentation"] == augmentation]
        # without augmentation: on augmented test images, those of this augmentation; on clean ones, any
        none = task[(task["policy"] == "none") & task["augmentation"].isin([augmentation, "none"])]["test_acc"]
        full = panel[panel["policy"] == "all"]["test_acc"]
        handles = []
        for label, values, dash in (("no augmentation", none, "--"), ("full augmentation", full, ":")):
            if len(values):  # the two references: grey, apart from every policy's colour
                handles.append(axis.axhline(values.mean(), color="0.45", linestyle=dash,
                                            label=f"{label} ({len(values)})"))
        for name, rows in panel[~panel["policy"].isin(["none", "all"])].groupby("policy_name"):
            # a budget's runs (its seeds) are one point, at the mean share they augmented
            stats = rows.groupby("budget").agg(share=("augmented_share", "mean"), mean=("test_acc", "mean"),
                                               std=("test_acc", "std"), seeds=("seed", "nunique"))
            stats["std"] = stats["std"].fillna(0.0)
            draw_band(axis, 100 * stats["share"], stats["mean"], stats["std"], style[name], points=True)
            handles.append(legend_handle(style[name], f"{name} ({stats['seeds'].min()})", points=True))
        axis.set(title=f"{cell} [{classes}]\n{head}: {augmentation}, {evaluate} test", xlabel="train points augmented (%)",
                 ylabel="test accuracy (%)")
        axis.legend(handles=handles, fontsize=6)
    save_figure(figure, path)


def frame(rows):
    columns = ["run_dir", "dataset", "model", "cell", "classes", "seed", "budget", *SETTINGS, *NUMBERS, "settings_key"]
    return pd.DataFrame(rows, columns=columns)
