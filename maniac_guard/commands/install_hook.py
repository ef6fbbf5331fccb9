"""`maniac-guard install-hook`: plain git hooks, no framework.

- `pre-commit` (the default) runs `maniac-guard scan --staged`, so it checks
  what is about to be committed (the index), not the work tree.
- `commit-msg` runs `maniac-guard scan --commit-msg -- "$1"` on the message
  git is about to record.
- `pre-push` runs `maniac-guard pre-push -- "$@"` on the commits being pushed.

Each hook prefers the interpreter that installed it (a virtualenv need not
be active when git runs the hook) and falls back to `maniac-guard` on PATH.
Option parsing ends (`--`) before anything that is not ours, so no argument
a wrapper passes can become an option.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence

from maniac_guard.records import dataclass
from maniac_guard.sources.git import GitError, repo_info, run_git

HOOKS = {
    # hook name: (command and options, what follows `--`, what it checks, the git command it guards)
    "pre-commit": ("scan --staged", "", "the staged version of staged files", "commit"),
    "commit-msg": ("scan --commit-msg", ' "$1"', "the commit message", "commit"),
    "pre-push": ("pre-push", ' "$@"', "the commits being pushed", "push"),
}
HOOK_TEMPLATE = """#!/bin/sh
{marker} (written by `maniac-guard install-hook`; safe to delete)
# Scans {what}; `git {guards} --no-verify` skips it.
INSTALL_PYTHON={python}
if [ -x "$INSTALL_PYTHON" ]; then
    exec "$INSTALL_PYTHON" -m maniac_guard {args} --{tail}
elif command -v maniac-guard >/dev/null 2>&1; then
    exec maniac-guard {args} --{tail}
else
    echo "maniac-guard: not found; install it (pip install maniac-guard) or delete $0" >&2
    exit 1
fi
"""


class HookError(GitError):
    """A foreign hook is in the way, or the hooks folder is unusable: exit 2."""


@dataclass(frozen=True)
class Installed:
    path: str
    replaced: str | None  # where a foreign hook was moved, with --force


def marker(hook: str) -> str:
    return f"# maniac-guard {hook} hook"


def hook_path(cwd: str, hook: str = "pre-commit") -> str:
    """`.git/hooks/<hook>`, honouring core.hooksPath and worktrees."""
    info = repo_info(cwd)  # a clear error outside a repository
    if info.bare:
        raise HookError(
            "a bare repository has no commits made or pushed from it: no client hook to install (see `maniac-guard pre-receive`)"
        )
    out = run_git(["rev-parse", "--git-path", "hooks"], cwd).decode("utf-8", "surrogateescape").strip()
    return os.path.join(os.path.abspath(os.path.join(cwd, out)), hook)


def hook_text(extra_args: list[str], hook: str = "pre-commit") -> str:
    command, tail, what, guards = HOOKS[hook]
    args = " ".join([command, *(shlex.quote(a) for a in extra_args)])
    python = shlex.quote(sys.executable)
    return HOOK_TEMPLATE.format(marker=marker(hook), what=what, guards=guards, python=python, args=args, tail=tail)


def install_hook(
    cwd: str, *, force: bool = False, extra_args: list[str] | None = None, hook: str = "pre-commit"
) -> Installed:
    if hook not in HOOKS:
        raise HookError(f"unknown hook '{hook}' (choose from {', '.join(HOOKS)})")
    path = hook_path(cwd, hook)
    replaced = None
    if os.path.lexists(path):
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                ours = marker(hook) in handle.read()
        except OSError as exc:
            raise HookError(f"{path}: cannot read the existing hook: {exc.strerror}") from None
        if not ours:
            if not force:
                raise HookError(
                    f"{path} already exists and is not maniac-guard's; rerun with --force to replace it "
                    f"(it is kept as {hook}.orig)"
                )
            replaced = path + ".orig"
            os.replace(path, replaced)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    from maniac_guard.writer import write_text_atomic

    write_text_atomic(path, hook_text(extra_args or [], hook))
    os.chmod(path, 0o755)
    return Installed(path, replaced)


def run_command(force: bool, hook: str, extra_args: Sequence[str]) -> int:
    done = install_hook(os.getcwd(), force=force, extra_args=list(extra_args), hook=hook)
    if done.replaced:
        print(f"maniac-guard: moved the previous hook to {done.replaced}", file=sys.stderr)
    print(f"installed {done.path}")
    return 0
