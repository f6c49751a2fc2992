"""What code computed a run, as dino logs it at start: the package's version and, where the package lies in a git
work tree, its commit and whether the tree had uncommitted changes. Kept in every result, outside identity."""

import functools
import subprocess
from pathlib import Path

from autodo import __version__


@functools.cache
def code_version():
    """``{"package": version}``, with ``commit`` and ``dirty`` when the package's folder is a git work tree's."""
    version = {"package": __version__}
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():  # an installed copy: a repository around it would not be its code
        return version
    try:
        commit = _git(root, "rev-parse", "HEAD")
        changes = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):  # no git here, or it failed: the version alone
        return version
    return {**version, "commit": commit, "dirty": bool(changes)}


def _git(root, *args):
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.strip()


def code_version_text():
    """The code version in one line: ``autodo 0.1.0, git 68f9b13 (uncommitted changes)``."""
    version = code_version()
    text = f"autodo {version['package']}"
    if "commit" in version:
        text += f", git {version['commit'][:7]}" + (" (uncommitted changes)" if version["dirty"] else "")
    return text
