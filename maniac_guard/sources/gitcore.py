"""Running git: errors, the repository's shape, and git's path quoting."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

from maniac_guard.config import ConfigError
from maniac_guard.records import dataclass

# Here for the modules that name them with the rest of git's helpers.
from maniac_guard.sources.gitstart import git_command as git_command
from maniac_guard.sources.gitstart import widen_pipe as widen_pipe


class GitError(ConfigError):
    """git is missing, this is not a repository, or a revision does not resolve
    (a usage error: exit 2 with a one-line reason)."""


def run_git(args: Sequence[str], cwd: str, input: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, check=False)
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror}") from None
    if proc.returncode != 0:
        reason = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(reason[-1] if reason else f"git {args[0]} failed")
    return proc.stdout


@dataclass(frozen=True)
class RepoInfo:
    """`root`: the work tree's top folder, or the git folder of a bare
    repository (where every git command of ours can run as well)."""

    root: str
    shallow: bool
    bare: bool = False
    git_dir: str = ""


def repo_info(cwd: str) -> RepoInfo:
    try:
        out = run_git(["rev-parse", "--is-shallow-repository", "--absolute-git-dir", "--show-toplevel"], cwd)
    except GitError as exc:
        reason = str(exc).lower()
        if "not a git repository" in reason:
            raise GitError(f"{os.path.abspath(cwd)} is not inside a git repository") from None
        if "work tree" not in reason:
            raise
        # A bare repository (a server's mirror), or inside the .git folder.
        out = run_git(["rev-parse", "--is-shallow-repository", "--absolute-git-dir"], cwd)
        shallow, git_dir = out.decode("utf-8", "surrogateescape").splitlines()[:2]
        return RepoInfo(root=git_dir, shallow=shallow == "true", bare=True, git_dir=git_dir)
    lines = out.decode("utf-8", "surrogateescape").splitlines()
    return RepoInfo(root=lines[2], shallow=lines[0] == "true", bare=False, git_dir=lines[1])


def unquote_path(raw: bytes) -> bytes:
    """Undo git's C-style quoting of unusual path names ("a\\tb", octal bytes)."""
    if not raw.startswith(b'"') or not raw.endswith(b'"') or len(raw) < 2:
        return raw
    body, out, i = raw[1:-1], bytearray(), 0
    simple = {
        ord("n"): 10,
        ord("t"): 9,
        ord("r"): 13,
        ord("a"): 7,
        ord("b"): 8,
        ord("f"): 12,
        ord("v"): 11,
        ord("\\"): 92,
        ord('"'): 34,
    }
    while i < len(body):
        char = body[i]
        if char == 92 and i + 1 < len(body):
            nxt = body[i + 1]
            digits = body[i + 1 : i + 4]
            if len(digits) == 3 and all(48 <= d <= 55 for d in digits):  # never int() on non-octal
                out.append(int(digits, 8) & 0xFF)
                i += 4
                continue
            out.append(simple.get(nxt, nxt))
            i += 2
            continue
        out.append(char)
        i += 1
    return bytes(out)


def quoted_end(raw: bytes) -> int:
    """Where the C-quoted string at the start of `raw` ends (after its closing quote)."""
    i = 1
    while i < len(raw):
        if raw[i] == 92:
            i += 2
            continue
        if raw[i] == 34:
            return i + 1
        i += 1
    return len(raw)


def decode_path(raw: bytes) -> str:
    """As `os.walk` names files: bytes that are not UTF-8 survive as surrogates,
    so the path can be encoded back to look the file up."""
    return raw.decode("utf-8", "surrogateescape")


def encode_path(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def diff_header_path(line: bytes) -> bytes | None:
    """The new path from `diff --cc PATH` or `diff --git a/OLD b/NEW`, for
    files whose diff has no `+++` line (binary files). An unquoted header
    with spaces is split where both halves name the same path (a rename
    names its paths in `rename to` instead)."""
    if line.startswith(b"diff --git "):
        rest = line[len(b"diff --git ") :]
        if rest.startswith(b'"'):
            end = quoted_end(rest)
            new = rest[end + 1 :]
            return unquote_path(new).removeprefix(b"b/")
        if rest.endswith(b'"'):
            start = rest.rfind(b' "b/')
            return unquote_path(rest[start + 1 :]).removeprefix(b"b/") if start >= 0 else None
        if len(rest) % 2 == 1:
            half = len(rest) // 2
            old, new = rest[:half], rest[half + 1 :]
            if old.startswith(b"a/") and new.startswith(b"b/") and old[2:] == new[2:]:
                return new[2:]
        return None
    rest = line.split(b" ", 2)[2] if line.count(b" ") >= 2 else b""
    return unquote_path(rest) or None
