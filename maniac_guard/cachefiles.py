"""maniac-guard's cache folder and its files: the rule catalog, the detector
cache and the compiled prefilter. Every file there is named after a hash of
what it was made from, written whole or not at all, and safe to delete."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def cache_dir() -> Path | None:
    """maniac-guard's folder in the user's cache directory (None: caching off).

    `MANIAC_GUARD_CACHE_DIR` overrides it; an empty value turns caches off."""
    override = os.environ.get("MANIAC_GUARD_CACHE_DIR")
    if override is not None:
        return Path(override) if override else None
    if os.name == "posix" and not sys.platform.startswith("darwin"):
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / "maniac-guard"  # what platformdirs says, without its import
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("maniac-guard"))


def read_cached(path: str | Path) -> bytes:
    """The file's bytes; empty when it is missing or unreadable."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def store_cached(path: str | Path, data: bytes, family: str) -> None:
    """Replace `path` with `data` (owner-only, via a temporary name, so a
    reader never sees half a file) and delete the other files of its
    `family` (name prefix): caches of other versions. Best effort: a
    read-only home or a full disk only costs speed."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
        for old in path.parent.glob(f"{family}*"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass
