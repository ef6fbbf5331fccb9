"""`maniac-guard pre-receive` as a server hook: a real bare repository, a real
clone and real `git push` (so git's object quarantine is in play)."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.gitrepo import Repo, git_env, make_repo, push
from tests.helpers import console_script, fake_key


class Server:
    def __init__(self, path: Path, env: dict[str, str]) -> None:
        self.path = path
        self.env = env
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True, env={**os.environ, **env})

    def install(self, *args: str) -> None:
        hook = self.path / "hooks" / "pre-receive"
        command = " ".join(shlex.quote(a) for a in (console_script(), "pre-receive", *args))
        hook.write_text(f"#!/bin/sh\nexec {command}\n")
        hook.chmod(0o755)

    def ref(self, name: str) -> str | None:
        proc = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", name],
            cwd=self.path,
            capture_output=True,
            text=True,
            env={**os.environ, **self.env},
        )
        return proc.stdout.strip() or None


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Server, Repo]:
    home = tmp_path / "home"
    home.mkdir()
    env = {**git_env(home), "NO_COLOR": "1"}
    server = Server(tmp_path / "server.git", env)
    repo = make_repo(tmp_path / "clone", env)
    repo.git("remote", "add", "origin", str(server.path))
    repo.write("README.md", "hello\n")
    repo.commit("first")
    repo.git("push", "-q", "origin", "main")
    return server, repo


def test_a_push_holding_a_key_is_refused_and_the_ref_does_not_move(setup: tuple[Server, Repo]) -> None:
    server, repo = setup
    server.install()
    before = server.ref("main")
    key = fake_key("server-push")
    repo.write("app/settings.env", f"MANIAC_API_KEY={key}\n")
    bad = repo.commit("add settings")
    repo.write("notes.txt", "unrelated\n")
    repo.commit("later")
    proc = push(repo, "main")
    assert proc.returncode != 0
    assert server.ref("main") == before
    assert "pre-receive hook declined" in proc.stderr
    assert "app/settings.env" in proc.stderr and bad[:12] in proc.stderr and "refs/heads/main" in proc.stderr
    assert f"{key[:7]}…{key[-2:]}" in proc.stderr  # masked, as everywhere
    assert key not in proc.stderr and key[3:] not in proc.stderr
    assert "push rejected" in proc.stderr and "How to fix it" in proc.stderr


def test_a_clean_push_passes(setup: tuple[Server, Repo]) -> None:
    server, repo = setup
    server.install("--verbose")
    repo.write("src/app.py", "import os\nKEY = os.environ['MANIAC_API_KEY']\n")
    new = repo.commit("clean")
    proc = push(repo, "main")
    assert proc.returncode == 0, proc.stderr
    assert server.ref("main") == new
    assert "1 new commit scanned, no keys" in proc.stderr


def test_deleting_a_branch_passes_even_one_that_holds_a_key(setup: tuple[Server, Repo]) -> None:
    server, repo = setup
    repo.git("checkout", "-q", "-b", "old")
    repo.write("leak.env", f"MANIAC_API_KEY={fake_key('server-old')}\n")
    repo.commit("before the hook existed")
    assert push(repo, "old").returncode == 0
    server.install()
    proc = push(repo, "--delete", "old")
    assert proc.returncode == 0, proc.stderr
    assert server.ref("refs/heads/old") is None


def test_a_new_branch_is_scanned_against_existing_refs_only(setup: tuple[Server, Repo]) -> None:
    """A key already on the server (pushed before the hook) is not the new branch's fault."""
    server, repo = setup
    repo.write("leak.env", f"MANIAC_API_KEY={fake_key('server-existing')}\n")
    repo.commit("old leak")
    assert push(repo, "main").returncode == 0
    server.install()
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("feature.txt", "work\n")
    clean = repo.commit("feature work")
    proc = push(repo, "feature")
    assert proc.returncode == 0, proc.stderr
    assert server.ref("refs/heads/feature") == clean
    repo.write("feature.env", f"MANIAC_API_KEY={fake_key('server-feature')}\n")
    repo.commit("leak on the branch")
    proc = push(repo, "feature")
    assert proc.returncode != 0 and "feature.env" in proc.stderr and "leak.env" not in proc.stderr
    assert server.ref("refs/heads/feature") == clean


