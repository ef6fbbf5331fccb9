"""`maniac-guard pre-receive`: the server refuses a push that adds a Maniac key.

Client hooks are skipped by `git commit --no-verify`; a server hook is not.
git runs pre-receive in the (bare) repository with one `<old> <new> <ref>`
line per pushed ref on stdin, before any ref moves; a non-zero exit refuses
the whole push, and what the hook prints reaches the pusher as `remote:`
lines. The pushed objects sit in a quarantine folder until then: git passes
GIT_OBJECT_DIRECTORY / GIT_ALTERNATE_OBJECT_DIRECTORIES / GIT_QUARANTINE_PATH
in the hook's environment, and every git command here inherits them.

What is scanned: the lines added by the commits each pushed ref brings that
no existing ref already holds (`git log -p <new>... --not --all`). So a new
branch is scanned against every existing ref, a force push scans only its
new commits, a tag on a known commit adds nothing, and a deletion passes.

The repository's own config is NOT read: a pusher must not be able to turn
the server's check off by pushing a config file. Options come from the
hook's command line (and `--config FILE`, chosen by the administrator).
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from maniac_guard import records
from maniac_guard.config import ConfigError, Settings
from maniac_guard.findings import Finding, Severity, mask_real_keys
from maniac_guard.records import dataclass, field
from maniac_guard.words import counted

if TYPE_CHECKING:
    from maniac_guard.summary import ScanResult

EXIT_ACCEPT, EXIT_REJECT, EXIT_ERROR = 0, 1, 2
ZERO_SHA = re.compile(r"^0+$")
SHA = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")

FIX_HINT = """\
How to fix it:
  1. Take the key out of the commits (latest commit: edit, `git add`, `git commit --amend`;
     older ones: `git rebase -i <first bad commit>^`, or `git filter-repo` for many commits).
  2. Read it from the environment instead (MANIAC_API_KEY) and keep it out of git.
  3. Rotate the key: it has left your machine. Create a new key, deploy it, delete the old one.
  4. Push again. A false positive: add `maniac-guard: ignore[<rule>]` to that line.
"""


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str

    @property
    def deletion(self) -> bool:
        return bool(ZERO_SHA.match(self.new))


def parse_updates(text: str) -> list[RefUpdate]:
    """git's `<old> <new> <ref>` lines; anything else is an error (exit 2, the push is refused)."""
    updates = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(" ", 2)
        if len(parts) != 3 or not SHA.match(parts[0]) or not SHA.match(parts[1]) or not parts[2]:
            raise ConfigError(f"pre-receive: stdin line {number} is not `<old-sha> <new-sha> <ref>`")
        updates.append(RefUpdate(*parts))
    return updates


@dataclass
class PushScan:
    """What a scan of pushed commits found, for the pre-receive and pre-push commands."""

    result: ScanResult
    commits: int
    timed_out: bool = False
    refs_of: dict[str, str] = field(default_factory=dict)  # commit -> a pushed ref that brings it


# How long past the budget the watchdog waits for the scan to stop by itself
# (it checks the deadline between files and commits): the budget again, at
# least a second.
MIN_GRACE = 1.0


@contextmanager
def time_budget(seconds: float | None, hard_stop: Callable[[], None]) -> Iterator[float | None]:
    """The deadline (time.monotonic) the scan checks between files and
    commits, where stopping is clean and what was found is kept. No signal
    interrupts the work: SIGALRM raised wherever Python was, and inside a
    class definition that became `RuntimeError: Error calling __set_name__`
    (exit 2 under --on-timeout accept). What the cooperative check cannot
    stop (a git that sends nothing, one file that takes too long) a
    watchdog thread ends after a grace period: `hard_stop` gives the
    timeout verdict and ends the process, raising nothing in the work."""
    if not seconds:
        yield None
        return
    import threading

    watchdog = threading.Timer(seconds + max(MIN_GRACE, seconds), hard_stop)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield time.monotonic() + seconds
    finally:
        watchdog.cancel()


