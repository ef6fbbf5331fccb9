"""Autofix: before/after fixtures byte for byte, the CLI (--fix, --diff,
exit codes, report), atomic and refusing writes, --write-env."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from maniac_guard.fix import FixOptions, fix_bytes, fix_files, render_diff
from tests.helpers import FIXTURES, fake_key, run_cli, run_in_process

CASES = FIXTURES / "fix"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())


def case_files(name: str) -> tuple[Path, Path, FixOptions]:
    folder = CASES / name
    before = next(folder.glob("before.*"))
    after = folder / ("after" + before.suffix)
    options_file = folder / "options.json"
    raw = json.loads(options_file.read_text()) if options_file.exists() else {}
    options = FixOptions(unsafe=raw.get("unsafe", False), env_var=raw.get("env_var", "MANIAC_API_KEY"))
    return before, after, options


@pytest.mark.parametrize("name", CASE_NAMES)
def test_fix_turns_before_into_after_byte_for_byte(name: str) -> None:
    before, after, options = case_files(name)
    fix = fix_bytes(f"{name}{before.suffix}", before.read_bytes(), options)
    got = fix.new if fix.new is not None else before.read_bytes()
    assert got == after.read_bytes()


@pytest.mark.parametrize("name", CASE_NAMES)
def test_fixing_the_fixed_file_changes_nothing(name: str) -> None:
    _, after, options = case_files(name)
    assert fix_bytes(f"{name}{after.suffix}", after.read_bytes(), options).new is None


def test_fixtures_cover_line_endings_bom_and_tabs() -> None:
    """The odd-format fixtures really are odd (so the byte checks mean something)."""
    assert b"\r\n" in (CASES / "crlf/before.py").read_bytes()
    assert b"\n" not in (CASES / "crlf/after.py").read_bytes().replace(b"\r\n", b"")
    assert (CASES / "bom_future/after.py").read_bytes().startswith(b"\xef\xbb\xbf")
    assert b"\t\t\t\tapi_key=os.getenv" in (CASES / "tabs/after.py").read_bytes()


def test_notebook_fix_keeps_other_bytes_and_stays_valid_json() -> None:
    before, after, _ = case_files("notebook")
    old, new = json.loads(before.read_text()), json.loads(after.read_text())
    for cell_old, cell_new in zip(old["cells"], new["cells"]):
        assert {k: v for k, v in cell_old.items() if k != "source"} == {
            k: v for k, v in cell_new.items() if k != "source"
        }
    assert new["cells"][1]["source"][0] == "%pip install maniac\n"  # magics kept
    assert new["cells"][2]["source"][-1] == "!echo done"
    assert "mk-" not in "".join(new["cells"][2]["source"])
    # Only the changed source lines differ.
    changed = [line for line in after.read_text().splitlines() if line not in before.read_text().splitlines()]
    assert len(changed) == 3


def test_unsafe_fixes_are_left_without_the_flag() -> None:
    before, _, _ = case_files("env_write")
    fix = fix_bytes("env.py", before.read_bytes(), FixOptions(unsafe=False))
    assert fix.new is None
    assert any("--unsafe-fixes" in m for m in fix.messages)


def test_ignore_selector_keeps_that_rule_unfixed() -> None:
    before, _, _ = case_files("getenv_default")
    assert fix_bytes("g.py", before.read_bytes(), FixOptions(ignore=("MG205",))).new is None
    assert fix_bytes("g.py", before.read_bytes(), FixOptions(select=("MG2",))).new is not None


def test_unparsable_python_is_named_and_left_alone() -> None:
    data = f'print "x"\nKEY = "{fake_key(1)}"\n'.encode()
    fix = fix_bytes("py2.py", data, FixOptions())
    assert fix.new is None
    assert fix.messages and "cannot parse" in fix.messages[0] and fake_key(1) not in fix.messages[0]


def test_diff_masks_every_key_even_pieces() -> None:
    before, _, _ = case_files("pieces")
    fix = fix_bytes("pieces.py", before.read_bytes(), FixOptions())
    diff = render_diff(fix)
    assert diff.startswith("--- a/pieces.py\n+++ b/pieces.py\n")
    assert '+first = Maniac(os.getenv("MANIAC_API_KEY"))' in diff
    for secret in fix.secrets:
        assert secret not in diff and secret[3:] not in diff and secret[3:17] not in diff


def test_file_changed_since_read_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import maniac_guard.fix as fixmod

    target = tmp_path / "app.py"
    target.write_bytes((CASES / "sdk_keyword_alias/before.py").read_bytes())
    real = fixmod.fix_bytes

    def racing(path: str, data: bytes, options: FixOptions) -> object:
        target.write_bytes(data + b"# edited meanwhile\n")  # someone saves the file
        return real(path, data, options)

    monkeypatch.setattr(fixmod, "fix_bytes", racing)
    run = fix_files([(str(target), "app.py")], FixOptions(), write=True)
    assert target.read_bytes().endswith(b"# edited meanwhile\n")
    assert any("changed on disk" in m for m in run.messages)
    assert run.changed == []


def test_fixed_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "tool.py"
    target.write_bytes((CASES / "sdk_keyword_alias/before.py").read_bytes())
    target.chmod(0o751)
    run = fix_files([(str(target), "tool.py")], FixOptions(), write=True)
    assert len(run.changed) == 1
    assert stat.S_IMODE(target.stat().st_mode) == 0o751
    assert target.read_bytes() == (CASES / "sdk_keyword_alias/after.py").read_bytes()


# -- the console script --------------------------------------------------------


def _project(tmp_path: Path, *names: str) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    for name in names:
        before, _, _ = case_files(name)
        shutil.copyfile(before, root / f"{name}{before.suffix}")
    return root


def test_diff_prints_and_writes_nothing_exit_1_then_0_when_clean(tmp_path: Path) -> None:
    root = _project(tmp_path, "sdk_keyword_alias")
    original = (root / "sdk_keyword_alias.py").read_bytes()
    proc = run_cli("scan", "--diff", ".", cwd=root)
    assert proc.returncode == 1, proc.stderr
    assert '+    api_key=os.getenv("MANIAC_API_KEY"),  # TODO rotate' in proc.stdout
    key = original.decode().split('api_key="')[1].split('"')[0]
    assert key not in proc.stdout + proc.stderr
    assert (root / "sdk_keyword_alias.py").read_bytes() == original
    run_cli("fix", ".", cwd=root)
    proc = run_cli("scan", "--diff", ".", cwd=root)
    assert proc.returncode == 0 and proc.stdout == ""


def test_fix_reports_fixed_findings_and_rotation_and_exits_0_when_clean(tmp_path: Path) -> None:
    root = _project(tmp_path, "sdk_keyword_alias", "getenv_default")
    proc = run_in_process("fix", ".", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (
        "Fixed 4 findings in 2 files; the exposed keys must still be rotated (they are in your history)." in proc.stdout
    )
    assert (root / "getenv_default.py").read_bytes() == (CASES / "getenv_default/after.py").read_bytes()
    again = run_in_process("scan", ".", cwd=root)
    assert again.returncode == 0, again.stdout


def test_fix_exits_1_when_unsafe_findings_remain_and_json_summary_counts_fixes(tmp_path: Path) -> None:
    root = _project(tmp_path, "env_write_safe_only", "through_name")
    proc = run_in_process("scan", "--fix", "--format", "json", ".", cwd=root)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["summary"]["fixes"] == {"fixed": 1, "files": ["through_name.py"], "rotate": True}
    assert [f["rule_id"] for f in report["findings"]] == ["MG204"]
    proc = run_in_process("fix", "--unsafe-fixes", ".", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (root / "env_write_safe_only.py").read_text() == "import os\n"


def test_fail_on_decides_the_exit_code_after_fixing(tmp_path: Path) -> None:
    root = _project(tmp_path, "env_write_safe_only")
    assert run_in_process("fix", "--fail-on", "critical", ".", cwd=root).returncode == 1
    assert run_in_process("fix", "--ignore", "MG204", "--ignore", "MG101", ".", cwd=root).returncode == 0


def test_env_var_option_names_the_variable(tmp_path: Path) -> None:
    root = _project(tmp_path, "env_var_option")
    assert run_in_process("fix", "--env-var", "MANIAC_API_KEY_SEARCH", ".", cwd=root).returncode == 0
    assert (root / "env_var_option.py").read_bytes() == (CASES / "env_var_option/after.py").read_bytes()
    bad = run_in_process("fix", "--env-var", "not a name", ".", cwd=root)
    assert bad.returncode == 2 and "--env-var" in bad.stderr


def _git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True, errors="surrogateescape"
    ).stdout


def test_console_script_fixes_a_copy_of_the_fixtures_project_as_expected(tmp_path: Path) -> None:
    names = [n for n in CASE_NAMES if n not in ("env_var_option", "env_write_safe_only")]
    root = _project(tmp_path, *names)
    (root / ".gitattributes").write_text("* -text\n")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "leaky")
    proc = run_cli("fix", "--unsafe-fixes", ".", cwd=root)
    assert "Fixed" in proc.stdout, proc.stderr
    changed = sorted(_git(root, "diff", "--name-only").split())
    expected = []
    for name in names:
        before, after, _ = case_files(name)
        if before.read_bytes() != after.read_bytes():
            expected.append(f"{name}{before.suffix}")
        assert (root / f"{name}{before.suffix}").read_bytes() == after.read_bytes(), name
    assert changed == sorted(expected)
    # `git diff` is exactly the fixtures' before→after diff, file by file.
    for name in expected:
        stem = name.rsplit(".", 1)[0]
        before, after, _ = case_files(stem)
        theirs = subprocess.run(
            ["git", "diff", "--no-index", "--no-color", str(before), str(after)],
            capture_output=True,
            text=True,
            errors="surrogateescape",
        ).stdout
        ours = _git(root, "diff", "--no-color", "--", name)
        assert ours.split("@@", 1)[1] == theirs.split("@@", 1)[1], name


# -- --write-env -----------------------------------------------------------


def test_write_env_creates_a_private_ignored_file(tmp_path: Path) -> None:
    root = _project(tmp_path, "sdk_keyword_alias")
    _git(root, "init", "-q")
    proc = run_in_process("fix", "--write-env", ".env.local", ".", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    env_file = root / ".env.local"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    key = env_file.read_text().strip().split("=", 1)[1]
    assert key.startswith("mk-") and key in (CASES / "sdk_keyword_alias/before.py").read_text()
    assert "/.env.local" in (root / ".gitignore").read_text().splitlines()
    assert key not in proc.stdout + proc.stderr
    assert _git(root, "check-ignore", ".env.local").strip() == ".env.local"


def test_write_env_refuses_a_tracked_file(tmp_path: Path) -> None:
    root = _project(tmp_path, "sdk_keyword_alias")
    (root / "settings.env").write_text("DEBUG=1\n")
    _git(root, "init", "-q")
    _git(root, "add", "settings.env")
    _git(root, "commit", "-qm", "env")
    proc = run_in_process("fix", "--write-env", "settings.env", ".", cwd=root)
    assert "tracked by git" in proc.stderr
    assert (root / "settings.env").read_text() == "DEBUG=1\n"


def test_write_env_is_off_by_default_and_needs_fix(tmp_path: Path) -> None:
    root = _project(tmp_path, "sdk_keyword_alias")
    run_in_process("fix", ".", cwd=root)
    assert sorted(p.name for p in root.iterdir()) == ["sdk_keyword_alias.py"]
    assert run_in_process("scan", "--write-env", "x.env", ".", cwd=root).returncode == 2


def test_every_python_rule_states_its_fix_safety_matching_its_fix_field() -> None:
    from maniac_guard.catalog import load_rules

    rules = [r for r in load_rules().values() if r.id.startswith("MG2")]
    assert rules
    for rule in rules:
        doc = rule.render_doc()
        assert "## Fix safety" in doc, rule.id
        section = doc.split("## Fix safety", 1)[1].strip()
        assert section.lower().startswith(rule.fix), (rule.id, rule.fix, section[:20])


def test_pieces_left_in_constants_are_named_without_the_key() -> None:
    """The fix replaces where a key built from pieces is used; constants that
    hold its pieces may be imported elsewhere, so they stay, with a warning."""
    key = fake_key("pieces-left")
    head, tail = key[:15], key[15:]
    code = f'from maniac import Maniac\nHEAD = "{head}"\nclient = Maniac(api_key=HEAD + "{tail}")\n'
    fix = fix_bytes("app.py", code.encode(), FixOptions())
    assert fix.new is not None and b'os.getenv("MANIAC_API_KEY")' in fix.new
    assert fix.messages == [
        f"app.py: pieces of {key[:7]}…{key[-2:]} are still in the file (constants it was built from); "
        "remove them if nothing else uses them"
    ]
    clean = fix_bytes("app.py", f'from maniac import Maniac\nclient = Maniac(api_key="{key}")\n'.encode(), FixOptions())
    assert clean.messages == []


def test_the_diff_masks_each_key_with_its_own_pieces_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each key of a diff was masked with the pieces of every key in the file:
    # n keys built from pieces cost n x (all pieces) searches of the diff
    # (fix --diff on a file of 800 such keys: 49 s, 39 in the masking).
    # Each key now gets its own pieces, and the diff still shows none of them.
    from maniac_guard import fix as fix_module
    from maniac_guard.detectors.python_code import pieces_in_code

    keys = [fake_key(f"pieces-own-{i}") for i in range(12)]
    code = "from maniac import Maniac\n" + "".join(
        f'c{i} = Maniac(api_key="{k[:12]}" + "{k[12:24]}" + "{k[24:]}")\n' for i, k in enumerate(keys)
    )
    assert [set(pieces) for pieces in pieces_in_code(code, keys[:2])] == [{k[:12], k[12:24], k[24:]} for k in keys[:2]]
    given: list[int] = []
    secret = fix_module.Secret

    def counted(value: str, forms: tuple[str, ...] = ()) -> object:
        given.append(len(forms))
        return secret(value, forms)

    monkeypatch.setattr(fix_module, "Secret", counted)
    result = fix_bytes("app.py", code.encode(), FixOptions(unsafe=True))
    diff = render_diff(result)
    assert len(given) == len(keys) and sum(given) <= 3 * len(keys)
    assert not any(k[3:][i : i + 8] in diff for k in keys for i in range(len(k) - 11))


def test_the_diffs_literal_segments_are_asts() -> None:
    # pieces_in_code reads each literal's source from lines split once;
    # ast.get_source_segment (split again at every node) is the reference.
    import ast
    import inspect
    import textwrap

    from maniac_guard.detectors.python_code import _segments

    sources = [
        'a = "x" "y"\r\nb = """one\r\ntwo"""\rc = f"{a}é" \\\n  "z"\n\x0cd = "\\u00e9" "\x0c"\n',
        textwrap.dedent(inspect.getsource(textwrap)),
        inspect.getsource(ast),
        'k = ("mk-ab"\n     "cd")',
    ]
    compared = 0
    for code in sources:
        segment = _segments(code)
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert segment(node) == (ast.get_source_segment(code, node) or "")
                compared += 1
    assert compared > 400
