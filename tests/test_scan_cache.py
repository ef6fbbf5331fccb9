"""The detector cache: an unchanged file is not parsed by the Python rules
again; everything a user sees (and --verify) stays the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maniac_guard import detectors, engine
from maniac_guard.detectorcache import DetectorCache, Learnt
from maniac_guard.detectors import Detector, load_detectors
from maniac_guard.findings import Finding
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


def _python_detector() -> Detector:
    return next(d for d in load_detectors() if d.cacheable)


def _learn(source: SourceFile) -> list[Finding]:
    """Scan once with a fresh cache and save what was learnt."""
    cache = DetectorCache.open()
    assert cache is not None
    learnt = Learnt()
    findings = engine.scan_source(source, load_detectors(), cache, learnt)
    cache.save(learnt.clean, learnt.found)
    return findings


def _rescan(source: SourceFile, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Finding], list[SourceFile]]:
    """Scan again with the saved cache; also which files the Python rules parsed."""
    calls: list[SourceFile] = []
    python = _python_detector()
    real = python.detect
    counting = python._replace(detect=lambda s: calls.append(s) or real(s))
    monkeypatch.setattr(detectors, "DETECTORS", tuple(counting if d is python else d for d in detectors.DETECTORS))
    again = DetectorCache.open()
    assert again is not None
    return engine.scan_source(source, load_detectors(), again, Learnt()), calls


def test_an_unchanged_clean_file_is_not_parsed_again(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = SourceFile("app/http.py", b"import os\nKEY = os.environ['MANIAC_API_KEY']\n")
    assert _python_detector().wants(source)
    assert _learn(source) == []
    assert _rescan(SourceFile("app/http.py", source.data), monkeypatch) == ([], [])
    # Another path or other bytes are a different entry.
    _, calls = _rescan(SourceFile("app/other.py", source.data), monkeypatch)
    assert len(calls) == 1


def test_findings_come_back_from_the_cache_with_their_secret(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = fake_key("cache-5")
    data = f'from maniac import Maniac\n\nc = Maniac(api_key="{key}")\n'.encode()
    first = _learn(SourceFile("client.py", data))
    assert [f.rule_id for f in first] == ["MG201"]
    again, calls = _rescan(SourceFile("client.py", data), monkeypatch)
    assert calls == []
    assert again == first  # location, message, snippet, fix safety
    assert again[0].secret is not None and again[0].secret.reveal() == key  # --verify still works
    assert key not in "".join(p.read_text() for p in cache_dir.iterdir())


def test_a_key_built_from_pieces_is_analyzed_every_time(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = fake_key("cache-6")
    data = f'from maniac import Maniac\nc = Maniac(api_key="{key[:10]}" + "{key[10:]}")\n'.encode()
    first = _learn(SourceFile("pieces.py", data))
    assert [f.secret.reveal() for f in first if f.secret] == [key]
    again, calls = _rescan(SourceFile("pieces.py", data), monkeypatch)
    assert len(calls) == 1 and again == first


def test_the_cache_holds_no_key(cache_dir: Path) -> None:
    keys = [fake_key(f"cache-7-{i}") for i in range(3)]
    _learn(SourceFile("a.py", f'from maniac import Maniac\nManiac(api_key="{keys[0]}")\n'.encode()))
    _learn(SourceFile("b.py", f'import os\nos.environ["MANIAC_API_KEY"] = "{keys[1]}"\n'.encode()))
    _learn(SourceFile("c.py", f'from maniac import Maniac\nManiac(api_key="{keys[2][:8]}" "{keys[2][8:]}")\n'.encode()))
    from maniac_guard.cachefiles import read_cached

    assert len(json.loads(read_cached(next(cache_dir.glob("found-*.json"))))) == 2  # c.py is not kept
    stored = b"".join(p.read_bytes() for p in cache_dir.iterdir())
    for key in keys:
        assert key.encode() not in stored and key[3:].encode() not in stored
    result = run_cli("scan", "--no-gitignore", str(cache_dir))
    assert result.returncode == 0, result.stdout


def test_an_empty_cache_dir_setting_turns_the_cache_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MANIAC_GUARD_CACHE_DIR", "")
    assert DetectorCache.open() is None


def test_a_hook_run_on_an_unchanged_python_file_skips_the_parse(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pre-commit passes file names: a commit retried after another hook
    failed should not pay libcst again for the same bytes."""
    from maniac_guard.sources.files import Excluder

    client = tmp_path / "client.py"
    client.write_text(f'from maniac import Maniac\nc = Maniac(api_key="{fake_key("hook-cache")}")\n')
    notes = tmp_path / "README.md"
    notes.write_text("Set MANIAC_API_KEY in your environment.\n")

    def scan(*paths: Path) -> list[str]:
        result = engine.scan_paths([str(p) for p in paths], excluder=Excluder(), max_file_size=1 << 20)
        return [f.fingerprint for f in result.findings]

    assert scan(notes) == []
    assert not list(cache_dir.glob("clean-*")) and not list(cache_dir.glob("found-*"))  # nothing needed it
    first = scan(client, notes)
    calls: list[SourceFile] = []
    python = _python_detector()
    counting = python._replace(detect=lambda s: calls.append(s) or [])
    monkeypatch.setattr(detectors, "DETECTORS", tuple(counting if d is python else d for d in detectors.DETECTORS))
    assert scan(client, notes) == first and len(first) == 1
    assert calls == []


def test_code_that_does_not_parse_is_not_remembered(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not analyzed is not clean: the next run tries again (and -v says why)."""
    source = SourceFile("old.py", b'from maniac import Maniac\nprint "py2"\n')
    assert _learn(source) == []
    _, calls = _rescan(SourceFile("old.py", source.data), monkeypatch)
    assert len(calls) == 1
