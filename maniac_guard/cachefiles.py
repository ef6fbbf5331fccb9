"""maniac-guard's cache folder and its files: the rule catalog, the detector
cache and the compiled prefilter. Every file there is named after a hash of
what it was made from, written whole or not at all, and safe to delete.

Nothing read from the cache may decide a verdict: a CI job restores the
folder from a store that other branches write to, so a file there is
attacker-controlled. Each file is therefore sealed with a keyed hash
(BLAKE2b) under a random key kept *outside* the cache folder, in the user's
state folder (`~/.local/state/maniac-guard/cache-key`). A file whose seal
does not match (edited, copied from another machine, of another name) reads
as missing: the scan rebuilds it. A restored cache without its key is only
a cold cache.
"""

from __future__ import annotations

import functools
import os
import sys

# hashlib's BLAKE2b and hmac's compare_digest, from the modules they come
# from: importing hashlib or hmac loads OpenSSL (~3 ms of a hook's start),
# and no cache hash is one of its algorithms. pathlib is imported where a
# file is written: a hook run whose files no cacheable detector reaches
# opens no cache file.
try:
    from _blake2 import blake2b
    from _operator import _compare_digest as compare_digest
except ImportError:  # an interpreter without CPython's builtin modules
    from hashlib import blake2b
    from hmac import compare_digest  # type: ignore[no-redef]  # the same function, typed apart
# SHA-256 the same way (a finding's fingerprint): _sha256 up to Python
# 3.11, _sha2 from 3.12; resolved once, not on every call.
try:
    from _sha256 import sha256  # type: ignore[import-not-found]
except ImportError:
    try:
        from _sha2 import sha256  # type: ignore[import-not-found]
    except ImportError:
        from hashlib import sha256

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "blake2b",
    "cache_dir",
    "cache_folder",
    "compare_digest",
    "key_path",
    "read_cached",
    "sha256",
    "store_cached",
]

# A text header line: `maniac-guard sealed v1 <64 hex digits>`, then the data.
SEAL_MAGIC = b"maniac-guard sealed v1 "
SEAL_SIZE = 32
HEADER_SIZE = len(SEAL_MAGIC) + 2 * SEAL_SIZE + 1
KEY_SIZE = 32


def cache_dir() -> Path | None:
    """maniac-guard's folder in the user's cache directory (None: caching off).

    `MANIAC_GUARD_CACHE_DIR` overrides it; an empty value turns caches off."""
    folder = cache_folder()
    if folder is None:
        return None
    from pathlib import Path

    return Path(folder)


def cache_folder() -> str | None:
    """cache_dir() as a string, without pathlib."""
    override = os.environ.get("MANIAC_GUARD_CACHE_DIR")
    if override is not None:
        return override or None
    if os.name == "posix" and not sys.platform.startswith("darwin"):
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return os.path.join(base, "maniac-guard")  # what platformdirs says, without its import
    from platformdirs import user_cache_dir

    return str(user_cache_dir("maniac-guard"))


def key_path() -> str:
    """Where the sealing key lives: the user's state folder, never the cache folder."""
    if os.name == "posix" and not sys.platform.startswith("darwin"):
        base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
        return os.path.join(base, "maniac-guard", "cache-key")
    from platformdirs import user_state_dir

    return os.path.join(user_state_dir("maniac-guard"), "cache-key")


@functools.cache
def _sealing_key() -> bytes | None:
    """This machine's random key (made on first use), or None when it can
    be neither read nor made: then no cache file is trusted or written."""
    path = key_path()
    for _ in range(2):
        try:
            with open(path, "rb") as handle:
                key = handle.read(KEY_SIZE + 1)
            if len(key) == KEY_SIZE:
                return key
            os.unlink(path)  # damaged: make a new one (every sealed file then misses)
        except FileNotFoundError:
            pass
        except OSError:
            return None
        if not _make_key(path):
            return None
    return None


def _temporary_beside(path: str) -> str:
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.{os.getpid()}.tmp")


def _make_key(path: str) -> bool:
    """Write a new key; a parallel run may win the race (os.link refuses to replace)."""
    temporary = _temporary_beside(path)
    try:
        os.makedirs(os.path.dirname(path) or os.curdir, exist_ok=True, mode=0o700)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(KEY_SIZE))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        return True
    except OSError:
        return False
    finally:
        _remove(temporary)


def _seal(name: str, data: bytes, key: bytes) -> bytes:
    # The file's name is sealed too: a valid file copied to another name misses.
    digest = blake2b(name.encode("utf-8", "surrogateescape") + b"\0", key=key, digest_size=SEAL_SIZE)
    digest.update(data)
    return digest.hexdigest().encode("ascii")


def read_cached(path: str | Path) -> bytes:
    """The file's bytes when its seal holds; empty when it is missing,
    unreadable, unsealed or tampered with (a miss, never an error)."""
    key = _sealing_key()
    if key is None:
        return b""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError:
        return b""
    if not raw.startswith(SEAL_MAGIC) or raw[HEADER_SIZE - 1 : HEADER_SIZE] != b"\n":
        return b""
    data = raw[HEADER_SIZE:]
    if not compare_digest(raw[len(SEAL_MAGIC) : HEADER_SIZE - 1], _seal(os.path.basename(path), data, key)):
        return b""
    return data


def store_cached(path: str | Path, data: bytes, family: str | None) -> None:
    """Replace `path` with sealed `data` (owner-only, via a temporary name,
    so a reader never sees half a file) and delete the other files of its
    `family` (name prefix): caches of other versions. Best effort: a
    read-only home or a full disk only costs speed, and leaves no
    temporary file behind."""
    key = _sealing_key()
    if key is None:
        return
    path = os.fspath(path)
    folder, name = os.path.split(path)
    folder = folder or os.curdir
    temporary = _temporary_beside(path)
    try:
        os.makedirs(folder, exist_ok=True, mode=0o700)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(SEAL_MAGIC + _seal(name, data, key) + b"\n")
            handle.write(data)
        os.replace(temporary, path)
        if family is not None:
            for old in os.scandir(folder):
                if old.name.startswith(family) and old.name != name:
                    _remove(old.path)
    except OSError:
        pass
    finally:
        _remove(temporary)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:  # FileNotFoundError included
        pass
