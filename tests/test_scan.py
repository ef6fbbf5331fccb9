"""Issue 2: the scan over a tree of every leak form and every decoy."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, fake_key, run_cli, run_in_process

TREE = FIXTURES / "scan_tree"

# Every leak form of issue 2 (items 3 and 5), by hand: (path, line, rule).
EXPECTED = {
    (".env", 2, "MG101"),
    (".env", 2, "MG302"),
    (".env.staging", 1, "MG101"),
    (".env.staging", 1, "MG302"),
    (".maniac/config.yaml", 1, "MG101"),
    (".maniac/config.yaml", 1, "MG301"),
    ("Dockerfile", 2, "MG101"),
    ("config/app.ini", 2, "MG101"),
    ("config/app.json", 3, "MG101"),
    ("config/app.toml", 2, "MG101"),
    ("config/app.yaml", 3, "MG101"),
    ("docs/setup.md", 5, "MG101"),
    ("http/request.http", 2, "MG101"),
    ("infra/main.tf", 2, "MG101"),
    ("k8s/env-secret.yaml", 4, "MG102"),
    ("k8s/secret.yaml", 6, "MG102"),
    ("latin1.txt", 1, "MG101"),
    ("logs/app.log", 1, "MG101"),  # URL query string
    ("logs/app.log", 2, "MG101"),  # percent-encoded URL
    ("logs/app.log", 3, "MG101"),  # two keys on one line ...
    ("scripts/deploy.sh", 2, "MG101"),
    ("scripts/run.bat", 2, "MG101"),
    ("src/main.go", 3, "MG101"),
    ("src/settings.js", 2, "MG101"),
    ("static/bundle.min.js", 1, "MG101"),  # minified, two keys on one long line
    ("utf16.txt", 2, "MG101"),
}
EXPECTED_COUNT = len(EXPECTED) + 2  # ... each key on those lines is its own finding


def planted_keys() -> set[str]:
    """Every full key in the tree, also the ones only present base64-encoded."""
    keys: set[str] = set()
    key_re = re.compile(r"mk-[A-Za-z0-9]{16,}")
    for path in TREE.rglob("*"):
        if not path.is_file():
            continue
        raw = path.read_bytes()
        text = raw.decode("utf-16") if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else raw.decode("latin-1")
        keys.update(key_re.findall(text))
        for token in re.findall(r"[A-Za-z0-9+/]{24,}={0,2}", text):
            try:
                keys.update(key_re.findall(base64.b64decode(token).decode("latin-1")))
            except ValueError:
                pass
    from maniac_guard.keyshape import looks_like_key

    return {k for k in keys if looks_like_key(k)}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy outside this repository, whose config excludes the fixtures."""
    target = tmp_path / "tree"
    shutil.copytree(TREE, target)
    return target


def _json_findings(stdout: str) -> list[dict[str, object]]:
    return list(json.loads(stdout)["findings"])


