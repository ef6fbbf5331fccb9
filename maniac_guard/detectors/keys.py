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
# be percent-encoded. The body is letters, digits, `-` and `_` (base64url);
# its shape decides the rest (keyshape). The definition, which tests hold
# `_real_keys` to:
KEY_PATTERN = rb"(?:(?<![A-Za-z0-9_])|(?<=%[0-9A-Fa-f]{2}))mk(?:-|%2[dD])([A-Za-z0-9_-]{16,})(?![A-Za-z0-9_-])"
# The same match without the leading lookbehind, which stops `re` from
# searching for the literal `mk` at C speed (10x slower on big trees); the
# boundary is checked by hand in `_at_key_start`.
_CANDIDATE_RE = re.compile(rb"mk(?:-|%2[dD])([A-Za-z0-9_-]{16,})(?![A-Za-z0-9_-])")
_SEPARATOR_RE = re.compile(r"[-_]")
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_HEX_BYTES = frozenset(b"0123456789ABCDEFabcdef")
# Literal searches run at memory speed; `bytes.__contains__` is about 2x slower
# for these short needles and an alternation regex 10x slower.
# `mk` alone is in every `mkdir`; a key needs `mk-` or `mk%2D`.
_find_mk = re.compile(rb"mk[-%]").search  # HINTS[0]
# base64 of "mk-" at each of the three byte alignments, with the character
# that follows where the key's first letter or digit pins it down
# ("tay" alone is in every "stay").
_B64_MARKER_PIECES = ((b"b", b"W", b"s", b"t"), (b"1", b"r", b"L", b"[T-X]"), (b"t", b"a", b"y", b"[01]"))
_B64_MARKER_PATTERNS = tuple(b"".join(pieces) for pieces in _B64_MARKER_PIECES)
_B64_MARKER_SEARCHES = tuple(re.compile(marker).search for marker in _B64_MARKER_PATTERNS)
# Wrapped base64 (the `base64` tool's 76 columns, a Kubernetes `|` block) may
# break a line inside a marker; these match with the break and indentation.
_LINE_BREAK = rb"(?:\r?\n[ \t]*)?"
_B64_WRAPPED_MARKER_RE = re.compile(b"|".join(_LINE_BREAK.join(pieces) for pieces in _B64_MARKER_PIECES))
_BLANKS = b"\r\n \t"
# Text without any of these cannot wake this detector (see detectors/__init__).
# The broken forms are spelled out one break position at a time: an optional
# break between every two characters made hyperscan's pass over a tree 2.3x
# slower (109 ms against 51 ms for 86 MB), for the same set of strings.
HINTS = (
    rb"mk[-%]",
    *_B64_MARKER_PATTERNS,
    *(b"".join(p[:cut]) + rb"\r?\n[ \t]*" + b"".join(p[cut:]) for p in _B64_MARKER_PIECES for cut in (1, 2, 3)),
)
_B64_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")
_B64_MIN_TOKEN = 24
# A line of a wrapped base64 block: at least this many characters, a multiple
# of four (76 for `base64`, 64 for PEM and `openssl base64`).
_B64_MIN_WRAP = 20


def _has_base64_marker(data: bytes) -> bool:
    if any(search(data) is not None for search in _B64_MARKER_SEARCHES):
        return True
    # A marker broken by a line break: deleting blanks is a C-speed pass, much
    # cheaper than a regex allowing a break between every two characters.
    joined = data.translate(None, _BLANKS)
    return len(joined) != len(data) and any(search(joined) is not None for search in _B64_MARKER_SEARCHES)


def wants(source: SourceFile) -> bool:
    return _find_mk(source.data) is not None or _has_base64_marker(source.data)


def _at_key_start(data: bytes, start: int) -> bool:
    """KEY_PATTERN's lookbehind: a word boundary or right after `%XX`."""
    if start == 0 or data[start - 1] not in _WORD_BYTES:
        return True
    return start >= 3 and data[start - 3] == 0x25 and data[start - 2] in _HEX_BYTES and data[start - 1] in _HEX_BYTES


def key_body(body: str) -> str | None:
    """The key a candidate body holds: all of it when it looks random, else
    its leading letters-and-digits part (`mk-<key>-prod`, `mk-<key>_old`)."""
    if placeholder_reason(body) is None:
        return body
    head = _SEPARATOR_RE.split(body, maxsplit=1)[0]
    if head != body and placeholder_reason(head) is None:
        return head
    return None


