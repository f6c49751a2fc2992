import json
import os
import stat

import pytest
import torch

from autodo.io import atomic_torch_save, atomic_write_bytes, atomic_write_json, atomic_write_jsonl


def test_json_and_jsonl(tmp_path):
    atomic_write_json(tmp_path / "a" / "r.json", {"x": 1.5})
    atomic_write_jsonl(tmp_path / "m.jsonl", [{"e": 1}, {"e": 2}])
    assert json.loads((tmp_path / "a" / "r.json").read_text()) == {"x": 1.5}
    assert [json.loads(l) for l in (tmp_path / "m.jsonl").read_text().splitlines()] == [{"e": 1}, {"e": 2}]


def test_torch_save_bytes_do_not_depend_on_the_file_name(tmp_path):
    obj = {"t": torch.arange(5)}
    atomic_torch_save(tmp_path / "one.pt", obj)
    atomic_torch_save(tmp_path / "two.pt", obj)
    assert (tmp_path / "one.pt").read_bytes() == (tmp_path / "two.pt").read_bytes()
    assert torch.equal(torch.load(tmp_path / "one.pt", weights_only=True)["t"], obj["t"])


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "f"
    atomic_write_bytes(path, b"old")

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr("os.fsync", broken_fsync)
    with pytest.raises(OSError):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["f"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_get_the_mode_the_umask_gives(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_write_json(tmp_path / "r.json", {})
        atomic_torch_save(tmp_path / "c.pt", {})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "c.pt").stat().st_mode) == mode
