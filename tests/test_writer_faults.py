"""Issue 9: the writer never loses data, whatever fails."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

import pytest

from maniac_guard import writer
from maniac_guard.writer import WriteError, write_bytes_atomic

ORIGINAL = b"import os\r\nkey = 'x'\r\n"


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "app.py"
    path.write_bytes(ORIGINAL)
    path.chmod(0o640)
    return path


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".maniac-guard-")]


def test_success_replaces_content_and_keeps_mode(target: Path) -> None:
    write_bytes_atomic(str(target), b"new\r\n", expected=ORIGINAL)
    assert target.read_bytes() == b"new\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert _leftovers(target.parent) == []


def test_disk_full_leaves_the_original(target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writer.os, "fsync", no_space)
    with pytest.raises(WriteError, match=r"app\.py: cannot write: No space left on device"):
        write_bytes_atomic(str(target), b"new", expected=ORIGINAL)
    assert target.read_bytes() == ORIGINAL
    assert _leftovers(target.parent) == []


def test_permission_denied_on_the_folder(target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)  # the writer imports it when it writes
    with pytest.raises(WriteError, match="Permission denied"):
        write_bytes_atomic(str(target), b"new", expected=ORIGINAL)
    assert target.read_bytes() == ORIGINAL


def test_file_replaced_between_read_and_write(target: Path) -> None:
    target.write_bytes(b"edited by the user meanwhile")
    with pytest.raises(WriteError, match="changed on disk since it was read"):
        write_bytes_atomic(str(target), b"new", expected=ORIGINAL)
    assert target.read_bytes() == b"edited by the user meanwhile"


def test_file_deleted_between_read_and_write(target: Path) -> None:
    target.unlink()
    with pytest.raises(WriteError, match="deleted since it was read"):
        write_bytes_atomic(str(target), b"new", expected=ORIGINAL)
    assert not target.exists()


def test_interrupted_write_leaves_the_original(target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(writer.os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_bytes_atomic(str(target), b"new", expected=ORIGINAL)
    assert target.read_bytes() == ORIGINAL
    assert _leftovers(target.parent) == []
    assert os.listdir(target.parent) == ["app.py"]
