"""Git LFS pointers: the small text git stores in place of a large file.

A pointer holds no secret; the file it stands for might. That file is read
from the local LFS store (`.git/lfs/objects/aa/bb/<oid>`, or `lfs.storage`)
or, for a staged file, from the work tree when its SHA-256 is the pointer's
oid. git-lfs itself need not be installed.
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import lru_cache

from maniac_guard.records import dataclass
from maniac_guard.sources.gitcore import GitError, run_git

POINTER_MAX = 1024  # git-lfs: a pointer is under 1024 bytes
_POINTER = re.compile(
    rb"\Aversion https://(?:git-lfs\.github\.com/spec/v1|hawser\.github\.com/spec/v1)\n"
    rb"(?:[a-z0-9.-]+ [^\n]*\n)*?oid sha256:([0-9a-f]{64})\n(?:[a-z0-9.-]+ [^\n]*\n)*?size (\d+)\n",
)


@dataclass(frozen=True)
class Pointer:
    oid: str
    size: int


def parse_pointer(data: bytes) -> Pointer | None:
    if len(data) >= POINTER_MAX or not data.startswith(b"version "):
        return None
    match = _POINTER.match(data)
    return Pointer(match.group(1).decode("ascii"), int(match.group(2))) if match else None


@lru_cache(maxsize=8)
def store_dir(root: str) -> str | None:
    """Where git-lfs keeps objects for the repository at `root`."""
    try:
        common = run_git(["rev-parse", "--git-common-dir"], root).decode("utf-8", "surrogateescape").strip()
    except GitError:
        return None
    common = os.path.abspath(os.path.join(root, common))
    try:
        configured = run_git(["config", "--get", "lfs.storage"], root).decode("utf-8", "surrogateescape").strip()
    except GitError:
        configured = ""
    base = os.path.join(common, configured) if configured else os.path.join(common, "lfs")
    return os.path.join(base, "objects")


def object_path(root: str, oid: str) -> str | None:
    """The local copy of LFS object `oid`, if this clone has it."""
    store = store_dir(root)
    if store is None:
        return None
    path = os.path.join(store, oid[:2], oid[2:4], oid)
    return path if os.path.isfile(path) else None


def file_matches(path: str, pointer: Pointer) -> bool:
    """Whether the file at `path` is the content `pointer` stands for (read in chunks)."""
    digest = hashlib.sha256()
    try:
        if os.path.getsize(path) != pointer.size:
            return False
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return False
    return digest.hexdigest() == pointer.oid
