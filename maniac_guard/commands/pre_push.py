"""`maniac-guard pre-push`: stop a push that would publish a Maniac key.

Two callers:
- git's own pre-push hook: arguments `<remote name> <url>`, and one line
  `<local ref> <local sha> <remote ref> <remote sha>` per pushed ref on stdin;
- the pre-commit framework (`stages: [pre-push]`): it reads those lines
  itself and passes the range as PRE_COMMIT_FROM_REF / PRE_COMMIT_TO_REF
  (or, when the push holds a root commit, only PRE_COMMIT_LOCAL_BRANCH).

It scans the lines added by the commits being pushed that the remote does
not hold yet (as far as this clone knows: `--not --remotes=<remote>` and
each ref's old remote value), the way `maniac-guard ci` scans a range: same
config, baseline, ignore file and report.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence

from maniac_guard import records
from maniac_guard.config import ConfigError
from maniac_guard.records import dataclass

ZERO_SHA = re.compile(r"^0+$")
SHA = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
FIX_HINT = """\
maniac-guard: push stopped: the commits being pushed add a Maniac key.
  Take it out of those commits (`git commit --amend`, or `git rebase -i <first bad commit>^`),
  read the key from the environment instead (MANIAC_API_KEY), rotate it, then push again.
  A false positive: `maniac-guard: ignore[<rule>]` on the line, or the baseline / ignore file.
"""


@dataclass(frozen=True)
class PushedRef:
    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str


def parse_push_lines(text: str) -> list[PushedRef]:
    refs = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.rsplit(" ", 3)  # the local ref may be an expression holding spaces
        # The object ids must be ids, as pre-receive checks: a word there would reach git as a revision.
        if len(parts) != 4 or not SHA.match(parts[1]) or not SHA.match(parts[3]) or not parts[0] or not parts[2]:
            raise ConfigError(
                f"pre-push: stdin line {number} is not `<local ref> <local sha> <remote ref> <remote sha>`"
            )
        refs.append(PushedRef(*parts))
    return refs


def _known_commit(root: str, sha: str) -> bool:
    from maniac_guard.sources.git import GitError, run_git

    try:
        run_git(["cat-file", "-e", f"{sha}^{{commit}}"], root)
    except GitError:
        return False
    return True


def revisions_from_lines(root: str, refs: Sequence[PushedRef], remote: str | None) -> list[str]:
    """`<local shas> --not --remotes=<remote> <remote shas>`; [] when only deletions are pushed."""
    news = [r.local_sha for r in refs if not ZERO_SHA.match(r.local_sha)]
    if not news:
        return []
    exclude = [f"--remotes={remote}"] if remote and "/" not in remote and ":" not in remote else []
    exclude += [r.remote_sha for r in refs if not ZERO_SHA.match(r.remote_sha) and _known_commit(root, r.remote_sha)]
    return [*news, "--not", *exclude] if exclude else news


def revisions_from_pre_commit(env: Mapping[str, str]) -> list[str] | None:
    """The range the pre-commit framework names, or None when it names none."""
    to_ref, from_ref = env.get("PRE_COMMIT_TO_REF", ""), env.get("PRE_COMMIT_FROM_REF", "")
    if to_ref and from_ref:
        return [to_ref, "--not", from_ref]
    local, remote = env.get("PRE_COMMIT_LOCAL_BRANCH", ""), env.get("PRE_COMMIT_REMOTE_NAME", "")
    if env.get("PRE_COMMIT") == "1" and local:  # a push that holds a root commit ("all files")
        return [local, "--not", f"--remotes={remote}"] if remote else [local]
    return None


def pushed_revisions(root: str, remote: str | None, stdin_text: str | None, env: Mapping[str, str]) -> list[str]:
    from_framework = revisions_from_pre_commit(env)
    if from_framework is not None:
        return from_framework
    if env.get("PRE_COMMIT") == "1":
        raise ConfigError(
            "pre-push: pre-commit named no range to scan; run it as a pre-push hook "
            "or with `pre-commit run --hook-stage pre-push --from-ref A --to-ref B`"
        )
    if stdin_text is None:
        raise ConfigError(
            "pre-push: no push to scan: git passes the pushed refs on stdin "
            "(run it as a pre-push hook: `maniac-guard install-hook --hook pre-push`)"
        )
    return revisions_from_lines(root, parse_push_lines(stdin_text), remote)


def read_stdin() -> str | None:
    """git's lines, or None when stdin is a terminal (not run by git)."""
    if sys.stdin is None or sys.stdin.isatty():
        return None
    return sys.stdin.read()


def run_pre_push(
    remote: str | None,
    settings_paths: tuple[str, ...],
    config: str | None,
    *,
    fail_on: str | None = None,
    exclude: Sequence[str] = (),
    quiet: bool = False,
    env: Mapping[str, str] | None = None,
    stdin_text: str | None = None,
) -> int:
    from maniac_guard.commands.scan import ScanRequest, run_scan
    from maniac_guard.errors import EXIT_FINDINGS
    from maniac_guard.findings import Severity
    from maniac_guard.history import HistorySpec, scan_history
    from maniac_guard.sources.git import repo_info

    env = os.environ if env is None else env
    info = repo_info(os.getcwd())
    revs = pushed_revisions(info.root, remote, stdin_text, env)
    if not revs:
        return 0  # only deletions: nothing new leaves this machine
    from maniac_guard.config import load_settings

    settings = load_settings(settings_paths[0] if settings_paths else info.root, config)
    if fail_on:
        settings = records.replace(settings, fail_on=Severity.parse(fail_on))
    spec = HistorySpec(tuple(revs), "the commits being pushed")
    request = ScanRequest(
        paths=[info.root],
        settings=settings,
        fmt="text",
        quiet=quiet,
        cli_exclude=list(exclude),
        color=False,
        source=lambda target: scan_history(target, spec, info.root),
    )
    code = run_scan(request)
    if code == EXIT_FINDINGS:
        sys.stderr.write(FIX_HINT)
    return code


def run_command(
    remote: str | None, url: str | None, exclude: Sequence[str], fail_on: str | None, config: str | None, quiet: bool
) -> int:
    # Under pre-commit the range comes from its PRE_COMMIT_* variables; git's lines were its.
    stdin_text = None if os.environ.get("PRE_COMMIT") == "1" else read_stdin()
    return run_pre_push(remote, (), config, fail_on=fail_on, exclude=list(exclude), quiet=quiet, stdin_text=stdin_text)
