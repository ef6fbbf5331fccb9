"""Key declarations against the least-privilege policy (MG401-MG414): each
rule is triggered by tests/fixtures/permissions/declarations/bad and not by
.../good, asserted exactly as (rule, file, line, YAML path)."""

from __future__ import annotations

import ast
import datetime as dt
import re
import time
from pathlib import Path

import pytest

from maniac_guard.findings import Finding, Severity
from maniac_guard.permissions.check import check_source
from maniac_guard.permissions.policy import PolicyError, load_policy
from maniac_guard.sources import SourceFile
from tests.helpers import FIXTURES, fake_key

HERE = FIXTURES / "permissions"
TODAY = dt.date(2026, 6, 1)
BAD = "declarations/bad/maniac-keys.yaml"
GOOD = "declarations/good/maniac-keys.yaml"


def check(rel: str, policy: str | None = None, today: dt.date = TODAY, text: str | None = None) -> list[Finding]:
    data = text.encode() if text is not None else (HERE / rel).read_bytes()
    source = SourceFile(rel, data)
    found = check_source(source, load_policy(str(HERE / policy) if policy else None), today, with_code=False)
    return sorted(found, key=lambda f: (f.line, f.rule_id, f.extra["yaml_path"]))


def rows(found: list[Finding]) -> list[tuple[str, str, int, str]]:
    return [(f.rule_id, f.path, f.line, f.extra["yaml_path"]) for f in found]


def test_every_policy_rule_fires_on_the_bad_declarations_at_file_line_and_yaml_path() -> None:
    assert rows(check(BAD)) == [
        ("MG403", BAD, 10, "keys[0].permissions[0]"),
        ("MG402", BAD, 11, "keys[0].permissions[1]"),
        ("MG406", BAD, 18, "keys[1].rotate_every_days"),
        ("MG405", BAD, 21, "keys[1].permissions[1]"),
        ("MG404", BAD, 22, "keys[1].permissions[2]"),
        ("MG406", BAD, 23, "keys[2]"),
        ("MG410", BAD, 29, "keys[3].name"),
        ("MG408", BAD, 34, "keys[3].permissions[1]"),
        ("MG409", BAD, 35, "keys[4]"),
        ("MG407", BAD, 38, "keys[4].expires"),
        ("MG407", BAD, 39, "keys[4].rotated"),
        ("MG411", BAD, 46, "keys[5].permissions"),
        ("MG414", BAD, 51, "keys[6].permissions[1]"),
    ]


def test_the_least_privilege_declarations_have_no_finding() -> None:
    assert check(GOOD) == []


def test_messages_name_the_key_the_scope_and_the_yaml_path() -> None:
    by_rule = {f.rule_id: f for f in check(BAD)}
    assert "did you mean 'containers:read'?" in by_rule["MG402"].message
    assert "[keys[0].permissions[1]]" in by_rule["MG402"].message
    assert "'grafana-monitor'" in by_rule["MG404"].message and "'models:*'" in by_rule["MG404"].message
    assert "production and sandbox" in by_rule["MG410"].message
    assert by_rule["MG414"].severity == Severity.HIGH and "ci-keys-no-data" in by_rule["MG414"].message


def test_fingerprints_follow_the_key_name_not_the_line() -> None:
    before = {f.fingerprint for f in check(BAD)}
    moved = "# a comment moves every line down\n\n" + (HERE / BAD).read_text()
    after = check(BAD, text=moved)
    assert [f.line for f in after][:1] == [12]
    assert {f.fingerprint for f in after} == before


