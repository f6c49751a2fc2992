"""The package's shape (README, "Layout"), kept by import-linter's contracts in setup.cfg and checked here: the
contracts hold, they break on a back-import added on purpose, and no module of autodo is in an import cycle."""

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root):
    return subprocess.run([str(LINT_IMPORTS), "--config", str(root / "setup.cfg"), "--no-cache"], cwd=root,
                          capture_output=True, text=True, timeout=300)


def test_the_contracts_hold():
    proc = lint_imports(REPO)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "4 kept, 0 broken" in proc.stdout


@pytest.mark.parametrize("module, back_import", [
    ("run_folder.py", "from autodo.registry import signature"),  # the folder reaching the registry for identity
    ("engine.py", "from autodo.trainer import build_run"),  # the loops reaching the builder
    ("tasks/subsample/network.py", "from autodo.tasks.train.run import run_experiment"),  # a task reaching another
    ("data/bias.py", "from autodo.data.pipeline import build_run_data"),  # a cycle within a layer
])
def test_a_back_import_breaks_them(tmp_path, module, back_import):
    shutil.copytree(REPO / "autodo", tmp_path / "autodo", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "setup.cfg", tmp_path)
    path = tmp_path / "autodo" / module
    path.write_text(path.read_text() + f"\n\ndef _back():\n    {back_import}\n")  # inside a function counts too
    proc = subprocess.run([str(LINT_IMPORTS), "--config", str(tmp_path / "setup.cfg"), "--no-cache"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 1 and "BROKEN" in proc.stdout, proc.stdout[-3000:]


def test_no_module_is_in_an_import_cycle():
    graph = grimp.build_graph("autodo")
    cycles = [(module, other) for module in graph.modules for other in graph.find_modules_directly_imported_by(module)
              if graph.chain_exists(importer=other, imported=module)]
    assert cycles == []


@pytest.mark.parametrize("args", [["ir=abc"], ["-m", "ir=1,10", "seed=abc"], ["task=subsample", "subsample.l2=0"]])
def test_checking_a_command_line_imports_no_torch(args):
    """Bad input is refused before anything heavy loads: config.py and each task's rules import no torch."""
    proc = subprocess.run([sys.executable, "-X", "importtime", str(REPO / "launch.py"), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.splitlines()[-1].startswith("error: ")
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "autodo.config" in imported and not {"torch", "torchvision"} & imported
