"""`maniac-guard ci` scans every commit a CI event names, also from a shallow
clone: a local bare repository stands in for `origin`, the job's checkout is
a `git clone --depth 1 file://...` of it (as `actions/checkout` and GitLab's
`GIT_DEPTH` make one), so what `ci` fetches is really fetched.

History of `origin` (keys in files named after them):
    main:    c1 (old.txt, a key) - c1b (dropped.txt, a key) - c1c (deletes it) - c2 - m1 (main2.txt, a key)
    feature:                                                                    c2 - f1 (gone.txt, a key)
                                                                                   - f2 (deletes it) - f3
A key added and removed (c1b/c1c, f1/f2) is only seen when every commit that
holds it is scanned: a shallow clone's one commit shows just its tree.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gitrepo import Repo, git_env, make_repo
from tests.helpers import fake_key, run_in_process

ZERO = "0" * 40
# CI variables these tests set, blanked so a CI machine's own never leak in.
CI_ENV_BLANK = {
    name: ""
    for name in (
        "GITHUB_ACTIONS",
        "GITHUB_EVENT_NAME",
        "GITHUB_EVENT_PATH",
        "GITHUB_BASE_REF",
        "GITHUB_SHA",
        "GITHUB_REF",
        "GITHUB_REF_NAME",
        "GITLAB_CI",
        "CI_PIPELINE_SOURCE",
        "CI_COMMIT_SHA",
        "CI_COMMIT_BEFORE_SHA",
        "CI_COMMIT_BRANCH",
        "CI_COMMIT_REF_NAME",
        "CI_DEFAULT_BRANCH",
        "CI_MERGE_REQUEST_IID",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
        "CI_MERGE_REQUEST_SOURCE_PROJECT_URL",
        "CI_MERGE_REQUEST_PROJECT_URL",
        "CI_PROJECT_URL",
    )
}


@dataclass
class Origin:
    tmp: Path
    env: dict[str, str]
    bare: Path
    c2: str  # where feature left main
    m1: str  # main's tip
    f1: str  # adds gone.txt with a key
    f3: str  # feature's tip

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def clone(self, ref: str = "main", depth: int | None = 1, name: str = "job") -> Repo:
        """The job's checkout: a (shallow) clone of `ref`, as CI makes it."""
        path = self.tmp / name
        repo = Repo(self.tmp, self.env)
        repo.git("init", "-q", "-b", "main", str(path))
        job = Repo(path, self.env)
        job.git("remote", "add", "origin", self.url)
        shallow = [f"--depth={depth}"] if depth else []
        job.git("fetch", "-q", "--no-tags", *shallow, "origin", f"+{ref}:refs/remotes/origin/{ref.rsplit('/', 1)[-1]}")
        job.git("checkout", "-q", "--detach", "FETCH_HEAD")
        return job

    def ci(self, job: Repo, env: dict[str, str], event: dict[str, object] | None = None) -> tuple[int, set[str], str]:
        extra = {**CI_ENV_BLANK, **env}
        if event is not None:
            path = self.tmp / "event.json"
            path.write_text(json.dumps(event))
            extra["GITHUB_EVENT_PATH"] = str(path)
        proc = run_in_process("ci", "--format", "json", cwd=job.path, env={**job.env, **extra})
        if proc.returncode not in (0, 1):
            return proc.returncode, set(), proc.stderr
        report = json.loads(proc.stdout)
        # A scanned range is whole (fetched or deepened as needed): no warning
        # that the shallow clone may miss commits.
        assert "commits beyond its depth are not scanned" not in proc.stderr, proc.stderr
        return proc.returncode, {f["path"] for f in report["findings"]}, proc.stderr


def _build_origin(tmp_path: Path) -> Origin:
    home = tmp_path / "home"
    home.mkdir()
    env = git_env(home)
    work = make_repo(tmp_path / "work", env)
    work.write("old.txt", f"{fake_key('old')}\n")
    work.commit("c1: old key, already on main")
    work.write("dropped.txt", f"{fake_key('dropped')}\n")
    work.commit("c1b: a key on main")
    work.git("rm", "-q", "dropped.txt")
    work.commit("c1c: removed again")
    work.write("readme.md", "hello\n")
    c2 = work.commit("c2")
    work.git("checkout", "-q", "-b", "feature")
    work.write("gone.txt", f"{fake_key('gone')}\n")
    f1 = work.commit("f1: a key")
    work.git("rm", "-q", "gone.txt")
    work.commit("f2: the key removed again")
    work.write("clean.txt", "nothing here\n")
    f3 = work.commit("f3")
    work.git("checkout", "-q", "main")
    work.write("main2.txt", f"{fake_key('main2')}\n")
    m1 = work.commit("m1: main moves on")
    bare = tmp_path / "origin.git"
    work.git("clone", "-q", "--bare", str(work.path), str(bare))
    return Origin(tmp_path, env, bare, c2, m1, f1, f3)