def _hard_stop(timeout: float, on_timeout: str) -> Callable[[], None]:
    """The watchdog's end of the run: the same verdict as a budget that ran
    out between files, written and exited at once (os._exit: the main thread
    is stuck, so nothing can be unwound)."""

    def stop() -> None:
        text, code = timeout_verdict(timeout, on_timeout, "and the scan did not stop in time")
        try:
            os.write(2, text.encode("utf-8", "replace"))
        finally:
            os._exit(code)

    return stop


def timeout_verdict(timeout: float, on_timeout: str, where: str) -> tuple[str, int]:
    """What the pusher reads, and the exit code, when the budget ran out."""
    if on_timeout == "accept":
        return (
            f"maniac-guard: warning: the {timeout:g}s time budget ran out {where}; the push is ACCEPTED "
            "without a complete scan (--on-timeout accept). Scan it: `maniac-guard scan --history`.\n"
        ), EXIT_ACCEPT
    return (
        f"maniac-guard: error: the {timeout:g}s time budget ran out {where}; the push is rejected "
        "(--on-timeout reject). Push fewer commits at a time, or ask an administrator to raise --timeout.\n"
    ), EXIT_ERROR


def scan_revisions(
    git_dir: str,
    revs: Sequence[str],
    settings: Settings,
    *,
    exclude: Sequence[str] = (),
    timeout: float | None = None,
    on_timeout: str = "reject",
) -> PushScan:
    """Scan the lines added by the commits `git log revs` lists, and their
    messages, within `timeout` seconds: the history scan itself, so a push is
    judged exactly as `scan --history` judges the same commits.

    What was found before the budget ran out is kept (and reported).
    """
    from maniac_guard import history
    from maniac_guard.selection import select_findings

    # Patterns are relative to the repository root (this process runs in it).
    patterns = [*settings.exclude, *exclude]
    on_root = records.replace(settings, exclude=[])
    with time_budget(timeout, _hard_stop(timeout or 0, on_timeout)) as deadline:
        found = history.scan_revisions(
            git_dir, revs, on_root, "the pushed commits", cli_exclude=patterns, deadline=deadline
        )
    summary = found.stages.history
    timed_out = summary is not None and summary.timed_out
    found.findings = select_findings(found.findings, settings)
    return PushScan(found, summary.commits if summary is not None else 0, timed_out)


def pushed_revisions(git_dir: str, updates: Sequence[RefUpdate]) -> list[str]:
    """`<new>... --not --all`: what the pushed refs bring that no existing ref holds.

    A ref that names something other than a commit (a tag of a tree or a blob)
    cannot be scanned as history: that is an error, never a silent pass.
    """
    from maniac_guard.sources.git import run_git

    news = [u for u in updates if not u.deletion]
    if not news:
        return []
    query = "".join(f"{u.new}\n" for u in news).encode("ascii")
    kinds = (
        run_git(["cat-file", "--batch-check=%(objectname) %(objecttype)"], git_dir, input=query).decode().split("\n")
    )
    revs = []
    for update, line in zip(news, kinds):
        kind = line.split(" ")[-1]
        if kind == "tag":
            peeled = run_git(["rev-parse", "--verify", "--quiet", f"{update.new}^{{}}"], git_dir).decode().strip()
            kind = run_git(["cat-file", "-t", peeled], git_dir).decode().strip()
        if kind != "commit":
            raise ConfigError(f"pre-receive: {update.ref} points to a {kind}, not a commit: cannot scan it")
        revs.append(update.new)
    return [*revs, "--not", "--all"]


def refs_of(git_dir: str, updates: Sequence[RefUpdate], commits: set[str]) -> dict[str, str]:
    """For each commit, the first pushed ref that brings it (named in the message)."""
    from maniac_guard.sources.git import run_git

    found: dict[str, str] = {}
    for update in updates:
        if update.deletion or len(found) == len(commits):
            continue
        listed = run_git(["rev-list", update.new, "--not", "--all"], git_dir).decode().split()
        for commit in commits.intersection(listed):
            found.setdefault(commit, update.ref)
    return found


