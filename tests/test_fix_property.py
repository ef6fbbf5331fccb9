"""Property tests over generated modules: the fixed module parses, holds no
key, a second fix changes nothing, and its AST differs from the original only
at the fixed expressions, the removed statements and the `os` import; and,
with `import os` in every position (none, before, after, conditional, in a
failed `try`, deleted, shadowed, local to a function), the fixed module runs
with a stub SDK that receives the environment's key."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maniac_guard.fix import FixOptions, fix_bytes
from tests.helpers import fake_key
from tests.stub_sdk import install_stub, run_with_stub

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
    parts.append(
        draw(
            st.sampled_from(
                [
                    "from maniac import Maniac, AsyncManiac",
                    "from maniac import Maniac as Maniac, AsyncManiac as AsyncManiac",
                ]
            )
        )
    )
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
        if (
            isinstance(stmt, ast.Assign)
            and isinstance(stmt.targets[0], ast.Subscript)
            and _is_environ(stmt.targets[0].value)
        ):
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


# -- the fixed module runs -------------------------------------------------------
# Each template builds its client(s) when the module runs, so every fix site
# is executed; `{k}` is a key, `{n}` a unique number.
RUN_TEMPLATES = [
    'c{n} = Maniac(api_key="{k}")',
    'c{n} = Maniac("{k}", timeout=3)',
    'c{n} = AsyncManiac(\n    api_key="{k}",  # note {n}\n    max_retries=1,\n)',
    'K{n} = "{k}"\nc{n} = Maniac(api_key=K{n})',
    'K{n}: str = "{k}"\n\n\ndef make{n}():\n    return Maniac(K{n})\n\n\nmake{n}()',
    'c{n} = Maniac({{"apiKey": "{k}"}})',
    'c{n} = Maniac(api_key=("{k1}"\n    "{k2}"))',
    'def f{n}(x):\n    if x:\n        return Maniac(api_key="{k}")\n    return None\n\n\nf{n}(True)',
    'class S{n}:\n    def __init__(self):\n        self.client = Maniac(api_key="{k}")\n\n\nS{n}()',
    'def p{n}(os):\n    return Maniac(api_key="{k}")\n\n\np{n}("a parameter named os")',
    'def g{n}():\n    client = Maniac(api_key="{k}")\n    import os\n    return client\n\n\ng{n}()',
    'c{n} = Maniac(default_headers={{"Authorization": "Bearer {k}"}})',
]
# Where `import os` is, and what else the module does with the name `os`.
OS_POSITIONS = {
    "none": ("", ""),
    "before": ("import os", ""),
    "after": ("", "import os"),
    "conditional": ("if sys.version_info < (3,):\n    import os", ""),
    "conditional-true": ("if sys.version_info > (3,):\n    import os", ""),
    "try": ("try:\n    import no_such_module_here\n    import os\nexcept ImportError:\n    pass", ""),
    "deleted": ("import os\ndel os", ""),
    "deleted-at-end": ("import os", "del os"),
    "shadowed": ('os = "not the module"', ""),
    "shadowed-by-import": ("from string import ascii_letters as os", ""),
    "in-a-function": ("def helper():\n    import os\n    return os.sep", ""),
    "before-and-after": ("import os", "import os"),
}


@st.composite
def running_modules(draw: st.DrawFn) -> tuple[str, str, int]:
    """(module text, where `import os` is, how many clients it builds)."""
    parts: list[str] = []
    if draw(st.booleans()):
        parts.append('"""Generated module."""')
    if draw(st.booleans()):
        parts.append("from __future__ import annotations")
    parts.append("import sys")
    parts.append("from maniac import Maniac, AsyncManiac")
    position = draw(st.sampled_from(sorted(OS_POSITIONS)))
    head, tail = OS_POSITIONS[position]
    if head:
        parts.append(head)
    chosen = draw(st.lists(st.sampled_from(range(len(RUN_TEMPLATES))), min_size=1, max_size=5))
    body = []
    for n, index in enumerate(chosen):
        key = fake_key(f"run-{draw(st.integers(0, 10_000))}")
        body.append(RUN_TEMPLATES[index].format(k=key, n=n, k1=key[:12], k2=key[12:]))
        if draw(st.booleans()):
            body.append(draw(st.sampled_from(NOISE)).format(n=n))
    if tail:
        body.append(tail)
    return "\n".join(parts) + "\n\n" + "\n".join(body) + "\n", position, len(chosen)


ENV_KEY = fake_key("property-environment")


@pytest.fixture(scope="module")
def stub_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_stub(tmp_path_factory.mktemp("stub"))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(module=running_modules())
def test_fixed_modules_run_and_the_sdk_gets_the_environment_key(
    module: tuple[str, str, int], stub_sdk: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    text, position, clients = module
    fix = fix_bytes("gen.py", text.encode(), FixOptions(unsafe=True))
    assert fix.new is not None, fix.messages
    assert b"mk-" not in fix.new
    folder = tmp_path_factory.mktemp("run")
    program = folder / "gen.py"
    program.write_bytes(fix.new)
    ran, received = run_with_stub(program, stub_sdk, ENV_KEY, folder / "record")
    shown = fix.new.decode()
    assert ran.returncode == 0, f"os {position}:\n{ran.stderr}\n--- fixed:\n{shown}"
    assert received == [ENV_KEY] * clients, f"os {position}:\n--- fixed:\n{shown}"
