"""Git plumbing for `maniac-guard ci`: fetch the commits a CI event names
when the clone lacks them, and deepen a shallow clone until a range is whole.

A range `include --not exclude` is whole when no commit in it is a shallow
boundary (a commit whose parents the clone lacks, so `git log` would stop
there) and, while the clone is still shallow, the range meets its base (a
base side cut off above the fork point would make the range reach back into
history the change did not add).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

from maniac_guard.sources.git import GitError, run_git

REMOTE = "origin"
# How far each round deepens a shallow clone; the last round fetches the rest.
DEEPEN_STEPS = (50, 500, 5000)
# Where each commit fetched by `fetch_commit` came from (a fork's URL, say),
# so that deepening its history asks the same remote.
_fetched_from: dict[str, str] = {}


class CiError(GitError):
    """The event's commits cannot be resolved: exit 2."""


def say(line: str) -> None:
    print(f"maniac-guard: ci: {line}", file=sys.stderr, flush=True)


def have_commit(root: str, sha: str) -> str | None:
    """The full id of `sha` when the clone has that commit, else None."""
    try:
        out = run_git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{sha}^{{commit}}"], root)
    except GitError:
        return None
    return out.decode("ascii").strip() or None


def _git(args: Sequence[str], root: str) -> bytes | None:
    """Run a git command that may fail (a network fetch): its output, or None.
    Never a credential prompt: a CI job has no one to answer it."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    proc = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, check=False)
    return proc.stdout if proc.returncode == 0 else None


def _git_ok(args: Sequence[str], root: str) -> bool:
    return _git(args, root) is not None


def _fetch(root: str, options: Sequence[str], remote: str, refspecs: Sequence[str]) -> bool:
    # Remote URLs and refs come from the CI environment: never read as options.
    return _git_ok(["fetch", "--no-tags", "--quiet", *options, "--end-of-options", remote, *refspecs], root)


def shallow_commits(root: str) -> set[str]:
    """The clone's shallow boundary: commits whose parents it lacks."""
    path = run_git(["rev-parse", "--git-path", "shallow"], root).decode().strip()
    try:
        with open(path if path.startswith("/") else f"{root}/{path}", encoding="ascii") as handle:
            return {line.strip() for line in handle if line.strip()}
    except OSError:
        return set()


def fetch_commit(root: str, rev: str, sources: Sequence[tuple[str, str]]) -> str | None:
    """Fetch `rev` when missing: try each (remote or URL, refspec) in turn.

    In a shallow clone one commit is fetched (`--depth=1`); the range check
    deepens it afterwards. Returns the commit id, or None when no source had it.
    """
    found = have_commit(root, rev)
    if found is not None:
        return found
    depth = ["--depth=1"] if shallow_commits(root) else []
    for remote, refspec in sources:
        say(f"{rev[:40]} is not in this clone: fetching {refspec.lstrip('+').split(':')[0]} from {remote}")
        if _fetch(root, depth, remote, [refspec]):
            found = have_commit(root, rev)
            if found is not None:
                _fetched_from[found] = remote
                return found
    return None


def _rev_list(root: str, include: Sequence[str], exclude: Sequence[str]) -> list[str]:
    out = run_git(["rev-list", *include, "--not", *exclude, "--"], root)
    return out.decode("ascii").split()


def _meets_base(root: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    for head in include:
        for base in exclude:
            if _git_ok(["merge-base", head, base], root):
                return True
    return False


def range_is_whole(root: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    shallow = shallow_commits(root)
    if not shallow:
        return True
    inside = _rev_list(root, include, exclude)
    if shallow.intersection(inside):
        return False
    # A base side cut off above the fork point: the range would reach back
    # into history that is on the base.
    return not (inside and exclude and not _meets_base(root, include, exclude))


def ensure_whole_range(root: str, include: Sequence[str], exclude: Sequence[str], hint: str) -> None:
    """Deepen a shallow clone until `include --not exclude` is whole, or raise."""
    by_remote: dict[str, list[str]] = {}
    for sha in dict.fromkeys([*include, *exclude]):
        by_remote.setdefault(_fetched_from.get(sha, REMOTE), []).append(sha)
    steps: list[list[str]] = [[f"--deepen={n}"] for n in DEEPEN_STEPS] + [["--unshallow"]]
    for step in steps:
        if range_is_whole(root, include, exclude):
            return
        before = shallow_commits(root)
        say(f"shallow clone: the range does not reach its base, fetching more history ({step[0]})")
        fetched = [_fetch(root, step, remote, shas) for remote, shas in by_remote.items()]
        if not any(fetched):
            break
        if shallow_commits(root) == before:
            break  # the remote has nothing more to give
    if not range_is_whole(root, include, exclude):
        raise CiError(
            f"the commits between {', '.join(e[:12] for e in exclude) or 'the root'} and "
            f"{', '.join(i[:12] for i in include)} are not all in this shallow clone and could not be fetched; {hint}"
        )


def default_branch(root: str, name: str | None) -> tuple[str, str] | None:
    """(name, tip) of origin's default branch (`name` if the CI names it).

    Asks the remote (`git ls-remote`), since a CI clone holds only the pushed
    branch; offline, the clone's own remote-tracking branch. None if unknown.
    """
    if not name:
        listed = _git(["ls-remote", "--symref", "--end-of-options", REMOTE, "HEAD"], root)
        for line in (listed or b"").decode("utf-8", "replace").splitlines():
            if line.startswith("ref: refs/heads/") and line.endswith("\tHEAD"):
                name = line[len("ref: refs/heads/") : -len("\tHEAD")]
        name = name or _local_default(root)
    if not name:
        return None
    listed = _git(["ls-remote", "--heads", "--end-of-options", REMOTE, f"refs/heads/{name}"], root)
    if listed is not None:
        sha = listed.decode("ascii", "replace").partition("\t")[0].strip()
        return (name, sha) if sha else None
    local = have_commit(root, f"refs/remotes/{REMOTE}/{name}")
    if local:
        say(f"cannot ask {REMOTE} for its branch {name}: using this clone's {REMOTE}/{name}")
        return name, local
    if not _git_ok(["remote", "get-url", "--end-of-options", REMOTE], root):
        say(f"this clone has no remote `{REMOTE}`: cannot find its default branch {name} to compare with")
    else:
        say(f"cannot ask {REMOTE} for its branch {name}, and this clone has no {REMOTE}/{name}")
    return None


def _local_default(root: str) -> str | None:
    """The default branch `git clone` recorded (refs/remotes/origin/HEAD)."""
    out = _git(["symbolic-ref", "--quiet", f"refs/remotes/{REMOTE}/HEAD"], root)
    return out.decode().strip().removeprefix(f"refs/remotes/{REMOTE}/") if out else None