def test_expiry_and_rotation_depend_on_today() -> None:
    early = dt.date(2023, 1, 15)  # old-ingest not yet expired nor overdue
    assert [r for r in rows(check(BAD, today=early)) if r[0] == "MG407"] == []


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("docs/read-only.yaml", []),
        (
            "docs/full-access.yaml",
            [
                ("MG411", 2, "permissions"),
                ("MG404", 3, "permissions[0]"),
                ("MG404", 4, "permissions[1]"),
                ("MG404", 5, "permissions[2]"),
            ],
        ),
        ("not-ours/workflow.yml", []),
        ("not-ours/roles.yaml", []),
    ],
)
def test_the_docs_bare_form_is_checked_and_other_yaml_is_left_alone(
    rel: str, expected: list[tuple[str, int, str]]
) -> None:
    assert [(r, line, p) for r, _, line, p in rows(check(rel))] == expected


# ---- bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "expected", "words"),
    [
        ("bad-yaml/malformed.maniac-keys.yaml", [(5, "")], "malformed YAML"),
        ("bad-yaml/custom-tag.maniac-keys.yaml", [(4, "")], "tag !!python/object/apply:os.getcwd is not allowed"),
        ("bad-yaml/recursive.maniac-keys.yaml", [(1, "")], "recursive YAML alias"),
        (
            "bad-yaml/wrong-types.maniac-keys.yaml",
            [(7, "keys[0].permissions"), (8, "keys[0].expires"), (9, "keys[1]"), (13, "keys[1].permisions")],
            "is not of type 'array'",
        ),
    ],
)
def test_bad_yaml_is_one_mg401_line_per_problem_with_its_line(
    rel: str, expected: list[tuple[int, str]], words: str
) -> None:
    found = check(rel)
    assert [(f.rule_id, f.line, f.extra["yaml_path"]) for f in found] == [("MG401", line, p) for line, p in expected]
    assert any(words in f.message for f in found)
    assert all("\n" not in f.message for f in found)


def test_a_misspelt_field_gets_a_did_you_mean() -> None:
    found = check("bad-yaml/wrong-types.maniac-keys.yaml")
    assert "unknown field 'permisions' in a key declaration; did you mean 'permissions'?" in found[-1].message


def test_an_alias_bomb_finishes_quickly_with_an_mg401() -> None:
    check("declarations/good/maniac-keys.yaml")  # warm imports: time only the bomb
    started = time.perf_counter()
    found = check("bad-yaml/alias-bomb.maniac-keys.yaml")
    elapsed = time.perf_counter() - started
    assert rows(found) == [("MG401", "bad-yaml/alias-bomb.maniac-keys.yaml", 2, "")]
    assert "alias bomb" in found[0].message
    assert elapsed < 1.0


def test_a_huge_declaration_is_refused_without_parsing() -> None:
    text = "permissions:\n" + "  - containers:read\n" * 60_000
    found = check("maniac-keys.yaml", text=text)
    assert [(f.rule_id, f.line) for f in found] == [("MG401", 1)]
    assert "too large" in found[0].message


# ---- policies and waivers --------------------------------------------------------


def test_a_user_policy_changes_settings_severities_disables_and_adds_rules() -> None:
    found = check(BAD, policy="policies/strict.yaml")
    got = {(f.rule_id, f.line, f.extra["yaml_path"]): f for f in found}
    assert ("MG410", 29, "keys[3].name") not in got  # disabled
    assert got[("MG409", 35, "keys[4]")].severity == Severity.HIGH  # severity changed
    custom = [(k, f.severity) for k, f in got.items() if k[0] == "MG414"]
    assert custom == [
        (("MG414", 10, "keys[0].permissions[0]"), Severity.MEDIUM),  # "*" grants models:write
        (("MG414", 22, "keys[1].permissions[2]"), Severity.MEDIUM),  # models:* grants models:write
        (("MG414", 46, "keys[5].permissions[1]"), Severity.MEDIUM),
        (("MG414", 51, "keys[6].permissions[1]"), Severity.HIGH),  # the built-in custom rule stays
    ]


