"""`--write-env FILE`: keep the key the fix took out of the code in a local,
git-ignored env file (mode 600), so the program still runs on this machine."""

from __future__ import annotations

import os
import re
import subprocess


class EnvFileError(Exception):
    pass


def _git(args: list[str], cwd: str) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except OSError:
        return None


def is_tracked(path: str) -> bool:
    folder = os.path.dirname(os.path.abspath(path))
    proc = (
        _git(["ls-files", "--error-unmatch", "--", os.path.basename(path)], folder) if os.path.isdir(folder) else None
    )
    return proc is not None and proc.returncode == 0


def ensure_ignored(path: str) -> str | None:
    """Add `path` to the .gitignore of its repository (or of its folder
    outside git) unless git already ignores it. Returns what was done."""
    abs_path = os.path.abspath(path)
    folder = os.path.dirname(abs_path)
    check = _git(["check-ignore", "-q", "--", abs_path], folder)
    if check is not None and check.returncode == 0:
        return None
    top = _git(["rev-parse", "--show-toplevel"], folder)
    root = top.stdout.decode().strip() if top is not None and top.returncode == 0 else folder
    gitignore = os.path.join(root, ".gitignore")
    entry = "/" + os.path.relpath(abs_path, root).replace(os.sep, "/")
    existing = b""
    if os.path.exists(gitignore):
        with open(gitignore, "rb") as handle:
            existing = handle.read()
        if entry.encode() in existing.splitlines():
            return None
    with open(gitignore, "ab") as handle:
        if existing and not existing.endswith(b"\n"):
            handle.write(b"\n")
        handle.write(entry.encode() + b"\n")
    return f"added {entry} to {os.path.relpath(gitignore)}"


def write_env(path: str, name: str, value: str) -> list[str]:
    """Append `NAME=value` to `path` (created with mode 600). Refuses a file
    that git tracks: the key would be committed again."""
    if is_tracked(path):
        raise EnvFileError(f"{path}: tracked by git; refusing to write a key into it")
    notes: list[str] = []
    line_re = re.compile(rb"^\s*(?:export\s+)?" + re.escape(name.encode()) + rb"\s*=", re.M)
    existing = b""
    if os.path.exists(path):
        with open(path, "rb") as handle:
            existing = handle.read()
    if line_re.search(existing):
        notes.append(f"{path}: {name} is already set there; left as it is")
    else:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as handle:
            if existing and not existing.endswith(b"\n"):
                handle.write(b"\n")
            handle.write(f"{name}={value}\n".encode())
        notes.append(f"wrote {name} to {path}")
    mode = os.stat(path).st_mode & 0o777
    if mode & 0o077:
        notes.append(f"{path}: readable by others (mode {mode:o}); consider chmod 600")
    ignored = ensure_ignored(path)
    if ignored:
        notes.append(ignored)
    return notes
