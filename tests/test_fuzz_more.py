"""Issue 9: structured fuzzing. Generated Python modules and notebooks go
through the detectors and the fixer, generated YAML through the permissions
detector and loaders, generated `git log -p` streams through the history
parser. The promise: no exception escapes; every input yields findings or a
clean per-file message.

tests/test_fix_property.py checks the fixer's exact edits on well-formed
modules; here the shapes are wilder (other import styles, odd contexts,
mutations that break the code) and only robustness is asserted. Example
counts come from the "ci" profile of tests/test_fuzz_detectors.py;
`HYPOTHESIS_PROFILE=long` searches deeper.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from maniac_guard.detectors import load_detectors
from maniac_guard.engine import scan_source
from maniac_guard.findings import Finding
from maniac_guard.fix import FixOptions, fix_bytes
from maniac_guard.sources import SourceFile
from tests.helpers import fake_key

settings.register_profile("ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

DETECTORS = load_detectors()
KEYS = [fake_key(f"fuzz-more-{i}") for i in range(4)]
SAFE, UNSAFE = FixOptions(), FixOptions(unsafe=True)


def _scan(name: str, data: bytes) -> list[Finding]:
    findings = scan_source(SourceFile(name, data), DETECTORS)
    for finding in findings:
        assert finding.line >= 1
        for key in KEYS:
            assert key not in finding.message + finding.snippet
    return findings


def _parses(data: bytes) -> bool:
    try:
        ast.parse(data)
    except (SyntaxError, ValueError):
        return False
    return True


# --- generated Python ----------------------------------------------------------------

IMPORTS = [
    "from maniac import Maniac",
    "from maniac import Maniac as M",
    "import maniac",
    "import maniac as mn",
    "from maniac import *",
    "from maniac import AsyncManiac, Maniac",
    "import os",
    "import os, sys",
    "from os import environ",
    "from os import getenv as ge",
    "import httpx",
    "import requests",
]
# `{k}` a key, `{e}` an expression that may hold one; each is one statement.
STATEMENTS = [
    "c = Maniac(api_key={e})",
    "c = M({e})",
    "c = maniac.Maniac(api_key={e})",
    "c = mn.AsyncManiac({e}, timeout=1)",
    'c = Maniac(**{{"api_key": {e}}})',
    'c = Maniac({{"apiKey": {e}}})',
    "c = Maniac(*[{e}])",
    "K = {e}",
    "K: str = {e}",
    "K = L = {e}",
    "K, J = {e}, {e}",
    "c = Maniac(api_key=K)",
    "c = Maniac(K)",
    'os.environ["MANIAC_API_KEY"] = {e}',
    'os.environ.setdefault("MANIAC_API_KEY", {e})',
    'environ["MANIAC_API_KEY"] = {e}',
    'v = os.getenv("MANIAC_API_KEY", {e})',
    'v = ge("MANIAC_API_KEY", {e})',
    "os.environ.update(MANIAC_API_KEY={e})",
    'h = {{"Authorization": f"Bearer {{K}}"}}',
    'h = {{"Authorization": "Bearer " + {e}}}',
    'r = httpx.get("https://platform.maniac.ai/v1/models", headers=h)',
    "f = lambda key={e}: Maniac(api_key=key)",
    "cs = [Maniac(api_key={e}) for _ in range(2)]",
    "if (k := {e}):\n    c = Maniac(api_key=k)",
    'with open("x") as fh:\n    c = Maniac(api_key={e})',
    "try:\n    c = Maniac(api_key={e})\nexcept Exception:\n    pass",
    "match x:\n    case 1:\n        c = Maniac(api_key={e})\n    case _:\n        pass",
    "async def a():\n    async with AsyncManiac(api_key={e}) as c:\n        await c.models.list()",
    "class C:\n    key = {e}\n    def m(self, k={e}):\n        return Maniac(api_key=self.key)",
    "@decorate(api_key={e})\ndef g():\n    global K\n    K = {e}\n    return Maniac(api_key=K)",
    "def outer():\n    k = {e}\n    def inner():\n        nonlocal k\n        return Maniac(api_key=k)\n    return inner",
    "c = Maniac(api_key={e}) if x else None",
    "del K",
    "print({e})",
    "assert Maniac(api_key={e})",
    'c = Maniac(api_key={e}, base_url="http://localhost:8080", max_retries=0)',
    "# Maniac(api_key={e})",
    '"""docstring {k}"""',
    "x = 1; c = Maniac(api_key={e}); y = 2",
    "c = Maniac(\n    api_key=(\n        {e}\n    ),\n)",
    "c = Maniac(api_key={e})  # maniac-guard: ignore",
]
EXPRESSIONS = [
    '"{k}"',
    "'{k}'",
    'r"{k}"',
    'b"{k}"',
    'f"{k}"',
    '"""{k}"""',
    '("{k1}" "{k2}")',
    '"{k1}" + "{k2}"',
    '"{k1}" + K',
    "K",
    'os.environ["MANIAC_API_KEY"]',
    'os.getenv("MANIAC_API_KEY")',
    "None",
    '"mk-"',
    '"{k}".strip()',
    'str("{k}")',
    '["{k}"][0]',
    '{{"k": "{k}"}}["k"]',
    '"%s" % "{k}"',
    '"{k}" * 1',
]
PROLOGUES = [
    "",
    "# -*- coding: utf-8 -*-\n",
    "#!/usr/bin/env python\n",
    "\ufeff",
    '"""Module."""\n',
    "from __future__ import annotations\n",
]


@st.composite
def python_modules(draw: st.DrawFn) -> bytes:
    key = draw(st.sampled_from(KEYS))
    half = draw(st.integers(4, len(key) - 4))

    def expression() -> str:
        return draw(st.sampled_from(EXPRESSIONS)).format(k=key, k1=key[:half], k2=key[half:])

    lines = [draw(st.sampled_from(PROLOGUES)).rstrip("\n")]
    lines += draw(st.lists(st.sampled_from(IMPORTS), min_size=0, max_size=4))
    for template in draw(st.lists(st.sampled_from(STATEMENTS), min_size=1, max_size=8)):
        statement = template.format(e=expression(), k=key)
        if draw(st.booleans()) and "\n" not in statement:
            statement = f"def f{len(lines)}():\n    {statement}"
        lines.append(statement)
    text = "\n".join(lines)
    if draw(st.booleans()):
        text = text.replace("    ", "\t")
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = text.replace("\n", newline) + draw(st.sampled_from([newline, ""]))
    return text.encode(draw(st.sampled_from(["utf-8", "utf-8", "latin-1"])), "replace")


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[bytes]) -> bytes:
    """A module with a slice cut out, duplicated or replaced: usually no longer Python."""
    data = draw(base)
    start = draw(st.integers(0, len(data)))
    end = draw(st.integers(start, min(len(data), start + 40)))
    action = draw(st.sampled_from(["cut", "repeat", "replace"]))
    if action == "cut":
        return data[:start] + data[end:]
    if action == "repeat":
        return data[:end] + data[start:end] * draw(st.integers(2, 5)) + data[end:]
    return data[:start] + draw(st.binary(max_size=10)) + data[end:]


def _check_fix(name: str, data: bytes) -> None:
    for options in (SAFE, UNSAFE):
        result = fix_bytes(name, data, options)
        assert all(isinstance(m, str) and name in m for m in result.messages)
        if result.new is None:
            continue
        if name.endswith(".py") and _parses(data):
            assert _parses(result.new), result.new
        again = fix_bytes(name, result.new, options)
        assert again.new is None, "a second fix changed the file again"
        _scan(name, result.new)


@settings(max_examples=max(30, settings().max_examples // 5))
@given(python_modules())
def test_generated_python_scans_and_fixes_cleanly(data: bytes) -> None:
    _scan("app.py", data)
    _check_fix("app.py", data)


@settings(max_examples=max(30, settings().max_examples // 5))
@given(mutated(python_modules()))
def test_broken_python_never_raises(data: bytes) -> None:
    _scan("app.py", data)
    _check_fix("app.py", data)


# --- generated notebooks ----------------------------------------------------------------

JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10))
JSON_ANY = st.recursive(
    JSON_LEAVES,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=10,
)


@st.composite
def cell_source(draw: st.DrawFn) -> object:
    code = draw(python_modules()).decode("utf-8", "replace")
    code = code.replace("\r\n", "\n").replace("\r", "\n")
    if draw(st.booleans()):
        code = draw(st.sampled_from(["%time ", "!pip install maniac\n", "%%bash\n", "?Maniac\n", ""])) + code
    shape = draw(st.sampled_from(["lines", "string", "odd"]))
    if shape == "lines":
        return code.splitlines(keepends=True)
    if shape == "string":
        return code
    return draw(JSON_ANY)


@st.composite
def cells(draw: st.DrawFn) -> object:
    cell: dict[str, object] = {
        "cell_type": draw(st.sampled_from(["code", "code", "markdown", "raw", 3, None])),
        "metadata": {},
        "source": draw(cell_source()),
    }
    if draw(st.booleans()):
        key = draw(st.sampled_from(KEYS))
        cell["outputs"] = draw(
            st.sampled_from(
                [
                    [{"output_type": "stream", "name": "stdout", "text": [f"key {key}\n"]}],
                    [{"output_type": "execute_result", "data": {"text/plain": [f"'{key}'"]}, "metadata": {}}],
                    [{"output_type": "error", "ename": "E", "evalue": key, "traceback": [key]}],
                    "not a list",
                ]
            )
        )
    if draw(st.booleans()):
        del cell[draw(st.sampled_from(["cell_type", "source", "metadata"]))]
    return cell


@st.composite
def notebooks(draw: st.DrawFn) -> bytes:
    root: object = {
        "cells": draw(st.one_of(st.lists(cells(), max_size=4), JSON_ANY)),
        "metadata": draw(
            st.sampled_from(
                [
                    {"kernelspec": {"name": "python3", "language": "python"}},
                    {"language_info": {"name": "R"}},
                    {},
                    [],
                ]
            )
        ),
        "nbformat": draw(st.sampled_from([4, 3, "4", None])),
        "nbformat_minor": 5,
    }
    if draw(st.integers(0, 9)) == 0:
        root = draw(JSON_ANY)
    text = json.dumps(root, indent=draw(st.sampled_from([None, 1, 2])), ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 4)) == 0:  # broken JSON: truncated or with a stray byte
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", ",", "}", "\x00", '"']))
    return text.encode("utf-8", "surrogatepass")


# Regression: JSON nested thousands deep made the fixer's notebook reader
# raise RecursionError out of fix_bytes.
DEEP_NOTEBOOK = b'{"cells": ' + b"[" * 5000 + b"]" * 5000 + b', "x": "from maniac import Maniac"}'


@given(notebooks())
@example(DEEP_NOTEBOOK)
def test_generated_notebooks_scan_and_fix_cleanly(data: bytes) -> None:
    _scan("analysis.ipynb", data)
    for options in (SAFE, UNSAFE):
        result = fix_bytes("analysis.ipynb", data, options)
        assert all("analysis.ipynb" in m for m in result.messages)
        if result.new is not None:
            fixed, original = json.loads(result.new), json.loads(data)
            assert fixed.keys() == original.keys()  # only code cell sources change
            assert fix_bytes("analysis.ipynb", result.new, options).new is None


def test_deeply_nested_notebook_gets_a_message_not_an_exception() -> None:
    result = fix_bytes("deep.ipynb", DEEP_NOTEBOOK, SAFE)
    assert result.new is None
    assert result.messages == ["deep.ipynb: not a readable notebook (nested too deeply); not fixed"]


# --- generated YAML -------------------------------------------------------------------------

YAML_PIECES = [
    "version: 1\n",
    "keys:\n",
    "  - name: ci\n",
    "  - name: &n web\n",
    "  - name: *n\n",
    "    permissions:\n",
    "      - models:read\n",
    "      - containers:*\n",
    "      - '*'\n",
    "      - *anchor\n",
    "      - &anchor data:*\n",
    "    permissions: [models:read, metrics:read]\n",
    "    permissions: 5\n",
    "    permissions: {a: b}\n",
    "    permissions: !!python/object/apply:os.system ['true']\n",
    "    expires: 2020-01-01\n",
    "    expires: not a date\n",
    "    expires: !!timestamp 2001-12-14t21:59:43.10-05:00\n",
    "    code: ['src/**/*.py']\n",
    "    code: 7\n",
    "    owner: !Ref Owner\n",
    "    rotate_every_days: -1\n",
    "permissions:\n",
    "  - metrics:read\n",
    "  - !custom tag\n",
    "  - [nested, list]\n",
    "  - {k: v}\n",
    "waivers:\n",
    "  - rule: MG402\n    key: ci\n    reason: x\n    until: 2999-01-01\n",
    "  - 3\n",
    "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n",
    "<<: *base\n",
    "base: &base {x: 1}\n",
    "---\n",
    "...\n",
    "\t\n",
    "key: 'unterminated\n",
    "? complex\n: key\n",
    "!!binary aGVsbG8=\n",
    "%YAML 1.2\n",
    "%TAG ! tag:example.com,2000:\n",
    "keys: ~\n",
    "keys: 'x'\n",
    "keys: [1, null, []]\n",
    "version: '1'\n",
    "version: 2\n",
    "name: ci\n",
]


@st.composite
def yaml_texts(draw: st.DrawFn) -> bytes:
    parts = draw(st.lists(st.one_of(st.sampled_from(YAML_PIECES), st.text(max_size=8)), max_size=14))
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), f"    api_key: {draw(st.sampled_from(KEYS))}\n")
    return "".join(parts).encode("utf-8", "surrogatepass")


@given(yaml_texts(), st.sampled_from(["maniac-keys.yaml", "deploy/maniac-keys.yml", "keys.yaml", "x.maniac-keys.yaml"]))
def test_generated_yaml_through_the_permissions_detector(data: bytes, name: str) -> None:
    from maniac_guard.permissions.check import check_source

    for finding in _scan(name, data):
        assert finding.message
    for finding in check_source(SourceFile(name, data)):
        assert finding.rule_id.startswith("MG4")


@given(yaml_texts())
def test_generated_yaml_through_the_loaders(data: bytes) -> None:
    from maniac_guard.permissions import declarations, yamlsafe

    text = data.decode("utf-8", "replace")
    try:
        yamlsafe.load(text)
    except yamlsafe.YamlProblem as problem:
        assert str(problem)
    decl, problems = declarations.parse("maniac-keys.yaml", text, len(data), True)
    assert decl is not None or problems is not None


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("policy")


@given(yaml_texts())
def test_generated_yaml_as_a_policy_file_is_loaded_or_refused(policy_dir: Path, data: bytes) -> None:
    from maniac_guard.permissions.policy import PolicyError, load_policy

    path = policy_dir / "policy.yaml"
    path.write_bytes(data)
    try:
        load_policy(str(path))
    except PolicyError as error:
        assert "policy.yaml" in str(error)


# --- generated git log -p streams ----------------------------------------------------------

SHA = st.text("0123456789abcdef", min_size=40, max_size=40)


@st.composite
def diff_lines(draw: st.DrawFn) -> list[bytes]:
    key = draw(st.sampled_from(KEYS)).encode()
    path = draw(
        st.sampled_from(
            [
                b"a.py",
                b'"sp ace\\tx.py"',
                b'"\\303\\251.env"',
                b'"\\7zz"',
                b'"\\777"',
                b'"\\"',
                b"dir/.env",
                b"",
                b"/dev/null",
            ]
        )
    )
    pool = [
        b"\0" + draw(SHA).encode() + b"\0A <a@example.com>\0" + b"2024-01-01T00:00:00+00:00",
        b"\0",
        b"\0\0\0\0\0",
        b"diff --git a/" + path + b" b/" + path,
        b"diff --cc " + path,
        b"diff --combined x",
        b"--- a/" + path,
        b"+++ b/" + path,
        b"+++ " + path,
        b"+++ /dev/null",
        b"new file mode 100644",
        b"deleted file mode 160000",
        b"index 0000000..1111111 160000",
        b"old mode 100644",
        b"Binary files a/x and b/x differ",
        b"rename from " + path,
        b"rename to " + path,
        b"similarity index 90%",
        b"@@ -0,0 +1,3 @@",
        b"@@ -1 +1 @@",
        b"@@@ -1,2 -1,2 +1,3 @@@",
        b"@@ -x +y @@",
        b"@@",
        b"@@ -1,0 +99999999999 @@",
        b"+MANIAC_API_KEY=" + key,
        b"+ k = '" + key + b"'",
        b"-" + key,
        b" " + key,
        b"++" + key,
        b"+-" + key,
        b"\\ No newline at end of file",
        b"+",
        b"",
        b"\xff\xfe",
    ]
    return draw(st.lists(st.one_of(st.sampled_from(pool), st.binary(max_size=12)), max_size=40))


@given(diff_lines(), st.integers(1, 200))
@example([b"\0" + b"a" * 40, b"diff --git a/x b/x", b'rename to "\\7zz"', b"@@ -0,0 +1 @@", b"+x"], 100)
def test_generated_history_streams_parse_cleanly(lines: list[bytes], max_size: int) -> None:
    """Regression example: a quoted path with a non-octal escape made
    unquote_path call int() on it (ValueError)."""
    from maniac_guard.sources.git import HistoryState, _parse

    state = HistoryState()
    stream = iter([line + b"\n" for line in lines])
    for source in _parse(stream, state, max_size, None):
        assert source.line_numbers is not None and len(source.line_numbers) == source.data.count(b"\n")
        assert len(source.data) <= max_size + 1
        _scan(source.path or "x", source.data)
    assert all(isinstance(m, str) for m in state.messages)