def report(scan: PushScan, fail_on: Severity, *, verbose: bool = False) -> str:
    from maniac_guard.report import ReportContext, render

    findings = [
        f.replace(message=f"{f.message} (commit {(f.commit or '?')[:12]}{_on(scan, f)})") for f in scan.result.findings
    ]
    scan.result.findings = findings
    return render(scan.result, "text", ReportContext(color=False, verbose=verbose, fail_on=fail_on.label))


def _on(scan: PushScan, finding: Finding) -> str:
    ref = scan.refs_of.get(finding.commit or "")
    return f" on {ref}" if ref else ""


def run_pre_receive(
    stdin_text: str,
    settings: Settings,
    *,
    exclude: Sequence[str] = (),
    timeout: float | None = None,
    on_timeout: str = "reject",
    git_dir: str | None = None,
    verbose: bool = False,
) -> int:
    """Exit 0 accepts the push, 1 refuses it (findings), 2 refuses it (cannot scan)."""
    git_dir = git_dir or os.getcwd()
    out = sys.stderr  # both streams reach the pusher; stderr keeps stdout free for other hooks
    from maniac_guard.selection import check_selectors

    check_selectors(settings.select + settings.ignore)
    updates = parse_updates(stdin_text)
    revs = pushed_revisions(git_dir, updates)
    if not revs:
        return EXIT_ACCEPT  # only deletions (or nothing): no new content
    started = time.monotonic()
    scan = scan_revisions(git_dir, revs, settings, exclude=exclude, timeout=timeout, on_timeout=on_timeout)
    failing = [f for f in scan.result.findings if f.severity >= settings.fail_on]
    if scan.result.findings:
        scan.refs_of = refs_of(git_dir, updates, {f.commit for f in scan.result.findings if f.commit})
        out.write(report(scan, settings.fail_on, verbose=verbose))
    for message in scan.result.messages:
        out.write(f"maniac-guard: {mask_real_keys(message)}\n")
    if failing:
        out.write(f"maniac-guard: push rejected: {counted(len(failing), 'finding')} in the pushed commits.\n{FIX_HINT}")
        if scan.timed_out:
            out.write(
                f"maniac-guard: the {timeout:g}s budget ran out before the whole push was scanned; there may be more.\n"
            )
        return EXIT_REJECT
    if scan.result.stages.incomplete:  # named above (an archive not opened, an object not read): never a pass
        unread = counted(len(scan.result.stages.incomplete), "file")
        out.write(f"maniac-guard: push rejected: {unread} in the pushed commits could not be scanned.\n")
        return EXIT_ERROR
    if scan.timed_out:
        where = f"after {counted(scan.commits, 'commit')} in {time.monotonic() - started:.1f}s"
        text, code = timeout_verdict(timeout or 0, on_timeout, where)
        out.write(text)
        return code
    if verbose:
        out.write(f"maniac-guard: pre-receive: {counted(scan.commits, 'new commit')} scanned, no keys\n")
    return EXIT_ACCEPT


def run_command(
    timeout: float | None,
    on_timeout: str,
    exclude: Sequence[str],
    select: Sequence[str],
    ignore_rules: Sequence[str],
    fail_on: str | None,
    config: str | None,
    verbose: bool,
) -> int:
    from maniac_guard.commands.options import split_ids
    from maniac_guard.commands.pre_push import read_stdin
    from maniac_guard.config import apply_overrides, load_settings

    settings = load_settings(".", config) if config else Settings()
    settings = apply_overrides(
        settings,
        {
            name: value
            for name, value in (
                ("select", split_ids(select)),
                ("ignore", split_ids(ignore_rules, "--ignore")),
                ("fail_on", Severity.parse(fail_on) if fail_on else None),
            )
            if value
        },
    )
    lines = read_stdin()
    if lines is None:
        raise ConfigError(
            "pre-receive: git passes the pushed refs on stdin; install it as the repository's hooks/pre-receive"
        )
    return run_pre_receive(
        lines, settings, exclude=list(exclude), timeout=timeout, on_timeout=on_timeout, verbose=verbose
    )
