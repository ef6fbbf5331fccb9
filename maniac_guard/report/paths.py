"""Where the source root is, for the reports whose consumers link files from
the repository's root (SARIF's %SRCROOT%, GitLab's `location.file`) while
findings are relative to the folder the scan ran in."""

from __future__ import annotations

import os
import subprocess


def rev_parse(*args: str, cwd: str | None = None) -> str | None:
    """`git rev-parse ARGS`'s answer, or None (no git, not a repository)."""
    try:
        done = subprocess.run(["git", "rev-parse", *args], cwd=cwd, capture_output=True, check=False, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    answer = done.stdout.rstrip(b"\n")
    return os.fsdecode(answer) if done.returncode == 0 and answer else None


def git_toplevel(cwd: str) -> str | None:
    return rev_parse("--show-toplevel", cwd=cwd)


def source_root(cwd: str, given: str | None) -> str:
    """The root named by the caller, else the repository's, else `cwd`."""
    return given or git_toplevel(cwd) or cwd


def from_root(path: str, cwd: str, root: str) -> str:
    """A path relative to `cwd` as seen from `root` (unchanged when they are
    the same folder, or when the path is outside the root)."""
    prefix = os.path.relpath(os.path.realpath(cwd), os.path.realpath(root))
    if prefix == os.curdir or prefix == os.pardir or prefix.startswith(os.pardir + os.sep):
        return path
    joined = os.path.normpath(os.path.join(prefix, path))
    if joined == os.pardir or joined.startswith(os.pardir + os.sep):
        return path
    return joined.replace(os.sep, "/")
