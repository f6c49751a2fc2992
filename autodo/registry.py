"""The task registry: task name (``conf/task``) -> the package that runs it, loaded when first needed, and what every
task gives through it. Each package's ``task`` module is the task's face: ``identity`` (what of a config its result
depends on), ``slug`` (the middle of its folder's name), ``check`` (what needs the data, before anything is
written), ``run``, ``summary_line``, ``HEADLINE`` (the number every finished run has), ``REPORT`` (the module that
gives aggregate.py a run's ``row``, the rows' ``frame``, the ``table`` of one of its ``VALUES``, what its
``COLUMNS`` are, and its ``FIGURE``, drawn by ``figure``) and ``inspection_model`` (``aggregate.py --inspect``);
the package itself holds ``RULES`` and ``validate``, its settings' checks (autodo.config), without importing torch.
A new task is one package under autodo/tasks/, one yaml in ``conf/task`` and one line in ``TASKS``.

On top of the faces, a run of any task: its signature and folder name (autodo.identity, autodo.run_folder),
opening its folder, and reading finished runs back.
"""

import importlib

from autodo import identity as identities
from autodo.run_folder import RESULT, DamagedRun, FoundRun, open_folder, run_folders

# conf/task/<name>.yaml -> its package
TASKS = {"train": "autodo.tasks.train", "subsample": "autodo.tasks.subsample",
         "active_learning": "autodo.tasks.active_learning"}


def task_of(config):
    """The task of a plain run config; runs written before tasks existed are training runs."""
    return config.get("task", "train")


def package(task):
    """The package of ``task``: its ``RULES``, without importing torch."""
    return importlib.import_module(TASKS[task])


def face(task):
    """The task module of ``task``."""
    return importlib.import_module(f"{TASKS[task]}.task")


def report_module(task):
    return importlib.import_module(face(task).REPORT)


# ============ a run's identity and folder ============

def identity(config):
    """What the run of the plain ``config`` computes (autodo.identity, by its task's rules)."""
    return identities.identity(config, face(task_of(config)).identity)


def signature(config):
    """The hex SHA-256 of the identity of ``config``."""
    return identities.digest(identity(config))


def run_name(config):
    """The folder name: data set, cell, the task's slug (the method of a training run) and seed to read, then the
    signature's first 8 digits."""
    sr = "" if config["sr"] == 1 else f"-sr{config['sr']:g}"
    slug = face(task_of(config)).slug(config)
    return (f"{config['dataset']['name']}-ir{config['ir']:g}-nr{config['nr']:g}{sr}-{slug}-seed{config['seed']}-"
            f"{signature(config)[:8]}")


def open_run(config, out_dir, launched_as=()):
    """The run folder of the plain ``config`` under ``out_dir`` (autodo.run_folder.open_folder)."""
    from pathlib import Path

    return open_folder(Path(out_dir) / run_name(config), signature(config), config, launched_as)


def known(task):
    """Whether ``task`` (a config's, as read from a file) is a task of this version."""
    return isinstance(task, str) and task in TASKS


def result_numbers(config):
    """The numbers of the result of a run of ``config``: the keys that are numbers when present, and the one every
    finished run of its task has (none for a task this version does not know)."""
    if not known(task_of(config)):
        return (), None
    task = face(task_of(config))
    return task.RESULT_NUMBERS, task.HEADLINE


def read_run(folder):
    """The result of the finished run folder ``folder``, checked: its numbers, and that its config is the run its
    ``run.json`` names (a task may know a former signature of the same config that computed something else)."""
    result = folder.read_result(result_numbers)
    config = result["config"]
    if not known(task_of(config)):
        raise DamagedRun(f"{RESULT}: task={task_of(config)!r} is not a task of this version")
    try:
        computed = signature(config)
    except Exception as error:  # noqa: BLE001 - a config that is not a run's, however it is malformed
        raise DamagedRun(f"{RESULT}: its config is not a run's config ({type(error).__name__})") from None
    stored = folder.stored_signature()
    if stored is None or stored != computed:
        former = getattr(face(task_of(config)), "former_run", None)
        reason = former(stored, config, identity) if former else None
        if reason:
            raise DamagedRun(reason)
        if stored is not None:
            raise DamagedRun(f"the config in {RESULT} is not the run's of run.json (signature {stored[:8]})")
    return result


def find_runs(folders):
    """Every run folder under ``folders``, read: finished runs once each (a second folder with the same signature and
    the same numbers is a ``duplicate``; with other numbers, both are a ``conflict``, counted neither, whatever the
    order of the folders), the others with the reason they are not counted."""
    found, first = [], {}
    for folder in run_folders(folders):
        if not folder.finished():
            found.append(FoundRun(folder, "unfinished", "no result.json"))
            continue
        try:
            result = read_run(folder)
            sig = signature(result["config"])
        except DamagedRun as error:
            found.append(FoundRun(folder, "damaged", str(error)))
            continue
        if sig not in first:
            first[sig] = FoundRun(folder, "finished", result=result)
            found.append(first[sig])
            continue
        differ = _differing_numbers(first[sig].result, result)
        if not differ:
            found.append(FoundRun(folder, "duplicate", f"the same run as {first[sig].folder.path}"))
            continue
        earlier = first[sig]
        earlier.status, earlier.reason = "conflict", _conflict(folder.path, differ)
        found.append(FoundRun(folder, "conflict", _conflict(earlier.folder.path, differ), result=result))
    return found


def _conflict(other, differ):
    return f"the same run as {other}, with other numbers ({differ}): neither is counted; move the wrong one away"


def _differing_numbers(one, other):
    """The numbers two results of one run disagree on (times aside: the same run takes its own time), as text."""
    numbers = {*result_numbers(one["config"])[0], *result_numbers(other["config"])[0]}
    keys = sorted(key for key in numbers if not key.endswith("time_s") and (key in one or key in other))
    return ", ".join(f"{key} {one.get(key)} and {other.get(key)}" for key in keys if one.get(key) != other.get(key))


# ============ running ============

def check_task(cfg, data_root):
    """The checks of ``cfg`` that need its data or model, before anything is written."""
    face(cfg.task).check(cfg, data_root)


def run_task(cfg, folder, data_root):
    """Run ``cfg`` (checked) in its run folder; return its result."""
    return face(cfg.task).run(cfg, folder, data_root)


def summary_line(config, result):
    """What ``launch.py`` prints of a finished run's result."""
    return face(task_of(config)).summary_line(result)