@pytest.fixture(scope="module")
def origin_template(tmp_path_factory: pytest.TempPathFactory) -> Origin:
    """The history above, made once per module (some 25 git commands)."""
    return _build_origin(tmp_path_factory.mktemp("origin"))


@pytest.fixture
def origin(origin_template: Origin, tmp_path: Path) -> Origin:
    """A copy of the template for each test (tests push to, prune and delete
    branches of `origin`): the same commits, in a folder of the test's own."""
    shutil.copytree(origin_template.tmp, tmp_path, dirs_exist_ok=True, symlinks=True)
    env = git_env(tmp_path / "home")
    return Origin(
        tmp_path, env, tmp_path / "origin.git", *(getattr(origin_template, n) for n in ("c2", "m1", "f1", "f3"))
    )


def github(event_name: str, **more: str) -> dict[str, str]:
    return {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event_name, **more}


def gitlab(**more: str) -> dict[str, str]:
    return {"GITLAB_CI": "true", **more}


# --- GitHub Actions ---------------------------------------------------------


def test_push_in_a_shallow_clone_fetches_before_and_scans_every_pushed_commit(origin: Origin) -> None:
    job = origin.clone("feature")
    event = {"before": origin.c2, "after": origin.f3, "ref": "refs/heads/feature"}
    code, paths, err = origin.ci(job, github("push", GITHUB_SHA=origin.f3, GITHUB_REF_NAME="feature"), event)
    assert (code, paths) == (1, {"gone.txt"}), err
    assert f"{origin.c2[:12]}..{origin.f3[:12]}" in err and "fetching" in err


def test_push_of_a_new_branch_in_a_shallow_clone_scans_what_main_lacks(origin: Origin) -> None:
    # Was: the depth-1 clone's one commit (its tree): the key added and removed unseen.
    job = origin.clone("feature")
    event = {"before": ZERO, "after": origin.f3, "ref": "refs/heads/feature", "repository": {"default_branch": "main"}}
    code, paths, err = origin.ci(job, github("push", GITHUB_SHA=origin.f3, GITHUB_REF_NAME="feature"), event)
    assert (code, paths) == (1, {"gone.txt"}), err
    assert "new branch" in err and "not on origin/main" in err


def test_two_new_branches_pushed_together_do_not_hide_each_others_commits(origin: Origin) -> None:
    # "Not on any other branch" would exclude feature2, which holds all of feature.
    work = Repo(origin.tmp / "work", origin.env)
    work.git("push", "-q", str(origin.bare), f"{origin.f3}:refs/heads/feature2")
    job = origin.clone("feature")
    event = {"before": ZERO, "after": origin.f3, "ref": "refs/heads/feature", "repository": {"default_branch": "main"}}
    code, paths, err = origin.ci(job, github("push", GITHUB_SHA=origin.f3, GITHUB_REF_NAME="feature"), event)
    assert (code, paths) == (1, {"gone.txt"}), err


def test_push_of_a_new_branch_made_at_another_branch_tip_scans_nothing(origin: Origin) -> None:
    job = origin.clone("main")
    event = {"before": ZERO, "after": origin.m1, "ref": "refs/heads/copy"}
    code, paths, err = origin.ci(job, github("push", GITHUB_SHA=origin.m1, GITHUB_REF_NAME="copy"), event)
    assert (code, paths) == (0, set()), err
    assert "no commits to scan" in err


def test_push_that_deletes_a_branch_scans_nothing_and_says_so(origin: Origin) -> None:
    job = origin.clone("main")
    event = {"before": origin.f3, "after": ZERO, "deleted": True}
    code, paths, err = origin.ci(job, github("push", GITHUB_REF_NAME="feature"), event)
    assert (code, paths) == (0, set()) and "deleted the branch" in err


def test_forced_push_whose_old_tip_is_gone_scans_what_main_lacks(origin: Origin) -> None:
    job = origin.clone("feature")
    event = {"before": "ab" * 20, "after": origin.f3, "forced": True, "ref": "refs/heads/feature"}
    code, paths, err = origin.ci(job, github("push", GITHUB_SHA=origin.f3, GITHUB_REF_NAME="feature"), event)
    assert (code, paths) == (1, {"gone.txt"}), err
    assert "forced" in err and "not on origin/main" in err


