"""The detector cache remembers an archive on disk with nothing to report,
by its bytes, so a warm scan does not inflate an unchanged wheel again; a
changed archive, one with a finding or a note, or one whose members a
detector judges by more than their bytes is opened on every scan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from maniac_guard.sources import archives
from tests.helpers import fake_key, run_in_process
from tests.test_archives import zip_bytes

KEY = fake_key("archive-cache")


CLEAN = {
    "pkg/__init__.py": b"VERSION = '1.0'\n",
    "pkg/core.py": b"def run() -> int:\n    return 1\n",
    "pkg/logo.png": b"\x89PNG\r\n\x1a\n\0\0\0",  # counted binary by its name
    "pkg-1.0.dist-info/METADATA": b"Name: pkg\nVersion: 1.0\n",
}


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The archives a scan opens, by name."""
    calls: list[str] = []
    in_memory, on_disk = archives.archive_sources, archives.open_archive

    def archive_sources(shown: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(shown)
        return in_memory(shown, *args, **kwargs)

    def open_archive(path: str, shown: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(shown)
        return on_disk(path, shown, *args, **kwargs)

    monkeypatch.setattr(archives, "archive_sources", archive_sources)
    monkeypatch.setattr(archives, "open_archive", open_archive)
    return calls


def _tree(root: Path, members: dict[str, bytes]) -> Path:
    (root / "dist").mkdir(parents=True)
    (root / "dist" / "pkg-1.0-py3-none-any.whl").write_bytes(zip_bytes(members))
    (root / "README.md").write_text("A package.\n")
    return root


def _scan(root: Path, cache: Path, *args: str) -> dict[str, Any]:
    proc = run_in_process("scan", "--format", "json", *args, ".", cwd=root, env={"MANIAC_GUARD_CACHE_DIR": str(cache)})
    assert proc.returncode in (0, 1), proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def _counts(report: dict[str, Any]) -> tuple[int, dict[str, int], list[Any]]:
    summary = report["summary"]
    return summary["files_scanned"], summary["files_skipped"], report["findings"]


def test_an_unchanged_clean_archive_is_not_opened_again(tmp_path: Path, opened: list[str]) -> None:
    root = _tree(tmp_path / "tree", CLEAN)
    cache = tmp_path / "cache"
    first = _scan(root, cache)  # a cache no scan saved to: not worth hashing archives for
    second = _scan(root, cache)  # now remembered
    assert len(opened) == 2
    third = _scan(root, cache)
    assert len(opened) == 2, "the unchanged clean wheel was inflated again"
    uncached = _scan(root, tmp_path / "other-cache")
    # What a user sees is the same: members counted as scanned and skipped.
    assert _counts(first) == _counts(second) == _counts(third) == _counts(uncached)
    assert _counts(third)[:2] == (4, {"binary": 1})


def test_a_changed_archive_is_opened_again_and_its_key_found(tmp_path: Path, opened: list[str]) -> None:
    root = _tree(tmp_path / "tree", CLEAN)
    cache = tmp_path / "cache"
    _scan(root, cache)
    _scan(root, cache)
    wheel = root / "dist" / "pkg-1.0-py3-none-any.whl"
    wheel.write_bytes(zip_bytes({**CLEAN, "pkg/.env": f"MANIAC_API_KEY={KEY}\n".encode()}))
    report = _scan(root, cache)
    assert len(opened) == 3
    assert {f["path"] for f in report["findings"]} == {"dist/pkg-1.0-py3-none-any.whl!/pkg/.env"}


@pytest.mark.parametrize(
    "member",
    [
        pytest.param({"pkg/.env": f"MANIAC_API_KEY={KEY}\n".encode()}, id="a finding"),
        pytest.param({"pkg/data.bin": b"x" * 100 + b"\xff" * 10, "pkg/big.txt": b"y" * 5000}, id="a note"),
        # A key declaration is judged under the policy and on today's date.
        pytest.param({"deploy/keys.yaml": b"permissions: [containers:read]\n"}, id="a key declaration"),
    ],
)
def test_an_archive_with_something_to_say_is_opened_on_every_scan(
    tmp_path: Path, opened: list[str], member: dict[str, bytes]
) -> None:
    root = _tree(tmp_path / "tree", {**CLEAN, **member})
    cache = tmp_path / "cache"
    reports = [_scan(root, cache, "--max-file-size", "4096") for _ in range(3)]
    assert len(opened) == 3
    assert _counts(reports[0]) == _counts(reports[2])


def test_a_workflow_permissions_block_does_not_keep_an_archive_from_being_remembered(
    tmp_path: Path, opened: list[str]
) -> None:
    workflow = b"on: [push]\npermissions:\n  contents: read\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
    root = _tree(tmp_path / "tree", {**CLEAN, "pkg/.github/workflows/ci.yml": workflow})
    cache = tmp_path / "cache"
    for _ in range(3):
        _scan(root, cache)
    assert len(opened) == 2


def test_a_clean_archive_is_remembered_per_rule_selection(tmp_path: Path, opened: list[str]) -> None:
    root = _tree(tmp_path / "tree", CLEAN)
    cache = tmp_path / "cache"
    _scan(root, cache, "--select", "MG1")
    _scan(root, cache, "--select", "MG1")
    _scan(root, cache, "--select", "MG1")
    assert len(opened) == 2
    _scan(root, cache)  # every rule: not what the entry was scanned with
    assert len(opened) == 3


def test_the_cache_holds_no_member_name_or_content(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree", CLEAN)
    cache = tmp_path / "cache"
    for _ in range(2):
        _scan(root, cache)
    stored = b"".join(path.read_bytes() for path in cache.glob("*"))
    assert b"core.py" not in stored and b"def run" not in stored
