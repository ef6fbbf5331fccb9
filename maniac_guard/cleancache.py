"""The detector cache: which unchanged files a slow detector found nothing in."""

from __future__ import annotations

import os

from maniac_guard.sources import SourceFile

# Detectors whose "nothing here" is worth remembering between scans: libcst
# parses ~50 files/s, a hundred times slower than the key regexes, so an
# unchanged Python file that uses the SDK cleanly should be parsed once.
# Each depends only on the file's path and bytes.
CACHED_DETECTORS = frozenset({"maniac_guard.detectors.python_code"})
CLEAN_CACHE_MAX = 200_000  # entries (16 bytes each)


class CleanCache:
    """Keyed hashes of (detector, path, bytes) that a detector found nothing
    in, in the user's cache folder. Never a finding, a line or a secret: a
    file with findings is always scanned again. The key changes with the
    package's code and rules, so an upgrade or an edit starts afresh; the
    file is safe to delete (`MANIAC_GUARD_CACHE_DIR=` turns it off)."""

    def __init__(self, path: str, key: bytes, known: set[bytes]) -> None:
        self.path = path
        self.key = key
        self.known = known

    @classmethod
    def open(cls) -> CleanCache | None:
        import hashlib
        import sys

        from maniac_guard import __version__
        from maniac_guard.catalog import cache_dir

        folder = cache_dir()
        if folder is None:
            return None
        version = hashlib.blake2b(f"clean-v1\0{__version__}\0{sys.version}".encode(), digest_size=32)
        package = os.path.dirname(os.path.abspath(__file__))
        for current, dirs, files in sorted(os.walk(package)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith(".py"):
                    info = os.stat(os.path.join(current, name))
                    version.update(f"{current[len(package):]}/{name}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
        from maniac_guard.catalog import load_rules

        for rule in load_rules().values():
            version.update(repr(rule).encode("utf-8", "surrogatepass"))
        key = version.digest()
        path = os.path.join(str(folder), f"clean-{key.hex()[:16]}.bin")
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except OSError:
            raw = b""
        return cls(path, key, {raw[i : i + 16] for i in range(0, len(raw) - 15, 16)})

    def entry(self, detector: str, source: SourceFile) -> bytes:
        import hashlib

        digest = hashlib.blake2b(key=self.key[:64], digest_size=16)
        digest.update(f"{detector}\0{source.path}\0".encode("utf-8", "surrogateescape"))
        digest.update(source.data)
        return digest.digest()

    def save(self, new: list[bytes]) -> None:
        """Old entries, then new ones, the newest CLEAN_CACHE_MAX kept; best effort."""
        fresh = [e for e in dict.fromkeys(new) if e not in self.known]
        if not fresh:
            return
        try:
            with open(self.path, "rb") as handle:
                old = handle.read()
        except OSError:
            old = b""
        data = (old + b"".join(fresh))[-16 * CLEAN_CACHE_MAX :]
        folder = os.path.dirname(self.path)
        try:
            os.makedirs(folder, exist_ok=True)
            temporary = f"{self.path}.{os.getpid()}.tmp"
            with open(temporary, "wb") as handle:
                handle.write(data)
            os.replace(temporary, self.path)
            for name in os.listdir(folder):  # caches of other versions
                if name.startswith("clean-") and name.endswith(".bin") and os.path.join(folder, name) != self.path:
                    os.unlink(os.path.join(folder, name))
        except OSError:
            pass
