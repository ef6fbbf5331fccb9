"""The native prefilter may skip a detector only where it finds nothing.

A tree scan asks hyperscan which detectors' HINTS a file holds and skips the
others; if a hint were wrong, keys would be lost on big trees only, where
nobody looks. These tests hold every detector's findings to its hints."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maniac_guard.detectors import load_detectors
from maniac_guard.detectors.python_callers import SDK_IMPORT, imports_sdk
from maniac_guard.engine import scan_source
from maniac_guard.prefilter import Prefilter, hints_of
from maniac_guard.sources import SourceFile
from tests.helpers import FIXTURES, fake_key

DETECTORS = load_detectors()
PREFILTER = Prefilter.build(DETECTORS)

# Pieces that wake one detector or another, and near misses of each.
_PIECES = [
    fake_key("prefilter"),
    base64.b64encode(f"key: {fake_key('b64')}".encode()).decode(),
    "mk%2D",
    "mkdir -p",
    "stay",
    "from maniac import Maniac\n",
    "import  maniac_tools\n",
    "import\tmaniac.client as m\n",
    "from maniac",
    "maniac\n",
    "MANIAC_API_KEY=",
    "api_key: ",
    "apiKey:",
    "permissions:\n  - inference:write\n",
    "maniac.ai",
    "pi: 3.14\n",
    "'mk-",
    "\x00",
    "é",
    # encoded and obfuscated keys (MG103, MG104)
    "mk\\u002d",
    "\\u006dk-",
    "mk&#x2d;",
    "mk",
    "-",
    "&hyphen;",
    "%6D%6B%2D",
    "=2D",
    "=\n",
    "\\\n",
    "\n    ",
    "\u200b",
    "\u00ad",
    "\u2010",
    "\u043c",
    fake_key("prefilter-encoded")[3:20],
    fake_key("prefilter-encoded")[20:],
]
_NAMES = [
    "app.py",
    "nb.ipynb",
    ".env",
    "prod.env",
    "config.yaml",
    ".maniac/config.yaml",
    "maniac-keys.yaml",
    "x.yml",
    "notes.txt",
]


def test_the_hints_compile_natively() -> None:
    """hyperscan is a dependency on this platform: a tree scan must not fall
    back to `re` because a hint uses syntax it lacks."""
    assert PREFILTER is not None


def test_each_hint_is_a_plain_regex_that_re_also_compiles() -> None:
    for detector in DETECTORS:
        for hint in hints_of(detector) or ():
            assert "(?<" not in hint.decode() and "(?=" not in hint.decode(), hint
            re.compile(hint)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_NAMES), st.lists(st.sampled_from(_PIECES), max_size=6), st.text(max_size=40))
def test_a_detector_that_finds_something_is_woken_for_it(name: str, pieces: list[str], noise: str) -> None:
    assert PREFILTER is not None
    data = (noise.join(pieces) + noise).encode("utf-8", "surrogatepass")
    woken = PREFILTER.woken(data)
    for index, detector in enumerate(DETECTORS):
        source = SourceFile(name, data)
        if detector.wants(source) and list(detector.detect(source)):
            assert index in woken, (detector.name, data)


def test_scanning_every_fixture_with_the_prefilter_finds_the_same() -> None:
    compared = 0
    for path in sorted(FIXTURES.rglob("*")):
        if not path.is_file():
            continue
        source_path = path.relative_to(FIXTURES).as_posix()
        data = path.read_bytes()
        plain = scan_source(SourceFile(source_path, data), DETECTORS)
        filtered = scan_source(SourceFile(source_path, data), DETECTORS, prefilter=PREFILTER)
        assert [f.fingerprint for f in filtered] == [f.fingerprint for f in plain], source_path
        compared += bool(plain)
    assert compared > 40  # the fixture trees hold findings of every kind


def test_the_compiled_hints_are_cached_and_a_damaged_copy_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MANIAC_GUARD_CACHE_DIR", str(tmp_path))
    sample = (
        f"x = '{fake_key('hs-cache')}'\nMANIAC_API_KEY=1\ny = 'mk\\u002d'\n".encode()
    )  # a plain key, an env line, an escaped dash
    compiled = Prefilter.build(DETECTORS)
    (stored,) = tmp_path.glob("prefilter-*.hsdb")
    loaded = Prefilter.build(DETECTORS)
    stored.write_bytes(b"not a database")
    rebuilt = Prefilter.build(DETECTORS)
    assert compiled is not None and loaded is not None and rebuilt is not None
    assert compiled.woken(sample) == loaded.woken(sample) == rebuilt.woken(sample) == set(range(len(DETECTORS)))
    assert stored.read_bytes() != b"not a database"


def test_a_prefilter_that_fails_asks_every_detector() -> None:
    import hyperscan

    class Broken:
        def scan(self, *args: object, **kwargs: object) -> None:
            raise hyperscan.error("scratch in use")

    broken = Prefilter(hyperscan, Broken(), [], frozenset(), len(DETECTORS))
    broken._scratch = object()
    data = f"MANIAC_API_KEY={fake_key('broken-prefilter')}\n".encode()
    assert broken.woken(data) == set(range(len(DETECTORS)))
    plain = scan_source(SourceFile(".env", data), DETECTORS)
    assert plain and scan_source(SourceFile(".env", data), DETECTORS, prefilter=broken) == plain


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=6), st.text(max_size=40))
def test_the_sdk_import_is_asked_of_re_only_where_the_pass_found_its_hint(pieces: list[str], noise: str) -> None:
    """A tree scan asks `re` whether a .py file imports the SDK (the wrapper
    modules whose callers it then reads) only where the prefilter's pass
    woke the detector whose hint that import is: never missing one."""
    assert PREFILTER is not None
    data = (noise.join(pieces) + noise).encode("utf-8", "surrogatepass")
    woken = PREFILTER.woken(data)
    if imports_sdk("app.py", data):
        assert PREFILTER.may_match(woken, SDK_IMPORT.pattern), data
    assert PREFILTER.may_match(woken, b"not a hint")


def test_the_sdk_import_is_a_hint_the_pass_looks_for() -> None:
    """If the Python rules' hints stopped naming the import, every .py file
    of a tree would be searched again (correct, only slower): caught here."""
    assert PREFILTER is not None
    assert not PREFILTER.may_match(PREFILTER.woken(b"import os\n"), SDK_IMPORT.pattern)
    assert PREFILTER.may_match(PREFILTER.woken(b"import maniac\n"), SDK_IMPORT.pattern)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=4), st.text(max_size=60))
def test_the_one_pass_history_filter_agrees_with_re(pieces: list[str], noise: str) -> None:
    # scan --history skips commits none of these patterns match (issue 26).
    from maniac_guard.history import fragment_hints
    from maniac_guard.prefilter import any_match

    patterns = [rb"\nrename from ", rb"\nBinary files ", *(fragment_hints() or [])]
    matches = any_match(patterns)
    assert matches is not None
    block = (noise + "\n".join(pieces)).encode("utf-8", "surrogateescape")
    assert matches(block) == any(re.search(p, block) for p in patterns)


def test_a_file_with_hints_on_every_line_stops_the_pass_and_asks_every_detector() -> None:
    """The pass reports each match (a faster compile than one per hint); a
    file of thousands of them costs a bounded number of callbacks, then
    wakes every detector: more work for them, never a finding lost."""
    from maniac_guard.prefilter import MATCHES_MAX

    assert PREFILTER is not None
    many = "".join(f"MANIAC_VAR_{i}=1\n" for i in range(MATCHES_MAX + 1)).encode()
    assert PREFILTER.woken(many) == set(range(len(DETECTORS)))
    few = "".join(f"MANIAC_VAR_{i}=1\n" for i in range(3)).encode()
    assert PREFILTER.woken(few) != set(range(len(DETECTORS)))
    plain = scan_source(SourceFile(".env", many), DETECTORS)
    assert scan_source(SourceFile(".env", many), DETECTORS, prefilter=PREFILTER) == plain
