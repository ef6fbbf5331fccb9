"""Issue 16.2: the screen before libcst. It must say "analyze" whenever the
analyzer reports anything (a strict superset), and spare libcst (its import
too) on files that only read the key from the environment."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from maniac_guard.catalog import load_rules
from maniac_guard.detectors.python_code import may_fire, too_complex
from maniac_guard.python.analyzer import analyze_text
from maniac_guard.python.screen import reachable, screen_text
from tests.helpers import FIXTURES, console_script, fake_key

KEY = fake_key("screen-1")
OTHER_SECRET = "Zx81kQ2mP0aLw7" + "Rt"


def _issues(code: str, path: str = "app.py") -> list[str]:
    try:
        return [i.rule_id for i in analyze_text(code, path=path)]
    except SyntaxError:
        return []


def _assert_superset(code: str, path: str = "app.py") -> bool:
    """The analyzer's findings imply the screen's "analyze"; returns whether it found any."""
    found = _issues(code, path)
    if found:
        assert screen_text(code), (found, code)
    return bool(found)


# ---- generated modules ----------------------------------------------------

PIECES = [
    KEY,
    KEY[:2],
    KEY[2:],
    KEY[:1],
    KEY[1:],
    KEY[:3],
    KEY[3:],
    OTHER_SECRET,
    OTHER_SECRET[:6],
    OTHER_SECRET[6:],
    "MANIAC_API_KEY",
    "MANIAC_",
    "API_KEY",
    "MANIAC",
    "_TOKEN",
    "maniac_token",
    "M",
    "ANIAC_KEY",
    "https://api.maniac.ai/v1",
    "https://api.",
    "maniac.ai",
    "man",
    "iac.ai",
    "Bearer ",
    "Authorization",
    "x-api-key",
    "your-key-here",
    "",
    "m",
    "k-",
    "-",
    "%s",
    "{}",
    "$a",
    "hello world",
    "app",
]
IDENT = st.sampled_from(["KEY", "key", "URL", "NAME", "cfg", "token", "value"])
LITERAL = st.sampled_from(PIECES).map(repr)
# A text a rule looks for, cut in two and joined again by one of the forms.
SENSITIVE = [KEY, OTHER_SECRET, "MANIAC_API_KEY", "https://api.maniac.ai"]
JOIN_FORMS = [
    "{a!r} + {b!r}",
    "{a!r} {b!r}",
    '"{{}}{{}}".format({a!r}, {b!r})',
    '"%s%s" % ({a!r}, {b!r})',
    '"".join([{a!r}, {b!r}])',
    'f"{{{a!r}}}{{{b!r}}}"',
    'string.Template("$a$b").substitute(a={a!r}, b={b!r})',
]
SPLIT = st.tuples(st.sampled_from(SENSITIVE), st.integers(1, 12), st.sampled_from(JOIN_FORMS)).map(
    lambda p: p[2].format(a=p[0][: p[1]], b=p[0][p[1] :])
)


def _expressions() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, inner).map(lambda p: f"{p[0]} + {p[1]}"),
            st.tuples(inner, inner).map(lambda p: f'"{{}}{{}}".format({p[0]}, {p[1]})'),
            st.tuples(inner, inner).map(lambda p: f'"%s%s" % ({p[0]}, {p[1]})'),
            st.tuples(inner, inner).map(lambda p: f'"".join([{p[0]}, {p[1]}])'),
            st.tuples(inner, inner).map(lambda p: f'string.Template("$a$b").substitute(a={p[0]}, b={p[1]})'),
            # Python 3.11 reads no `"` (nor a backslash) inside f"{…}".
            inner.filter(lambda e: '"' not in e and "\\" not in e).map(lambda e: f'f"{{{e}}}"'),
            st.tuples(inner, inner).map(lambda p: f'{{"k": {p[0]}, "j": {p[1]}}}["k"]'),
            st.tuples(inner, inner).map(lambda p: f"[{p[0]}, {p[1]}][1]"),
        )

    return st.recursive(st.one_of(LITERAL, IDENT, SPLIT), extend, max_leaves=4)


EXPR = _expressions()
STATEMENT = st.one_of(
    st.tuples(IDENT, EXPR).map(lambda p: f"{p[0]} = {p[1]}"),
    EXPR.map(lambda e: f"client = Maniac(api_key={e})"),
    EXPR.map(lambda e: f"client = maniac.AsyncManiac({e})"),
    EXPR.map(lambda e: f"make = functools.partial(Maniac, api_key={e})"),
    st.tuples(EXPR, EXPR).map(lambda p: f"value = os.getenv({p[0]}, {p[1]})"),
    st.tuples(EXPR, EXPR).map(lambda p: f"value = os.environ.get({p[0]}) or {p[1]}"),
    st.tuples(EXPR, EXPR).map(lambda p: f"value = (os.getenv({p[0]}) or os.environ.get('X')) or {p[1]}"),
    st.tuples(IDENT, EXPR, EXPR).map(lambda p: f"value = {p[0]} or os.getenv({p[1]}) or {p[2]}"),
    st.tuples(EXPR, EXPR).map(lambda p: f"os.environ[{p[0]}] = {p[1]}"),
    EXPR.map(lambda e: f"client = M(api_key={e}, timeout=cfg.get('t'))"),
    st.tuples(EXPR, EXPR).map(lambda p: f"value = cfg.get({p[0]}, {p[1]}) or {p[1]}"),
    st.tuples(EXPR, EXPR).map(lambda p: f"cfg[{p[0]}] = {p[1]}"),
    st.tuples(EXPR, EXPR).map(lambda p: f"E[{p[0]}] = E.get({p[0]}) or {p[1]}"),
    st.tuples(EXPR, EXPR).map(lambda p: f"value = getenv({p[0]}, {p[1]})"),
    st.tuples(EXPR, EXPR).map(lambda p: f"httpx.get({p[0]}, headers=dict(Authorization={p[1]}))"),
    EXPR.map(lambda e: f"client = Maniac(api_key=cfg.get({e}), base_url={e})"),
    EXPR.map(lambda e: f'client = Maniac(default_headers={{"Authorization": {e}}})'),
    st.tuples(EXPR, EXPR).map(lambda p: f"environ.setdefault({p[0]}, {p[1]})"),
    EXPR.map(lambda e: f"os.environ.update(MANIAC_TOKEN={e})"),
    st.tuples(EXPR, EXPR).map(lambda p: f'requests.post({p[0]}, headers={{"Authorization": {p[1]}}})'),
    EXPR.map(lambda e: f"def make(key={e}):\n    return Maniac(api_key=key)"),
    EXPR.map(lambda e: f"def wrap(key):\n    return Maniac(api_key=key)\nc = wrap({e})"),
    EXPR.map(lambda e: f"class Settings:\n    key = {e}\nc = Maniac(api_key=Settings().key)"),
)
IMPORTS = st.lists(
    st.sampled_from(
        [
            "import os",
            "from os import environ",
            "from maniac import Maniac",
            "import maniac",
            "import functools",
            "import string",
            "import requests",
            "from maniac import *",
            "from maniac import Maniac as M",
            "from os import environ as E",
            "from os import getenv",
            "import httpx",
        ]
    ),
    unique=True,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(
    ["import os"],
    [f"value = os.environ.get('MANIAC_API_KEY') or {OTHER_SECRET!r}"],
    "app.py",
)
@example(
    ["import os"],
    [f"value = (os.getenv('A') or os.getenv('MANIAC_TOKEN')) or {OTHER_SECRET!r}"],
    "app.py",
)
@example(
    ["from os import environ as E"],
    [f"E['MANIAC_' + 'API_KEY'] = {OTHER_SECRET!r}"],
    "app.py",
)
@example(
    ["from os import getenv as g"],
    [f"value = g('MANIAC_API_KEY', {OTHER_SECRET!r})"],
    "app.py",
)
@example(
    ["import os"],
    [f"os.environ.update({{'MANIAC_TOKEN': {OTHER_SECRET!r}}})"],
    "app.py",
)
@example(
    ["import requests"],
    [f"requests.get('https://api.' + 'maniac.ai', headers={{'Authorization': {OTHER_SECRET!r}}})"],
    "app.py",
)
@example([], [f"KEY = {KEY[:1]!r} + {KEY[1:]!r}"], "app.py")
@example(["import os"], [f"value = os.getenv('MANIAC_API_KEY', {OTHER_SECRET!r})"], "app.py")
@example(["import os"], [f"os.putenv('MANIAC_API_KEY', {OTHER_SECRET!r})"], "app.py")
@example(
    ["from os import environ"],
    [f"environ.setdefault('MANIAC_TOKEN', {OTHER_SECRET!r})"],
    "app.py",
)
@example(
    ["from maniac import Maniac as M", "import functools"],
    [f"make = functools.partial(M, {OTHER_SECRET!r})"],
    "app.py",
)
@given(
    IMPORTS,
    st.lists(STATEMENT, min_size=1, max_size=5),
    st.sampled_from(["app.py", "tests/test_app.py"]),
)
def test_the_screen_says_analyze_whenever_the_analyzer_reports(imports: list[str], body: list[str], path: str) -> None:
    code = "\n".join([*imports, *body]) + "\n"
    compile(code, path, "exec")  # code this Python reads: the property is never vacuous
    _assert_superset(code, path)


@pytest.mark.parametrize(
    ("text", "literals", "expected"),
    [
        ("mk-", ["xmk-y"], True),
        ("mk-", ["item", "k-body"], True),  # "m" + "k-…"
        ("mk-", ["mk", "-body"], True),
        ("mk-", ["item", "body"], False),
        ("mk-", ["m", "k"], False),  # no piece brings the "-"
    ],
)
def test_reachable_is_containment_or_a_split_across_pieces(text: str, literals: list[str], expected: bool) -> None:
    assert reachable(text, literals) is expected


# ---- every rule example and every fixture ----------------------------------


def _python_examples() -> list[tuple[str, str]]:
    out = []
    for rule in load_rules().values():
        for case in (*rule.invalid, *rule.valid):
            if case.path.endswith((".py", ".pyi")):
                out.append((f"{rule.id}:{case.path}", case.text))
    return out


@pytest.mark.parametrize(("name", "text"), _python_examples(), ids=[n for n, _ in _python_examples()])
def test_the_screen_passes_every_rule_example_the_analyzer_reports_on(name: str, text: str) -> None:
    _assert_superset(text, name.split(":", 1)[1])


def test_the_screen_passes_every_fixture_file_the_analyzer_reports_on() -> None:
    from maniac_guard.sources.notebook import extract

    reported = 0
    for path in sorted(FIXTURES.rglob("*")):
        if path.suffix in (".py", ".pyi"):
            text = path.read_text("utf-8", "replace")
        elif path.suffix == ".ipynb":
            notebook = extract(path.read_bytes())
            if notebook is None:
                continue
            text = notebook.text
        else:
            continue
        reported += _assert_superset(text, path.relative_to(FIXTURES).as_posix())
    assert reported >= 8  # the python_project files, the notebook, the fix fixtures


def test_the_screen_passes_the_standard_library_files_the_gate_selects() -> None:
    """stdlib files whose bytes pass the gate (or hold a broad marker): the
    analyzer reports nothing on them, and the screen spares most of them."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    markers = (
        b"Maniac",
        b"maniac",
        b"MANIAC_",
        b"mk-",
        b"api_key",
        b"apiKey",
        b"Authorization",
    )
    analyzed = screened_out = 0
    for root, dirs, files in os.walk(stdlib):
        dirs[:] = [d for d in dirs if d not in ("site-packages", "__pycache__")]
        for name in files:
            if not name.endswith((".py", ".pyi")):
                continue
            data = Path(root, name).read_bytes()
            if not may_fire(data) and not any(m in data for m in markers):
                continue
            text = data.decode("utf-8", "replace")
            if too_complex(text) is not None:
                continue
            assert _issues(text, name) == []
            analyzed += 1
            screened_out += not screen_text(text)
    assert analyzed >= 5
    print(f"stdlib: {analyzed} files analyzed, {screened_out} of them spared by the screen")


