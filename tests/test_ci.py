"""`maniac-guard ci` picks the range a CI change adds, from GitHub's and
GitLab's environment, in a repository with a base branch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gitrepo import Repo, git_env, make_repo
from tests.helpers import fake_key, run_cli, run_in_process

ZERO = "0" * 40


@dataclass
class Branches:
    repo: Repo
    base: str  # where `feature` left main
    main: str  # main's tip, one commit later (with its own key)
    feature: str  # the change under test: adds new.txt with a key


@pytest.fixture
def branches(tmp_path: Path) -> Branches:
    home = tmp_path / "home"
    home.mkdir()
    repo = make_repo(tmp_path / "repo", git_env(home))
    repo.write("old.txt", f"{fake_key('old')}\n")
    repo.commit("old key, already on main")
    repo.write("readme.md", "hello\n")
    base = repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("new.txt", f"clean line\n{fake_key('new')}\n")
    feature = repo.commit("the change")
    repo.git("checkout", "-q", "main")
    repo.write("main2.txt", f"{fake_key('main2')}\n")
    main = repo.commit("main moves on")
    repo.git("update-ref", "refs/remotes/origin/main", main)
    repo.git("checkout", "-q", "feature")
    return Branches(repo, base, main, feature)


def run_ci(
    b: Branches, tmp_path: Path, env: dict[str, str], event: dict | None = None, *args: str
) -> tuple[int, set[str], str]:
    extra = dict(env)
    if event is not None:
        path = tmp_path / "event.json"
        path.write_text(json.dumps(event))
        extra["GITHUB_EVENT_PATH"] = str(path)
    proc = run_in_process("ci", "--format", "json", *args, cwd=b.repo.path, env={**b.repo.env, **extra})
    if proc.returncode == 2:
        return 2, set(), proc.stderr
    report = json.loads(proc.stdout)
    return proc.returncode, {f["path"] for f in report["findings"]}, proc.stderr


def test_github_pull_request_scans_base_sha_to_head_sha(branches: Branches, tmp_path: Path) -> None:
    event = {"pull_request": {"base": {"sha": branches.main}, "head": {"sha": branches.feature}}}
    code, paths, err = run_ci(
        branches, tmp_path, {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request"}, event
    )
    assert (code, paths) == (1, {"new.txt"})
    assert f"{branches.main[:12]}..{branches.feature[:12]}" in err and "pull_request" in err


def test_github_pull_request_without_event_uses_base_ref_merge_base(branches: Branches, tmp_path: Path) -> None:
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_BASE_REF": "main"}
    code, paths, err = run_ci(branches, tmp_path, env)
    assert (code, paths) == (1, {"new.txt"})
    assert f"{branches.base[:12]}..{branches.feature[:12]}" in err


def test_github_push_scans_before_to_after(branches: Branches, tmp_path: Path) -> None:
    event = {"before": branches.base, "after": branches.feature}
    code, paths, err = run_ci(branches, tmp_path, {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push"}, event)
    assert (code, paths) == (1, {"new.txt"})
    assert f"{branches.base[:12]}..{branches.feature[:12]}" in err


def test_github_push_of_a_new_branch_scans_what_the_default_branch_lacks(branches: Branches, tmp_path: Path) -> None:
    event = {"before": ZERO, "after": branches.feature, "repository": {"default_branch": "main"}}
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REF_NAME": "feature"}
    code, paths, err = run_ci(branches, tmp_path, env, event)
    assert (code, paths) == (1, {"new.txt"})
    assert "new branch" in err and "not on origin/main" in err


def test_github_push_of_a_new_branch_with_no_default_branch_scans_the_whole_history(
    branches: Branches, tmp_path: Path
) -> None:
    branches.repo.git("update-ref", "-d", "refs/remotes/origin/main")
    event = {"before": ZERO, "after": branches.feature}
    code, paths, err = run_ci(branches, tmp_path, {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push"}, event)
    assert (code, paths) == (1, {"old.txt", "new.txt"})
    assert "whole history" in err


def test_gitlab_merge_request_uses_the_diff_base_sha(branches: Branches, tmp_path: Path) -> None:
    env = {
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": "7",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": branches.base,
        "CI_COMMIT_SHA": branches.feature,
    }
    code, paths, err = run_ci(branches, tmp_path, env)
    assert (code, paths) == (1, {"new.txt"})
    assert "merge request" in err and f"{branches.base[:12]}..{branches.feature[:12]}" in err


def test_gitlab_merge_request_falls_back_to_the_target_branch(branches: Branches, tmp_path: Path) -> None:
    env = {"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "7", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"}
    code, paths, err = run_ci(branches, tmp_path, env)
    assert (code, paths) == (1, {"new.txt"})
    assert f"{branches.base[:12]}..{branches.feature[:12]}" in err


def test_gitlab_push_uses_before_sha_and_new_branches_the_default_branch(branches: Branches, tmp_path: Path) -> None:
    env = {
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "push",
        "CI_COMMIT_SHA": branches.feature,
        "CI_COMMIT_BEFORE_SHA": branches.base,
    }
    assert run_ci(branches, tmp_path, env)[:2] == (1, {"new.txt"})
    env.update(CI_COMMIT_BEFORE_SHA=ZERO, CI_DEFAULT_BRANCH="main", CI_COMMIT_BRANCH="feature")
    code, paths, err = run_ci(branches, tmp_path, env)
    assert (code, paths) == (1, {"new.txt"})
    assert "new branch" in err


@pytest.mark.parametrize(
    "env",
    [
        {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push"},
        {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BEFORE_SHA": "ab" * 20},
        {"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "1", "CI_MERGE_REQUEST_DIFF_BASE_SHA": "cd" * 20},
    ],
    ids=["github-push-before-missing", "gitlab-push-before-missing", "gitlab-mr-base-missing"],
)
def test_a_range_the_clone_lacks_fails_loudly(branches: Branches, tmp_path: Path, env: dict[str, str]) -> None:
    event = {"before": "ab" * 20, "after": branches.feature} if "GITHUB_ACTIONS" in env else None
    code, _, err = run_ci(branches, tmp_path, env, event)
    assert code == 2
    assert "is not in this clone" in err and ("fetch-depth" in err or "GIT_DEPTH" in err)


def test_outside_ci_scans_the_last_commit_and_says_so(branches: Branches, tmp_path: Path) -> None:
    code, paths, err = run_ci(branches, tmp_path, {})
    assert (code, paths) == (1, {"new.txt"})
    assert "no CI detected" in err and "HEAD~1..HEAD" in err


def test_outside_ci_on_a_root_commit_scans_its_whole_history(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    repo = make_repo(tmp_path / "one", git_env(home))
    repo.write("a.txt", f"{fake_key('root')}\n")
    repo.commit("only commit")
    proc = run_cli("ci", cwd=repo.path, env=repo.env)
    assert proc.returncode == 1
    assert "whole history" in proc.stderr


def test_ci_range_option_overrides_the_environment(branches: Branches, tmp_path: Path) -> None:
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push"}
    code, paths, err = run_ci(branches, tmp_path, env, None, "--range", f"{branches.base}..main")
    assert (code, paths) == (1, {"main2.txt"})
    assert "--range: scanning" in err


def test_ci_writes_sarif_for_the_action(branches: Branches, tmp_path: Path) -> None:
    out = tmp_path / "maniac-guard.sarif"
    proc = run_cli("ci", "--format", "sarif", "-o", str(out), cwd=branches.repo.path, env=branches.repo.env)
    assert proc.returncode == 1
    sarif = json.loads(out.read_text())
    [result] = sarif["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "new.txt"
    assert result["properties"]["commit"] == branches.feature