def _real_keys(data: bytes) -> Iterator[tuple[int, int, str]]:
    """(start, end, key) of every real-looking key in `data` (KEY_PATTERN's matches)."""
    search = _CANDIDATE_RE.search
    pos = 0
    while (match := search(data, pos)) is not None:
        if not _at_key_start(data, match.start()):
            pos = match.start() + 1  # `hmk-mk-<key>`: the body may hold a key start
            continue
        # `mk-build-deps-mk-<key>`: a second key start ends the first candidate.
        inner = data.find(b"-mk-", match.start(1), match.end())
        body = key_body(data[match.start(1) : match.end() if inner < 0 else inner].decode("ascii"))
        if body is not None:
            yield match.start(), match.start(1) + len(body), "mk-" + body
        pos = match.end() if inner < 0 else inner + 1


def _token_around(data: bytes, index: int) -> tuple[int, int]:
    """The span of base64 characters (and `=` padding) on one line around `index`."""
    start = index
    while start > 0 and data[start - 1] in _B64_CHARS:
        start -= 1
    end = index
    while end < len(data) and data[end] in _B64_CHARS:
        end += 1
    while end < len(data) and data[end] == 0x3D:  # '=' padding
        end += 1
    return start, end


def _next_line(data: bytes, end: int) -> int | None:
    """Where the line after the one ending at `end` starts, if `end` ends a line."""
    if data[end : end + 2] == b"\r\n":
        return end + 2
    if data[end : end + 1] == b"\n":
        return end + 1
    return None


def _is_wrapped_line(start: int, end: int, data: bytes) -> bool:
    """A full line of a wrapped block: long, a multiple of 4, no padding."""
    return end - start >= _B64_MIN_WRAP and (end - start) % 4 == 0 and data[end - 1] != 0x3D


def _wrapped_block(data: bytes, start: int, end: int) -> tuple[int, int]:
    """Extend a one-line token over the lines of its wrapped base64 block."""
    while _is_wrapped_line(start, end, data) and (after := _next_line(data, end)) is not None:
        first = after
        while first < len(data) and data[first] in b" \t":
            first += 1
        if first >= len(data) or data[first] not in _B64_CHARS:
            break
        _, next_end = _token_around(data, first)
        if _next_line(data, next_end) is None and next_end != len(data):
            break  # something else follows on that line: not base64 output
        end = next_end
    while True:
        line_start = start
        while line_start > 0 and data[line_start - 1] in b" \t":
            line_start -= 1
        if line_start == 0 or data[line_start - 1] != 0x0A:
            break  # the token does not begin its line
        previous_end = line_start - 1
        if previous_end > 0 and data[previous_end - 1] == 0x0D:
            previous_end -= 1
        previous_start, _ = _token_around(data, previous_end)
        if previous_start == previous_end or not _is_wrapped_line(previous_start, previous_end, data):
            break
        start = previous_start
    return start, end


def _base64_tokens(data: bytes) -> Iterator[tuple[int, int, int, int]]:
    """(token start, end, block start, end) of base64 tokens holding a `mk-`
    marker: the token on the marker's line, and the wrapped block around it."""
    last_end = -1
    # One literal search per marker, merged: the alternation is 10x slower. A
    # marker overlapping an earlier one lies inside that token and is skipped.
    markers = sorted(m.start() for marker in _B64_MARKER_PATTERNS for m in re.finditer(marker, data))
    joined = data.translate(None, _BLANKS)
    if len(joined) != len(data) and any(search(joined) for search in _B64_MARKER_SEARCHES):
        # Some marker may be broken over lines: the slower search finds those too.
        markers = sorted({*markers, *(m.start() for m in _B64_WRAPPED_MARKER_RE.finditer(data))})
    for marker_start in markers:
        if marker_start < last_end:
            continue
        start, end = _token_around(data, marker_start)
        block_start, block_end = _wrapped_block(data, start, end)
        last_end = end
        if block_end - block_start >= _B64_MIN_TOKEN:
            yield start, end, block_start, block_end


def _decode_base64(token: bytes) -> bytes | None:
    import base64  # here: only files with a base64 marker get this far
    import binascii

    token = token.translate(None, _BLANKS).rstrip(b"=")
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
        decoded_spans: set[tuple[int, int]] = set()
        block_keys: set[tuple[int, int, str]] = set()  # a block's keys, reported once
        for start, end, block_start, block_end in _base64_tokens(data):
            found: list[str] = []
            # The joined block first; the marker's own line as before, in case
            # the block was joined wrongly (then it does not decode).
            for span in dict.fromkeys(((block_start, block_end), (start, end))):
                if span in decoded_spans:
                    continue
                decoded_spans.add(span)
                decoded = _decode_base64(data[span[0] : span[1]])
                if decoded:
                    found.extend(key for _, _, key in _real_keys(decoded))
            for key in dict.fromkeys(found):
                if key not in plain and (block_start, block_end, key) not in block_keys:
                    block_keys.add((block_start, block_end, key))
                    yield finding_at(
                        source, "MG102", f"base64-encoded Maniac API key {mask(key)}", start, end, secret=key
                    )
