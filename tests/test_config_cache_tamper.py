"""Issue 13: nothing read from the cache folder decides a verdict. A CI job
restores that folder from a store other branches write to, so every file
in it is treated as hostile: edited, forged, of the wrong shape."""

from __future__ import annotations

import json
import os
import resource
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from maniac_guard import cachefiles, catalog, engine
from maniac_guard.sources import SourceFile
from tests.helpers import console_script, fake_key, run_in_process


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A cache folder and a state folder (where the sealing key lives) of
    this test's own, for the console script and for this process; and a
    rules folder of its own without the shipped parse (rules/catalog.json),
    so the catalog goes through the cache folder."""
    import shutil

    rules = tmp_path / "own-rules"
    shutil.copytree(catalog.rules_dir(), rules)
    (rules / catalog.SEED_NAME).unlink()
    values = {
        "MANIAC_GUARD_CACHE_DIR": str(tmp_path / "cache"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "MANIAC_GUARD_RULES_DIR": str(rules),
        "NO_COLOR": "1",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    _forget()
    yield values
    _forget()


def _forget() -> None:
    catalog.load_rules.cache_clear()
    clear = getattr(getattr(cachefiles, "_sealing_key", None), "cache_clear", None)
    if clear is not None:
        clear()


def _scan(root: Path, env: dict[str, str], *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """`scan` of `root`, in this process (run_in_process: what a new process
    reads from the cache folder decides the same, at a tenth of the CPU); as
    the installed console script when `kwargs` set up its process."""
    command = ("scan", "--no-gitignore", "--format", "json", *args, ".")
    if not kwargs:
        return run_in_process(*command, cwd=root, env=env)
    return subprocess.run(
        [console_script(), *command],
        cwd=root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


def _leak(root: Path) -> Path:
    root.mkdir(exist_ok=True)
    (root / "app.env").write_text(f"MANIAC_API_KEY={fake_key('tamper')}\n")
    return root


def _rule_ids(proc: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
    assert "Traceback" not in proc.stderr, proc.stderr
    return sorted((f["rule_id"], f["severity"]) for f in json.loads(proc.stdout)["findings"])


def _catalog_file(env: dict[str, str]) -> Path:
    files = list(Path(env["MANIAC_GUARD_CACHE_DIR"]).glob("catalog-*.json"))
    assert len(files) == 1
    return files[0]


def _plant(path: Path, data: bytes) -> None:
    """Write `data` as maniac-guard itself would (sealed, when it seals): an
    attacker who also holds this machine's key."""
    _forget()
    cachefiles.store_cached(path, data, None)


def _cached_json(path: Path) -> object:
    _forget()
    return json.loads(cachefiles.read_cached(path))


def test_a_catalog_with_edited_severities_cannot_hide_findings(tmp_path: Path, env: dict[str, str]) -> None:
    root = _leak(tmp_path / "tree")
    expected = _rule_ids(_scan(root, env))
    assert ("MG101", "critical") in expected
    path = _catalog_file(env)
    document = _cached_json(path)
    assert isinstance(document, dict)
    for rule in document["rules"]:
        rule["severity"] = "info"
    edited = json.dumps(document).encode()

    path.write_bytes(edited)  # an attacker without the key
    proc = _scan(root, env)
    assert proc.returncode == 1 and _rule_ids(proc) == expected
    _plant(path, edited)  # ... and one with it: the severities are checked against the YAML
    proc = _scan(root, env)
    assert proc.returncode == 1 and _rule_ids(proc) == expected


def test_a_catalog_that_drops_a_rule_cannot_hide_it(tmp_path: Path, env: dict[str, str]) -> None:
    root = _leak(tmp_path / "tree")
    expected = _rule_ids(_scan(root, env))
    path = _catalog_file(env)
    document = _cached_json(path)
    assert isinstance(document, dict)
    document["rules"] = [r for r in document["rules"] if r["id"] != "MG302"]
    _plant(path, json.dumps(document).encode())
    proc = _scan(root, env)
    assert proc.returncode == 1 and _rule_ids(proc) == expected
    assert ("MG302", "high") in expected


