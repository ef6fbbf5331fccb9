"""Every rule × every entry point: each git gate refuses exactly what `scan .`
reports on the same tree, and a tree of VALID examples passes everywhere.

One repository holds one INVALID example of every rule (each in its own
folder, from rules/*.yaml), added in one commit on top of a first commit.
The same findings — rule, path and line — must come out of `scan .`,
`scan --staged` (before the commit), `scan --history`, `ci` (HEAD~1..HEAD),
`pre-push` (git's hook, pushing to a bare repository) and `pre-receive`
(a bare repository's hook, a real push).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from maniac_guard.catalog import Example, load_rules
from maniac_guard.detectors import load_detectors
from maniac_guard.engine import scan_source
from maniac_guard.sources import SourceFile
from tests.gitrepo import git_env, make_repo, push
from tests.helpers import console_script, fake_key, run_cli

ROOT = Path(__file__).resolve().parent.parent
RULES = load_rules()
# MG412/MG413 compare a declaration with the code its `code:` globs name (a fixture folder).
CODE_FIXTURE = "tests/fixtures/permissions"
FINDING_LINE = re.compile(r"^(?:remote: )?(MG\d{3}) [a-z]+ (\S+?):(\d+):\d+", re.M)
# These compare a declaration with the code its `code:` globs name on disk:
# a commit's version of a declaration is not compared with the work tree's
# code (permissions/check.py), so the git gates give the rest of MG4xx only.
WORK_TREE_ONLY = frozenset({"MG412", "MG413"})
GATES = ("scan --staged", "scan --history", "ci", "pre-push", "pre-receive")

Found = set[tuple[str, str, int]]  # (rule, path, line)


def _flags(example: Example, rule_id: str | None = None) -> list[str]:
    source = SourceFile(example.path, example.text.encode("utf-8"))
    return [f.rule_id for f in scan_source(source, load_detectors()) if rule_id is None or f.rule_id == rule_id]


# Keys built from pieces: every way of building one, not just the first.
EVERY_EXAMPLE = frozenset({"MG203", "MG204", "MG205", "MG206"})


def invalid_cases() -> dict[str, list[Example]]:
    """INVALID examples that flag their rule outside the repository's folder:
    the first of each rule, and all of those in EVERY_EXAMPLE."""
    chosen: dict[str, list[Example]] = {}
    for rule in RULES.values():
        for example in rule.invalid:
            if _flags(example, rule.id):
                chosen.setdefault(rule.id, []).append(example)
                if rule.id not in EVERY_EXAMPLE:
                    break
    return chosen


def valid_cases() -> dict[str, list[Example]]:
    """One VALID example per rule that `scan .` passes whole (no rule at all fires)."""
    chosen = {}
    for rule in RULES.values():
        for example in rule.valid:
            if not _flags(example):
                chosen[rule.id] = [example]
                break
    return chosen


@dataclass
class Gates:
    """Findings of each entry point on one tree: {entry point: (exit code, findings)}."""

    results: dict[str, tuple[int, Found]]
    stderr: dict[str, str]


def _parse_text(text: str) -> Found:
    return {(m.group(1), m.group(2), int(m.group(3))) for m in FINDING_LINE.finditer(text)}


def _json(proc: subprocess.CompletedProcess[str], incomplete: bool = False) -> Found:
    assert proc.returncode in ((0, 1, 2) if incomplete else (0, 1)), proc.stderr
    return {(f["rule_id"], f["path"], f["line"]) for f in json.loads(proc.stdout)["findings"]}


def _bare(path: Path, env: dict[str, str]) -> Path:
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True, env={**os.environ, **env})
    return path


def run_gates(
    tmp_path: Path,
    cases: dict[str, list[Example]],
    base: dict[str, str] | None = None,
    changed: dict[str, str | bytes] | None = None,
    incomplete: bool = False,
) -> Gates:
    """The gates on one commit that adds `cases` (and writes `changed`) on
    top of a first commit (that holds `base` too); `incomplete`: exit 2 is
    what the scans are expected to give."""
    home = tmp_path / "home"
    home.mkdir()
    env = {**git_env(home), "NO_COLOR": "1"}
    repo = make_repo(tmp_path / "clone", env)
    plain = _bare(tmp_path / "plain.git", env)
    guarded = _bare(tmp_path / "guarded.git", env)
    hook = guarded / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\nexec {shlex.quote(console_script())} pre-receive\n")
    hook.chmod(0o755)
    repo.git("remote", "add", "origin", str(plain))
    repo.git("remote", "add", "guarded", str(guarded))
    repo.write("README.md", "cases, one folder per rule\n")
    for path, text in (base or {}).items():
        repo.write(path, text)
    repo.commit("first")
    assert push(repo, "main").returncode == 0
    repo.git("push", "-q", "--no-verify", "guarded", "main")
    for rule_id, examples in cases.items():
        for number, example in enumerate(examples):
            folder = f"cases/{rule_id}/{number}"
            if example.path.startswith(CODE_FIXTURE):  # the code its `code:` globs name, beside it
                code = os.path.dirname(example.path)
                shutil.copytree(ROOT / code, repo.path / folder / code, dirs_exist_ok=True)
            repo.write(f"{folder}/{example.path}", example.text)
    for path, text in (changed or {}).items():
        repo.write(path, text)
    repo.git("add", ".")
    results: dict[str, tuple[int, Found]] = {}
    stderr: dict[str, str] = {}

    def record(name: str, proc: subprocess.CompletedProcess[str], found: Found) -> None:
        results[name] = (proc.returncode, found)
        stderr[name] = proc.stderr

    staged = run_cli("scan", "--staged", "--format", "json", cwd=repo.path, env=env)
    record("scan --staged", staged, _json(staged, incomplete))
    repo.git("commit", "-q", "--no-verify", "-m", "the cases")
    tree = run_cli("scan", ".", "--format", "json", cwd=repo.path, env=env)
    record("scan .", tree, _json(tree, incomplete))
    history = run_cli("scan", "--history", "--format", "json", cwd=repo.path, env=env)
    record("scan --history", history, _json(history, incomplete))
    ci = run_cli("ci", "--format", "json", cwd=repo.path, env=env)
    record("ci", ci, _json(ci, incomplete))
    assert run_cli("install-hook", "--hook", "pre-push", cwd=repo.path, env=env).returncode == 0
    pre_push = push(repo, "main")
    record("pre-push", pre_push, _parse_text(pre_push.stderr + pre_push.stdout))
    pre_receive = subprocess.run(
        ["git", "push", "--no-verify", "guarded", "main"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=600,
    )
    record("pre-receive", pre_receive, _parse_text(pre_receive.stderr))
    return Gates(results, stderr)


INVALID = invalid_cases()
VALID = valid_cases()


@pytest.fixture(scope="module")
def invalid_tree(tmp_path_factory: pytest.TempPathFactory) -> Gates:
    return run_gates(tmp_path_factory.mktemp("invalid"), INVALID)


@pytest.fixture(scope="module")
def valid_tree(tmp_path_factory: pytest.TempPathFactory) -> Gates:
    return run_gates(tmp_path_factory.mktemp("valid"), VALID)


def test_every_rule_has_an_invalid_case() -> None:
    assert set(INVALID) == set(RULES), sorted(set(RULES) - set(INVALID))


def test_scan_of_the_tree_reports_every_rule(invalid_tree: Gates) -> None:
    code, found = invalid_tree.results["scan ."]
    assert code == 1
    assert {rule for rule, _, _ in found} >= set(INVALID)


def _by_rule(found: Found) -> Iterator[tuple[str, Found]]:
    for rule_id in sorted(INVALID):
        yield rule_id, {f for f in found if f[1].startswith(f"cases/{rule_id}/") and f[0] not in WORK_TREE_ONLY}


@pytest.mark.parametrize("gate", GATES)
def test_each_gate_refuses_exactly_what_scan_reports(invalid_tree: Gates, gate: str) -> None:
    _, expected = invalid_tree.results["scan ."]
    code, found = invalid_tree.results[gate]
    assert code == 1, f"{gate} exit {code}: {invalid_tree.stderr[gate]}"
    wrong = {
        rule_id: (sorted(want - got), sorted(got - want))
        for (rule_id, want), (_, got) in zip(_by_rule(expected), _by_rule(found))
        if want != got
    }
    assert not wrong, f"{gate}: (missed, extra) per rule's case: {wrong}\n{invalid_tree.stderr[gate]}"


@pytest.mark.parametrize("gate", ("scan .", *GATES))
def test_a_tree_of_valid_examples_passes_every_gate(valid_tree: Gates, gate: str) -> None:
    code, found = valid_tree.results[gate]
    assert (code, found) == (0, set()), f"{gate}: {valid_tree.stderr[gate]}"


# Issue 21: a commit that changes only the module holding the literal; the
# file with the sink, unchanged, imports it. Every gate analyses that
# importer again at the commit, as `scan .` analyses the tree.
TOKEN = "tok-8f3kQ2vN9xL4" + "pR7sW1zY6bC5"  # no key pattern sees it: only the flow makes it a credential
IMPORTER = "from maniac import Maniac\nfrom proj import settings\n\nclient = Maniac(api_key=settings.KEY)\n"
WRAPPER = "from maniac import Maniac\n\n\ndef make_client(key):\n    return Maniac(api_key=key)\n"
CALLER = f'from maniac import Maniac\nfrom proj.helpers import make_client\n\nclient: Maniac = make_client("{TOKEN}")\n'
# A caller that never names the SDK: no byte hint sends it to the analysis.
QUIET_CALLER = f'from proj.helpers import make_client\n\n\nclient = make_client("{TOKEN}")\n'


@pytest.fixture(scope="module")
def changed_module(tmp_path_factory: pytest.TempPathFactory) -> Gates:
    base = {"proj/__init__.py": "", "proj/settings.py": "KEY = None\n", "proj/client.py": IMPORTER}
    changed = {"proj/settings.py": f'KEY = "{TOKEN}"\n'}
    return run_gates(tmp_path_factory.mktemp("changed-module"), {}, base, changed)


@pytest.mark.parametrize("gate", GATES)
def test_a_commit_that_changes_only_the_imported_module_is_refused_by_every_gate(
    changed_module: Gates, gate: str
) -> None:
    code, expected = changed_module.results["scan ."]
    assert (code, expected) == (1, {("MG202", "proj/settings.py", 1)}), changed_module.stderr["scan ."]
    assert changed_module.results[gate] == (1, expected), changed_module.stderr[gate]


# A wrapper defined in another module (proj/helpers.py) given a literal in
# proj/app.py: the commit adds the call, or (the importer analysed again)
# only makes the wrapper hand its parameter to the SDK.
WRAPPER_CHANGES = {
    "the call is added": ({"proj/helpers.py": WRAPPER}, {"proj/app.py": CALLER}),
    "the call is added where the SDK is never named": ({"proj/helpers.py": WRAPPER}, {"proj/app.py": QUIET_CALLER}),
    "only the wrapper changes": (
        {"proj/helpers.py": "def make_client(key):\n    return key\n", "proj/app.py": CALLER},
        {"proj/helpers.py": WRAPPER},
    ),
}


@pytest.fixture(scope="module", params=sorted(WRAPPER_CHANGES))
def foreign_wrapper(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Gates:
    base, changed = WRAPPER_CHANGES[request.param]
    return run_gates(tmp_path_factory.mktemp("foreign-wrapper"), {}, {"proj/__init__.py": "", **base}, changed)


@pytest.mark.parametrize("gate", GATES)
def test_a_literal_given_to_a_wrapper_of_another_module_is_refused_by_every_gate(
    foreign_wrapper: Gates, gate: str
) -> None:
    code, expected = foreign_wrapper.results["scan ."]
    assert (code, expected) == (1, {("MG202", "proj/app.py", 4)}), foreign_wrapper.stderr["scan ."]
    assert foreign_wrapper.results[gate] == (1, expected), foreign_wrapper.stderr[gate]


# This round's cases with no rule example of their own: a key as a binary
# file's name (MG105), and a key in a member of an archive the commit adds.
def _zip(members: dict[str, str]) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return out.getvalue()


NAMED = fake_key("matrix-binary-name")
ZIPPED = fake_key("matrix-zipped")


@pytest.fixture(scope="module")
def binary_cases(tmp_path_factory: pytest.TempPathFactory) -> Gates:
    changed: dict[str, str | bytes] = {
        f"assets/{NAMED}.png": b"\x89PNG\r\n\x1a\n\x00\x00",
        "dist/pkg-1.0.whl": _zip({"pkg/.env": f"MANIAC_API_KEY={ZIPPED}\n"}),
    }
    return run_gates(tmp_path_factory.mktemp("binary-cases"), {}, None, changed)


@pytest.mark.parametrize("gate", GATES)
def test_a_key_named_by_a_binary_file_or_inside_an_added_archive_is_refused_by_every_gate(
    binary_cases: Gates, gate: str
) -> None:
    code, expected = binary_cases.results["scan ."]
    masked = f"mk-{NAMED[3:7]}…{NAMED[-2:]}"
    assert code == 1 and {(rule, path) for rule, path, _ in expected} == {
        ("MG105", f"assets/{masked}.png"),
        ("MG101", "dist/pkg-1.0.whl!/pkg/.env"),
        ("MG302", "dist/pkg-1.0.whl!/pkg/.env"),
    }, binary_cases.stderr["scan ."]
    assert binary_cases.results[gate] == (1, expected), binary_cases.stderr[gate]
    assert all(key[3:] not in text for key in (NAMED, ZIPPED) for text in binary_cases.stderr.values())


# A tarball that breaks after its first member: tarfile stopped there
# without a word and every gate passed the keys behind the break.
BROKEN = fake_key("matrix-broken-tar")


@pytest.fixture(scope="module")
def broken_tar(tmp_path_factory: pytest.TempPathFactory) -> Gates:
    import io
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, text in (("README.txt", b"notes\n"), ("conf/.env", f"MANIAC_API_KEY={BROKEN}\n".encode())):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            archive.addfile(info, io.BytesIO(text))
    data = bytearray(out.getvalue())
    data[1024] ^= 0x20  # the second header's first byte: its checksum no longer holds
    return run_gates(
        tmp_path_factory.mktemp("broken-tar"), {}, None, {"dist/release.tar": bytes(data)}, incomplete=True
    )


@pytest.mark.parametrize("gate", ("scan .", *GATES))
def test_a_tar_broken_after_its_first_member_is_not_passed_by_any_gate(broken_tar: Gates, gate: str) -> None:
    code, _ = broken_tar.results[gate]
    said = broken_tar.stderr[gate]
    if gate.startswith(("scan", "ci")):
        assert code == 2, said  # it could not scan what it was given
    else:
        assert code != 0, said  # the push is refused
    assert "release.tar: cannot read the tar archive after its member README.txt (bad checksum)" in said
    assert BROKEN[3:9] not in said
