"""`maniac-guard pre-push`: a real clone pushing with real `git push` to a bare
repository in a temporary folder, through the plain git hook
(`install-hook --hook pre-push`) and through the pre-commit framework
(this repository's `.pre-commit-hooks.yaml`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.gitrepo import Repo, git_env, make_repo, push
from tests.helpers import console_script, fake_key, run_cli
from tests.precommit_home import ROOT, HookRepo, pre_commit


def remote_ref(server: Path, name: str, env: dict[str, str]) -> str | None:
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", name],
        cwd=server,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    return proc.stdout.strip() or None


def with_server(repo: Repo, server: Path) -> None:
    subprocess.run(
        ["git", "init", "-q", "--bare", "-b", "main", str(server)], check=True, env={**os.environ, **repo.env}
    )
    repo.git("remote", "add", "origin", str(server))


@pytest.fixture
def clone(tmp_path: Path) -> tuple[Repo, Path]:
    home = tmp_path / "home"
    home.mkdir()
    repo = make_repo(tmp_path / "clone", {**git_env(home), "NO_COLOR": "1"})
    server = tmp_path / "server.git"
    with_server(repo, server)
    repo.write("README.md", "hello\n")
    repo.commit("first")
    assert push(repo, "main").returncode == 0
    return repo, server


def test_install_hook_pre_push_stops_a_push_holding_a_key(clone: tuple[Repo, Path]) -> None:
    repo, server = clone
    installed = run_cli("install-hook", "--hook", "pre-push", cwd=repo.path, env=repo.env)
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout.strip().endswith(os.path.join(".git", "hooks", "pre-push"))
    before = remote_ref(server, "main", repo.env)
    key = fake_key("pre-push")
    repo.write("deploy.env", f"MANIAC_API_KEY={key}\n")
    repo.commit("deploy settings")  # committed with --no-verify: only the push hook can stop it
    repo.write("more.txt", "later\n")
    repo.commit("later")
    proc = push(repo, "main")
    shown = proc.stdout + proc.stderr
    assert proc.returncode != 0, shown
    assert remote_ref(server, "main", repo.env) == before
    assert "deploy.env" in shown and "push stopped" in shown and f"{key[:7]}…{key[-2:]}" in shown
    assert key not in shown and key[3:] not in shown


def test_a_clean_push_and_a_deletion_pass(clone: tuple[Repo, Path]) -> None:
    repo, server = clone
    assert run_cli("install-hook", "--hook", "pre-push", cwd=repo.path, env=repo.env).returncode == 0
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("src/app.py", "import os\nKEY = os.environ['MANIAC_API_KEY']\n")
    new = repo.commit("clean")
    proc = push(repo, "topic")
    assert proc.returncode == 0, proc.stderr
    assert remote_ref(server, "refs/heads/topic", repo.env) == new
    proc = push(repo, "--delete", "topic")
    assert proc.returncode == 0, proc.stderr
    assert remote_ref(server, "refs/heads/topic", repo.env) is None


def test_commits_the_remote_already_holds_are_not_scanned_again(clone: tuple[Repo, Path]) -> None:
    repo, server = clone
    repo.write("old.env", f"MANIAC_API_KEY={fake_key('pre-push-old')}\n")
    repo.commit("an old leak, pushed before the hook")
    assert push(repo, "main").returncode == 0
    assert run_cli("install-hook", "--hook", "pre-push", cwd=repo.path, env=repo.env).returncode == 0
    repo.write("notes.txt", "clean\n")
    new = repo.commit("clean")
    proc = push(repo, "main")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert remote_ref(server, "main", repo.env) == new


def test_pre_push_lines_on_stdin_and_a_terminal_without_them(clone: tuple[Repo, Path]) -> None:
    repo, _ = clone
    repo.write("x.env", f"MANIAC_API_KEY={fake_key('pre-push-stdin')}\n")
    local = repo.commit("leak")
    remote = repo.git("rev-parse", "origin/main")
    line = f"refs/heads/main {local} refs/heads/main {remote}\n"
    proc = run_cli("pre-push", "origin", "unused-url", input=line, cwd=repo.path, env=repo.env)
    assert proc.returncode == 1 and "x.env" in proc.stdout
    zero = "0" * 40
    deletion = run_cli(
        "pre-push", "origin", "u", input=f"(delete) {zero} refs/heads/old {remote}\n", cwd=repo.path, env=repo.env
    )
    assert deletion.returncode == 0 and deletion.stdout == ""
    garbled = run_cli("pre-push", "origin", "u", input="nonsense\n", cwd=repo.path, env=repo.env)
    assert garbled.returncode == 2 and "stdin line 1" in garbled.stderr


def test_the_pre_commit_hook_file_offers_a_pre_push_hook() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    hook = hooks["maniac-guard-pre-push"]
    assert hook["stages"] == ["pre-push"] and hook["entry"] == "maniac-guard pre-push"
    assert hook["pass_filenames"] is False and hook["always_run"] is True
    assert subprocess.run([console_script(), "pre-push", "--help"], capture_output=True).returncode == 0


def test_the_pre_commit_framework_runs_it_on_push(hook_repo: HookRepo) -> None:
    repo = hook_repo.sample()
    config = {"repos": [{"repo": "../snapshot", "rev": hook_repo.rev, "hooks": [{"id": "maniac-guard-pre-push"}]}]}
    repo.write(".pre-commit-config.yaml", yaml.safe_dump(config))
    repo.commit("config")
    server = repo.path.parent / f"{repo.path.name}-server.git"
    with_server(repo, server)
    assert push(repo, "main").returncode == 0  # before the hook: the root commit
    installed = pre_commit(repo, "install", "--hook-type", "pre-push")
    assert installed.returncode == 0, installed.stderr
    before = remote_ref(server, "main", repo.env)
    key = fake_key("pre-commit-pre-push")
    repo.write("app.env", f"MANIAC_API_KEY={key}\n")
    repo.commit("leak")
    blocked = push(repo, "main")
    shown = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, shown
    assert "app.env" in shown and "Failed" in shown and key not in shown
    assert remote_ref(server, "main", repo.env) == before
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.write("ok.txt", "fine\n")
    new = repo.commit("clean")
    passed = push(repo, "main")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert remote_ref(server, "main", repo.env) == new


def test_pre_commits_range_variables_are_used_and_a_missing_range_is_an_error(clone: tuple[Repo, Path]) -> None:
    repo, _ = clone
    remote = repo.git("rev-parse", "origin/main")
    repo.write("y.env", f"MANIAC_API_KEY={fake_key('pre-push-env')}\n")
    local = repo.commit("leak")
    framework = {**repo.env, "PRE_COMMIT": "1"}
    ranged = run_cli(
        "pre-push",
        env={**framework, "PRE_COMMIT_FROM_REF": remote, "PRE_COMMIT_TO_REF": local},
        cwd=repo.path,
        input="",
    )
    assert ranged.returncode == 1 and "y.env" in ranged.stdout
    missing = run_cli("pre-push", env=framework, cwd=repo.path, input="")
    assert missing.returncode == 2 and "pre-commit named no range" in missing.stderr
