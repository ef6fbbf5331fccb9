"""Key patterns (MG101, MG102): `mk-` keys in any text, also percent- and
base64-encoded."""

from __future__ import annotations

import re
from collections.abc import Iterator

from maniac_guard.findings import Finding, mask
from maniac_guard.keyshape import placeholder_reason
from maniac_guard.sources import SourceFile

RULE_IDS = frozenset({"MG101", "MG102"})

# A key starts at a word boundary (`hmk-…` is not one) or right after a
# percent escape (`%3Dmk-…` in an encoded query string); the dash may itself
# be percent-encoded. The body is letters and digits; shape decides the rest.
# The definition, which tests hold `_real_keys` to:
KEY_PATTERN = rb"(?:(?<![A-Za-z0-9_])|(?<=%[0-9A-Fa-f]{2}))mk(?:-|%2[dD])([A-Za-z0-9]{16,})(?![A-Za-z0-9_])"
# The same match without the leading lookbehind, which stops `re` from
# searching for the literal `mk` at C speed (10x slower on big trees); the
# boundary is checked by hand in `_at_key_start`. A rejected candidate cannot
# hide a real key inside its span: the body holds no `-` or `%`.
_CANDIDATE_RE = re.compile(rb"mk(?:-|%2[dD])([A-Za-z0-9]{16,})(?![A-Za-z0-9_])")
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_HEX_BYTES = frozenset(b"0123456789ABCDEFabcdef")
# Literal searches run at memory speed; `bytes.__contains__` is about 2x slower
# for these short needles and an alternation regex 10x slower.
# `mk` alone is in every `mkdir`; a key needs `mk-` or `mk%2D`.
_find_mk = re.compile(rb"mk[-%]").search  # HINTS[0]
# base64 of "mk-" at each of the three byte alignments, with the character
# that follows where the key's first letter or digit pins it down
# ("tay" alone is in every "stay").
_B64_MARKER_PATTERNS = (rb"bWst", rb"1rL[T-X]", rb"tay[01]")
_B64_MARKER_SEARCHES = tuple(re.compile(marker).search for marker in _B64_MARKER_PATTERNS)
# Text without any of these cannot wake this detector (see detectors/__init__).
HINTS = (rb"mk[-%]", *_B64_MARKER_PATTERNS)
_B64_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")
_B64_MIN_TOKEN = 24


def _has_base64_marker(data: bytes) -> bool:
    return any(search(data) is not None for search in _B64_MARKER_SEARCHES)


def wants(source: SourceFile) -> bool:
    return _find_mk(source.data) is not None or _has_base64_marker(source.data)


def _at_key_start(data: bytes, start: int) -> bool:
    """KEY_PATTERN's lookbehind: a word boundary or right after `%XX`."""
    if start == 0 or data[start - 1] not in _WORD_BYTES:
        return True
    return start >= 3 and data[start - 3] == 0x25 and data[start - 2] in _HEX_BYTES and data[start - 1] in _HEX_BYTES


def _real_keys(data: bytes) -> Iterator[tuple[int, int, str]]:
    """(start, end, key) of every real-looking key in `data` (KEY_PATTERN's matches)."""
    for match in _CANDIDATE_RE.finditer(data):
        if not _at_key_start(data, match.start()):
            continue
        body = match.group(1).decode("ascii")
        if placeholder_reason(body) is None:
            yield match.start(), match.end(), "mk-" + body


def _base64_tokens(data: bytes) -> Iterator[tuple[int, int]]:
    """Spans of base64 tokens that hold one of the `mk-` markers."""
    last_end = -1
    # One literal search per marker, merged: the alternation is 10x slower. A
    # marker overlapping an earlier one lies inside that token and is skipped.
    markers = sorted(m.span() for marker in _B64_MARKER_PATTERNS for m in re.finditer(marker, data))
    for marker_start, marker_end in markers:
        if marker_start < last_end:
            continue
        start = marker_start
        while start > 0 and data[start - 1] in _B64_CHARS:
            start -= 1
        end = marker_end
        while end < len(data) and data[end] in _B64_CHARS:
            end += 1
        while end < len(data) and data[end] == 0x3D:  # '=' padding
            end += 1
        last_end = end
        if end - start >= _B64_MIN_TOKEN:
            yield start, end


def _decode_base64(token: bytes) -> bytes | None:
    import base64  # here: only files with a base64 marker get this far
    import binascii

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
    if _find_mk(data) is not None:
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