WRONG_SHAPES = [
    b"[]",
    b'{"rules": 5}',
    b'{"rules": [1, 2]}',
    b"[" * 100_000 + b"]" * 100_000,
]


@pytest.mark.parametrize("shape", [*WRONG_SHAPES, "id-is-a-number", "doc-is-a-list", "example-lines-are-text"])
def test_a_catalog_of_the_wrong_shape_is_rebuilt(tmp_path: Path, env: dict[str, str], shape: bytes | str) -> None:
    root = _leak(tmp_path / "tree")
    expected = _rule_ids(_scan(root, env))
    path = _catalog_file(env)
    if isinstance(shape, str):
        document = _cached_json(path)
        assert isinstance(document, dict)
        first = document["rules"][0]
        if shape == "id-is-a-number":
            first["id"] = 101
        elif shape == "doc-is-a-list":
            first["doc"] = ["what"]
        else:
            first["invalid"] = [["a.txt", "00", "1"]]
        shape = json.dumps(document).encode()
    _plant(path, shape)
    proc = _scan(root, env)
    assert proc.returncode == 1, proc.stderr
    assert _rule_ids(proc) == expected


def _python_leak(root: Path) -> tuple[Path, bytes]:
    root.mkdir(exist_ok=True)
    data = f'from maniac import Maniac\nclient = Maniac(api_key="{fake_key("tamper-py")}")\n'.encode()
    (root / "client.py").write_bytes(data)
    return root, data


def _entry(env: dict[str, str], data: bytes) -> bytes:
    from maniac_guard.detectorcache import DetectorCache

    _forget()
    cache = DetectorCache(env["MANIAC_GUARD_CACHE_DIR"])
    return cache.entry("maniac_guard.detectors.python_code", SourceFile("client.py", data))


def test_a_forged_clean_entry_cannot_hide_a_python_finding(tmp_path: Path, env: dict[str, str]) -> None:
    root, data = _python_leak(tmp_path / "tree")
    expected = _rule_ids(_scan(root, env))
    assert [rule for rule, _ in expected] == ["MG201"]
    folder = Path(env["MANIAC_GUARD_CACHE_DIR"])
    found = next(folder.glob("found-*.json"))
    clean = found.with_name(found.name.replace("found-", "clean-").replace(".json", ".bin"))
    clean.write_bytes(_entry(env, data))  # "client.py has nothing in it"
    found.unlink()
    assert _rule_ids(_scan(root, env)) == expected


@pytest.mark.parametrize(
    "frozen",
    [
        (
            '[{"rule_id": "MG201", "message": "m", "at": ["a", "b", "c", "d"], "secret_at": null,'
            ' "subject": "", "snippet": "", "fixable": null, "extra": {}}]'
        ),
        (
            '[{"rule_id": "MG999", "message": "m", "at": [1, 1, 1, 2], "secret_at": null,'
            ' "subject": "", "snippet": "", "fixable": null, "extra": {}}]'
        ),
        (
            '[{"rule_id": "MG201", "message": 7, "at": [1, 1, 1, 2], "secret_at": [0, 99999],'
            ' "subject": "", "snippet": "", "fixable": "yes", "extra": []}]'
        ),
        "[]",
        "{}",
        "[" * 100_000 + "]" * 100_000,
    ],
)
def test_found_entries_of_the_wrong_shape_are_analyzed_again(tmp_path: Path, env: dict[str, str], frozen: str) -> None:
    root, data = _python_leak(tmp_path / "tree")
    expected = _rule_ids(_scan(root, env))
    found = next(Path(env["MANIAC_GUARD_CACHE_DIR"]).glob("found-*.json"))
    _plant(found, json.dumps({_entry(env, data).hex(): frozen}).encode())
    proc = _scan(root, env)
    assert proc.returncode == 1, proc.stderr
    assert _rule_ids(proc) == expected


def test_a_found_file_of_the_wrong_shape_is_ignored(tmp_path: Path, env: dict[str, str]) -> None:
    root, _ = _python_leak(tmp_path / "tree")
    expected = _rule_ids(_scan(root, env))
    found = next(Path(env["MANIAC_GUARD_CACHE_DIR"]).glob("found-*.json"))
    for shape in WRONG_SHAPES + [b'{"a": 1}']:
        _plant(found, shape)
        assert _rule_ids(_scan(root, env)) == expected


