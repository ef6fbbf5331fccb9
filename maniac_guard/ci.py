"""`maniac-guard ci`: work out from the CI environment which commits a change
adds, and scan only the lines they add.

- GitHub Actions `pull_request` / `pull_request_target`: the event's
  `pull_request.base.sha` .. `pull_request.head.sha` (else `GITHUB_BASE_REF`
  on `origin`, else HEAD).
- GitHub Actions `push`: the event's `before..after`; a new branch (`before`
  all zeros) is compared with the default branch on `origin`.
- GitLab merge-request pipelines: `CI_MERGE_REQUEST_DIFF_BASE_SHA..HEAD`,
  else the merge base with `CI_MERGE_REQUEST_TARGET_BRANCH_NAME`.
- GitLab push pipelines: `CI_COMMIT_BEFORE_SHA..CI_COMMIT_SHA`; all zeros
  (a new branch) is compared with `CI_DEFAULT_BRANCH` on `origin`.
- Anywhere else: `HEAD~1..HEAD`, or the whole history of HEAD when it has no
  parent. Every choice is said on stderr.

A commit the environment names but the clone lacks (a shallow checkout) is
an error, not a silent smaller scan: exit 2 with what to change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from maniac_guard.history import HistorySpec, resolve_commit
from maniac_guard.sources.git import GitError, run_git

ZERO_SHA = re.compile(r"^0+$")
GITHUB_DEPTH_HINT = "check out with `actions/checkout` and `fetch-depth: 0`"
GITLAB_DEPTH_HINT = "set the variable `GIT_DEPTH: 0` (or fetch the target branch) in the job"


class CiError(GitError):
    """The range cannot be resolved: exit 2."""


@dataclass(frozen=True)
class CiRange:
    spec: HistorySpec
    provider: str  # e.g. "GitHub Actions pull_request"
    note: str  # one line for stderr: what is scanned and why


def _commit(root: str, ref: str | None) -> str | None:
    if not ref or ZERO_SHA.match(ref):
        return None
    try:
        return resolve_commit(root, ref)
    except GitError:
        return None


def _need(root: str, ref: str, what: str, hint: str) -> str:
    found = _commit(root, ref)
    if found is None:
        raise CiError(f"{what} {ref[:40]} is not in this clone; {hint}")
    return found


def _range(base: str, head: str, provider: str, why: str) -> CiRange:
    spec = HistorySpec((f"{base}..{head}",), f"{base[:12]}..{head[:12]}")
    return CiRange(spec, provider, f"{provider}: scanning {base[:12]}..{head[:12]} ({why})")


def _whole(head: str, provider: str, why: str) -> CiRange:
    spec = HistorySpec((head,), f"all history of {head[:12]}")
    return CiRange(spec, provider, f"{provider}: scanning the whole history of {head[:12]} ({why})")


def _branch_start(root: str, head: str, default: str | None, branch: str | None, provider: str) -> CiRange:
    """A new branch: what it adds over the default branch, else all of it."""
    if default and branch != default:
        for ref in (f"origin/{default}", f"refs/remotes/origin/{default}", default):
            base = _commit(root, ref)
            if base is not None:
                return _range(base, head, provider, f"new branch, compared with {ref}")
    return _whole(head, provider, "new branch with no default branch to compare with")


def fallback(root: str, provider: str = "no CI detected") -> CiRange:
    head = _commit(root, "HEAD")
    if head is None:
        raise CiError("HEAD has no commit: nothing to scan")
    parent = _commit(root, "HEAD~1")
    if parent is None:
        return _whole(head, provider, "HEAD has no parent")
    return _range(parent, head, provider, "the last commit, HEAD~1..HEAD")


def _event(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise CiError(f"GITHUB_EVENT_PATH {path}: cannot read the event: {exc}") from None
    return data if isinstance(data, dict) else {}


def _get(data: Any, *keys: str) -> str | None:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data if isinstance(data, str) and data else None


def github(env: Mapping[str, str], root: str) -> CiRange:
    name = env.get("GITHUB_EVENT_NAME", "")
    provider = f"GitHub Actions {name or 'event'}"
    event = _event(env)
    if name in ("pull_request", "pull_request_target"):
        head = _commit(root, _get(event, "pull_request", "head", "sha")) or _need(root, "HEAD", "HEAD", GITHUB_DEPTH_HINT)
        base_sha = _get(event, "pull_request", "base", "sha")
        if base_sha:
            return _range(_need(root, base_sha, "the pull request's base commit", GITHUB_DEPTH_HINT), head, provider, "the pull request's commits")
        base_ref = env.get("GITHUB_BASE_REF")
        if not base_ref:
            raise CiError(f"{provider}: neither the event's pull_request.base.sha nor GITHUB_BASE_REF is set")
        base = _need(root, f"origin/{base_ref}", "the base branch", GITHUB_DEPTH_HINT)
        merge_base = run_git(["merge-base", base, head], root).decode().strip()
        return _range(merge_base, head, provider, f"merge base with origin/{base_ref}")
    if name == "push":
        head = _commit(root, _get(event, "after") or env.get("GITHUB_SHA")) or _need(root, "HEAD", "HEAD", GITHUB_DEPTH_HINT)
        before = _get(event, "before")
        if before and not ZERO_SHA.match(before):
            previous = _commit(root, before)
            if previous is not None:
                return _range(previous, head, provider, "the pushed commits, before..after")
            if not event.get("forced"):
                raise CiError(f"the push's previous commit {before[:40]} is not in this clone; {GITHUB_DEPTH_HINT}")
        default = _get(event, "repository", "default_branch")
        return _branch_start(root, head, default, env.get("GITHUB_REF_NAME"), provider)
    return fallback(root, f"{provider} (no commit range in this event)")


def gitlab(env: Mapping[str, str], root: str) -> CiRange:
    head = _commit(root, env.get("CI_COMMIT_SHA")) or _need(root, "HEAD", "HEAD", GITLAB_DEPTH_HINT)
    if env.get("CI_MERGE_REQUEST_IID") or env.get("CI_PIPELINE_SOURCE") == "merge_request_event":
        provider = "GitLab merge request pipeline"
        base_sha = env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA")
        if base_sha:
            return _range(_need(root, base_sha, "the merge request's diff base", GITLAB_DEPTH_HINT), head, provider, "the merge request's commits")
        target = env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
        if not target:
            raise CiError(f"{provider}: neither CI_MERGE_REQUEST_DIFF_BASE_SHA nor CI_MERGE_REQUEST_TARGET_BRANCH_NAME is set")
        base = _commit(root, f"origin/{target}") or _need(root, target, "the target branch", GITLAB_DEPTH_HINT)
        merge_base = run_git(["merge-base", base, head], root).decode().strip()
        return _range(merge_base, head, provider, f"merge base with {target}")
    provider = f"GitLab {env.get('CI_PIPELINE_SOURCE') or 'push'} pipeline"
    before = env.get("CI_COMMIT_BEFORE_SHA")
    if before and not ZERO_SHA.match(before):
        base = _need(root, before, "the push's previous commit (CI_COMMIT_BEFORE_SHA)", GITLAB_DEPTH_HINT)
        return _range(base, head, provider, "the pushed commits, CI_COMMIT_BEFORE_SHA..CI_COMMIT_SHA")
    branch = env.get("CI_COMMIT_BRANCH") or env.get("CI_COMMIT_REF_NAME")
    if env.get("CI_PIPELINE_SOURCE", "push") == "push":
        return _branch_start(root, head, env.get("CI_DEFAULT_BRANCH"), branch, provider)
    return fallback(root, f"{provider} (no commit range in this pipeline)")


def detect_range(env: Mapping[str, str], root: str) -> CiRange:
    if env.get("GITHUB_ACTIONS") == "true":
        return github(env, root)
    if env.get("GITLAB_CI") == "true":
        return gitlab(env, root)
    return fallback(root)