# ---- the console script ----------------------------------------------------


def _imported_modules(tmp_path: Path, *names: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            console_script(),
            "scan",
            *names,
            "--format",
            "json",
        ],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MANIAC_GUARD_CACHE_DIR": str(tmp_path / "cache")},  # cold
    )
    modules = {
        line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    }
    return result, modules


def test_files_that_read_the_key_from_the_environment_do_not_import_libcst(
    tmp_path: Path,
) -> None:
    names = []
    for index in range(10):
        name = f"job_{index}.py"
        (tmp_path / name).write_text(f'import os\n\nkey = os.getenv("MANIAC_API_KEY")\nprint({index}, bool(key))\n')
        names.append(name)
    result, modules = _imported_modules(tmp_path, *names)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["findings"] == []
    assert "libcst" not in modules


def test_a_file_that_hands_a_literal_to_the_sdk_is_analyzed_without_libcst(
    tmp_path: Path,
) -> None:
    (tmp_path / "job.py").write_text(
        f'import os\nfrom maniac import Maniac\n\nclient = Maniac(api_key="{OTHER_SECRET}")\n'
    )
    (tmp_path / "env.py").write_text('import os\n\nkey = os.getenv("MANIAC_API_KEY")\n')
    result, modules = _imported_modules(tmp_path, "job.py", "env.py")
    assert result.returncode == 1, result.stdout + result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["path"], f["line"], f["rule_id"]) for f in findings] == [("job.py", 4, "MG201")]
    # The analysis runs on the standard library's ast: libcst is for --fix.
    assert "libcst" not in modules


