"""Is a candidate `mk-` string a real key, or a placeholder / identifier?

Judged by shape, not by a list of known decoys: real keys are random, so
they mix character classes, carry entropy, and hold no long runs, sequences,
repeats or placeholder markers.
"""

from __future__ import annotations

import math
import re
from collections import Counter

MIN_BODY_LENGTH = 16
KEY_BODY_RE = re.compile(r"[A-Za-z0-9]{16,}")
# Marker words that only a human writes into a placeholder. A random base62
# body contains one of these with probability well under 1e-5.
_MARKERS = re.compile(
    r"your|example|placeholder|redacted|dummy|sample|changeme|replace|insert|secret|token|apikey|xxxx",
    re.IGNORECASE,
)
_RUN = re.compile(r"(.)\1{3,}")  # aaaa, 0000
_SEQUENCE_LENGTH = 5  # 12345, abcde, edcba


def _has_sequence(body: str) -> bool:
    run_up = run_down = 1
    for prev, cur in zip(body, body[1:]):
        step = ord(cur) - ord(prev)
        run_up = run_up + 1 if step == 1 else 1
        run_down = run_down + 1 if step == -1 else 1
        if run_up >= _SEQUENCE_LENGTH or run_down >= _SEQUENCE_LENGTH:
            return True
    return False


def _is_periodic(body: str) -> bool:
    """abcdabcdabcd…: a short unit repeated."""
    n = len(body)
    for period in range(1, n // 2 + 1):
        if all(body[i] == body[i - period] for i in range(period, n)):
            return True
    return False


def entropy(text: str) -> float:
    counts = Counter(text)
    total = len(text)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def placeholder_reason(body: str) -> str | None:
    """Why this key body is not a real key, or None if it looks real."""
    if len(body) < MIN_BODY_LENGTH:
        return "too short"
    if not KEY_BODY_RE.fullmatch(body):
        return "not letters and digits"
    classes = sum(
        (any(c.islower() for c in body), any(c.isupper() for c in body), any(c.isdigit() for c in body))
    )
    if classes < 2:
        return "a single character class"
    if _MARKERS.search(body):
        return "placeholder word"
    if _RUN.search(body):
        return "a run of one character"
    if _has_sequence(body):
        return "a sequence like 12345 or abcde"
    if _is_periodic(body):
        return "a repeated pattern"
    # A random base62 string of length n has entropy close to log2(min(n, 62)).
    if entropy(body) < 0.75 * math.log2(min(len(body), 62)):
        return "low entropy"
    return None


def looks_like_key(value: str) -> bool:
    """True for `mk-` + a random-looking body."""
    return value.startswith("mk-") and placeholder_reason(value[3:]) is None
