"""Property test over generated modules: the fixed module parses, holds no key,
a second fix changes nothing, and its AST differs from the original only at
the fixed expressions, the removed statements and the `os` import."""

from __future__ import annotations

import ast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maniac_guard.fix import FixOptions, fix_bytes
from tests.helpers import fake_key

# Each template holds `{k}` (a key) and `{n}` (a unique number).
TEMPLATES = [
    'c{n} = Maniac(api_key="{k}")',
    'c{n} = Maniac("{k}", timeout=3)',
    'c{n} = AsyncManiac(\n    api_key="{k}",  # note {n}\n    max_retries=1,\n)',
    'K{n} = "{k}"\nc{n} = Maniac(api_key=K{n})',
    'K{n}: str = "{k}"\n\n\ndef make{n}():\n    return Maniac(K{n})',
    'c{n} = Maniac({{"apiKey": "{k}"}})',
    'c{n} = Maniac(api_key=("{k1}"\n    "{k2}"))',
    'v{n} = os.getenv("MANIAC_API_KEY", "{k}")',
    'v{n} = os.environ.get(\n    "MANIAC_API_KEY",\n    "{k}",\n)',
    'os.environ["MANIAC_API_KEY"] = "{k}"',
    'os.environ.setdefault("MANIAC_API_KEY", "{k}")',
    'def f{n}(x):\n    if x:\n        return Maniac(api_key="{k}")\n    return None',
    'class S{n}:\n    def __init__(self):\n        self.client = Maniac(api_key="{k}")',
]
NOISE = ["x{n} = {n}", 'print("hello {n}")', "# comment {n}", "def g{n}():\n    return {n}", ""]


@st.composite
def modules(draw: st.DrawFn) -> tuple[str, list[str]]:
    parts: list[str] = []
    if draw(st.booleans()):
        parts.append('"""Generated module."""')
    if draw(st.booleans()):
        parts.append("from __future__ import annotations")
    if draw(st.booleans()):
        parts.append("import sys")
    parts.append(draw(st.sampled_from(["from maniac import Maniac, AsyncManiac",
                                       "from maniac import Maniac as Maniac, AsyncManiac as AsyncManiac"])))
    chosen = draw(st.lists(st.sampled_from(range(len(TEMPLATES))), min_size=1, max_size=6))
    keys: list[str] = []
    body: list[str] = []
    uses_os = False
    for n, index in enumerate(chosen):
        key = fake_key(f"prop-{draw(st.integers(0, 10_000))}")
        keys.append(key)
        template = TEMPLATES[index]
        uses_os |= "os." in template
        body.append(template.format(k=key, n=n, k1=key[:12], k2=key[12:]))
        if draw(st.booleans()):
            body.append(draw(st.sampled_from(NOISE)).format(n=n))
    if uses_os or draw(st.booleans()):
        parts.append("import os")
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = "\n".join(parts) + "\n\n" + "\n".join(body) + "\n"
    return text.replace("\n", newline), keys


def _is_os(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id in ("os", "_os")


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and _is_os(node.value)


class Normalize(ast.NodeTransformer):
    """Every place a key can be, before and after, becomes `KEY`."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str) and node.value.startswith("mk-"):
            return ast.Name("KEY", ast.Load())
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        func = node.func
        getenv = isinstance(func, ast.Attribute) and (
            (func.attr == "getenv" and _is_os(func.value)) or (func.attr == "get" and _is_environ(func.value))
        )
        if getenv:
            return ast.Name("KEY", ast.Load())
        return self.generic_visit(node)

    def _keep(self, stmt: ast.stmt) -> bool:
        if isinstance(stmt, ast.Pass):
            return False
        if isinstance(stmt, ast.Import) and all(a.name == "os" for a in stmt.names):
            return False
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Subscript) and _is_environ(stmt.targets[0].value):
            return False
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            func = stmt.value.func
            if isinstance(func, ast.Attribute) and func.attr == "setdefault" and _is_environ(func.value):
                return False
        return True

    def generic_visit(self, node: ast.AST) -> ast.AST:
        for field in ("body", "orelse"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
                setattr(node, field, [s for s in stmts if self._keep(s)])
        return super().generic_visit(node)


def normalized(code: bytes) -> str:
    return ast.dump(Normalize().visit(ast.parse(code)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(modules())
def test_fixed_modules_parse_hold_no_key_are_stable_and_change_only_the_keys(module: tuple[str, list[str]]) -> None:
    text, keys = module
    data = text.encode()
    options = FixOptions(unsafe=True)
    fix = fix_bytes("gen.py", data, options)
    assert fix.new is not None, fix.messages
    new = fix.new
    ast.parse(new)  # parses
    for key in keys:
        assert key.encode() not in new
        assert key[:12].encode() not in new  # nor a piece of a split key
    assert b"mk-" not in new
    assert fix_bytes("gen.py", new, options).new is None  # idempotent
    assert normalized(new) == normalized(data)
    # Line endings are kept: no bare LF in a CRLF file.
    if b"\r\n" in data:
        assert b"\n" not in new.replace(b"\r\n", b"")