def test_pull_request_fetches_head_and_base_beside_the_merge_commit(origin: Origin) -> None:
    # actions/checkout checks out refs/pull/N/merge at depth 1: neither parent is in the clone.
    work = Repo(origin.tmp / "work", origin.env)
    work.git("checkout", "-q", "--detach", origin.m1)
    work.git("merge", "-q", "--no-edit", origin.f3)
    work.git("push", "-q", str(origin.bare), "HEAD:refs/pull/7/merge", f"{origin.f3}:refs/pull/7/head")
    job = origin.clone("refs/pull/7/merge")
    event = {
        "number": 7,
        "pull_request": {"number": 7, "base": {"sha": origin.m1, "ref": "main"}, "head": {"sha": origin.f3}},
    }
    code, paths, err = origin.ci(job, github("pull_request", GITHUB_BASE_REF="main"), event)
    assert (code, paths) == (1, {"gone.txt"}), err


def test_pull_request_without_an_event_file_fetches_the_base_branch(origin: Origin) -> None:
    job = origin.clone("feature")
    code, paths, err = origin.ci(job, github("pull_request", GITHUB_BASE_REF="main"))
    assert (code, paths) == (1, {"gone.txt"}), err
    assert f"{origin.c2[:12]}..{origin.f3[:12]} (merge base with origin/main)" in err


def test_pull_request_target_fetches_the_head_from_refs_pull(origin: Origin) -> None:
    # Was: the head (from a fork: only under refs/pull/7/head) was not in the base
    # branch's clone, ci fell back to HEAD, scanned base..base and exited 0.
    work = Repo(origin.tmp / "work", origin.env)
    work.git("push", "-q", str(origin.bare), f"{origin.f3}:refs/pull/7/head", ":refs/heads/feature")
    job = origin.clone("main")
    event = {
        "number": 7,
        "pull_request": {"number": 7, "base": {"sha": origin.m1, "ref": "main"}, "head": {"sha": origin.f3}},
    }
    code, paths, err = origin.ci(
        job, github("pull_request_target", GITHUB_BASE_REF="main", GITHUB_SHA=origin.m1), event
    )
    assert (code, paths) == (1, {"gone.txt"}), err
    assert f"{origin.m1[:12]}..{origin.f3[:12]}" in err


@pytest.mark.parametrize("depth", [1, None], ids=["shallow", "full"])
def test_merge_group_scans_base_sha_to_head_sha(origin: Origin, depth: int | None) -> None:
    # Was: HEAD~1..HEAD, so a key in an earlier commit of the group passed.
    work = Repo(origin.tmp / "work", origin.env)
    work.git("checkout", "-q", "-b", "queue", origin.m1)
    work.write("queued.txt", f"{fake_key('queued')}\n")
    work.commit("q1: a key")
    work.write("queued.txt", "gone again\n")
    q2 = work.commit("q2: removed")
    queue_ref = "refs/heads/gh-readonly-queue/main/pr-7-abc"
    work.git("push", "-q", str(origin.bare), f"queue:{queue_ref}")
    job = origin.clone(queue_ref, depth)
    event = {
        "merge_group": {"base_sha": origin.m1, "head_sha": q2, "base_ref": "refs/heads/main", "head_ref": queue_ref}
    }
    code, paths, err = origin.ci(job, github("merge_group", GITHUB_SHA=q2), event)
    assert (code, paths) == (1, {"queued.txt"}), err
    assert f"{origin.m1[:12]}..{q2[:12]}" in err and "merge group" in err


@pytest.mark.parametrize("event_name", ["schedule", "workflow_dispatch"])
def test_schedule_and_dispatch_scan_the_whole_history_and_say_so(origin: Origin, event_name: str) -> None:
    # Was: HEAD~1..HEAD, in a depth-1 clone the tree of its one commit: dropped.txt unseen.
    job = origin.clone("main")
    code, paths, err = origin.ci(job, github(event_name, GITHUB_SHA=origin.m1), {})
    assert (code, paths) == (1, {"old.txt", "dropped.txt", "main2.txt"}), err
    assert "whole history" in err and event_name in err


@pytest.mark.parametrize("case", ["commit-unknown-to-origin", "origin-unreachable"])
def test_a_commit_that_cannot_be_fetched_fails_with_the_fetch_depth_hint(origin: Origin, case: str) -> None:
    job = origin.clone("feature")
    before = "ab" * 20 if case == "commit-unknown-to-origin" else origin.c2
    if case == "origin-unreachable":
        job.git("remote", "set-url", "origin", (origin.tmp / "gone.git").as_uri())
    event = {"before": before, "after": origin.f3}
    code, _, err = origin.ci(job, github("push", GITHUB_SHA=origin.f3), event)
    assert code == 2
    assert "maniac-guard: error:" in err and "fetch-depth: 0" in err


# --- GitLab CI --------------------------------------------------------------


