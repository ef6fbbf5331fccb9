"""`maniac-guard ci`: work out from the CI environment which commits a change
adds, and scan only the lines they add. The table of events is in
docs/git-and-ci.md ("CI gate").

Never less than the event's commits: a commit the event names but the clone
lacks is fetched from `origin` (by id, else by the ref that holds it), and a
shallow clone is deepened until the range reaches its base. What cannot be
fetched is an error (exit 2) naming the setting to change, never a smaller
scan. Every choice is said on stderr.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from maniac_guard import records
from maniac_guard.ci_git import (
    REMOTE,
    CiError,
    default_branch,
    ensure_whole_range,
    fetch_commit,
    have_commit,
    shallow_commits,
)
from maniac_guard.history import HistorySpec
from maniac_guard.records import dataclass
from maniac_guard.sources.git import GitError, run_git
from maniac_guard.writer import read_user_file

__all__ = ["CiError", "CiRange", "detect_range"]

ZERO_SHA = re.compile(r"^0+$")
GITHUB_DEPTH_HINT = "check out with `actions/checkout` and `fetch-depth: 0`"
GITLAB_DEPTH_HINT = "set the variable `GIT_DEPTH: 0` in the job"
NO_CI_HINT = "fetch more history (`git fetch --unshallow`) or name the range with `--range A..B`"
Source = tuple[str, str]  # (remote name or URL, refspec)


@dataclass(frozen=True)
class CiRange:
    spec: HistorySpec
    provider: str  # e.g. "GitHub Actions pull_request"
    note: str  # one line for stderr: what is scanned and why
    # The trusted side: the commit the change is judged against, whose
    # configuration, ignore file and baseline apply (None: no base, e.g. a
    # scheduled scan of a whole history; then the checkout's own apply).
    base: str | None = None


def _sha(value: str | None) -> str | None:
    return value if value and not ZERO_SHA.match(value) else None


def _need(root: str, rev: str, what: str, hint: str, extra: Sequence[Source] = ()) -> str:
    """The commit `rev`, fetched from origin (or `extra` sources) when missing."""
    sources = [(REMOTE, rev), *extra] if re.fullmatch(r"[0-9a-f]{40,64}", rev) else list(extra)
    found = fetch_commit(root, rev, sources)
    if found is None:
        raise CiError(f"{what} {rev[:40]} is not in this clone and could not be fetched; {hint}")
    return found


def _branch(root: str, name: str, what: str, hint: str) -> str:
    """The tip of branch `name` on origin, fetched into refs/remotes/origin/ if missing."""
    local = f"refs/remotes/{REMOTE}/{name}"
    return _need(root, local, what, hint, [(REMOTE, f"+refs/heads/{name}:{local}")])


def _hint(provider: str) -> str:
    return GITLAB_DEPTH_HINT if provider.startswith("GitLab") else GITHUB_DEPTH_HINT


def _range(root: str, base: str, head: str, provider: str, why: str) -> CiRange:
    ensure_whole_range(root, [head], [base], _hint(provider))
    spec = HistorySpec((head, f"^{base}"), f"{base[:12]}..{head[:12]}")
    return CiRange(spec, provider, f"{provider}: scanning {base[:12]}..{head[:12]} ({why})", base)


def _branch_range(root: str, tip: str, head: str, provider: str, name: str) -> CiRange:
    """The commits of `head` not on branch `name` (tip `tip`), shown from their merge base."""
    ensure_whole_range(root, [head], [tip], _hint(provider))
    try:  # for the message only: the range is `head ^tip`, right also after criss-cross merges
        base = run_git(["merge-base", tip, head], root).decode().split()[0]
    except (GitError, IndexError):
        base = tip  # unrelated histories: `head ^tip` is all of head's
    spec = HistorySpec((head, f"^{tip}"), f"{base[:12]}..{head[:12]}")
    note = f"{provider}: scanning {base[:12]}..{head[:12]} (merge base with {REMOTE}/{name})"
    return CiRange(spec, provider, note, tip)


def _whole(root: str, head: str, provider: str, why: str) -> CiRange:
    ensure_whole_range(root, [head], [], _hint(provider))
    spec = HistorySpec((head,), f"all history of {head[:12]}")
    return CiRange(spec, provider, f"{provider}: scanning the whole history of {head[:12]} ({why})")


def _nothing(provider: str, why: str) -> CiRange:
    return CiRange(HistorySpec(("HEAD", "^HEAD"), why), provider, f"{provider}: nothing to scan ({why})")


def _new_branch(root: str, head: str, branch: str | None, default: str | None, provider: str) -> CiRange:
    """A new branch (or tag): its commits not on origin's default branch.

    Not "not on any other branch": two branches pushed together would each
    leave the other's commits to the other, and neither be scanned.
    """
    found = default_branch(root, default)
    if found is None or found[0] == branch:
        why = "the default branch itself" if found else "no default branch on origin to compare with"
        return _whole(root, head, provider, f"new branch, {why}")
    name, tip = found
    tip = _need(root, tip, f"the tip of {REMOTE}/{name}", _hint(provider), [(REMOTE, f"refs/heads/{name}")])
    ensure_whole_range(root, [head], [tip], _hint(provider))
    spec = HistorySpec((head, f"^{tip}"), f"{head[:12]} not on {REMOTE}/{name}")
    return CiRange(
        spec, provider, f"{provider}: scanning the commits of {head[:12]} not on {REMOTE}/{name} (new branch)", tip
    )


def fallback(root: str, provider: str = "no CI detected") -> CiRange:
    head = have_commit(root, "HEAD")
    if head is None:
        raise CiError("HEAD has no commit: nothing to scan")
    parent = have_commit(root, "HEAD~1")
    if parent is None:
        if head in shallow_commits(root):
            raise CiError(f"HEAD's parent is not in this shallow clone; {NO_CI_HINT}")
        spec = HistorySpec((head,), f"all history of {head[:12]}")
        return CiRange(spec, provider, f"{provider}: scanning the whole history of {head[:12]} (HEAD has no parent)")
    spec = HistorySpec((f"{parent}..{head}",), f"{parent[:12]}..{head[:12]}")
    return CiRange(
        spec, provider, f"{provider}: scanning {parent[:12]}..{head[:12]} (the last commit, HEAD~1..HEAD)", parent
    )


def _event(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(read_user_file(path))
    except OSError as exc:
        raise CiError(f"GITHUB_EVENT_PATH {path}: cannot read the event: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:
        raise CiError(f"GITHUB_EVENT_PATH {path}: cannot read the event: {exc}") from None
    return data if isinstance(data, dict) else {}


def _get(data: Any, *keys: str) -> str | None:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    if isinstance(data, int) and not isinstance(data, bool):
        return str(data)
    return data if isinstance(data, str) and data else None


def _github_pull_request(env: Mapping[str, str], root: str, event: dict[str, Any], provider: str) -> CiRange:
    hint = GITHUB_DEPTH_HINT
    number = _get(event, "pull_request", "number") or _get(event, "number")
    pull_head = [(REMOTE, f"refs/pull/{number}/head")] if number else []
    head_sha = _get(event, "pull_request", "head", "sha")
    if head_sha:
        head = _need(root, head_sha, "the pull request's head commit", hint, pull_head)
    elif provider.endswith("pull_request_target"):
        # HEAD is the base branch here: scanning it would scan none of the change.
        raise CiError(f"{provider}: the event names no pull_request.head.sha (GITHUB_EVENT_PATH)")
    else:
        head = _need(root, "HEAD", "HEAD", hint)
    base_ref = _get(event, "pull_request", "base", "ref") or env.get("GITHUB_BASE_REF")
    base_sha = _get(event, "pull_request", "base", "sha")
    if base_sha:
        extra = [(REMOTE, f"refs/heads/{base_ref}")] if base_ref else []
        base = _need(root, base_sha, "the pull request's base commit", hint, extra)
        return _range(root, base, head, provider, "the pull request's commits")
    if not base_ref:
        raise CiError(f"{provider}: neither the event's pull_request.base.sha nor GITHUB_BASE_REF is set")
    tip = _branch(root, base_ref, "the base branch", hint)
    return _branch_range(root, tip, head, provider, base_ref)


def github(env: Mapping[str, str], root: str) -> CiRange:
    name = env.get("GITHUB_EVENT_NAME", "")
    provider = f"GitHub Actions {name or 'event'}"
    hint = GITHUB_DEPTH_HINT
    event = _event(env)
    if name in ("pull_request", "pull_request_target"):
        return _github_pull_request(env, root, event, provider)
    if name == "merge_group":
        base_sha, head_sha = _get(event, "merge_group", "base_sha"), _get(event, "merge_group", "head_sha")
        if not (base_sha and head_sha):
            raise CiError(f"{provider}: the event names no merge_group.base_sha and head_sha (GITHUB_EVENT_PATH)")
        head_ref = _get(event, "merge_group", "head_ref")
        head = _need(root, head_sha, "the merge group's head commit", hint, [(REMOTE, head_ref)] if head_ref else [])
        base_ref = _get(event, "merge_group", "base_ref")
        base = _need(root, base_sha, "the merge group's base commit", hint, [(REMOTE, base_ref)] if base_ref else [])
        return _range(root, base, head, provider, "the merge group's commits, base_sha..head_sha")
    if name == "push":
        after = _get(event, "after") or env.get("GITHUB_SHA")
        if not after:
            raise CiError(f"{provider}: the event names no `after` commit and GITHUB_SHA is not set")
        if _sha(after) is None:
            return _nothing(provider, "the push deleted the branch")
        ref = env.get("GITHUB_REF") or _get(event, "ref")
        head = _need(root, after, "the pushed commit", hint, [(REMOTE, ref)] if ref else [])
        before = _sha(_get(event, "before"))
        if before:
            previous = fetch_commit(root, before, [(REMOTE, before)])
            if previous is not None:
                return _range(root, previous, head, provider, "the pushed commits, before..after")
            if not event.get("forced"):
                raise CiError(
                    f"the push's previous commit {before} is not in this clone and could not be fetched; {hint}"
                )
        branch = env.get("GITHUB_REF_NAME") or (ref or "").removeprefix("refs/heads/")
        default = _get(event, "repository", "default_branch")
        return _new_branch(root, head, branch, default, provider + (" (forced, old tip gone)" if before else ""))
    head = _need(root, env.get("GITHUB_SHA") or "HEAD", "the workflow's commit", hint)
    return _whole(root, head, provider, f"a {name or 'workflow'} event names no commit range")


def gitlab(env: Mapping[str, str], root: str) -> CiRange:
    hint = GITLAB_DEPTH_HINT
    iid = env.get("CI_MERGE_REQUEST_IID")
    mr_head = [(REMOTE, f"refs/merge-requests/{iid}/head")] if iid else []
    source_url = env.get("CI_MERGE_REQUEST_SOURCE_PROJECT_URL")
    target_url = env.get("CI_MERGE_REQUEST_PROJECT_URL")
    project_url = env.get("CI_PROJECT_URL")
    if iid or env.get("CI_PIPELINE_SOURCE") == "merge_request_event":
        provider = "GitLab merge request pipeline"
        # A merged-results pipeline runs on a merge commit; the change is the source branch.
        head_sha = _sha(env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA")) or _sha(env.get("CI_COMMIT_SHA"))
        fork = [(source_url, head_sha)] if source_url and head_sha and source_url != project_url else []
        head = _need(root, head_sha or "HEAD", "the merge request's head commit", hint, [*mr_head, *fork])
        target = env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
        base_sha = _sha(env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA"))
        if base_sha:
            # A pipeline that runs in the fork may lack the target project's commits.
            extra = [(REMOTE, f"refs/heads/{target}")] if target else []
            if target_url and target_url != project_url:
                extra.append((target_url, base_sha))
            base = _need(root, base_sha, "the merge request's diff base", hint, extra)
            return _range(root, base, head, provider, "the merge request's commits")
        if not target:
            raise CiError(
                f"{provider}: neither CI_MERGE_REQUEST_DIFF_BASE_SHA nor CI_MERGE_REQUEST_TARGET_BRANCH_NAME is set"
            )
        tip = _branch(root, target, "the target branch", hint)
        return _branch_range(root, tip, head, provider, target)
    source = env.get("CI_PIPELINE_SOURCE") or "push"
    provider = f"GitLab {source} pipeline"
    ref = env.get("CI_COMMIT_REF_NAME")
    head_sha = _sha(env.get("CI_COMMIT_SHA"))
    head = _need(root, head_sha or "HEAD", "the pipeline's commit", hint, [(REMOTE, ref)] if ref and head_sha else [])
    before = _sha(env.get("CI_COMMIT_BEFORE_SHA"))
    if before:
        base = _need(root, before, "the push's previous commit (CI_COMMIT_BEFORE_SHA)", hint)
        return _range(root, base, head, provider, "the pushed commits, CI_COMMIT_BEFORE_SHA..CI_COMMIT_SHA")
    if source == "push":
        return _new_branch(root, head, env.get("CI_COMMIT_BRANCH") or ref, env.get("CI_DEFAULT_BRANCH"), provider)
    return _whole(root, head, provider, f"a {source} pipeline names no commit range")


def range_base(root: str, spec: HistorySpec) -> str | None:
    """The base of `--range A..B` (A), or of `A...B` (their merge base)."""
    rev = spec.revs[0] if spec.revs else ""
    dots = "..." if "..." in rev else ".."
    start, _, end = rev.partition(dots)
    if dots == "..":
        return start or None
    try:
        return run_git(["merge-base", start, end], root).decode().split()[0]
    except (GitError, IndexError):
        return None


def detect_range(env: Mapping[str, str], root: str) -> CiRange:
    """The event's range, with every one of its commits in the clone (fetched
    or deepened as needed), or a CiError that says what to do."""
    if env.get("GITHUB_ACTIONS") == "true":
        found = github(env, root)
    elif env.get("GITLAB_CI") == "true":
        found = gitlab(env, root)
    else:
        found = fallback(root)
    return records.replace(found, spec=records.replace(found.spec, complete=True))
