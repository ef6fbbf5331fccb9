"""`--history` / `--range` / `ci` where git's own view of a file would hide a
key: attributes that call text binary, UTF-16, odd path names and prefixes,
bare repositories. Every test runs the installed console script in a real
temporary repository."""

from __future__ import annotations

import codecs
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.gitrepo import Repo, git_env, make_repo, scan_json
from tests.helpers import console_script, fake_key, run_cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return git_env(home)


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str]) -> Repo:
    return make_repo(tmp_path / "repo", env)


def utf16(text: str) -> bytes:
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


def test_history_judges_binary_by_content_not_by_gitattributes(repo: Repo) -> None:
    repo.write("README", "start\n")
    base = repo.commit("start")
    repo.write(".gitattributes", "*.env binary\npackage-lock.json -diff\n")
    repo.write("prod.env", f"MANIAC_API_KEY={fake_key('attr-env')}\n")
    repo.write("package-lock.json", f'{{"token": "{fake_key("attr-lock")}"}}\n')
    repo.write("notes.txt", utf16(f"key = {fake_key('utf16')}\r\n"))
    repo.write("image.png", b"\x89PNG\r\n\x1a\n\0\0" + fake_key("png").encode())
    added = repo.commit("attributes and keys")

    expected = {"prod.env", "package-lock.json", "notes.txt"}
    assert {f["path"] for f in scan_json(repo, ".")[1]["findings"]} == expected  # the disk scan
    for args in (("--history",), ("--range", f"{base}..HEAD")):
        code, report, _ = scan_json(repo, *args)
        assert code == 1, args
        assert {f["path"] for f in report["findings"]} == expected, args
        assert {f["commit"] for f in report["findings"]} == {added}
        assert report["summary"]["files_skipped"].get("binary") == 1  # the PNG only
        assert "attr-" not in json.dumps(report)
    by_path = {f["path"]: f for f in scan_json(repo, "--history")[1]["findings"]}
    assert by_path["notes.txt"]["line"] == 1
    assert all(f["details"]["present_at_head"] for f in by_path.values())


def test_history_of_a_binary_attributed_file_reports_only_what_each_commit_added(repo: Repo) -> None:
    repo.write(".gitattributes", "*.env binary\n")
    first_key, second_key = fake_key("env-1"), fake_key("env-2")
    repo.write("app.env", f"A=1\nFIRST={first_key}\n")
    first = repo.commit("first")
    repo.write("app.env", f"A=1\nFIRST={first_key}\nB=2\nSECOND={second_key}\n")
    second = repo.commit("second")

    code, report, _ = scan_json(repo, "--range", f"{first}..{second}")
    assert code == 1
    [finding] = report["findings"]
    assert (finding["commit"], finding["line"]) == (second, 4)


def test_ci_range_finds_a_key_in_a_utf16_file(repo: Repo) -> None:
    repo.write("README", "start\n")
    base = repo.commit("start")
    repo.write("win.ini", utf16(f"[api]\r\nkey={fake_key('ci-utf16')}\r\n"))
    repo.commit("windows config")
    proc = run_cli("ci", "--range", f"{base}..HEAD", "--format", "json", cwd=repo.path, env=repo.env)
    assert proc.returncode == 1, proc.stderr
    [finding] = json.loads(proc.stdout)["findings"]
    assert (finding["path"], finding["line"]) == ("win.ini", 2)


def test_history_paths_survive_noprefix_newlines_and_non_utf8_bytes(repo: Repo) -> None:
    repo.git("config", "diff.noprefix", "true")
    repo.git("config", "diff.mnemonicPrefix", "true")
    repo.write("b/secret.txt", f"{fake_key('b-folder')}\n")
    repo.write("two\nlines.txt", f"{fake_key('newline')}\n")
    (repo.path / "caf\udce9.txt").write_bytes(f"{fake_key('latin1-name')}\n".encode())
    repo.commit("odd names")

    # Raw bytes: how a report escapes a non-UTF-8 name is the report's business.
    proc = subprocess.run(
        [console_script(), "scan", "--history", "--format", "json"],
        cwd=repo.path,
        env={**os.environ, **repo.env},
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout.decode("utf-8", "surrogateescape"))
    by_path = {f["path"]: f for f in report["findings"]}
    assert "b/secret.txt" in by_path and "two\nlines.txt" in by_path, sorted(by_path)
    assert len(by_path) == 3
    for finding in by_path.values():
        assert finding["details"]["present_at_head"] is True, finding["path"]
        assert "no longer at HEAD" not in finding["message"]


def test_history_ignores_log_showroot_false(repo: Repo) -> None:
    repo.git("config", "log.showRoot", "false")
    repo.write("root.txt", f"{fake_key('root-commit')}\n")
    root = repo.commit("root")
    code, report, _ = scan_json(repo, "--history")
    assert code == 1 and report["findings"][0]["commit"] == root


def test_history_and_ci_work_in_a_bare_mirror(repo: Repo, tmp_path: Path) -> None:
    repo.write("a.txt", "start\n")
    base = repo.commit("start")
    repo.write("config.py", f"KEY = '{fake_key('bare')}'\n")
    added = repo.commit("key")
    mirror = tmp_path / "mirror.git"
    subprocess.run(
        ["git", "clone", "-q", "--mirror", str(repo.path), str(mirror)],
        check=True,
        env={**repo.env, "PATH": "/usr/bin:/bin"},
    )

    code, report, err = scan_json(repo, "--history", cwd=mirror)
    assert code == 1, err
    [finding] = report["findings"]
    assert (finding["path"], finding["commit"]) == ("config.py", added)
    assert finding["details"]["present_at_head"] is True
    assert scan_json(repo, "--range", f"{base}..{added}", cwd=mirror)[0] == 1
    ci = run_cli("ci", "--range", f"{base}..{added}", cwd=mirror, env=repo.env)
    assert ci.returncode == 1, ci.stderr
    assert "config.py" in ci.stdout


def test_history_sizes_blobs_over_the_limit_without_diffing_them(repo: Repo) -> None:
    """Paths that ever held an over-limit blob are read blob by blob: the big
    version is scanned for key patterns only (in windows) with a note, a small
    version's new lines are scanned."""
    repo.write("data.txt", "x" * 5000 + "\n")
    repo.write("small.txt", f"{fake_key('beside-big')}\n")
    big = repo.commit("big file")
    repo.write("data.txt", f"short now\n{fake_key('after-big')}\n")
    shrunk = repo.commit("shrink")
    repo.git("rm", "-q", "data.txt")
    repo.commit("delete")

    proc = run_cli("scan", "--history", "--max-file-size", "4096", "--format", "json", cwd=repo.path, env=repo.env)
    assert proc.returncode == 1, proc.stderr
    found = {(f["path"], f["commit"], f["line"]) for f in json.loads(proc.stdout)["findings"]}
    assert found == {("small.txt", big, 1), ("data.txt", shrunk, 2)}
    assert f"data.txt at {big[:12]}" in proc.stderr and "limit: scanned for key patterns only" in proc.stderr
    assert json.loads(proc.stdout)["summary"]["history"]["commits"] == 3