def test_a_force_push_that_rewrites_history_with_a_key_is_refused(setup: tuple[Server, Repo]) -> None:
    server, repo = setup
    server.install()
    before = server.ref("main")
    repo.write("config.env", f"MANIAC_API_KEY={fake_key('server-force')}\n")
    repo.git("add", ".")
    repo.git("commit", "-q", "--amend", "--no-verify", "-m", "rewritten")
    proc = push(repo, "--force", "main")
    assert proc.returncode != 0 and "config.env" in proc.stderr
    assert server.ref("main") == before


def test_a_tag_push_with_a_key_is_refused(setup: tuple[Server, Repo]) -> None:
    server, repo = setup
    server.install()
    repo.git("checkout", "-q", "--detach")
    repo.write("release.env", f"MANIAC_API_KEY={fake_key('server-tag')}\n")
    repo.commit("release build")
    repo.git("tag", "-a", "v1.0", "-m", "release")
    proc = push(repo, "v1.0")
    assert proc.returncode != 0 and "release.env" in proc.stderr and "refs/tags/v1.0" in proc.stderr
    assert server.ref("refs/tags/v1.0") is None
    repo.git("checkout", "-q", "main")
    repo.git("tag", "v0.9")  # a tag of a commit the server has: nothing new
    assert push(repo, "v0.9").returncode == 0


@pytest.mark.parametrize("on_timeout", ["reject", "accept"])
def test_the_time_budget_decides_as_configured(setup: tuple[Server, Repo], on_timeout: str) -> None:
    server, repo = setup
    server.install("--timeout", "0.001", "--on-timeout", on_timeout)
    repo.write("a.txt", "clean\n")
    new = repo.commit("clean change")
    proc = push(repo, "main")
    assert "time budget ran out" in proc.stderr
    if on_timeout == "reject":
        assert proc.returncode != 0 and server.ref("main") != new
        assert "push is rejected (--on-timeout reject)" in proc.stderr
    else:
        assert proc.returncode == 0 and server.ref("main") == new
        assert "ACCEPTED without a complete scan" in proc.stderr


def test_findings_below_fail_on_are_shown_but_pass(setup: tuple[Server, Repo]) -> None:
    server, repo = setup
    server.install("--ignore", "MG101", "--fail-on", "critical")
    repo.write("k.env", f"MANIAC_API_KEY={fake_key('server-low')}\n")
    new = repo.commit("a committed env file (MG302, high)")
    proc = push(repo, "main")
    assert proc.returncode == 0, proc.stderr
    assert server.ref("main") == new and "MG302 high k.env" in proc.stderr and "MG101" not in proc.stderr


def test_bad_stdin_is_an_error_not_a_pass(tmp_path: Path) -> None:
    proc = subprocess.run(
        [console_script(), "pre-receive"], input="not a ref line\n", capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "maniac-guard: error: pre-receive: stdin line 1 is not `<old-sha> <new-sha> <ref>`"


def test_a_key_in_a_pushed_commit_message_is_refused(setup: tuple[Server, Repo]) -> None:
    """A message is history every clone gets: the server judges it as
    `scan --history` does, not only the lines the commit adds."""
    server, repo = setup
    server.install()
    before = server.ref("main")
    key = fake_key("server-message")
    repo.write("notes.txt", "clean change\n")
    repo.commit(f"debugging with {key}")
    proc = push(repo, "main")
    assert proc.returncode != 0, proc.stderr
    assert server.ref("main") == before
    assert "<commit message>" in proc.stderr and key not in proc.stderr
