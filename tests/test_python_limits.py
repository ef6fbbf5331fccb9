"""Issue 9: Python that is too big or too deep for libcst. Without a guard,
brackets nested 1,000 deep cost libcst ~10 s and over 2 GB, and a 10,000-long
attribute chain crashes its native parser (SIGSEGV). The scan must finish with
bounded memory, keep the key patterns, and say which file it analyzed less.

Memory is measured as in tests/test_resource_limits.py: peak RSS of the scan
and its workers via getrusage(RUSAGE_CHILDREN) in a fresh wrapper process."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from maniac_guard.detectors.python_code import MAX_DEPTH, too_complex
from tests.helpers import fake_key
from tests.test_resource_limits import MEMORY_BOUND_MB, _measured_scan

DEEP = {
    "parens": lambda n: "(" * n + "1" + ")" * n,
    "calls": lambda n: "f(" * n + "1" + ")" * n,
    "lists": lambda n: "[" * n + "1" + "]" * n,
    "dicts": lambda n: "{1: " * n + "1" + "}" * n,
    "attribute-chain": lambda n: "a" + ".b" * (10 * n),
    "operator-chain": lambda n: "+".join(["a"] * (10 * n)),
    "adjacent-strings": lambda n: " ".join(['"a"'] * (10 * n)),
}


def _module(expression: str, key: str) -> str:
    return f'from maniac import Maniac\n\nx = {expression}\nclient = Maniac(api_key="{key}")\n'


@pytest.mark.parametrize("shape", sorted(DEEP))
def test_code_nested_a_thousand_deep_is_scanned_with_key_patterns(tmp_path: Path, shape: str) -> None:
    key = fake_key(f"deep-{shape}")
    (tmp_path / "deep.py").write_text(_module(DEEP[shape](1000), key))
    started = time.monotonic()
    outcome = _measured_scan(tmp_path, ".")
    elapsed = time.monotonic() - started
    report = outcome["report"]
    findings = report["findings"]  # type: ignore[index]
    assert outcome["rc"] == 1
    assert [(f["rule_id"], f["line"]) for f in findings] == [("MG101", 4)]
    assert "deep.py: " in str(outcome["err"]) and "Python rules skipped, key patterns only" in str(outcome["err"])
    assert key not in str(outcome["out"]) + str(outcome["err"])
    assert float(outcome["peak_mb"]) < MEMORY_BOUND_MB  # type: ignore[arg-type]
    assert elapsed < 30


def test_five_megabyte_python_file_is_scanned_with_key_patterns(tmp_path: Path) -> None:
    key = fake_key("five-mb")
    chunk = "def handler_{n}(request):\n    return {{'maniac': request.get('x', {n}) * 2}}\n\n"
    parts = ["from maniac import Maniac\n", f'client = Maniac(api_key="{key}")\n']
    size, n = 0, 0
    while size < 5 << 20:
        parts.append(chunk.format(n=n))
        size += len(parts[-1])
        n += 1
    (tmp_path / "generated.py").write_text("".join(parts))
    outcome = _measured_scan(tmp_path, ".")
    findings = outcome["report"]["findings"]  # type: ignore[index]
    assert [(f["rule_id"], f["line"]) for f in findings] == [("MG101", 2)]
    assert "generated.py: 5120 KiB is over the Python analyzer's 256 KiB limit" in str(outcome["err"])
    assert float(outcome["peak_mb"]) < MEMORY_BOUND_MB  # type: ignore[arg-type]


def test_ordinary_code_is_still_analyzed(tmp_path: Path) -> None:
    key = fake_key("shallow")
    nested = "(" * (MAX_DEPTH // 2) + "1" + ")" * (MAX_DEPTH // 2)
    assert too_complex(_module(nested, key)) is None
    (tmp_path / "app.py").write_text(_module(nested, key))
    outcome = _measured_scan(tmp_path, ".")
    rules = {f["rule_id"] for f in outcome["report"]["findings"]}  # type: ignore[index]
    assert any(rule.startswith("MG2") for rule in rules), rules
    assert "skipped" not in str(outcome["err"])


def test_notebook_code_gets_the_same_guard() -> None:
    import json

    from maniac_guard.detectors.python_code import detect
    from maniac_guard.sources import SourceFile

    code = _module(DEEP["calls"](1000), fake_key("deep-notebook"))
    notebook = {
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "source": code.splitlines(True)}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    source = SourceFile("deep.ipynb", json.dumps(notebook).encode())
    assert list(detect(source)) == []
    assert source.notes == [
        f"deep.ipynb: brackets nested 1000 deep (over {MAX_DEPTH}); Python rules skipped, key patterns only"
    ]


@pytest.mark.parametrize("shape", ["attribute-chain", "operator-chain"])
def test_the_fix_leaves_code_too_deep_for_its_parser_alone_and_says_so(tmp_path: Path, shape: str) -> None:
    """libcst's native parser overflows the C stack on such chains (exit 139,
    the file named nowhere): the fixer gets the scan's guard."""
    from tests.helpers import run_cli

    key = fake_key(f"deep-fix-{shape}")
    code = _module(DEEP[shape](2000), key)
    (tmp_path / "deep.py").write_text(code)
    result = run_cli("fix", ".", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-500:]
    assert "deep.py: " in result.stderr and "not fixed" in result.stderr
    assert (tmp_path / "deep.py").read_text() == code
    assert key not in result.stdout + result.stderr


def test_a_flow_too_long_for_the_analyzer_is_named_not_passed_in_silence(tmp_path: Path) -> None:
    """A literal handed to the SDK through 400 assignments: the analysis's
    recursion gives out (RecursionError). It used to end in a debug line
    only, and the scan said "0 findings" as if the file had been analyzed."""
    from tests.helpers import run_in_process

    chain = "\n".join(f"v{i} = v{i - 1}" for i in range(1, 400))
    (tmp_path / "chain.py").write_text(
        f'from maniac import Maniac\n\nv0 = "not-a-key-shape"\n{chain}\nclient = Maniac(api_key=v399)\n'
    )
    proc = run_in_process("scan", "chain.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "chain.py: too long a chain of steps for the Python analyzer; Python rules skipped" in proc.stderr


@pytest.mark.parametrize(
    "literal",
    ['"a"', "'a'", '""', "''", 'rb"\\\\"', "f'{x}'", "u'\\''", 'B"a"\n'],
)
def test_adjacent_strings_are_refused_from_exactly_the_limit(literal: str) -> None:
    """The guard counts the quotes that end a literal another follows before
    its search for the run: neither may change where the limit is."""
    from maniac_guard.detectors.python_code import MAX_ADJACENT_STRINGS

    below = " ".join([literal] * (MAX_ADJACENT_STRINGS - 1))
    at = " ".join([literal] * MAX_ADJACENT_STRINGS)
    assert too_complex(f"x = ({below})\n") is None
    assert too_complex(f"x = ({at})\n") == f"over {MAX_ADJACENT_STRINGS} adjacent string literals"
