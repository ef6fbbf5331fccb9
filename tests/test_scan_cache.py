"""The detector cache: an unchanged file the Python rules found nothing in is
not parsed again; everything a user sees stays the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maniac_guard import engine
from maniac_guard.detectors import load_detectors
from maniac_guard.sources import SourceFile
from tests.helpers import fake_key, run_cli


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("MANIAC_GUARD_CACHE_DIR", str(folder))
    return folder


def _tree(root: Path) -> Path:
    """A tree big enough for the cache (and the workers) to be used."""
    for i in range(engine.PARALLEL_MIN_FILES + 20):
        path = root / f"pkg{i % 7}" / f"mod_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"from maniac import Maniac\nHEADERS = {{'Authorization': 'token'}}\nVALUE = {i}\n")
    (root / "client.py").write_text(f'from maniac import Maniac\nclient = Maniac(api_key="{fake_key("cache-1")}")\n')
    (root / "notes.md").write_text(f"export MANIAC_API_KEY={fake_key('cache-2')}\n")
    return root


def _findings(root: Path, env: dict[str, str]) -> list[dict[str, object]]:
    result = run_cli("scan", "--no-gitignore", "--format", "json", ".", cwd=root, env=env)
    assert result.returncode == 1, result.stderr
    findings: list[dict[str, object]] = json.loads(result.stdout)["findings"]
    return findings


def test_warm_scan_reports_exactly_what_a_cold_scan_does(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree")
    env = {"MANIAC_GUARD_CACHE_DIR": str(tmp_path / "cache")}
    cold = _findings(root, env)
    assert list((tmp_path / "cache").glob("clean-*.bin")), "the first scan fills the cache"
    warm = _findings(root, env)
    uncached = _findings(root, {"MANIAC_GUARD_CACHE_DIR": ""})
    assert cold == warm == uncached
    assert {f["rule_id"] for f in cold} >= {"MG101"}


def test_a_file_changed_since_the_last_scan_is_analyzed_again(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree")
    env = {"MANIAC_GUARD_CACHE_DIR": str(tmp_path / "cache")}
    before = _findings(root, env)
    (root / "pkg0" / "mod_0.py").write_text(f'from maniac import Maniac\nc = Maniac(api_key="{fake_key("cache-3")}")\n')
    after = _findings(root, env)
    assert not [f for f in before if f["path"] == "pkg0/mod_0.py"]
    assert [f for f in after if f["path"] == "pkg0/mod_0.py"]


def test_an_unchanged_clean_file_is_not_parsed_again(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = engine.CleanCache.open()
    assert cache is not None
    detectors = load_detectors()
    python = next(d for d in detectors if d.__name__ in engine.CACHED_DETECTORS)
    source = SourceFile("app/http.py", b"import os\nKEY = os.environ['MANIAC_API_KEY']\n")
    assert python.wants(source)
    learnt: list[bytes] = []
    assert engine.scan_source(source, detectors, cache, learnt) == []
    assert len(learnt) == 1
    cache.save(learnt)

    calls = []
    monkeypatch.setattr(python, "detect", lambda s: calls.append(s) or [])
    again = engine.CleanCache.open()
    assert again is not None
    assert engine.scan_source(SourceFile("app/http.py", source.data), detectors, again, []) == []
    assert calls == []
    # Another path or other bytes are a different entry.
    engine.scan_source(SourceFile("app/other.py", source.data), detectors, again, [])
    assert len(calls) == 1


def test_files_with_findings_are_never_cached_and_the_cache_holds_no_key(cache_dir: Path) -> None:
    cache = engine.CleanCache.open()
    assert cache is not None
    leak = SourceFile("client.py", f'from maniac import Maniac\nc = Maniac(api_key="{fake_key("cache-4")}")\n'.encode())
    learnt: list[bytes] = []
    assert engine.scan_source(leak, load_detectors(), cache, learnt)
    assert learnt == []
    result = run_cli("scan", "--no-gitignore", str(cache_dir))
    assert result.returncode == 0, result.stdout


def test_an_empty_cache_dir_setting_turns_the_cache_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MANIAC_GUARD_CACHE_DIR", "")
    assert engine.CleanCache.open() is None
