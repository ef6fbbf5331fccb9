"""The rule catalog's two start-up speed-ups, the parse shipped beside the
YAML (rules/catalog.json) and the cache of a parse in the cache folder:
neither may change what the rules say, hold a key, or outlive an edit to
rules/. The cache tests run on a copy of rules/ without the shipped parse
(the case of a rules folder of one's own)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from maniac_guard import catalog
from maniac_guard.keyshape import looks_like_key
from tests.helpers import run_cli


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "cache"
    monkeypatch.setenv("MANIAC_GUARD_CACHE_DIR", str(folder))
    rules = tmp_path / "own-rules"
    shutil.copytree(catalog.rules_dir(), rules)
    (rules / catalog.SEED_NAME).unlink()
    monkeypatch.setenv("MANIAC_GUARD_RULES_DIR", str(rules))
    catalog.load_rules.cache_clear()
    yield folder
    catalog.load_rules.cache_clear()


def _fresh() -> dict[str, catalog.Rule]:
    catalog.load_rules.cache_clear()
    return catalog.load_rules()


def test_cached_catalog_equals_the_yaml(cache: Path) -> None:
    directory = catalog.rules_dir()
    from_yaml = catalog._parse_catalog(directory, catalog._rule_sources(directory))
    first = _fresh()
    assert list(cache.glob("catalog-*.json")), "the first load writes the cache"
    second = _fresh()
    assert first == from_yaml
    assert second == from_yaml
    assert list(second) == list(from_yaml)  # same order: `rules` and SARIF list them in it


YAML_PROBE = "import sys; from maniac_guard.catalog import load_rules; load_rules(); print('yaml' in sys.modules)"


def test_a_warm_start_does_not_import_yaml(cache: Path) -> None:
    code = YAML_PROBE
    env = {**os.environ, "MANIAC_GUARD_CACHE_DIR": str(cache)}
    runs = [
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert [r.stdout.strip() for r in runs] == ["True", "False"]


def test_an_edited_rule_is_read_again(cache: Path) -> None:
    rules = catalog.rules_dir()
    assert "edited" not in _fresh()["MG101"].summary
    path = rules / "MG101.yaml"
    path.write_text(path.read_text().replace("summary: ", "summary: edited ", 1))
    assert _fresh()["MG101"].summary.startswith("edited ")
    assert len(list(cache.glob("catalog-*.json"))) == 1, "the stale cache is removed"


def test_a_damaged_cache_falls_back_to_the_yaml(cache: Path) -> None:
    expected = _fresh()
    for path in cache.glob("catalog-*.json"):
        path.write_text('{"rules": [{"id": 1')
    assert _fresh() == expected


def test_an_unwritable_cache_folder_only_costs_speed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MANIAC_GUARD_CACHE_DIR", str(blocker / "cache"))
    assert "MG101" in _fresh()
    catalog.load_rules.cache_clear()


def test_the_cache_holds_no_key(cache: Path) -> None:
    rules = _fresh()
    example_keys = {
        key
        for rule in rules.values()
        for example in rule.invalid
        for key in re.findall(r"mk-[A-Za-z0-9]{16,}", example.text)
        if looks_like_key(key)
    }
    assert example_keys, "the rule examples hold fake keys"
    text = "".join(p.read_text() for p in cache.glob("catalog-*.json"))
    assert not any(key in text for key in example_keys)
    result = run_cli("scan", "--no-gitignore", str(cache))
    assert result.returncode == 0, result.stdout


# ---- the parse shipped beside the YAML --------------------------------------


def test_a_cold_start_with_the_shipped_rules_does_not_import_yaml(tmp_path: Path) -> None:
    env = {**os.environ, "MANIAC_GUARD_CACHE_DIR": str(tmp_path / "empty-cache")}
    env.pop("MANIAC_GUARD_RULES_DIR", None)
    done = subprocess.run([sys.executable, "-c", YAML_PROBE], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    assert not (tmp_path / "empty-cache").exists() or not list((tmp_path / "empty-cache").glob("catalog-*"))


def test_an_edited_rule_beats_the_shipped_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(catalog.rules_dir(), rules)  # catalog.json included, now stale
    monkeypatch.setenv("MANIAC_GUARD_RULES_DIR", str(rules))
    monkeypatch.setenv("MANIAC_GUARD_CACHE_DIR", "")
    path = rules / "MG101.yaml"
    path.write_text(path.read_text().replace("severity: critical", "severity: low", 1))
    assert _fresh()["MG101"].severity.label == "low"
    catalog.load_rules.cache_clear()


def test_a_damaged_shipped_parse_falls_back_to_the_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(catalog.rules_dir(), rules)
    monkeypatch.setenv("MANIAC_GUARD_RULES_DIR", str(rules))
    monkeypatch.setenv("MANIAC_GUARD_CACHE_DIR", "")
    expected = _fresh()
    seed = rules / catalog.SEED_NAME
    seed.write_text(seed.read_text()[: len(seed.read_text()) // 2])
    assert _fresh() == expected
    catalog.load_rules.cache_clear()


def test_the_shipped_parse_holds_no_key() -> None:
    result = run_cli("scan", "--no-gitignore", str(catalog.rules_dir() / catalog.SEED_NAME))
    assert result.returncode == 0, result.stdout
