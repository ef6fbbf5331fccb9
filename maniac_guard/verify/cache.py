"""Recent verdicts, so a re-run does not ask the API again.

One small JSON file per key, named by a SHA-256 of the base URL and the
key: the key itself is never written. Live and unknown answers go stale
fast (a key may be revoked, an outage may end); revoked is final.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from maniac_guard.verification import Verification
from maniac_guard.verify.classify import LIVE, REVOKED, UNKNOWN

TTL = {LIVE: 15 * 60, UNKNOWN: 60, REVOKED: 7 * 24 * 3600}
VERSION = 1


def default_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("maniac-guard")) / "verify"


def entry_name(base_url: str, key: str) -> str:
    raw = f"maniac-guard/verify/v{VERSION}\0{base_url}\0{key}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest() + ".json"


class VerifyCache:
    def __init__(self, base_url: str, folder: str | os.PathLike[str] | None = None) -> None:
        self.base_url = base_url
        self.folder = Path(folder) if folder is not None else default_dir()

    def _path(self, key: str) -> Path:
        return self.folder / entry_name(self.base_url, key)

    def get(self, key: str, now: float | None = None) -> Verification | None:
        """The remembered verdict; None (ask again) when it is missing, stale,
        not sealed by this machine (see cachefiles) or of the wrong shape."""
        from maniac_guard.cachefiles import read_cached

        now = time.time() if now is None else now
        try:
            data = json.loads(read_cached(self._path(key)) or b"null")
        except (ValueError, RecursionError):
            return None
        if not isinstance(data, dict):
            return None
        state, status, reason, checked = (data.get(k) for k in ("state", "status", "reason", "checked"))
        if not isinstance(state, str) or state not in TTL or not isinstance(reason, str):
            return None
        if not (status is None or (isinstance(status, int) and not isinstance(status, bool))):
            return None
        if isinstance(checked, bool) or not isinstance(checked, (int, float)) or not 0 <= now - checked < TTL[state]:
            return None
        age = int(now - checked)
        ago = f"{age // 60} min" if age >= 60 else f"{age}s"
        return Verification(state, status, f"{reason} (cached {ago} ago)")

    def put(self, key: str, verification: Verification, now: float | None = None) -> None:
        """Best effort: a cache that cannot be written is only a slower next run."""
        from maniac_guard.cachefiles import store_cached

        now = time.time() if now is None else now
        record = {
            "state": verification.state,
            "status": verification.status,
            "reason": verification.reason,
            "checked": now,
        }
        store_cached(self._path(key), json.dumps(record).encode("utf-8"), None)
