"""The libcst analyzer (MG2xx): what it reports, where, and the API the
autofix builds on. Keys are generated at run time (tests hold no key literal)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper

from maniac_guard.detectors import load_detectors
from maniac_guard.engine import scan_source
from maniac_guard.fix.nodemap import to_cst
from maniac_guard.python.analyzer import PyIssue, analyze_text
from maniac_guard.sources import SourceFile
from tests.helpers import fake_key, run_cli

OTHER_SECRET = "Zx81kQ2mP0aLw7" + "Rt"  # a non-mk credential, split so no rule sees it here


def issues_of(code: str, path: str = "app.py") -> list[tuple[int, PyIssue]]:
    return [(i.node.lineno, i) for i in analyze_text(textwrap.dedent(code), path=path)]


def rules_at(code: str, path: str = "app.py") -> list[tuple[int, str]]:
    return sorted((line, issue.rule_id) for line, issue in issues_of(code, path))


def scan(code: str, path: str = "app.py") -> list[tuple[int, str]]:
    source = SourceFile(path, textwrap.dedent(code).encode())
    return sorted((f.line, f.rule_id) for f in scan_source(source, load_detectors()))


KEY = fake_key("py-1")


@pytest.mark.parametrize(
    "code",
    [
        f'from maniac import Maniac as M\nM(api_key="{KEY}")\n',
        f'import maniac\nmaniac.Maniac("{KEY}")\n',
        f'import maniac as mn\nmn.AsyncManiac(api_key="{KEY}")\n',
        f'from maniac import *\nAsyncManiac({{"apiKey": "{KEY}"}})\n',
    ],
)
def test_sdk_is_recognised_through_every_import_form(code: str) -> None:
    assert rules_at(code) == [(2, "MG201")]


def test_a_local_class_named_maniac_is_not_the_sdk() -> None:
    code = f"""
    from maniac import *

    class Maniac:
        def __init__(self, api_key): ...

    Maniac(api_key="{OTHER_SECRET}")
    """
    assert rules_at(code) == []


def test_a_key_through_a_name_is_reported_at_the_literal_and_names_the_call() -> None:
    code = f"""
    from maniac import Maniac

    KEY = "{KEY}"


    client = Maniac(api_key=KEY)
    """
    source = SourceFile("app.py", textwrap.dedent(code).encode())
    (finding,) = scan_source(source, load_detectors())
    assert (finding.rule_id, finding.line) == ("MG202", 4)
    assert "used at line 7" in finding.message
    assert KEY not in finding.message and KEY not in finding.snippet


def test_a_parameter_default_is_folded_and_a_reassigned_name_is_not_a_constant() -> None:
    code = f"""
    import os
    from maniac import Maniac

    def make(key="{OTHER_SECRET}x"):
        return Maniac(api_key=key)

    KEY = "{OTHER_SECRET}"
    KEY = os.getenv("MANIAC_API_KEY") or KEY
    """
    # Issue 16: the default of `key` is what the SDK gets when the caller
    # passes nothing (MG202). `KEY` is not folded into the SDK call; but the
    # literal is what runs when the variable is unset: MG205's `or` fallback.
    assert rules_at(code) == [(5, "MG202"), (8, "MG205")]


def test_pieces_are_folded_and_reported_at_the_start_of_the_expression() -> None:
    head, tail = KEY[:9], KEY[9:]
    code = f"""
    from maniac import Maniac
    PREFIX = "{head[:3]}"
    client = Maniac(
        api_key=(PREFIX + "{head[3:]}"
                 "{tail}"),
    )
    """
    assert rules_at(code) == [(5, "MG203")]


def test_a_key_built_from_pieces_is_reported_even_when_unused() -> None:
    code = f'parts = "-".join(["x", "y"])\nTOKEN = "{KEY[:3]}" + "{KEY[3:]}"\n'
    assert rules_at(code) == [(2, "MG203")]


def test_same_key_on_one_line_is_one_finding_under_the_python_rule() -> None:
    code = f'from maniac import Maniac\nclient = Maniac(api_key="{KEY}")\n'
    source = SourceFile("app.py", code.encode())
    findings = scan_source(source, load_detectors())
    assert [(f.line, f.rule_id) for f in findings] == [(2, "MG201")]
    assert findings[0].secret is not None and findings[0].secret.reveal() == KEY


def test_placeholders_are_fine_in_test_files_but_not_in_application_code() -> None:
    code = 'from maniac import Maniac\nManiac(api_key="mk-...")\nManiac(api_key="test-key")\n'
    assert rules_at(code, "tests/test_app.py") == []
    assert rules_at(code, "app.py") == [(2, "MG208"), (3, "MG208")]


def test_environment_reads_and_per_user_names_are_fine() -> None:
    code = """
    import os
    from maniac import Maniac
    a = Maniac(api_key=os.environ["MANIAC_API_KEY"])
    b = Maniac(api_key=os.getenv(f"MANIAC_API_KEY_{user}"))
    c = Maniac()
    """
    assert scan(code) == []


FIX_CASES = [
    (f'from maniac import Maniac\nManiac(api_key="{KEY}")\n', "MG201", "replace-with-getenv", "safe", cst.SimpleString),
    (
        f'from maniac import Maniac\nK = "{KEY}"\nManiac(api_key=K)\n',
        "MG202",
        "replace-with-getenv",
        "safe",
        cst.SimpleString,
    ),
    (
        f'from maniac import Maniac\nManiac(api_key="{KEY[:3]}" + "{KEY[3:]}")\n',
        "MG203",
        "replace-with-getenv",
        "safe",
        cst.BinaryOperation,
    ),
    (
        f'import os\nos.environ["MANIAC_API_KEY"] = "{KEY}"\n',
        "MG204",
        "remove-statement",
        "unsafe",
        cst.SimpleStatementLine,
    ),
    (f'import os\nk = os.getenv("MANIAC_API_KEY", "{KEY}")\n', "MG205", "drop-getenv-default", "safe", cst.Call),
    (
        f'from maniac import Maniac\nManiac(default_headers={{"Authorization": "Bearer {KEY}"}})\n',
        "MG206",
        "header-to-api-key",
        "unsafe",
        cst.Call,
    ),
    (
        'from maniac import Maniac\nManiac(api_key="MANIAC_API_KEY")\n',
        "MG207",
        "replace-with-getenv",
        "safe",
        cst.SimpleString,
    ),
    (
        'from maniac import Maniac\nManiac(api_key="your-api-key")\n',
        "MG208",
        "replace-with-getenv",
        "safe",
        cst.SimpleString,
    ),
]


@pytest.mark.parametrize(("code", "rule", "kind", "safety", "node_type"), FIX_CASES, ids=[c[1] for c in FIX_CASES])
def test_issues_carry_the_fix_the_autofix_needs(code: str, rule: str, kind: str, safety: str, node_type: type) -> None:
    (issue,) = analyze_text(code)
    assert (issue.rule_id, issue.fix_kind, issue.fix_safety) == (rule, kind, safety)
    has_secret = rule not in ("MG207", "MG208")
    assert (issue.secret == KEY) is has_secret
    # The fixer finds the reported nodes in its own (libcst) tree by position.
    wrapper = MetadataWrapper(cst.parse_module(code))
    (mapped,) = to_cst([issue], wrapper)
    assert (mapped.fix_kind, mapped.fix_safety) == (kind, safety)
    assert isinstance(mapped.fix_node, node_type)
    seen: list[cst.CSTNode] = []

    class Find(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if node is mapped.fix_node or node is mapped.node:
                seen.append(node)
            return True

    wrapper.module.visit(Find())
    assert mapped.node in seen and mapped.fix_node in seen


def test_env_writes_and_getenv_defaults_of_other_variables_are_left_alone() -> None:
    code = f"""
    import os
    os.environ["DATABASE_URL"] = "{OTHER_SECRET}"
    region = os.getenv("MANIAC_REGION", "eu-west-1")
    password = os.environ.get("DB_PASSWORD", "{OTHER_SECRET}")
    """
    assert rules_at(code) == []


def test_python_that_does_not_parse_falls_back_to_key_patterns_and_says_so(tmp_path: object) -> None:
    """The Python rules read code with this interpreter's parser: code it
    cannot read (Python 2, a syntax error, syntax newer than this Python)
    gets the key patterns, and a note naming the file and line, never the text."""
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "legacy.py").write_text(f'import maniac\nprint "hello"\nclient = maniac.Maniac(api_key="{KEY}")\n')
    (folder / "plain.py").write_text('print "no maniac here"\n')  # no rule could fire: nothing to say
    result = run_cli("scan", ".", "--format", "json", cwd=folder)
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["path"], f["line"], f["rule_id"]) for f in findings] == [("legacy.py", 3, "MG101")]
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"legacy.py: does not parse as Python {version} (line 2); Python rules skipped, key patterns only" in (
        result.stderr
    )
    assert "plain.py" not in result.stderr
    assert KEY not in result.stderr


def test_non_mk_credentials_are_masked_in_every_report_format(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "app.py").write_text(f'from maniac import Maniac\nclient = Maniac(api_key="{OTHER_SECRET}")\n')
    for fmt in ("text", "json", "sarif"):
        result = run_cli("scan", ".", "--format", fmt, "--no-color", cwd=folder)
        assert result.returncode == 1, result.stderr
        assert "MG201" in result.stdout
        assert OTHER_SECRET not in result.stdout + result.stderr
    report = json.loads(run_cli("scan", ".", "--format", "json", cwd=folder).stdout)
    assert [(f["path"], f["line"], f["rule_id"], f["fixable"]) for f in report["findings"]] == [
        ("app.py", 2, "MG201", "safe")
    ]


def test_libcst_is_imported_only_to_fix() -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from maniac_guard.detectors import load_detectors
        from maniac_guard.engine import scan_source
        from maniac_guard.sources import SourceFile
        detectors = load_detectors()
        code = b'from maniac import Maniac\\nManiac(api_key="{KEY}")\\n'
        found = scan_source(SourceFile("app.py", code), detectors)
        print([f.rule_id for f in found], "libcst" in sys.modules)
        from maniac_guard.fix.codemod import FixOptions, fix_module
        import libcst
        fixed = fix_module(libcst.parse_module(code.decode()), FixOptions())
        print(fixed.changed)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["['MG201']", "False", "True"]


def test_a_utf8_file_with_a_byte_order_mark_is_analyzed() -> None:
    """Editors on Windows write a BOM; Python's own tokenizer skips it."""
    code = f'"""Café."""\nfrom maniac import Maniac\n\nclient = Maniac(api_key="{KEY}")\n'
    source = SourceFile("bom.py", b"\xef\xbb\xbf" + code.encode("utf-8"))
    assert [(f.line, f.rule_id) for f in scan_source(source, load_detectors())] == [(4, "MG201")]
    assert not source.notes
