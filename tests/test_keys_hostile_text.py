"""Issue 22, items 4 and 15: text an attacker writes cannot stall the key
patterns, and a key glued to an escape sequence is still found.

Item 4: the joined-words test backtracked exponentially (`mk-` + 26 lower-case
letters + `A1A` took 5 s, a few more letters minutes), so a pushed file could
hold the scan past any gate's time budget. Every shape test is now a linear
scan; the bound asserted here is on the work, through the console script:
files of adversarial 10,000-character tokens must finish inside a generous
subprocess timeout (exponential or quadratic work cannot: the old code needs
hours for the first token).

Item 15: a key right after `\\n`, `\\t`, `\\uXXXX` or an ANSI colour code was
missed, because the letter ending the escape looked like a word glued to
`mk-`.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maniac_guard.detectors import keys
from maniac_guard.keyshape import placeholder_reason
from tests.helpers import fake_key, run_cli, run_in_process

TOKEN_LENGTH = 10_000
# Pieces that wake every shape test: words and CamelCase letters, digits,
# dashes, `mk-` starts glued to words, percent and escape boundaries.
PIECES = [
    "a",
    "z",
    "A",
    "Z",
    "1",
    "9",
    "-",
    "_",
    "mk-",
    "hmk-",
    "mk%2D",
    "-mk-",
    "aB",
    "Ab",
    "icon",
    "Box",
    "your",
    "x",
]
# The same for the encoded-text detector: escapes, entities, percent and QP
# forms, invisibles and look-alikes, line wraps.
PIECES += [
    "mk\\u002d",
    "\\u006d",
    "&#45;",
    "&hyphen;",
    "%2D",
    "%41",
    "=2D",
    "=\n",
    "\\\n",
    "\n  ",
    "\u200b",
    "\u2010",
    "\u043a",
]
# Known worst cases of the old code: the exponential CamelCase test, the
# quadratic `hmk-` search and `-mk-` splitting.
WORST_CASES = [
    "a" * TOKEN_LENGTH + "A1A",
    "aB" * (TOKEN_LENGTH // 2) + "BB1",
    "hmk-" * (TOKEN_LENGTH // 4),
    "a-mk-" * (TOKEN_LENGTH // 5),
    "-".join(["icon", "Box"] * (TOKEN_LENGTH // 8)) + "A1",
]
tokens = st.lists(st.sampled_from(PIECES), min_size=1, max_size=40).map(
    lambda pieces: ("".join(pieces) * TOKEN_LENGTH)[:TOKEN_LENGTH]
)


def _scan_tokens(folder: Path, bodies: list[str]) -> None:
    text = "".join(f"MANIAC_API_KEY_{n}=mk-{body}\nlog: {body}mk-{body}\n" for n, body in enumerate(bodies))
    (folder / "hostile.env").write_text(text, encoding="utf-8")
    # The bound on work: 10+ tokens of 10,000 characters in one scan, with a
    # timeout hundreds of times what linear work needs (about a second).
    proc = run_cli("scan", ".", "--format", "json", "--no-cache", cwd=folder, timeout=240)
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["findings"] is not None


def test_the_known_worst_cases_scan_in_linear_time(tmp_path: Path) -> None:
    _scan_tokens(tmp_path, WORST_CASES + ["a" * n + "A1A" for n in (26, 40, 72)])


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(tokens, min_size=8, max_size=8))
def test_adversarial_long_tokens_scan_in_linear_time(bodies: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _scan_tokens(Path(folder), bodies)


def test_the_shape_tests_use_no_nested_quantifier() -> None:
    """The linear-time promise, checked at its source: no pattern the shape
    tests compile repeats a group that itself repeats."""
    import re

    from maniac_guard import keyshape

    patterns = [value.pattern for value in vars(keyshape).values() if isinstance(value, re.Pattern)]
    patterns += [value.pattern for value in vars(keys).values() if isinstance(value, re.Pattern)]
    nested = re.compile(r"\([^()]*[+*][^()]*\)[+*{]")
    assert patterns and [p for p in patterns if nested.search(p if isinstance(p, str) else p.decode("latin-1"))] == []


# --- item 15: keys glued to escape sequences -------------------------------

KEY = fake_key("glued-to-escapes")


def _found(tmp_path: Path, files: dict[str, str]) -> dict[str, list[int]]:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    proc = run_in_process("scan", ".", "--format", "sarif", "--no-cache", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert KEY[3:] not in proc.stdout and KEY[3:] not in proc.stderr
    found: dict[str, list[int]] = {}
    for result in json.loads(proc.stdout)["runs"][0]["results"]:
        if result["ruleId"] == "MG101":
            where = result["locations"][0]["physicalLocation"]
            found.setdefault(where["artifactLocation"]["uri"], []).append(where["region"]["startLine"])
    return found


def test_a_key_after_an_escape_sequence_is_found(tmp_path: Path) -> None:
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": 1,
                "source": "print(load())",
                "outputs": [{"name": "stdout", "output_type": "stream", "text": f"loaded:\n{KEY}\n"}],
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    files = {
        "events.json": json.dumps({"message": f"starting\n{KEY} loaded"}) + "\n",
        "app.py": f'print("key:\\t{KEY}")\n',
        "run.log": f"\x1b[32m{KEY}\x1b[0m ready\n",
        "colour.json": json.dumps({"line": f"\x1b[1;32m{KEY}"}) + "\n",
        "query.json": '{"url": "https://x.test/?key\\u003d' + KEY + '"}\n',
        "crlf.c": f'puts("a\\r\\n{KEY}");\n',
        "output.ipynb": json.dumps(notebook, indent=1) + "\n",
    }
    found = _found(tmp_path, files)
    assert sorted(found) == sorted(files), found
    assert found["output.ipynb"] and found["events.json"] == [1]


@pytest.mark.parametrize(
    "text",
    [
        f"x = h{KEY}\n",  # a word glued to `mk-`: another token (`hmk-…`)
        f"x = my{KEY}\n",
        f'path = "C:\\\\n{KEY}"\n',  # an escaped backslash, then a plain `n`
    ],
)
def test_a_key_glued_to_a_word_is_still_not_a_key(tmp_path: Path, text: str) -> None:
    assert _found(tmp_path, {"glued.py": text}) == {}


def test_rejected_worst_cases_have_reasons() -> None:
    # The shapes themselves are still judged: not keys.
    assert placeholder_reason("a" * 26 + "A1A") is not None
    assert placeholder_reason("aB" * 40) is not None