def test_gitlab_push_in_a_shallow_clone_scans_before_to_sha(origin: Origin) -> None:
    job = origin.clone("feature")
    env = gitlab(
        CI_PIPELINE_SOURCE="push",
        CI_COMMIT_SHA=origin.f3,
        CI_COMMIT_BEFORE_SHA=origin.c2,
        CI_COMMIT_BRANCH="feature",
        CI_COMMIT_REF_NAME="feature",
    )
    code, paths, err = origin.ci(job, env)
    assert (code, paths) == (1, {"gone.txt"}), err


def test_gitlab_push_of_a_new_branch_in_a_shallow_clone(origin: Origin) -> None:
    # Was: origin/main is not in GitLab's single-branch clone: its one commit, gone.txt unseen.
    job = origin.clone("feature")
    env = gitlab(
        CI_PIPELINE_SOURCE="push",
        CI_COMMIT_SHA=origin.f3,
        CI_COMMIT_BEFORE_SHA=ZERO,
        CI_COMMIT_BRANCH="feature",
        CI_COMMIT_REF_NAME="feature",
        CI_DEFAULT_BRANCH="main",
    )
    code, paths, err = origin.ci(job, env)
    assert (code, paths) == (1, {"gone.txt"}), err
    assert "new branch" in err


def test_gitlab_merge_request_fetches_its_head_and_diff_base(origin: Origin) -> None:
    work = Repo(origin.tmp / "work", origin.env)
    work.git("push", "-q", str(origin.bare), f"{origin.f3}:refs/merge-requests/7/head", ":refs/heads/feature")
    job = origin.clone("main")
    env = gitlab(
        CI_PIPELINE_SOURCE="merge_request_event",
        CI_MERGE_REQUEST_IID="7",
        CI_COMMIT_SHA=origin.f3,
        CI_MERGE_REQUEST_DIFF_BASE_SHA=origin.c2,
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main",
    )
    code, paths, err = origin.ci(job, env)
    assert (code, paths) == (1, {"gone.txt"}), err
    assert f"{origin.c2[:12]}..{origin.f3[:12]}" in err


def test_gitlab_merge_request_without_a_diff_base_fetches_the_target_branch(origin: Origin) -> None:
    job = origin.clone("feature")
    env = gitlab(CI_MERGE_REQUEST_IID="7", CI_COMMIT_SHA=origin.f3, CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main")
    code, paths, err = origin.ci(job, env)
    assert (code, paths) == (1, {"gone.txt"}), err
    assert "merge base with origin/main" in err


def test_gitlab_merge_request_from_a_fork_fetches_the_head_from_the_source_project(origin: Origin) -> None:
    work = Repo(origin.tmp / "work", origin.env)
    fork = origin.tmp / "fork.git"
    work.git("clone", "-q", "--bare", str(origin.bare), str(fork))
    work.git("push", "-q", str(origin.bare), ":refs/heads/feature")  # only the fork has it
    Repo(origin.bare, origin.env).git("gc", "-q", "--prune=now")
    job = origin.clone("main")
    env = gitlab(
        CI_PIPELINE_SOURCE="merge_request_event",
        CI_MERGE_REQUEST_IID="7",
        CI_COMMIT_SHA=origin.f3,
        CI_MERGE_REQUEST_DIFF_BASE_SHA=origin.c2,
        CI_PROJECT_URL=origin.url,
        CI_MERGE_REQUEST_PROJECT_URL=origin.url,
        CI_MERGE_REQUEST_SOURCE_PROJECT_URL=fork.as_uri(),
    )
    code, paths, err = origin.ci(job, env)
    assert (code, paths) == (1, {"gone.txt"}), err
    assert f"from {fork.as_uri()}" in err


def test_gitlab_merge_request_that_cannot_be_fetched_gives_the_git_depth_hint(origin: Origin) -> None:
    job = origin.clone("main")
    env = gitlab(
        CI_PIPELINE_SOURCE="merge_request_event",
        CI_MERGE_REQUEST_IID="7",
        CI_COMMIT_SHA="cd" * 20,
        CI_MERGE_REQUEST_DIFF_BASE_SHA=origin.c2,
    )
    code, _, err = origin.ci(job, env)
    assert code == 2 and "GIT_DEPTH: 0" in err


def test_gitlab_schedule_scans_the_whole_history(origin: Origin) -> None:
    job = origin.clone("main")
    env = gitlab(CI_PIPELINE_SOURCE="schedule", CI_COMMIT_SHA=origin.m1, CI_COMMIT_BEFORE_SHA=ZERO)
    code, paths, err = origin.ci(job, env)
    assert (code, paths) == (1, {"old.txt", "dropped.txt", "main2.txt"}), err
    assert "whole history" in err


# --- no CI ------------------------------------------------------------------


def test_outside_ci_a_shallow_head_is_an_error_not_a_whole_history_of_one(origin: Origin) -> None:
    job = origin.clone("feature")
    code, _, err = origin.ci(job, {})
    assert code == 2 and "shallow" in err
