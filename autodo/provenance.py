"""What code computed a run, as dino logs it at start: the package's version and, where the package lies in a git
work tree, its commit and whether the tree had uncommitted changes; and on what machine: its host, processor, cores
and torch threads, Python, torch and CUDA. Logged at the start of every launch (with its time) and kept in every
result, outside identity."""

import functools
import os
import platform
import socket
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


@functools.cache
def machine():
    """``{"host", "cpu", "cores", "threads", "python", "torch", "cuda", "gpu"}``: where this process computes
    (``cpu``: the processor's model name, None where the system does not say; ``cores``: the cores the system has;
    ``threads``: torch's intra-op threads, which a wall time depends on as much as on the processor; ``cuda``: the CUDA
    version torch was built with, None for a CPU build; ``gpu``: the first visible GPU's name, None without one)."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"host": socket.gethostname(), "cpu": cpu_model(), "cores": os.cpu_count(),
            "threads": torch.get_num_threads(), "python": platform.python_version(), "torch": torch.__version__,
            "cuda": torch.version.cuda, "gpu": gpu}


def cpu_model():
    """The processor's model name (Linux's /proc/cpuinfo, else what Python's platform module knows), None if neither
    says."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or None


def provenance_text():
    """The code version and the machine in one line: ``autodo 0.1.0, git 68f9b13; host n1, AMD EPYC, 16
    cores (16 torch threads), python 3.11.2, torch 2.5.1, CUDA 12.4, GPU NVIDIA H200``."""
    where = machine()
    cuda = f"CUDA {where['cuda']}" if where["cuda"] else "CPU build"
    gpu = f"GPU {where['gpu']}" if where["gpu"] else "no GPU"
    return (f"{code_version_text()}; host {where['host']}, {where['cpu']}, {where['cores']} cores "
            f"({where['threads']} torch threads), python {where['python']}, torch {where['torch']}, {cuda}, {gpu}")