def test_a_forged_prefilter_cannot_put_the_detectors_to_sleep(tmp_path: Path, env: dict[str, str]) -> None:
    hyperscan = pytest.importorskip("hyperscan")
    root = _leak(tmp_path / "tree")
    for i in range(engine.PARALLEL_MIN_FILES + 5):  # the prefilter serves trees only
        (root / f"note_{i}.txt").write_text(f"nothing here {i}\n")
    expected = _rule_ids(_scan(root, env))
    assert expected
    (stored,) = Path(env["MANIAC_GUARD_CACHE_DIR"]).glob("prefilter-*.hsdb")
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(expressions=[b"never-ever-matches-\x01"], ids=[0], elements=1, flags=[0])
    stored.write_bytes(hyperscan.dumpb(database))  # loads and scans fine, wakes nobody
    proc = _scan(root, env)
    assert proc.returncode == 1 and _rule_ids(proc) == expected


def test_a_failed_cache_write_leaves_no_temporary_file(tmp_path: Path, env: dict[str, str]) -> None:
    root = _leak(tmp_path / "tree")

    def small_files() -> None:  # every write past 4 KiB fails with EFBIG (Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    proc = _scan(root, env, preexec_fn=small_files)
    assert proc.returncode == 1, proc.stderr
    assert ("MG101", "critical") in _rule_ids(proc)
    folder = Path(env["MANIAC_GUARD_CACHE_DIR"])
    leftovers = [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] if folder.exists() else []
    assert leftovers == []


def test_the_sealing_key_lives_outside_the_cache_folder(tmp_path: Path, env: dict[str, str]) -> None:
    root = _leak(tmp_path / "tree")
    _scan(root, env)
    key = Path(env["XDG_STATE_HOME"]) / "maniac-guard" / "cache-key"
    assert key.stat().st_size == 32 and key.stat().st_mode & 0o777 == 0o600
    cache = Path(env["MANIAC_GUARD_CACHE_DIR"])
    assert not any(p.name == "cache-key" for p in cache.rglob("*"))
    # A cache restored onto a machine with another key is only a cold cache.
    restored = _rule_ids(_scan(root, {**env, "XDG_STATE_HOME": str(tmp_path / "other-state")}))
    assert restored == _rule_ids(_scan(root, env))


@pytest.mark.parametrize(
    "record",
    [
        b'{"state": [], "status": 200, "reason": "r", "checked": 1}',
        b'{"state": "revoked", "status": true, "reason": "r", "checked": 1}',
        b'{"state": "revoked", "status": 401, "reason": ["r"], "checked": 1}',
        b'{"state": "revoked", "status": 401, "reason": "r", "checked": "1"}',
        b'["revoked"]',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_verify_cache_entries_of_the_wrong_shape_are_asked_again(env: dict[str, str], record: bytes) -> None:
    from maniac_guard.verify.cache import VerifyCache, entry_name

    cache = VerifyCache("https://platform.maniac.ai", Path(env["MANIAC_GUARD_CACHE_DIR"]) / "verify")
    key = fake_key("verify-shape")
    _plant(cache.folder / entry_name(cache.base_url, key), record)
    assert cache.get(key, now=2.0) is None


def test_a_forged_revoked_verdict_is_not_believed(env: dict[str, str]) -> None:
    """With --only-live a cached "revoked" drops the finding: a forged one must not."""
    from maniac_guard.verification import Verification
    from maniac_guard.verify.cache import VerifyCache, entry_name

    cache = VerifyCache("https://platform.maniac.ai", Path(env["MANIAC_GUARD_CACHE_DIR"]) / "verify")
    key = fake_key("verify-forged")
    cache.put(key, Verification("revoked", 401, "invalid_api_key"), now=1.0)
    assert cache.get(key, now=2.0) is not None  # a verdict this machine wrote is kept
    path = cache.folder / entry_name(cache.base_url, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"state": "revoked", "status": 401, "reason": "forged", "checked": 1.0}))
    assert cache.get(key, now=2.0) is None
