"""The code version kept with every run: the package's version, and in a git work tree its commit and whether the
tree had changes; an installed copy (no work tree around the package) has the version alone."""

import subprocess

from autodo import __version__, provenance
from conftest import REPO


def test_the_code_version_is_the_work_tree_s_commit():
    version = provenance.code_version()
    assert version["package"] == __version__
    if (REPO / ".git").exists():
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
        assert version["commit"] == head and isinstance(version["dirty"], bool)
        assert provenance.code_version_text().startswith(f"autodo {__version__}, git {head[:7]}")


def test_an_installed_copy_has_the_version_alone(tmp_path, monkeypatch):
    package = tmp_path / "site-packages" / "autodo"
    package.mkdir(parents=True)
    monkeypatch.setattr(provenance, "__file__", str(package / "provenance.py"))
    provenance.code_version.cache_clear()
    try:
        assert provenance.code_version() == {"package": __version__}
        assert provenance.code_version_text() == f"autodo {__version__}"
    finally:
        provenance.code_version.cache_clear()