def _depth(node: ast.AST) -> int:
    return 1 + max((_depth(child) for child in ast.iter_child_nodes(node)), default=0)


_WALKED = (
    "import os.path as p, a.b.c\nfrom .x import (y as z)\n"
    "def f():\n    global only_in_global\n    def g():\n        nonlocal only_in_nonlocal\n"
    "        return f'{p!r}' + 'a' % 1\n"
    "class K(a.Maniac, metaclass=M):\n    x: 'ann' = lambda *q, **w: [i async for i in w]\n"
    "match v:\n    case {'k': [1, *rest]} | Point(x=0) as caught: pass\n"
)


@pytest.mark.parametrize("module", ["ast", "json.decoder", "argparse", "typing", ""])
def test_the_screens_walk_collects_from_every_node(module: str) -> None:
    """`collect` (one hand-written walk) against `ast.walk`: every string
    literal, every identifier (dotted ones split too), every call, every
    join; and TooDeep exactly past the depth asked."""
    import importlib

    from maniac_guard.python.screen import TooDeep, _Ingredients

    text = Path(importlib.import_module(module).__file__ or "").read_text(encoding="utf-8") if module else _WALKED
    tree = ast.parse(text)
    ingredients = _Ingredients()
    ingredients.collect(tree, None)
    nodes = list(ast.walk(tree))
    strings = [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert sorted(ingredients.literals) == sorted(strings)
    fields = [v for n in nodes if not isinstance(n, ast.Constant) for _, v in ast.iter_fields(n)]
    words = [w for v in fields for w in (v if isinstance(v, list) else [v]) if isinstance(w, str)]
    assert ingredients.names == {*words, *(part for w in words for part in w.split("."))}
    assert {id(c) for c in ingredients.calls} == {id(n) for n in nodes if isinstance(n, ast.Call)}
    joins = [
        *(isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Mod)) for n in nodes),
        *(isinstance(n, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue) for v in n.values) for n in nodes),
        *(
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr in ("join", "format", "substitute", "safe_substitute")
            for n in nodes
        ),
    ]
    assert ingredients.joins is any(joins)
    depth = _depth(tree)
    _Ingredients().collect(tree, depth)
    with pytest.raises(TooDeep):
        _Ingredients().collect(tree, depth - 1)