def test_a_waiver_lists_the_finding_as_waived_and_an_expired_one_brings_it_back() -> None:
    found = {(f.rule_id, f.line): f for f in check(BAD, policy="policies/strict.yaml")}
    waived = found[("MG404", 22)]
    assert waived.severity == Severity.INFO
    assert waived.extra["waived"] == {
        "reason": "dashboard migration, ticket OPS-12",
        "expires": "2026-12-31",
        "severity": "high",
    }
    assert waived.message.startswith("waived until 2026-12-31 (dashboard migration, ticket OPS-12): ")
    back = found[("MG403", 10)]  # its waiver expired on 2026-01-01
    assert back.severity == Severity.CRITICAL and "waived" not in back.extra
    assert "waiver expired on 2026-01-01" in back.message
    after_expiry = {
        (f.rule_id, f.line): f for f in check(BAD, policy="policies/strict.yaml", today=dt.date(2027, 1, 1))
    }
    assert after_expiry[("MG404", 22)].severity == Severity.HIGH


def test_waivers_in_the_declaration_file_apply_to_it() -> None:
    text = (
        "version: 1\nkeys:\n  - name: deployer-ci\n    owner: a@example.com\n    project: p\n    purpose: ci\n"
        "    permissions: [containers:*]\n"
        "waivers:\n  - rule: MG404\n    key: deployer-ci\n    reason: moves to a deploy key in Q3\n    expires: 2026-09-30\n"
    )
    found = check("maniac-keys.yaml", text=text)
    assert [(f.rule_id, f.line, f.severity) for f in found] == [("MG404", 7, Severity.INFO)]


def test_a_waiver_without_reason_or_expiry_is_invalid() -> None:
    text = "permissions: [containers:read]\nwaivers:\n  - rule: MG404\n    key: x\n"
    found = check("maniac-keys.yaml", text=text)
    assert [(f.rule_id, f.extra["yaml_path"]) for f in found] == [("MG401", "waivers[0]"), ("MG401", "waivers[0]")]


def test_a_broken_policy_file_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"broken.yaml: severity.MG406: 'urgent' is not one of"):
        load_policy(str(HERE / "policies/broken.yaml"))
    bomb = tmp_path / "policy.yaml"
    bomb.write_text("rules: !!python/name:os.system\n")
    with pytest.raises(PolicyError, match=r"policy.yaml:1: YAML tag"):
        load_policy(str(bomb))


def test_a_literal_key_in_a_declaration_is_a_secret_finding_too() -> None:
    from maniac_guard.detectors import load_detectors
    from maniac_guard.engine import scan_source

    key = fake_key("declaration")
    text = f"permissions: [containers:read]\nx-key: {key}\n"
    found = scan_source(SourceFile("maniac-keys.yaml", text.encode()), load_detectors())
    assert [(f.rule_id, f.line) for f in found] == [("MG101", 2)]
    assert key not in repr(found)


