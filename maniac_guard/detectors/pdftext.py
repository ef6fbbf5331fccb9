"""The text a PDF shows, from its Flate-compressed content streams, for the
encoded-text detector (a key in an exported PDF: a report, a slide).

Bounded against hostile files: at most MAX_STREAMS streams, each inflated to
at most MAX_INFLATED bytes and all of them to MAX_TOTAL (a zip bomb in a PDF
stops there), and only literal `(…)` and hex `<…>` strings are read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from maniac_guard.detectors.keys import real_keys

MAX_STREAMS = 256
MAX_INFLATED = 4 * 1024 * 1024
MAX_TOTAL = 16 * 1024 * 1024
# The stream keyword, with its dictionary just before it naming the filter.
_STREAM_RE = re.compile(rb"stream\r?\n")
_DICTIONARY_REACH = 512
# Literal strings (one level of parentheses inside, as PDF writers emit them),
# hex strings, and the operators that end a text line.
_TEXT_RE = re.compile(rb"\((?:[^()\\]|\\.|\([^()\\]*\))*\)|<[0-9A-Fa-f\s]*>|T[jJ*]|'|\"|ET")
_ESCAPE_RE = re.compile(rb"\\([0-7]{1,3}|.)", re.DOTALL)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"\n": b"", b"\r": b""}


def _literal(token: bytes) -> bytes:
    def replace(match: re.Match[bytes]) -> bytes:
        escape = match.group(1)
        if escape[:1].isdigit():
            return bytes([int(escape, 8) & 0xFF])
        return _ESCAPES.get(escape, escape)

    return _ESCAPE_RE.sub(replace, token[1:-1])


def _shown_text(content: bytes) -> bytes:
    """The strings of a content stream, those of one text line joined (a
    `TJ` array splits a word for kerning), lines apart."""
    lines: list[bytes] = []
    current: list[bytes] = []
    for match in _TEXT_RE.finditer(content):
        token = match.group()
        if token[:1] == b"(":
            current.append(_literal(token))
        elif token[:1] == b"<":
            digits = bytes(b for b in token[1:-1] if not chr(b).isspace())
            try:
                current.append(bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode()))
            except ValueError:
                pass
        elif token in (b"T*", b"'", b'"', b"ET"):
            lines.append(b"".join(current))
            current = []
    lines.append(b"".join(current))
    return b"\n".join(lines)


def _inflate(data: bytes, start: int, budget: int) -> bytes:
    import zlib

    inflater = zlib.decompressobj()
    try:
        return inflater.decompress(data[start:], min(budget, MAX_INFLATED))
    except zlib.error:
        return b""


def keys_in_pdf(data: bytes) -> Iterator[tuple[int, int, str]]:
    """(stream start, stream end, key) for every key shown in a compressed stream."""
    budget = MAX_TOTAL
    for count, match in enumerate(_STREAM_RE.finditer(data)):
        if count >= MAX_STREAMS or budget <= 0:
            return
        if b"FlateDecode" not in data[max(0, match.start() - _DICTIONARY_REACH) : match.start()]:
            continue
        inflated = _inflate(data, match.end(), budget)
        budget -= len(inflated)
        if b"mk" not in inflated:
            continue
        end = data.find(b"endstream", match.end())
        end = len(data) if end < 0 else end + len(b"endstream")
        for _, _, key in real_keys(_shown_text(inflated)):
            yield match.start(), end, key
