"""`maniac-guard install-hook`: a plain git pre-commit hook, no framework.

The hook runs `maniac-guard scan --staged`, so it checks what is about to be
committed (the index), not the work tree. It prefers the interpreter that
installed it (a virtualenv need not be active when git runs the hook) and
falls back to `maniac-guard` on PATH.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass

from maniac_guard.sources.git import GitError, repo_info, run_git

MARKER = "# maniac-guard pre-commit hook"
HOOK_TEMPLATE = """#!/bin/sh
{marker} (written by `maniac-guard install-hook`; safe to delete)
# Scans the staged version of staged files; `git commit --no-verify` skips it.
INSTALL_PYTHON={python}
if [ -x "$INSTALL_PYTHON" ]; then
    exec "$INSTALL_PYTHON" -m maniac_guard scan --staged {args}
elif command -v maniac-guard >/dev/null 2>&1; then
    exec maniac-guard scan --staged {args}
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


def hook_path(cwd: str) -> str:
    """`.git/hooks/pre-commit`, honouring core.hooksPath and worktrees."""
    repo_info(cwd)  # a clear error outside a repository
    out = run_git(["rev-parse", "--git-path", "hooks"], cwd).decode("utf-8", "surrogateescape").strip()
    return os.path.join(os.path.abspath(os.path.join(cwd, out)), "pre-commit")


def hook_text(extra_args: list[str]) -> str:
    args = " ".join(shlex.quote(a) for a in extra_args)
    return HOOK_TEMPLATE.format(marker=MARKER, python=shlex.quote(sys.executable), args=args).replace(" \n", "\n")


def install_hook(cwd: str, *, force: bool = False, extra_args: list[str] | None = None) -> Installed:
    path = hook_path(cwd)
    replaced = None
    if os.path.lexists(path):
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                ours = MARKER in handle.read()
        except OSError as exc:
            raise HookError(f"{path}: cannot read the existing hook: {exc.strerror}") from None
        if not ours:
            if not force:
                raise HookError(f"{path} already exists and is not maniac-guard's; rerun with --force to replace it (it is kept as pre-commit.orig)")
            replaced = path + ".orig"
            os.replace(path, replaced)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    from maniac_guard.writer import write_text_atomic

    write_text_atomic(path, hook_text(extra_args or []))
    os.chmod(path, 0o755)
    return Installed(path, replaced)
