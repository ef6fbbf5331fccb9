"""What verifying a key with the Maniac API found (`Finding.verification`).
Apart from findings.py: only `--verify` builds one, and a frozen dataclass
costs every run's start ~0.5 ms to create."""

from __future__ import annotations

from maniac_guard.records import dataclass


@dataclass(frozen=True)
class Verification:
    state: str  # live | revoked | unknown
    status: int | None
    reason: str
