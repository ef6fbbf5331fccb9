"""Keys outside file diffs: commit and tag messages, tags of blobs, older
stashes, and the commit-msg hook."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.gitrepo import Repo, git_env, make_repo
from tests.helpers import fake_key, run_cli, run_in_process


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    home = tmp_path / "home"
    home.mkdir()
    return make_repo(tmp_path / "repo", git_env(home))


def history(repo: Repo, *args: str) -> tuple[int, list[dict]]:
    proc = run_cli("scan", *(args or ("--history",)), "--format", "json", cwd=repo.path, env=repo.env)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)["findings"]


def test_history_and_ci_scan_commit_messages(repo: Repo) -> None:
    repo.write("a.txt", "start\n")
    base = repo.commit("start")
    repo.write("a.txt", "start\nmore\n")
    key = fake_key("in-message")
    leaky = repo.commit(f"Fix the client\n\nused {key} to test it\n")

    code, findings = history(repo)
    assert code == 1
    [finding] = findings
    assert (finding["path"], finding["line"], finding["commit"]) == ("<commit message>", 3, leaky)
    assert finding["author"] == "Test Author <author@example.com>"
    assert key not in json.dumps(findings)
    assert history(repo, "--range", f"{base}..HEAD")[0] == 1
    ci = run_cli("ci", "--range", f"{base}..HEAD", cwd=repo.path, env=repo.env)
    assert ci.returncode == 1 and "<commit message>" in ci.stdout


def test_history_scans_tag_messages_tags_of_blobs_and_every_stash(repo: Repo) -> None:
    repo.write("a.txt", "start\n")
    repo.commit("start")
    repo.git("tag", "-a", "v1.0", "-m", f"release\n\ndeploy key {fake_key('tag-message')}\n")
    blob = (
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin"],
            cwd=repo.path,
            check=True,
            capture_output=True,
            input=f"MANIAC_API_KEY={fake_key('tagged-blob')}\n".encode(),
        )
        .stdout.decode()
        .strip()
    )
    repo.git("tag", "secret-blob", blob)
    repo.write("a.txt", f"start\n{fake_key('old-stash')}\n")
    repo.git("stash", "-q")
    repo.write("a.txt", "start\nnewer stash, no key\n")
    repo.git("stash", "-q")

    code, findings = history(repo)
    assert code == 1
    assert {f["path"] for f in findings} == {"<tag v1.0>", "<tag secret-blob>", "a.txt"}
    stashed = next(f for f in findings if f["path"] == "a.txt")
    assert stashed["details"]["present_at_head"] is False


def test_commit_msg_hook_blocks_a_key_in_the_message(repo: Repo) -> None:
    proc = run_in_process("install-hook", "--hook", "commit-msg", cwd=repo.path, env=repo.env)
    assert proc.returncode == 0, proc.stderr
    hook = repo.path / ".git" / "hooks" / "commit-msg"
    assert 'scan --commit-msg -- "$1"' in hook.read_text()
    repo.write("a.txt", "fine\n")
    repo.git("add", "a.txt")
    env = {**os.environ, **repo.env, "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}

    def commit(message: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "commit", "-q", "-m", message], cwd=repo.path, env=env, capture_output=True, text=True, check=False
        )

    key = fake_key("hook-message")
    blocked = commit(f"add config with {key}")
    assert blocked.returncode == 1
    assert "MG101" in blocked.stderr + blocked.stdout and key not in blocked.stderr + blocked.stdout
    assert commit("add config").returncode == 0


def test_commit_msg_scan_stops_at_the_scissors_line_and_names_a_missing_file(repo: Repo, tmp_path: Path) -> None:
    message = tmp_path / "COMMIT_EDITMSG"
    message.write_text(
        "Subject\n\n# Please enter the commit message\n"
        "# ------------------------ >8 ------------------------\n"
        f"+KEY = '{fake_key('verbose-diff')}'\n"
    )
    assert run_in_process("scan", "--commit-msg", "--", str(message), cwd=repo.path, env=repo.env).returncode == 0
    message.write_text(f"Subject {fake_key('subject')}\n")
    assert run_in_process("scan", "--commit-msg", "--", str(message), cwd=repo.path, env=repo.env).returncode == 1
    missing = run_in_process("scan", "--commit-msg", "nope.txt", cwd=repo.path, env=repo.env)
    assert missing.returncode == 2 and "nope.txt" in missing.stderr


def test_history_scans_the_files_of_a_tagged_tree(repo: Repo) -> None:
    repo.write("a.txt", "start\n")
    repo.commit("start")
    blob = (
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin"],
            cwd=repo.path,
            check=True,
            capture_output=True,
            input=f"{fake_key('tagged-tree')}\n".encode(),
        )
        .stdout.decode()
        .strip()
    )
    tree = (
        subprocess.run(
            ["git", "mktree"],
            cwd=repo.path,
            check=True,
            capture_output=True,
            input=f"100644 blob {blob}\tinside.txt\n".encode(),
        )
        .stdout.decode()
        .strip()
    )
    repo.git("tag", "a-tree", tree)
    code, findings = history(repo)
    assert code == 1
    assert [f["path"] for f in findings] == ["<tag a-tree>/inside.txt"]


def test_scan_revisions_serves_a_server_hook_in_a_bare_repository(repo: Repo, tmp_path: Path) -> None:
    """The function a pre-receive hook calls: a rev list, a git folder, settings."""
    from maniac_guard.config import Settings
    from maniac_guard.history import scan_revisions

    repo.write("a.txt", "start\n")
    base = repo.commit("start")
    repo.write("b.env", f"MANIAC_API_KEY={fake_key('pushed')}\n")
    pushed = repo.commit("pushed")
    bare = tmp_path / "server.git"
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True, env={**os.environ, **repo.env}
    )
    result = scan_revisions(str(bare), [pushed, "--not", base], Settings())
    assert {(f.path, f.commit) for f in result.findings} == {("b.env", pushed)}
    assert not result.stages.incomplete
