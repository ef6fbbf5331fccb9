"""`policy --infer`: which scopes Python code needs, from the real SDK's method names."""

from __future__ import annotations

import textwrap
from pathlib import Path

from maniac_guard.permissions.check import compare
from maniac_guard.permissions.declarations import KeyDecl
from maniac_guard.permissions.infer import infer_files, infer_source, python_files
from maniac_guard.permissions.scopes import load_catalog
from tests.helpers import FIXTURES

APP = FIXTURES / "permissions" / "app"


def _app() -> object:
    files = python_files([str(APP)])
    return infer_files([(path.rsplit("/", 1)[-1], path) for path in files])


def test_the_fixture_app_needs_exactly_these_scopes() -> None:
    inference = _app()
    assert inference.scopes() == ["containers:read", "data:write", "inference:write", "traces:read"]  # type: ignore[attr-defined]
    assert [(c.path, c.line, c.method) for c in inference.calls] == [  # type: ignore[attr-defined]
        ("monitor.py", 8, "containers.list"),
        ("monitor.py", 9, "traces.list"),
        ("worker.py", 11, "chat.completions.create"),
        ("worker.py", 16, "datasets.create"),
        ("worker.py", 17, "files.create"),
    ]


def test_calls_it_cannot_trace_are_listed_not_dropped() -> None:
    unresolved = _app().unresolved  # type: ignore[attr-defined]
    assert [(u.path, u.line, u.code) for u in unresolved] == [
        ("dynamic.py", 6, "client.models.list()"),
        ("dynamic.py", 11, "getattr(m, name)"),
    ]
    assert "not traced to Maniac(...)" in unresolved[0].reason
    assert "getattr" in unresolved[1].reason


def test_the_sdk_method_names_in_the_catalog_exist_in_the_installed_sdk() -> None:
    import maniac

    client = maniac.Maniac(api_key="x")  # builds resources; sends nothing
    for call in load_catalog().calls:
        target: object = client
        for part in call.split("."):
            target = getattr(target, part)
        assert callable(target), call


def scopes_of(code: str) -> tuple[list[str], list[str]]:
    result = infer_source("m.py", textwrap.dedent(code))
    return result.scopes(), [u.reason for u in result.unresolved]


def test_bindings_are_followed_through_aliases_with_blocks_attributes_and_factories() -> None:
    code = """
        import maniac as mn
        from maniac import AsyncManiac, Maniac as M

        def make():
            return M()

        a = mn.Maniac()
        b = a
        models = b.models
        models.add(container="c", model="m", slug="s")
        make().evaluators.create(type="judge")
        if (c := M()):
            c.evaluation.runs.list()

        def typed(client: Maniac2) -> None: ...

        def annotated(client: "Maniac") -> None: ...

        class Bot:
            def __init__(self):
                self.client = AsyncManiac()

            async def go(self):
                await self.client.rlm.responses.create(input="hi", model="m")
                async with AsyncManiac() as d:
                    await d.optimization.runs.create(base_models=[], container="c", evals=[], methods=[])
                fn = self.client.containers.delete
                await fn("label")
                self.client.close()
    """
    scopes, unresolved = scopes_of(code)
    assert scopes == [
        "containers:write",
        "evaluations:read",
        "evaluations:write",
        "inference:write",
        "models:write",
        "optimization:write",
    ]
    assert unresolved == []


def test_unknown_methods_and_clients_handed_over_are_unresolved() -> None:
    code = """
        from maniac import Maniac
        client = Maniac()
        client.containers.frobnicate()
        helper(client)
    """
    scopes, unresolved = scopes_of(code)
    assert scopes == []
    assert unresolved == [
        "`containers.frobnicate` is not in maniac-guard's scope catalog",
        "a client is passed to helper(); calls made there are traced only where a client is bound",
    ]


def test_other_libraries_are_not_mistaken_for_maniac() -> None:
    code = """
        from openai import OpenAI
        from django.db import models
        client = OpenAI()
        client.chat.completions.create(model="x", messages=[])
        class T(models.Model): ...
    """
    scopes, unresolved = scopes_of(code)
    assert scopes == []
    assert len(unresolved) == 1 and "chat.completions.create" in unresolved[0]  # listed for a human to judge


def test_python_that_does_not_parse_is_an_error_line_not_a_crash() -> None:
    result = infer_source("broken.py", "import maniac\ndef f(:\n")
    assert result.calls == [] and result.errors == ["broken.py:2: Python does not parse; not analysed for scopes"]


def test_declared_scopes_are_compared_with_the_inferred_ones() -> None:
    inference = _app()
    key = KeyDecl(
        "keys[0]", {"name": "bot", "permissions": ["inference:write", "containers:*", "models:read", "traces:read"]}, 0
    )
    found = [(v.rule_id, v.yaml_path, v.scope) for v in compare(key, inference, load_catalog())]  # type: ignore[arg-type]
    assert found == [
        ("MG412", "keys[0].permissions[1]", "containers:*"),
        ("MG412", "keys[0].permissions[2]", "models:read"),
        ("MG413", "keys[0].permissions", "data:write"),
    ]


def test_code_globs_walk_as_the_scan_does_so_gitignored_code_needs_no_scope(tmp_path: Path) -> None:
    """MG412/MG413 compare a key with its code: code git ignores (a build
    output, a vendored copy) is not the key's code, as in every other walk."""
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / "app.py").write_text("x = 1\n")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "copy.py").write_text("x = 1\n")
    assert [Path(p).name for p in python_files([str(tmp_path)])] == ["app.py"]


def test_clients_are_found_the_way_the_python_rules_find_the_sdk() -> None:
    """One name resolution for both: `from maniac import *` and a factory
    written on one line are clients here too (they were unresolved)."""
    star = "from maniac import *\nc = Maniac()\nc.containers.list()\n"
    factory = "from maniac import Maniac\ndef make(): return Maniac()\nx = make()\nx.containers.list()\n"
    for name, code in (("star.py", star), ("factory.py", factory)):
        inference = infer_source(name, code)
        assert [(c.line, c.method, c.scope) for c in inference.calls] == [
            (len(code.splitlines()), "containers.list", "containers:read")
        ], name
        assert inference.unresolved == [], name


def test_a_file_with_a_byte_order_mark_is_analysed() -> None:
    inference = infer_source("bom.py", "\ufefffrom maniac import Maniac\nc = Maniac()\nc.containers.list()\n")
    assert (inference.errors, [c.method for c in inference.calls]) == ([], ["containers.list"])
