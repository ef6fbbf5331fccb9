"""Bad input: one clear line naming the file, and the scan goes on."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from tests.helpers import fake_key, run_cli, run_in_process


def _scan_json(cwd: Path, *args: str) -> tuple[int, dict[str, object], str]:
    proc = run_cli("scan", *args, "--format", "json", cwd=cwd)
    return proc.returncode, json.loads(proc.stdout), proc.stderr


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "leak.txt").write_text(f"key={fake_key('leak')}\n")
    return root


def test_nonexistent_path_is_named_and_the_rest_is_scanned(tree: Path) -> None:
    code, report, err = _scan_json(tree, "missing.txt", "leak.txt")
    assert code == 1
    assert "missing.txt: no such file or directory" in err
    assert report["summary"]["findings"] == 1  # type: ignore[index]


def test_only_nonexistent_paths_is_an_input_error(tree: Path) -> None:
    proc = run_cli("scan", "nope/", cwd=tree)
    assert proc.returncode == 2 and "nope/: no such file or directory" in proc.stderr


def test_empty_directory_is_clean(tmp_path: Path) -> None:
    code, report, _ = _scan_json(tmp_path, ".")
    assert code == 0 and report["summary"]["files_scanned"] == 0  # type: ignore[index]


def test_symlinks_broken_looping_and_outside(tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text(f"key={fake_key('outside')}\n")
    (tree / "broken").symlink_to(tree / "does-not-exist")
    (tree / "loop-a").symlink_to(tree / "loop-b")
    (tree / "loop-b").symlink_to(tree / "loop-a")
    (tree / "escape").symlink_to(outside)
    (tree / "inner").symlink_to(tree / "leak.txt")
    (tree / "dirloop").symlink_to(tree, target_is_directory=True)
    code, report, err = _scan_json(tree, ".")
    assert code == 1
    assert report["summary"]["findings"] == 1  # type: ignore[index]  # leak.txt once, not via links
    assert "broken: broken symlink, skipped" in err
    assert "loop-a: symlink loop, skipped" in err
    assert "escape: symlink to outside the scanned tree, not followed" in err
    assert "inner" not in err  # a link inside the tree is silently left to its target


def test_a_file_named_explicitly_is_read_through_its_link(tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text(f"key={fake_key('explicit')}\n")
    (tree / "link").symlink_to(outside)
    code, report, _ = _scan_json(tree, "link")
    assert code == 1 and report["summary"]["findings"] == 1  # type: ignore[index]


def test_large_one_line_file_is_scanned_for_keys_over_the_limit_and_whole_under_it(tree: Path) -> None:
    big = tree / "bundle.js"
    filler = b"a=1;" * (50 * 1024 * 1024 // 4)
    big.write_bytes(filler + f'k="{fake_key("big")}";'.encode() + filler[:1000])
    code, report, err = _scan_json(tree, ".")
    assert code == 1 and report["summary"]["findings"] == 2  # type: ignore[index]  # leak.txt and bundle.js
    assert "bundle.js: 50.0 MiB is over the 10.0 MiB limit: scanned for key patterns only" in err
    assert report["summary"]["files_skipped"] == {}  # type: ignore[index]
    code, report, _ = _scan_json(tree, "bundle.js", "--max-file-size", str(64 << 20))
    assert code == 1 and report["summary"]["findings"] == 1  # type: ignore[index]


def test_invalid_utf16_and_utf8(tree: Path) -> None:
    (tree / "bad16.txt").write_bytes(b"\xff\xfe" + "ok".encode("utf-16-le") + b"\x00")
    key = fake_key("latin")
    (tree / "latin.txt").write_bytes(b"\xe9t\xe9 " + key.encode() + b"\n")
    code, report, err = _scan_json(tree, ".")
    assert "bad16.txt: invalid UTF-16 at byte" in err
    assert "latin.txt: not valid UTF-8 (byte 0xe9 at offset 0); scanned as bytes" in err
    assert report["summary"]["findings"] == 2  # type: ignore[index]
    assert code == 1


def test_fifo_is_not_read(tree: Path) -> None:
    os.mkfifo(tree / "pipe")
    code, _report, err = _scan_json(tree, ".", "--no-gitignore")
    assert "pipe: not a regular file, skipped" in err
    assert code == 1


def test_unreadable_and_vanished_files(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root reads everything, so the errors are injected at os.open."""
    from maniac_guard.sources.files import read_file

    real_open = os.open

    def fake_open(path: str, flags: int, *args: object) -> int:
        if path.endswith("secret.txt"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    (tree / "secret.txt").write_text("x")
    monkeypatch.setattr(os, "open", fake_open)
    denied = read_file(str(tree / "secret.txt"), "secret.txt", 1 << 20, [str(tree)])
    assert denied.data is None and denied.message == "secret.txt: cannot read: Permission denied"
    gone = read_file(str(tree / "gone.txt"), "gone.txt", 1 << 20, [str(tree)])
    assert gone.message == "gone.txt: no longer exists, skipped"


def test_bad_config_is_a_one_line_error(tree: Path) -> None:
    (tree / ".maniac-guard.toml").write_text("exclude = [unclosed\n")
    proc = run_in_process("scan", ".", cwd=tree)
    assert proc.returncode == 2
    assert proc.stderr.startswith("maniac-guard: error: ") and ".maniac-guard.toml: invalid TOML" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_python_that_does_not_parse_falls_back_and_says_so(tree: Path) -> None:
    key = fake_key("py2")
    (tree / "old.py").write_text(f'from maniac import Maniac\nprint "py2"\nc = Maniac(api_key="{key}")\n')
    quiet = run_in_process("scan", "old.py", cwd=tree)
    assert quiet.returncode == 1 and "MG101" in quiet.stdout
    assert "maniac-guard: old.py: does not parse as Python" in quiet.stderr and "(line 2)" in quiet.stderr
    assert key not in quiet.stdout + quiet.stderr


def test_fix_with_staged_is_a_usage_error(tree: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
    proc = run_in_process("scan", "--staged", "--fix", cwd=tree)
    assert proc.returncode == 2
    assert (
        proc.stderr
        == "maniac-guard: error: --fix and --diff work on files on disk, not on staged or historical content\n"
    )