@pytest.mark.parametrize(
    ("name", "text", "loaded"),
    [
        (
            ".github/workflows/ci.yml",
            "on: [push]\npermissions:\n  contents: read\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - uses: actions/checkout@v4\n",
            [],
        ),
        (  # a rule's documentation: a declaration in an example, not one itself
            "rules/MG402.yaml",
            "id: MG402\nexamples:\n  invalid:\n    - path: maniac-keys.yaml\n      text: |\n"
            "        keys:\n          - permissions:\n              - containers:raed\n",
            ["yaml"],
        ),
    ],
)
def test_yaml_that_only_mentions_permissions_costs_no_policy_or_schema_work(
    tmp_path: Path, name: str, text: str, loaded: list[str]
) -> None:
    """A GitHub workflow's `permissions:` wakes the declaration check; it is
    not a declaration, so neither the policy nor jsonschema (~0.1 s to
    import, in every scanning process) may be loaded for it; nor PyYAML
    (no scope, `keys` or escape in its bytes), nor the check's own modules
    (~10-15 ms) for any YAML that parses as no declaration."""
    import json
    import subprocess
    import sys

    (tmp_path / name).parent.mkdir(parents=True)
    (tmp_path / name).write_text(text)
    heavy = ("jsonschema", "yaml", "maniac_guard.permissions.check", "maniac_guard.permissions.policy")
    heavy += ("maniac_guard.permissions.scopes",)  # the scope catalog, difflib
    probe = (
        "import sys\nfrom maniac_guard.cli import main\n"
        "try:\n    main(['scan', '.', '-q', '--format', 'json'])\nexcept SystemExit as exc:\n    code = exc.code\n"
        f"print(code, ','.join(m for m in {heavy!r} if m in sys.modules) or '-')\n"
    )
    env = {**__import__("os").environ, "MANIAC_GUARD_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, env=env)
    report, status = proc.stdout.rsplit("\n", 2)[0], proc.stdout.split()[-2:]
    assert json.loads(report)["findings"] == []
    assert status == ["0", ",".join(loaded) or "-"], proc.stderr


# YAML not named maniac-keys.yaml that is (or, broken, names) a declaration,
# written in the ways YAML allows: the byte screen in `wants` must pass each.
_DECLARING = [
    "permissions:\n  - models:read\n",
    "permissions: ['*']\n",
    'permissions: [ " * " ]\n',
    "permissions:\n  - |\n    *\n",
    "permissions:\n  - >-\n\n    *:*\n",
    'permissions: ["models\\x3aread"]\n',
    "keys:\n  - name: a\n    permissions: []\n",
    '"ke\\x79s":\n  - permissions: x\n',
    "base: &scope models:read\npermissions: [*scope]\n",
    "permissions: [models:read\n",  # broken, and it names a scope: MG401
    "permissions:\n  - 'models:read'\nversion: 1\nextra: {\n",
]
_NOT_DECLARING = [
    "on: [push]\npermissions:\n  contents: read\n  id-token: write\n",
    "on:\n  push:\n    tags: ['v*']\npermissions: write-all\n",
    "permissions:\n  - admin\ncron: '0 0 * * *'\n",
]


@pytest.mark.parametrize("text", _DECLARING + _NOT_DECLARING)
def test_the_byte_screen_passes_every_yaml_the_check_reports_on(text: str) -> None:
    from maniac_guard.detectors.permissions import wants
    from maniac_guard.permissions.declarations import parse

    source = SourceFile("conf/settings.yaml", text.encode())
    parsed = parse(source.path, source.text, len(source.data), False)
    declares = parsed != (None, [])
    assert declares is (text in _DECLARING)
    assert wants(source) is declares


def test_the_byte_screen_passes_every_fixture_that_is_checked() -> None:
    from maniac_guard.detectors.permissions import wants

    for path in sorted(HERE.rglob("*.y*ml")):
        source = SourceFile(path.name.replace("maniac-keys", "settings"), path.read_bytes())
        if check_source(source, load_policy(None), TODAY, with_code=False):
            assert wants(source), path


def test_the_yaml_readers_pattern_is_put_in_res_cache_as_the_same_set() -> None:
    """yamlsafe puts PyYAML's reader pattern in `re`'s cache compiled from its
    complement (4 ms less per process): the two must match the same code
    points, the reader's source must still spell the pattern that way, and
    the cache must be what the reader gets."""
    import subprocess
    import sys

    import yaml.reader

    from maniac_guard.permissions import yamlsafe

    everything = "".join(map(chr, range(0x110000)))
    reader = re.compile(f"(?:{yamlsafe.YAML_NON_PRINTABLE})")  # a new pattern text: compiled here
    assert re.compile(yamlsafe.YAML_FORBIDDEN).findall(everything) == reader.findall(everything)
    source = Path(yaml.reader.__file__).read_text(encoding="utf-8")
    spelled = source.split("NON_PRINTABLE = re.compile(", 1)[1].split(")", 1)[0]
    assert ast.literal_eval(spelled) == yamlsafe.YAML_NON_PRINTABLE
    probe = (
        "from maniac_guard.permissions import yamlsafe\nyamlsafe.load('a: 1')\nimport yaml\n"
        "print(yaml.reader.Reader.NON_PRINTABLE.pattern == yamlsafe.YAML_FORBIDDEN)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert proc.stdout == "True\n"
