"""What an answer from `GET /v1/models` says about a key.

live: 200 with a JSON body, or 403 (authenticates, lacks the permission).
revoked: 401, or an error code that names the key as invalid.
unknown: everything else. A rate limit or an outage is never "revoked".
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from maniac_guard.findings import mask
from maniac_guard.records import dataclass
from maniac_guard.verification import Verification

LIVE, REVOKED, UNKNOWN = "live", "revoked", "unknown"
REVOKED_CODES = frozenset({"invalid_api_key", "authentication_error"})
# A 401 says only that Maniac does not accept the key: revoked, or never a
# Maniac key (another vendor's `mk-` key, say). Reports say so in these words.
NOT_LIVE_AT_MANIAC = "not live at Maniac (revoked, or not a Maniac key)"
REASON_WIDTH = 120


@dataclass(frozen=True)
class Outcome:
    """A final verdict, or a request to try again (after `wait` seconds, if given)."""

    verification: Verification
    retry: bool = False
    wait: float | None = None  # what the server asked for (429), before capping


def safe_text(text: str, key: str) -> str:
    """Server text, made fit for a report: no key, no control characters, short."""
    from maniac_guard.findings import mask_keys_in_text

    text = text.replace(key, mask(key)) if key else text
    text = mask_keys_in_text(text)
    text = "".join(c if c.isprintable() else " " for c in text)
    text = " ".join(text.split())
    return text if len(text) <= REASON_WIDTH else text[: REASON_WIDTH - 1] + "…"


def error_fields(body: Any) -> tuple[str, str, str]:
    """(code, type, message) from either error shape:
    `{"error": {"type", "code", "message"}}` or `{"error": "code", "message": …}`."""
    if not isinstance(body, dict):
        return "", "", ""
    error = body.get("error")
    if isinstance(error, dict):
        return (str(error.get("code") or ""), str(error.get("type") or ""), str(error.get("message") or ""))
    if isinstance(error, str):
        return error, str(body.get("type") or ""), str(body.get("message") or "")
    return "", "", str(body.get("message") or "") if isinstance(body.get("message"), str) else ""


def _parse_json(raw: bytes) -> tuple[bool, Any]:
    try:
        return True, json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False, None


_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$")


def parse_wait(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from Retry-After (seconds or HTTP date) or
    x-ratelimit-reset (seconds, an epoch time, or a duration like `1m30s`)."""
    now = time.time() if now is None else now
    retry_after = headers.get("retry-after", "").strip()
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(retry_after)
                return max(0.0, when.timestamp() - now)
            except (TypeError, ValueError):
                pass
    reset = headers.get("x-ratelimit-reset", "").strip()
    if reset:
        try:
            value = float(reset)
            # Large numbers are a Unix time, small ones a delay.
            return max(0.0, value - now) if value > 1e9 else max(0.0, value)
        except ValueError:
            match = _DURATION.match(reset)
            if match and any(match.groups()):
                h, m, s, ms = (float(g) if g else 0.0 for g in match.groups())
                return h * 3600 + m * 60 + s + ms / 1000
    return None


def _detail(code: str, kind: str, message: str, key: str) -> str:
    label = code or kind
    text = f"{label}: {message}" if label and message else (label or message)
    return safe_text(text, key)


def classify(status: int, headers: Mapping[str, str], raw: bytes, key: str) -> Outcome:
    parsed, body = _parse_json(raw)
    code, kind, message = error_fields(body)
    detail = _detail(code, kind, message, key)
    suffix = f" ({detail})" if detail else ""
    if status == 200:
        if parsed and isinstance(body, dict) and "error" not in body:
            return Outcome(Verification(LIVE, status, "the key works: it listed the models"))
        return Outcome(Verification(UNKNOWN, status, "HTTP 200 with an unexpected body (not the models list)"))
    if status == 401 or (400 <= status < 500 and status != 429 and (code in REVOKED_CODES or kind in REVOKED_CODES)):
        return Outcome(Verification(REVOKED, status, f"the API rejects the key: {NOT_LIVE_AT_MANIAC}{suffix}"))
    if status == 403:
        if parsed:
            return Outcome(
                Verification(LIVE, status, f"the key authenticates but lacks permission to list models{suffix}")
            )
        return Outcome(Verification(UNKNOWN, status, "HTTP 403 with an unexpected body (a proxy or firewall?)"))
    if status == 429:
        return Outcome(Verification(UNKNOWN, status, f"rate limited{suffix}"), retry=True, wait=parse_wait(headers))
    if status >= 500:
        return Outcome(Verification(UNKNOWN, status, f"server error{suffix}"), retry=True)
    if 300 <= status < 400:
        return Outcome(Verification(UNKNOWN, status, "redirected; redirects are not followed"))
    return Outcome(Verification(UNKNOWN, status, f"unexpected answer{suffix}"))


def kept_by_only_live(verdict: Verification | None, holds_key: bool) -> bool:
    """What `--only-live` keeps: live keys, and every key whose verdict is
    unknown (an unreachable API, a rate limit, a key not sent), so a gate
    fails closed; it drops keys the API rejected and findings without a key."""
    if verdict is None:
        return False
    return verdict.state == LIVE or (holds_key and verdict.state == UNKNOWN)
