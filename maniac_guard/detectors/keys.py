"""Key patterns (MG101, MG102): `mk-` keys in any text, also percent- and
base64-encoded."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

from maniac_guard.findings import Finding, mask
from maniac_guard.keyshape import placeholder_reason
from maniac_guard.sources import SourceFile

RULE_IDS = frozenset({"MG101", "MG102"})

# A key starts at a word boundary (`hmk-…` is not one) or right after a
# percent escape (`%3Dmk-…` in an encoded query string); the dash may itself
# be percent-encoded. The body is letters and digits; shape decides the rest.
KEY_PATTERN = rb"(?:(?<![A-Za-z0-9_])|(?<=%[0-9A-Fa-f]{2}))mk(?:-|%2[dD])([A-Za-z0-9]{16,})(?![A-Za-z0-9_])"
KEY_RE = re.compile(KEY_PATTERN)

# base64 of "mk-" at each of the three alignments inside an encoded token.
_B64_MARKERS = re.compile(rb"bWst|1rL|tay")
_B64_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")
_B64_MIN_TOKEN = 24


def _has_base64_marker(data: bytes) -> bool:
    return b"bWst" in data or b"1rL" in data or b"tay" in data


def wants(source: SourceFile) -> bool:
    return b"mk" in source.data or _has_base64_marker(source.data)


def _real_keys(data: bytes) -> Iterator[tuple[int, int, str]]:
    """(start, end, key) of every real-looking key in `data`."""
    for match in KEY_RE.finditer(data):
        body = match.group(1).decode("ascii")
        if placeholder_reason(body) is None:
            yield match.start(), match.end(), "mk-" + body


# Masking is wider than detection: any `mk-` run of 6+ letters and digits,
# whatever precedes it, each stopping where the next `mk-` starts (so keys
# pasted back to back are each masked).
_MASK_RE = re.compile(r"mk(?:-|%2[dD])((?:(?!mk(?:-|%2[dD]))[A-Za-z0-9]){6,})")


def mask_keys_in_text(text: str) -> str:
    if "mk" not in text:
        return text
    return _MASK_RE.sub(lambda m: mask("mk-" + m.group(1)), text)


def _base64_tokens(data: bytes) -> Iterator[tuple[int, int]]:
    """Spans of base64 tokens that hold one of the `mk-` markers."""
    last_end = -1
    for marker in _B64_MARKERS.finditer(data):
        if marker.start() < last_end:
            continue
        start = marker.start()
        while start > 0 and data[start - 1] in _B64_CHARS:
            start -= 1
        end = marker.end()
        while end < len(data) and data[end] in _B64_CHARS:
            end += 1
        while end < len(data) and data[end] == 0x3D:  # '=' padding
            end += 1
        last_end = end
        if end - start >= _B64_MIN_TOKEN:
            yield start, end


def _decode_base64(token: bytes) -> bytes | None:
    token = token.rstrip(b"=")
    token += b"=" * (-len(token) % 4)
    try:
        if b"-" in token or b"_" in token:
            return base64.urlsafe_b64decode(token)
        return base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return None


def detect(source: SourceFile) -> Iterator[Finding]:
    from maniac_guard.detectors.snippet import finding_at

    data = source.data
    plain: set[str] = set()
    if b"mk" in data:
        for start, end, key in _real_keys(data):
            plain.add(key)
            yield finding_at(source, "MG101", f"Maniac API key {mask(key)} in plain text", start, end, secret=key)
    if _has_base64_marker(data):
        for start, end in _base64_tokens(data):
            decoded = _decode_base64(data[start:end])
            if not decoded:
                continue
            for _, _, key in _real_keys(decoded):
                if key not in plain:
                    yield finding_at(source, "MG102", f"base64-encoded Maniac API key {mask(key)}", start, end, secret=key)
