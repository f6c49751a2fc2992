"""The task registry: task name (``conf/task``) -> the package that runs it, loaded when first needed, and what every
task gives through it. Each package's ``task`` module is the task's face: ``identity`` (what of a config its result
depends on), ``slug`` (the middle of its folder's name) with ``SLUG_SETTINGS`` (the settings it names), ``check``
(what needs the data, before anything is written), ``run``, ``summary_line``, ``HEADLINE`` (the number every
finished run has), ``REPORT`` (the module that gives aggregate.py a run's ``row``, the rows' ``frame``, the
``table`` of one of its ``VALUES``, what its ``COLUMNS`` are, and its ``FIGURE``, drawn by ``figure``) and
``inspection_model`` (``aggregate.py --inspect``); the package itself holds ``RULES`` and ``validate``, its
settings' checks (autodo.config), without importing torch.
A new task is one package under autodo/tasks/, one yaml in ``conf/task`` and one line in ``TASKS``.

On top of the faces, a run of any task: its signature and folder name (autodo.identity, autodo.run_folder),
opening its folder, and reading finished runs back.
"""

import importlib
import re
from functools import partial
from pathlib import Path

from autodo import identity as identities
from autodo.run_folder import RESULT, DamagedRun, FoundRun, RunFolder, open_folder, run_folders

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

def identity(config, keep_unread=False):
    """What the run of the plain ``config`` computes (autodo.identity, by its task's rules; ``keep_unread``: as
    versions before 2026-12-05 identified it, with the data set's settings the run does not read)."""
    return identities.identity(config, partial(face(task_of(config)).identity, keep_unread=keep_unread))


def signature(config):
    """The hex SHA-256 of the identity of ``config``."""
    return identities.digest(identity(config))


def settings_text(config):
    """What the run of the plain ``config`` computes, short: its identity's settings as ``key=value``, one line."""
    return " ".join(f"{key}={value}" for key, value in identities.flat_settings(identity(config)).items())


def former_signature(config):
    """The signature versions before 2026-12-05 gave the run of ``config``: a folder named and stored by it holds
    this run (their identity kept the settings it does not read, so two of its spellings had two folders)."""
    return identities.digest(identity(config, keep_unread=True))


# what a folder's name says already, whatever the task: the data set, the cell, the seed and the method's groups
NAMED_BY_EVERY_TASK = ("task", "dataset", "ir", "nr", "nr_type", "sr", "seed", "method", "aug_model", "los_model",
                       "hyper_opt")
SET_APART_LENGTH = 60  # at most this many characters of settings in a name: the signature after them identifies
UNSAFE_IN_NAMES = re.compile(r"[^\w.,=+\[\]-]")  # a path's slashes, spaces, quotes, ...


def set_apart(config, launched_as):
    """What the command line ``launched_as`` set that the run reads and its folder's name does not say already, short
    (as Dora names a run by its settings apart from the defaults): ``dataset.epochs=5 model=resnet18`` ->
    ``epochs=5,model=resnet18``; empty where nothing is set apart."""
    read = identities.flat_settings(identity(config))
    slug_settings = face(task_of(config)).SLUG_SETTINGS
    parts = set()
    for override in launched_as:
        key = override.partition("=")[0]
        if key in NAMED_BY_EVERY_TASK or any(key == s or key.startswith(f"{s}.") for s in slug_settings):
            continue
        # a setting, or a group's option (model=resnet18), at the value the run has, however it was spelled
        value = read.get(key, read.get(f"{key}.name", _UNREAD))
        if value is not _UNREAD:
            parts.add(UNSAFE_IN_NAMES.sub("_", f"{key.rsplit('.', 1)[-1]}={value}"))
    return ",".join(sorted(parts))[:SET_APART_LENGTH]


_UNREAD = object()


def run_name(config, run_signature=None, launched_as=()):
    """The folder name: data set, cell (``asym`` after NR for asymmetric noise), the task's slug (the method of a
    training run), the settings the command line ``launched_as`` set apart (``set_apart``) and seed to read, then the
    first 8 digits of the signature (``run_signature``, or this version's)."""
    sr = "" if config["sr"] == 1 else f"-sr{config['sr']:g}"
    noise = "asym" if config.get("nr_type") == "asymmetric" else ""
    slug = face(task_of(config)).slug(config)
    apart = set_apart(config, launched_as)
    return (f"{config['dataset']['name']}-ir{config['ir']:g}-nr{config['nr']:g}{noise}{sr}-{slug}"
            f"{f'-{apart}' if apart else ''}-seed{config['seed']}-{(run_signature or signature(config))[:8]}")


def run_place(config, out_dir, launched_as=()):
    """``(path, signature)``: the run folder of the plain ``config`` under ``out_dir`` and the signature it is stored
    by. A folder that holds the run already, however its name came (the settings set apart differ with the spelling of
    the command line; a version before 2026-12-05 named and stored it by its former signature), is the run's: it is
    resumed or read there, never run again. Else a new one, named by ``launched_as``."""
    current = signature(config)
    for stored_by in dict.fromkeys((current, former_signature(config))):
        plain = Path(out_dir) / run_name(config, stored_by)
        if plain.exists():
            return plain, stored_by
        for path in sorted(Path(out_dir).glob(f"*-{stored_by[:8]}")):
            if _stored_signature(path) == stored_by:
                return path, stored_by
    return Path(out_dir) / run_name(config, current, launched_as), current


def _stored_signature(path):
    try:
        return RunFolder(path).stored_signature()
    except DamagedRun:
        return None


def open_run(config, out_dir, launched_as=()):
    """The run folder of the plain ``config`` under ``out_dir`` (autodo.run_folder.open_folder)."""
    return open_folder(*run_place(config, out_dir, launched_as), config, launched_as)


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
    ``run.json`` names, by this version's signature or the former one (a task may know a former signature of the same
    config that computed something else)."""
    result = folder.read_result(result_numbers)
    config = result["config"]
    if not known(task_of(config)):
        raise DamagedRun(f"{RESULT}: task={task_of(config)!r} is not a task of this version")
    try:
        computed = signature(config)
    except Exception as error:  # noqa: BLE001 - a config that is not a run's, however it is malformed
        raise DamagedRun(f"{RESULT}: its config is not a run's config ({type(error).__name__})") from None
    stored = folder.stored_signature()
    if stored is None or stored not in (computed, former_signature(config)):
        former = getattr(face(task_of(config)), "former_run", None)
        reason = former(stored, config, partial(identity, keep_unread=True)) if former else None
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
