"""Text that comes from scanned files (paths, lines, commit authors, server
replies) reaches every report. Two hazards, handled here once:

- a path that is not valid UTF-8 arrives as a `surrogateescape`d str, which
  no UTF-8 report can hold as it is (UnicodeEncodeError, no report);
- control characters (ESC, CR, DEL, C1, bidi overrides) would act on the
  reader's terminal or log viewer: `ESC[2K ESC[1A` erases the finding itself.

Display formats show both as visible backslash escapes (`\\xe9`, `\\x1b`),
as `ls -b` and git do; JSON formats escape them as JSON requires.
"""

from __future__ import annotations

import functools
import json
import re

from maniac_guard.findings import mask_real_keys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from typing import Any

# Lone surrogates: U+DC80..U+DCFF are bytes that were not UTF-8 (PEP 383).
_SURROGATE = "[\ud800-\udfff]"
# C0 and C1 controls, DEL, and the bidi controls of "Trojan Source".
_CONTROL = "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
# The part of _CONTROL that ASCII text can hold.
_ASCII_CONTROL = "[\x00-\x1f\x7f]"


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """Compiled on first use: the non-ASCII classes cost ~1 ms, which a
    hook's ASCII paths and lines never pay."""
    return re.compile(pattern)


# What json.dumps(ensure_ascii=False) leaves raw in its output: DEL, C1 and
# bidi controls (it escapes C0 itself) and lone surrogates (it cannot encode).
_JSON_RAW = "[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"


def _visible(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # the original byte
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _has_surrogate(text: str) -> bool:
    """UTF-8 encodes every code point but the surrogates (in C, no pattern to compile)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def undecodable(text: str) -> str:
    """`text` with bytes that were not UTF-8 shown as `\\xNN`; encodable as UTF-8."""
    if text.isascii() or not _has_surrogate(text):
        return text
    return _compiled(_SURROGATE).sub(lambda m: _visible(m.group()), text)


def printable(text: str, keep: str = "") -> str:
    """`text` safe to print on a terminal: controls (but those in `keep`) and
    undecodable bytes become visible escapes; a key (a file named after one) masked."""
    text = mask_real_keys(text)
    if text.isprintable():  # False for every character of _CONTROL (C0, C1, DEL, format, surrogates)
        return text
    controls = _compiled(_ASCII_CONTROL if text.isascii() else _CONTROL)
    return controls.sub(lambda m: m.group() if m.group() in keep else _visible(m.group()), text)


# Up to this many findings JSON reports are indented for people; above it,
# compact: json's C encoder only runs without indentation (25,000 SARIF
# results render in 4.4 s instead of 8.8 s) and the file is half the size.
INDENT_UP_TO = 1_000


def json_text(document: Any, *, lossless_paths: bool, items: int = 0) -> str:
    """JSON, as UTF-8-safe text with every control escaped. With
    `lossless_paths`, undecodable bytes become `\\udcNN` escapes (a JSON
    parser gives back the `surrogateescape`d str, so `os.fsencode` restores
    the exact name); without, they show as `\\xNN` text, for consumers whose
    JSON parsers reject lone surrogates. `items`: how many findings it holds."""
    indent = 2 if items <= INDENT_UP_TO else None
    text = json.dumps(document, indent=indent, ensure_ascii=False)

    def escaped(match: re.Match[str]) -> str:
        code = ord(match.group())
        if 0xD800 <= code <= 0xDFFF and not lossless_paths:
            # Inside a JSON string: the backslash of `\xNN` is itself escaped.
            return "\\" + _visible(match.group())
        return f"\\u{code:04x}"

    return _compiled(_JSON_RAW).sub(escaped, text) + "\n"
