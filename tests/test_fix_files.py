"""`fix` never loses the fix or the file: a symbolic link keeps pointing at
its target, which gets the fix (or the fix is refused, exit 1, finding still
reported); every name of a hard-linked file sees the fix; a read-only file
is refused, not replaced; mode and owner survive. All through the console
script."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from tests.helpers import fake_key, run_cli

KEY = fake_key("fix-files")
SOURCE = f'from maniac import Maniac\n\nclient = Maniac(api_key="{KEY}")\n'
FIXED = 'from maniac import Maniac\nimport os\n\nclient = Maniac(api_key=os.getenv("MANIAC_API_KEY"))\n'


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "real").mkdir(parents=True)
    (root / "real" / "client.py").write_text(SOURCE)
    return root


def test_a_symlink_inside_the_tree_keeps_its_link_and_the_target_is_fixed(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "client.py").symlink_to("real/client.py")
    proc = run_cli("scan", "--fix", "client.py", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fixed client.py" in proc.stdout
    assert (root / "client.py").is_symlink()
    assert os.readlink(root / "client.py") == "real/client.py"
    assert (root / "real" / "client.py").read_text() == FIXED


def test_a_symlink_out_of_the_tree_is_refused_and_the_finding_stays(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "client.py"
    outside.parent.mkdir()
    outside.write_text(SOURCE)
    root = tmp_path / "proj"
    root.mkdir()
    (root / "client.py").symlink_to(outside)
    proc = run_cli("fix", "client.py", cwd=root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "client.py: a symbolic link to a file outside" in proc.stderr
    assert "MG201" in proc.stdout and "0 findings" not in proc.stdout
    assert "No fixes applied." in proc.stdout
    assert (root / "client.py").is_symlink()
    assert outside.read_text() == SOURCE


def test_the_link_and_its_target_named_together_are_fixed_once(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "client.py").symlink_to("real/client.py")
    proc = run_cli("fix", "client.py", "real/client.py", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "changed on disk" not in proc.stderr
    assert (root / "client.py").is_symlink()
    assert (root / "real" / "client.py").read_text() == FIXED


def test_every_name_of_a_hard_linked_file_sees_the_fix(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.link(root / "real" / "client.py", root / "other.py")
    proc = run_cli("fix", "real/client.py", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (root / "other.py").read_text() == FIXED
    assert os.stat(root / "other.py").st_ino == os.stat(root / "real" / "client.py").st_ino
    assert os.stat(root / "other.py").st_nlink == 2


def test_a_read_only_file_is_refused_with_its_finding_reported(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    target = root / "real" / "client.py"
    target.chmod(0o444)
    proc = run_cli("fix", "real/client.py", cwd=root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "real/client.py: read-only; not fixed" in proc.stderr
    assert "MG201" in proc.stdout
    assert target.read_text() == SOURCE
    assert stat.S_IMODE(target.stat().st_mode) == 0o444


def test_mode_and_owner_survive_the_fix(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    target = root / "real" / "client.py"
    target.chmod(0o750)
    # As root, hand the file to another user, as a shared checkout would be.
    owner = (4242, 4343) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    os.chown(target, *owner)
    proc = run_cli("fix", "real/client.py", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    info = target.stat()
    assert (info.st_uid, info.st_gid) == owner
    assert stat.S_IMODE(info.st_mode) == 0o750
    assert target.read_text() == FIXED


def test_a_failed_in_place_write_puts_the_original_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from maniac_guard.fix import FixOptions, fix_files

    root = _tree(tmp_path)
    target = root / "real" / "client.py"
    os.link(target, root / "other.py")

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    run = fix_files([(str(target), "real/client.py")], FixOptions(), write=True, roots=[str(root)])
    assert run.changed == []
    assert run.messages == ["real/client.py: cannot write: No space left on device; not fixed"]
    assert target.read_text() == SOURCE == (root / "other.py").read_text()


def test_a_folder_that_takes_no_temp_file_gets_the_fix_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from maniac_guard.fix import FixOptions, fix_files

    root = _tree(tmp_path)
    target = root / "real" / "client.py"
    inode = target.stat().st_ino

    def no_new_files(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")  # as in a folder without write permission

    monkeypatch.setattr(tempfile, "mkstemp", no_new_files)
    run = fix_files([(str(target), "real/client.py")], FixOptions(), write=True, roots=[str(root)])
    assert len(run.changed) == 1 and run.messages == []
    assert target.read_text() == FIXED
    assert target.stat().st_ino == inode
