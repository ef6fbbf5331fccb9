"""Key patterns (MG101, MG102): `mk-` keys in any text, also percent- and
base64-encoded."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from maniac_guard.findings import Finding, mask
from maniac_guard.keyshape import MIN_BODY_LENGTH, placeholder_reason
from maniac_guard.sources import SourceFile

RULE_IDS = frozenset({"MG101", "MG102"})

# A key starts at a word boundary (`hmk-…` is not one), right after a
# percent escape (`%3Dmk-…` in an encoded query string), or right after an
# escape sequence of a string literal, where the letter that ends the escape
# is glued to the key in the file's bytes (`"…\nmk-…"` in JSON, a log or a
# notebook output, `"\tmk-…"` in Python, `\u003dmk-…`, an ANSI colour
# `\x1b[32mmk-…`). The dash may itself be percent-encoded. The body is
# letters, digits, `-` and `_` (base64url); its shape decides the rest
# (keyshape). The definition, which tests hold `_real_keys` to (an escape
# counts only after an odd number of backslashes, checked by hand):
KEY_PATTERN = (
    rb"(?:(?<![A-Za-z0-9_])|(?<=%[0-9A-Fa-f]{2})|(?<=\\[abefnrtv0-7])|(?<=\\x[0-9A-Fa-f]{2})"
    rb"|(?<=\\u[0-9A-Fa-f]{4})|(?<=\\U[0-9A-Fa-f]{8})|(?<=\x1b\[m)|(?<=\x1b\[[0-9;]m)|(?<=\x1b\[[0-9;]{2}m))"
    rb"mk(?:-|%2[dD])([A-Za-z0-9_-]{16,})(?![A-Za-z0-9_-])"
)
# Where a key's `mk-` (or `mk%2D`) may be: the search that finds candidates.
# Without the lookbehind `re` searches for the literal `mk` at C speed (10x
# faster on big trees); the boundary is checked by hand in `_at_key_start`.
_MARKER_RE = re.compile(rb"mk(?:-|%2[dD])")
_BODY_RUN = re.compile(rb"[A-Za-z0-9_-]*")
_SEPARATOR_RE = re.compile(r"[-_]")
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_HEX_BYTES = frozenset(b"0123456789ABCDEFabcdef")
_DIGIT_BYTES = frozenset(b"0123456789")
# Literal searches run at memory speed; `bytes.__contains__` is about 2x slower
# for these short needles and an alternation regex 10x slower.
# `mk` alone is in every `mkdir`; a key needs `mk-` or `mk%2D`.
_find_mk = re.compile(rb"mk[-%]").search  # HINTS[0]
# base64 of "mk-" at each of the three byte alignments, with the character
# that follows where the key's first letter or digit pins it down
# ("tay" alone is in every "stay").
_B64_MARKER_PIECES = ((b"b", b"W", b"s", b"t"), (b"1", b"r", b"L", b"[T-X]"), (b"t", b"a", b"y", b"[01]"))
_B64_MARKER_PATTERNS = tuple(b"".join(pieces) for pieces in _B64_MARKER_PIECES)
# A marker whole or with blanks between its characters (base64 output wrapped
# over lines, indented): one search each, at C speed from its first character
# (~40% less than deleting the blanks and searching the rest for the markers).
_B64_SPREAD_SEARCHES = tuple(re.compile(rb"[\r\n \t]*".join(pieces)).search for pieces in _B64_MARKER_PIECES)
# Wrapped base64 (the `base64` tool's 76 columns, a Kubernetes `|` block) may
# break a line inside a marker; these match with the break and indentation.
_LINE_BREAK = rb"(?:\r?\n[ \t]*)?"
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


@lru_cache(maxsize=1)
def _b64_wrapped_marker_re() -> re.Pattern[bytes]:
    """The markers with a break anywhere in them: compiled when a file first has one."""
    return re.compile(b"|".join(_LINE_BREAK.join(pieces) for pieces in _B64_MARKER_PIECES))


def _has_base64_marker(data: bytes) -> bool:
    """Whether `data` holds a marker once its blanks are deleted."""
    return any(search(data) is not None for search in _B64_SPREAD_SEARCHES)


def wants(source: SourceFile) -> bool:
    return _find_mk(source.data) is not None or _has_base64_marker(source.data)


_ESCAPE_LETTERS = frozenset(b"abefnrtv01234567")
# Escapes that stand for ESC in an ANSI colour sequence, as written in
# source, JSON and shell.
_ANSI_ESCAPES = (rb"\x1b", rb"\x1B", rb"\u001b", rb"\u001B", rb"\033", rb"\e")
_LONGEST_ANSI = 16  # `\u001b[38;5;208m`: colour codes are short


def _escaped(data: bytes, backslash: int) -> bool:
    """True when the backslash at `backslash` starts an escape: an odd number
    of backslashes ends there (an escaped backslash and an `n` is no escape)."""
    count = 0
    while backslash - count >= 0 and data[backslash - count] == 0x5C and count < 64:
        count += 1
    return count % 2 == 1


def _after_escape(data: bytes, start: int) -> bool:
    """`start` follows an escape sequence that ends in a letter or digit."""
    if start >= 2 and data[start - 2] == 0x5C and data[start - 1] in _ESCAPE_LETTERS:
        return _escaped(data, start - 2)
    for width, letter in ((4, 0x78), (6, 0x75), (10, 0x55)):  # backslash x, u, U and hex digits
        at = start - width
        if (
            at >= 0
            and data[at] == 0x5C
            and data[at + 1] == letter
            and all(b in _HEX_BYTES for b in data[at + 2 : start])
            and _escaped(data, at)
        ):
            return True
    return False


def _after_ansi_colour(data: bytes, start: int) -> bool:
    """`start` follows an ANSI colour code (`ESC[32m`, also written as an escape)."""
    if start < 3 or data[start - 1] != 0x6D:  # 'm'
        return False
    at = start - 2
    while at >= 0 and start - at <= _LONGEST_ANSI and (data[at] in _DIGIT_BYTES or data[at] == 0x3B):
        at -= 1
    if at < 0 or data[at] != 0x5B:  # '['
        return False
    if at >= 1 and data[at - 1] == 0x1B:
        return True
    return any(data[max(0, at - len(e)) : at] == e for e in _ANSI_ESCAPES)


def _at_key_start(data: bytes, start: int) -> bool:
    """KEY_PATTERN's lookbehind: a word boundary, right after `%XX`, or after
    an escape sequence."""
    if start == 0 or data[start - 1] not in _WORD_BYTES:
        return True
    if start >= 3 and data[start - 3] == 0x25 and data[start - 2] in _HEX_BYTES and data[start - 1] in _HEX_BYTES:
        return True
    return _after_escape(data, start) or _after_ansi_colour(data, start)


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
    """(start, end, key) of every real-looking key in `data` (KEY_PATTERN's
    matches). Linear in the length of `data`, whatever it holds: each body is
    judged once, and a run of body characters is measured once however many
    `mk-` it holds (`hmk-hmk-…` used to cost a search to the end of the run
    per `mk-`, quadratic time)."""
    markers = [m.start() for m in _MARKER_RE.finditer(data)]
    # dashed_from[i]: where the first `-mk-` (a key start inside a body) at or
    # after marker i begins; one backward pass, so every lookup is O(1).
    dashed_from = [len(data)] * (len(markers) + 2)
    for index in range(len(markers) - 1, -1, -1):
        at = markers[index]
        dashed = at > 0 and data[at - 1] == 0x2D and data[at + 2] == 0x2D
        dashed_from[index] = at - 1 if dashed else dashed_from[index + 1]
    run_start = run_end = -1  # the last run of body characters measured
    skip_until = 0
    for index, start in enumerate(markers):
        if start < skip_until or not _at_key_start(data, start):
            continue
        body_start = start + (3 if data[start + 2] == 0x2D else 5)
        if not run_start <= body_start <= run_end:
            run_start = body_start
            match = _BODY_RUN.match(data, body_start)
            run_end = match.end() if match is not None else body_start
        if run_end - body_start < MIN_BODY_LENGTH:
            continue
        # `mk-build-deps-mk-<key>`: a second key start ends the first candidate
        # (one whose dash is this key's own does not: `mk-mk-…`).
        inner = dashed_from[index + 1]
        if inner < body_start:
            inner = dashed_from[index + 2]
        body_end = min(inner, run_end)
        body = key_body(data[body_start:body_end].decode("ascii"))
        if body is not None:
            yield start, body_start + len(body), "mk-" + body
        skip_until = run_end if inner >= run_end else inner + 1


# The search, for the detectors that decode text first (encoded.py).
real_keys = _real_keys


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
    if b"\n" in data:
        # Some marker may be broken over lines: the slower search finds those
        # too (asked only of data with a marker, whole or broken).
        markers = sorted({*markers, *(m.start() for m in _b64_wrapped_marker_re().finditer(data))})
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


# How far around a key its line is read for another vendor's name: enough for
# `VITE_METASO_API_KEY=`, bounded for minified files.
_VENDOR_WINDOW = 256


@lru_cache(maxsize=1)
def _other_vendors() -> tuple[tuple[str, re.Pattern[bytes]], ...]:
    """(vendor, a search for its names) from MG101's data: vendors whose keys
    also start with `mk-` (rules/MG101.yaml, `other_vendors`)."""
    from maniac_guard.catalog import get_rule

    table = get_rule("MG101").data.get("other_vendors") or {}
    return tuple(
        (str(vendor), re.compile(b"|".join(re.escape(str(word).encode()) for word in words), re.IGNORECASE))
        for vendor, words in dict(table).items()
    )


def vendor_named_near(data: bytes, start: int, end: int) -> str | None:
    """The other vendor that the line around [start, end) names, if any
    (`METASO_API_KEY=mk-…`): the key is probably theirs, not Maniac's."""
    low = max(0, start - _VENDOR_WINDOW)
    line_start = data.rfind(b"\n", low, start) + 1 or low
    line_end = data.find(b"\n", end, end + _VENDOR_WINDOW)
    around = data[line_start : line_end if line_end >= 0 else end + _VENDOR_WINDOW]
    for vendor, names in _other_vendors():
        if names.search(around) is not None:
            return vendor
    return None


