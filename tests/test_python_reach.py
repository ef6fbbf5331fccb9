"""Issue 16.1: the analyzer's reach (parameter defaults, subscripts, partial,
wrappers, every string-building form, self/cls, dataclass and pydantic
fields), and the autofix on each of those shapes. The rule examples
(rules/MG20*.yaml) and the fixture project (tests/test_python_project.py)
cover where each is reported; here: messages, edge cases, and fixes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from maniac_guard.fix.codemod import FixOptions, fix_module
from maniac_guard.python.analyzer import analyze_text
from tests.helpers import FIXTURES, run_cli

SECRET = "Zx81kQ2mP0aLw7" + "Rt"  # non-mk credential, split so no rule sees it here
REACH_FILES = sorted(
    p for p in (FIXTURES / "python_project" / "app").glob("reach_*.py") if p.name != "reach_right_forms.py"
)


def found(code: str, path: str = "app.py") -> list[tuple[int, str, str]]:
    return [(i.node.lineno, i.rule_id, i.message) for i in analyze_text(textwrap.dedent(code), path=path)]


def test_a_wrapper_two_levels_deep_is_followed_and_named() -> None:
    code = f"""
    from maniac import Maniac

    def inner(key):
        return Maniac(api_key=key)

    def outer(token):
        return inner(token)

    client = outer("{SECRET}")
    """
    ((line, rule, message),) = found(code)
    assert (line, rule) == (10, "MG202")
    assert "passed to outer() and on to Maniac()" in message


def test_a_wrapper_called_with_the_environment_or_a_prompt_is_clean() -> None:
    code = """
    import os
    from getpass import getpass
    from maniac import Maniac

    def make(key, *, timeout=30):
        return Maniac(api_key=key, timeout=timeout)

    a = make(os.environ["MANIAC_API_KEY"])
    b = make(getpass("key: "))
    c = make(*[os.getenv("MANIAC_API_KEY")])
    """
    assert found(code) == []


def test_a_constructor_argument_replaces_a_field_default() -> None:
    code = f"""
    import os
    from dataclasses import dataclass
    from maniac import Maniac

    @dataclass
    class Settings:
        api_key: str = "{SECRET}"

    client = Maniac(api_key=Settings(api_key=os.environ["MANIAC_API_KEY"]).api_key)
    """
    assert found(code) == []


@pytest.mark.parametrize(
    "expression",
    [
        '"{:>20}".format("x")',  # a format spec: not folded (padding is not a literal)
        '"%d%s" % (1, "x")',  # %d: not folded
        '"{0.real}".format("x")',  # attribute access in a field: not folded
    ],
)
def test_string_building_beyond_whole_strings_is_not_folded(expression: str) -> None:
    """strings.py folds only fields that insert a whole string, so every
    character of a value comes from a literal (the screen relies on it)."""
    code = f"from maniac import Maniac\nclient = Maniac(api_key={expression})\n"
    assert found(code) == []


def test_percent_with_a_mapping_and_template_with_keywords_are_folded() -> None:
    code = f"""
    import string
    from maniac import Maniac

    a = Maniac(api_key="%(h)s%(t)s" % {{"h": "{SECRET[:8]}", "t": "{SECRET[8:]}"}})
    b = Maniac(api_key=string.Template("$h${{t}}").substitute(h="{SECRET[:8]}", t="{SECRET[8:]}"))
    """
    assert [(line, rule) for line, rule, _ in found(code)] == [
        (5, "MG203"),
        (6, "MG203"),
    ]


@pytest.mark.parametrize("path", REACH_FILES, ids=[p.name for p in REACH_FILES])
def test_the_fix_of_every_new_shape_leaves_code_that_compiles_with_nothing_to_report(
    path: object,
) -> None:
    source = path.read_text()  # type: ignore[attr-defined]
    relative = f"app/{path.name}"  # type: ignore[attr-defined]
    before = analyze_text(source, path=relative)
    assert before
    fixed = fix_module(cst.parse_module(source), FixOptions(), path=relative)
    compile(fixed.module.code, relative, "exec")
    assert len(fixed.applied) == len(before)
    assert analyze_text(fixed.module.code, path=relative) == []
    assert all(issue.secret and issue.secret not in fixed.module.code for issue in before)


def _flow(code: str) -> list[tuple[int, str, list[tuple[int, str]]]]:
    return [
        (i.node.lineno, i.rule_id, [(line, label) for _, line, _, label in i.flow])
        for i in analyze_text(textwrap.dedent(code), path="app.py")
    ]


def test_a_string_built_around_another_built_string_is_reported_at_its_literal_with_every_step() -> None:
    # Issue 21: `"".join([...])` of a `%`, an f-string of a join: the
    # finding sits on the literal, and its flow names each string built on the way.
    code = f"""
    from maniac import Maniac

    KEY = "{SECRET}"
    wrapped = "%s" % (KEY,)
    joined = "".join([f"{{wrapped}}"])
    client = Maniac(api_key=joined)
    """
    ((line, rule, flow),) = _flow(code)
    assert (line, rule) == (4, "MG202")
    assert [at for at, _ in flow] == [4, 5, 6, 7]
    assert flow[-1] == (7, "sink")


def test_a_bearer_header_built_for_a_request_to_the_maniac_api_is_reported_at_the_token() -> None:
    code = f"""
    import requests

    MANIAC_URL = "https://platform.maniac.ai/v1/models"
    TOKEN = "{SECRET}"
    r = requests.get(MANIAC_URL, headers={{"Authorization": "Bearer " + TOKEN}})
    """
    ((line, rule, flow),) = _flow(code)
    assert (line, rule) == (5, "MG206")
    assert [at for at, _ in flow] == [5, 6]


def _scan_project(root: Path, files: dict[str, str]) -> list[tuple[str, str, int, str]]:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    proc = run_cli("scan", ".", "--format", "json", cwd=root, env={"XDG_CACHE_HOME": str(root / ".cache")})
    assert proc.returncode in (0, 1), proc.stderr
    return sorted((f["rule_id"], f["path"], f["line"], f["message"]) for f in json.loads(proc.stdout)["findings"])


HELPERS = """
from maniac import Maniac


def make_client(key):
    return Maniac(api_key=key)


def traced_client(token, region="eu"):
    return make_client(token.strip())


class Client:
    def __init__(self, key):
        self.sdk = make_client(key)
"""


def test_a_wrapper_defined_in_another_module_is_followed_from_the_call_that_gives_it_a_literal(tmp_path: Path) -> None:
    # Issue 21: the SDK call is in helpers.py, the literal in app.py.
    app = f"""
    import os
    from maniac import Maniac
    from helpers import Client, make_client, traced_client

    direct: Maniac = make_client("{SECRET}")
    nested: Maniac = traced_client(" {SECRET[::-1]} ")
    wrapped = Client("{SECRET.upper()}")


    def build(key="{SECRET.lower()}"):
        return make_client(key)


    fine: Maniac = make_client(os.environ["MANIAC_API_KEY"])
    """
    found = _scan_project(tmp_path, {"helpers.py": HELPERS, "app.py": app})
    assert [(rule, path, line) for rule, path, line, _ in found] == [
        ("MG202", "app.py", 6),
        ("MG202", "app.py", 7),
        ("MG202", "app.py", 8),
        ("MG202", "app.py", 11),
    ]
    assert "passed to make_client() and on to Maniac()" in found[0][3]
    assert "passed to Client() and on to Maniac()" in found[2][3]