def test_library_scan_finds_exactly_the_planted_leaks(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from maniac_guard.engine import scan_paths
    from maniac_guard.sources.files import Excluder

    monkeypatch.chdir(tree)
    result = scan_paths(["."], excluder=Excluder(), max_file_size=10 << 20)
    assert {(f.path, f.line, f.rule_id) for f in result.findings} == EXPECTED
    assert len(result.findings) == EXPECTED_COUNT
    assert result.skipped["binary"] == 1


def test_console_script_reports_the_same_set_as_json(tree: Path) -> None:
    proc = run_cli("scan", ".", "--format", "json", cwd=tree)
    assert proc.returncode == 1, proc.stderr
    found = _json_findings(proc.stdout)
    assert {(f["path"], f["line"], f["rule_id"]) for f in found} == EXPECTED
    document = json.loads(proc.stdout)
    assert document["version"] == 1
    assert document["summary"]["findings"] == EXPECTED_COUNT
    assert document["summary"]["files_skipped"] == {"binary": 1}


def test_every_finding_has_a_stable_fingerprint_and_masked_key(tree: Path) -> None:
    first = _json_findings(run_in_process("scan", ".", "--format", "json", cwd=tree).stdout)
    # Moving a key down a line keeps its fingerprint.
    dockerfile = tree / "Dockerfile"
    dockerfile.write_text("# moved\n" + dockerfile.read_text())
    second = _json_findings(run_in_process("scan", ".", "--format", "json", cwd=tree).stdout)
    prints = {f["fingerprint"] for f in first}
    assert prints == {f["fingerprint"] for f in second}
    assert len(prints) == len(first)
    for finding in first:
        if finding["rule_id"] in ("MG101", "MG102"):
            assert re.fullmatch(r"mk-[A-Za-z0-9]{4}…[A-Za-z0-9]{2}", str(finding["masked_secret"]))


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_no_full_key_in_any_output(tree: Path, tmp_path: Path, fmt: str) -> None:
    keys = planted_keys()
    assert len(keys) >= 28
    out = tmp_path / f"report.{fmt}"
    to_stdout = run_in_process("scan", ".", "--format", fmt, "-v", cwd=tree)
    to_file = run_in_process("scan", ".", "--format", fmt, "-o", str(out), cwd=tree)
    assert to_stdout.returncode == to_file.returncode == 1
    everything = to_stdout.stdout + to_stdout.stderr + to_file.stdout + to_file.stderr + out.read_text()
    assert "mk-" in everything
    leaked = [k for k in keys if k in everything]
    assert leaked == []


def test_sarif_validates_against_the_oasis_schema(tree: Path) -> None:
    import jsonschema

    schema = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text())
    proc = run_in_process("scan", ".", "--format", "sarif", cwd=tree)
    sarif = json.loads(proc.stdout)
    jsonschema.Draft4Validator(schema).validate(sarif)
    run = sarif["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert {"MG101", "MG102", "MG301", "MG302"} <= set(rules)
    for rule in rules.values():
        assert rule["help"]["text"].startswith(f"# {rule['id']}")
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
        assert float(rule["properties"]["security-severity"]) >= 0
    results = run["results"]
    assert len(results) == EXPECTED_COUNT
    for result in results:
        location = result["locations"][0]["physicalLocation"]
        assert not location["artifactLocation"]["uri"].startswith("/")
        assert location["region"]["startLine"] >= 1 and location["region"]["startColumn"] >= 1
        assert len(result["partialFingerprints"]["maniacGuard/v1"]) == 32
        assert rules[result["ruleId"]] is run["tool"]["driver"]["rules"][result["ruleIndex"]]


def test_text_report_blocks_and_summary(tree: Path) -> None:
    proc = run_in_process("scan", "Dockerfile", ".env.example", cwd=tree)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("MG101 critical Dockerfile:2:20 mk-")
    assert "ENV MANIAC_API_KEY=mk-" in lines[2] and "…" in lines[2]
    assert lines[3].startswith("  help: Remove the key")
    assert "rotate" in lines[3]
    assert lines[-1].startswith("Scanned 2 files in ") and lines[-1].endswith("1 finding (1 critical).")
    assert "\x1b[" not in proc.stdout  # NO_COLOR is set by run_in_process


def test_colour_only_when_asked_or_on_a_terminal(tree: Path) -> None:
    coloured = run_cli("scan", "Dockerfile", "--color", cwd=tree)
    assert "\x1b[" in coloured.stdout
    piped = run_cli("scan", "Dockerfile", cwd=tree, env={"NO_COLOR": ""})
    assert "\x1b[" not in piped.stdout


def test_clean_tree_exits_zero(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import os\nkey = os.getenv('MANIAC_API_KEY')\n")
    proc = run_in_process("scan", ".", cwd=tmp_path)
    assert proc.returncode == 0
    assert "Scanned 1 file in" in proc.stdout and "0 findings" in proc.stdout


def test_inline_ignores_any_comment_syntax(tree: Path) -> None:
    proc = run_in_process("scan", "decoys.txt", "--format", "json", cwd=tree)
    assert proc.returncode == 0 and _json_findings(proc.stdout) == []
    (tree / "x.sql").write_text(
        (tree / "decoys.txt").read_text().replace("maniac-guard: ignore[MG101]", "maniac-guard: ignore[MG302]")
    )
    found = _json_findings(run_in_process("scan", "x.sql", "--format", "json", cwd=tree).stdout)
    assert [(f["line"], f["rule_id"]) for f in found] == [(13, "MG101")]


def test_select_ignore_and_fail_on(tree: Path) -> None:
    only_files = _json_findings(run_in_process("scan", ".", "--select", "MG3", "--format", "json", cwd=tree).stdout)
    assert {f["rule_id"] for f in only_files} == {"MG301", "MG302"}
    no_keys = _json_findings(
        run_in_process("scan", ".", "--ignore", "MG101,MG102", "--format", "json", cwd=tree).stdout
    )
    assert {f["rule_id"] for f in no_keys} == {"MG301", "MG302"}
    assert run_in_process("scan", ".", "--select", "MG3", "--fail-on", "critical", cwd=tree).returncode == 0
    assert run_in_process("scan", ".", "--select", "MG3", "--fail-on", "high", cwd=tree).returncode == 1
    bad = run_in_process("scan", ".", "--select", "MG999", cwd=tree)
    assert bad.returncode == 2 and "MG999" in bad.stderr


def test_config_file_excludes_and_unknown_keys(tree: Path) -> None:
    (tree / "pyproject.toml").write_text('[tool.maniac-guard]\nexclude = ["logs/", "static/**"]\nfail-on = "high"\n')
    found = _json_findings(run_in_process("scan", ".", "--format", "json", cwd=tree).stdout)
    paths = {f["path"] for f in found}
    assert not any(p.startswith(("logs/", "static/")) for p in paths) and "Dockerfile" in paths
    # A CLI flag wins over the file; --exclude adds to it.
    cli = _json_findings(run_in_process("scan", ".", "--exclude", "config/*", "--format", "json", cwd=tree).stdout)
    assert not any(str(f["path"]).startswith("config/") for f in cli)
    (tree / ".maniac-guard.toml").write_text("exclude = []\nfail_on = 'high'\n")
    bad = run_in_process("scan", ".", cwd=tree)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0
    assert ".maniac-guard.toml" in bad.stderr and "fail_on" in bad.stderr


def test_gitignore_is_honoured_inside_a_work_tree(tree: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
    (tree / ".gitignore").write_text("logs/\n")
    found = _json_findings(run_in_process("scan", ".", "--format", "json", cwd=tree).stdout)
    assert not any(str(f["path"]).startswith("logs/") for f in found)
    assert any(str(f["path"]) == ".env" for f in found)  # hidden files are scanned
    everything = _json_findings(run_in_process("scan", ".", "--no-gitignore", "--format", "json", cwd=tree).stdout)
    assert any(str(f["path"]).startswith("logs/") for f in everything)


def test_git_folder_is_never_scanned(tmp_path: Path) -> None:
    from tests.helpers import fake_key

    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text(f"token = {fake_key('git')}\n")
    assert run_in_process("scan", ".", "--no-gitignore", cwd=tmp_path).returncode == 0


def test_rules_and_explain(tmp_path: Path) -> None:
    listing = run_in_process("rules", cwd=tmp_path)
    assert listing.returncode == 0
    ids = [line.split()[0] for line in listing.stdout.splitlines()]
    assert {"MG101", "MG102", "MG301", "MG302"} <= set(ids)
    doc = run_in_process("explain", "mg101", cwd=tmp_path)
    assert doc.returncode == 0
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety"):
        assert section in doc.stdout
    missing = run_in_process("explain", "MG999", cwd=tmp_path)
    assert missing.returncode == 2 and "MG999" in missing.stderr


def test_module_entry_point(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "maniac_guard", "rules"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0 and "MG101" in proc.stdout


def test_readme_example_reports_its_leaks() -> None:
    """The README's first command, as written, from the repository's root (and from elsewhere)."""
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    words = readme.split(".venv/bin/maniac-guard ", 1)[1].splitlines()[0].split()
    assert words[0] == "scan"
    for cwd in (root, Path(os.path.expanduser("~"))):
        args = [str(root / w) if w.startswith("tests/") else w for w in words[1:]]
        proc = run_cli("scan", *args, "--format", "json", cwd=cwd)
        assert proc.returncode == 1, proc.stderr
        assert {f["rule_id"] for f in _json_findings(proc.stdout)} >= {"MG101", "MG302"}


def test_this_repository_scans_clean() -> None:
    root = Path(__file__).resolve().parent.parent
    proc = run_cli("scan", ".", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_deselected_rules_do_not_run_their_detectors(tmp_path: Path) -> None:
    """--ignore MG2 keeps the plain key finding (it is not merged away into a
    rule that is then dropped), and --select MG1 never runs the Python analyzer."""
    import subprocess
    import sys

    from tests.helpers import fake_key

    (tmp_path / "app.py").write_text(f'from maniac import Maniac\nc = Maniac(api_key="{fake_key("select")}")\n')
    both = _json_findings(run_cli("scan", ".", "--format", "json", cwd=tmp_path).stdout)
    assert [f["rule_id"] for f in both] == ["MG201"]
    no_python = _json_findings(run_cli("scan", ".", "--ignore", "MG2", "--format", "json", cwd=tmp_path).stdout)
    assert [f["rule_id"] for f in no_python] == ["MG101"]
    probe = (
        "import sys\nfrom maniac_guard.cli import main\n"
        "try:\n    main(['scan', '.', '--select', 'MG1', '-q'])\nexcept SystemExit:\n    pass\n"
        "print('maniac_guard.python.analyzer' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert proc.stdout.strip().splitlines()[-1] == "False"


def test_compiled_and_image_files_are_counted_binary_by_name_and_others_by_content(tmp_path: Path) -> None:
    """`.pyc` & co. always start with a NUL byte, so they are not opened; a
    file with any other name is judged by its first 8 KiB."""
    key = fake_key("binary-by-name")
    (tmp_path / "module.cpython-311.pyc").write_bytes(b"\xa7\r\r\n\0\0\0\0" + key.encode())
    (tmp_path / "LOGO.PNG").write_text(f"not really a png {key}\n")
    (tmp_path / "blob.dat").write_bytes(b"\0" + key.encode())
    (tmp_path / "notes.dat").write_text(f"key {key}\n")
    proc = run_in_process("scan", "--no-gitignore", ".", "--format", "json", cwd=tmp_path)
    document = json.loads(proc.stdout)
    assert document["summary"]["files_skipped"] == {"binary": 3}
    assert [f["path"] for f in document["findings"]] == ["notes.dat"]


def test_output_to_a_fifo_or_device_writes_into_it_instead_of_replacing_it(tmp_path: Path) -> None:
    """`-o /dev/stdout`, `-o >(jq ...)` and named pipes are written in place;
    only a regular file is replaced atomically (as root, replacing /dev/null
    with a file would break the machine)."""
    import threading

    (tmp_path / "app.env").write_text(f"MANIAC_API_KEY={fake_key('fifo')}\n")
    fifo = tmp_path / "report.pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    proc = run_cli("scan", "--no-gitignore", ".", "--format", "json", "-o", str(fifo), cwd=tmp_path)
    reader.join(timeout=30)
    assert proc.returncode == 1, proc.stderr
    assert fifo.is_fifo()
    assert [f["path"] for f in json.loads(received[0])["findings"]] == ["app.env", "app.env"]

    to_stdout = run_cli("scan", "--no-gitignore", ".", "--format", "json", "-o", "/dev/stdout", cwd=tmp_path)
    assert json.loads(to_stdout.stdout)["summary"]["findings"] == 2


def test_an_unwritable_output_path_is_a_one_line_error(tmp_path: Path) -> None:
    proc = run_in_process("scan", str(tmp_path), "-o", str(tmp_path / "missing" / "report.json"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"maniac-guard: error: {tmp_path / 'missing' / 'report.json'}: cannot write: No such file or directory"
    ]