def _key_finding(
    source: SourceFile, rule_id: str, what: str, start: int, end: int, key: str, vendor: str | None
) -> Finding:
    from maniac_guard.detectors.snippet import finding_at

    if vendor is None:
        return finding_at(source, rule_id, f"{what}Maniac API key {mask(key)}{_WHERE[rule_id]}", start, end, secret=key)
    # Still a leaked secret, reported as one; whose it probably is decides
    # where to rotate it, and verification never sends it to Maniac.
    message = f"{what}API key {mask(key)}{_WHERE[rule_id]}: probably a {vendor} key (the line names {vendor})"
    finding = finding_at(source, rule_id, message, start, end, secret=key)
    return finding.replace(extra={**finding.extra, "vendor": vendor})


_WHERE = {"MG101": " in plain text", "MG102": ""}


def detect(source: SourceFile) -> Iterator[Finding]:
    data = source.data
    plain: set[str] = set()
    if _find_mk(data) is not None:
        for start, end, key in _real_keys(data):
            plain.add(key)
            yield _key_finding(source, "MG101", "", start, end, key, vendor_named_near(data, start, end))
    if _has_base64_marker(data):
        decoded_spans: set[tuple[int, int]] = set()
        block_keys: set[tuple[int, int, str]] = set()  # a block's keys, reported once
        for start, end, block_start, block_end in _base64_tokens(data):
            found: dict[str, str | None] = {}
            # The joined block first; the marker's own line as before, in case
            # the block was joined wrongly (then it does not decode).
            for span in dict.fromkeys(((block_start, block_end), (start, end))):
                if span in decoded_spans:
                    continue
                decoded_spans.add(span)
                decoded = _decode_base64(data[span[0] : span[1]])
                if decoded:
                    for key_start, key_end, key in _real_keys(decoded):
                        found.setdefault(key, vendor_named_near(decoded, key_start, key_end))
            for key, vendor in found.items():
                if key not in plain and (block_start, block_end, key) not in block_keys:
                    block_keys.add((block_start, block_end, key))
                    vendor = vendor or vendor_named_near(data, start, end)
                    yield _key_finding(source, "MG102", "base64-encoded ", start, end, key, vendor)
