"""Keys written in an encoding of text (MG103) or hidden with look-alike and
invisible characters (MG104).

A key is as exposed in `mk\\u002d…` (a JSON string), `mk&#45;…` (HTML),
`%6D%6B%2D…` (a URL), `mk=2D…` (a quoted-printable mail), a YAML or shell
value wrapped over lines, or a PDF's compressed text as in plain text: any
reader decodes it. And a key with a zero-width space, a soft hyphen, a
Unicode dash or a Cyrillic letter in it is a key someone tried to hide.

Cost: this detector wakes only where a byte hint says an encoding touches a
`mk-` (HINTS, searched by the prefilter in one native pass with every other
detector's hints). It then decodes only bounded windows around each hint,
keeping for each decoded character the byte span it came from, and looks for
keys there with the key detector's own search and shape test. A key the key
detector already finds where it starts is left to it; others are reported at
their encoded span, which the snippet shows masked.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from maniac_guard.sources import SourceFile

RULE_IDS = frozenset({"MG103", "MG104"})

# --- hints -----------------------------------------------------------------
# `m`, `k` and `-` written in an escape, an entity, percent or QP encoding.
_ESC_M, _ESC_K, _ESC_DASH = (rb"\\u00%s|\\x%s" % (c, c) for c in (rb"6[dD]", rb"6[bB]", rb"2[dD]"))
_ENT_M, _ENT_K = rb"&#109;|&#[xX]0*6[dD];", rb"&#107;|&#[xX]0*6[bB];"
_ENT_DASH = rb"&#0*45;|&#[xX]0*2[dD];|&hyphen;|&dash;|&minus;|&#8208;|&#8722;"
_PCT_M, _PCT_K, _PCT_DASH = rb"%6[dD]", rb"%6[bB]", rb"%2[dD]"
_QP_M, _QP_K, _QP_DASH = rb"=6[dD]", rb"=6[bB]", rb"=2[dD]"
_BODY = rb"[A-Za-z0-9_-]{0,64}"


def _trigger(m: bytes, k: bytes, dash: bytes, in_body: bytes) -> tuple[bytes, ...]:
    """An encoded `mk-`, or a plain one with this encoding in its body: one
    pattern per branch, each opening with a literal, so `re` searches each
    at C speed (one alternation of them all ran at 25 MB/s)."""
    return (
        rb"mk(?:-|%%2[dD]|%s)%s(?:%s)" % (dash, _BODY, in_body),
        rb"mk(?:%s)" % dash,
        rb"m(?:%s)(?:-|%s)" % (k, dash),
        *(rb"%s(?:k|%s)(?:-|%s)" % (alternative, k, dash) for alternative in m.split(b"|")),
    )


_ESCAPES = _trigger(_ESC_M, _ESC_K, _ESC_DASH, rb"\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\U[0-9a-fA-F]{8}")
_ENTITIES = _trigger(_ENT_M, _ENT_K, _ENT_DASH, rb"&#|&[a-zA-Z]{2,8};")
_PERCENT = _trigger(_PCT_M, _PCT_K, _PCT_DASH, rb"%[0-9a-fA-F]{2}")
_QUOTED_PRINTABLE = _trigger(_QP_M, _QP_K, _QP_DASH, rb"=[0-9A-F]{2}|=\r?\n")
# A value continued on the next line: shell `\`-newline, a YAML `\`-ended
# double-quoted line, a folded, literal or plain multi-line scalar. Only a
# next line of nothing but key characters (and a closing quote) continues it,
# and only after a `\` or when indented (a YAML continuation is): lines of
# keys or hashes at the margin are a list, not one wrapped value; nor does a
# line that starts a key of its own continue one.
_BREAK = rb"(?:\\\r?\n[ \t]*|\r?\n[ \t]+)(?!mk-)"
_CONTINUATION = _BREAK + rb"[A-Za-z0-9_-]{2,}[\"']?[ \t]*(?:\r?\n|$)"
_WRAPPED = (rb"mk-" + _BODY + _CONTINUATION,)
# Invisible characters (zero-width space, non-joiner, joiner, LRM/RLM, word
# joiner and its kin, byte order mark, soft hyphen), look-alike dashes
# (U+2010-2015, minus, small and full-width hyphen-minus) and letters
# (Cyrillic, Greek, full-width), in UTF-8.
_INVISIBLE = rb"\xe2\x80[\x8b-\x8f]|\xe2\x81[\xa0-\xa4]|\xef\xbb\xbf|\xc2\xad"
_LOOKALIKE_DASH = rb"\xe2\x80[\x90-\x95]|\xe2\x88\x92|\xef\xb9[\x98\xa3]|\xef\xbc\x8d"
_LOOKALIKE_M, _LOOKALIKE_K = rb"\xd0\xbc|\xef\xbd\x8d", rb"\xd0\xba|\xef\xbd\x8b"
_NON_LATIN_LEAD = rb"[\xd0\xd1\xce\xcf]|\xef\xbc|\xef\xbd"
_OBFUSCATED = (
    *(rb"%s(?:%s){0,4}(?:k|%s)" % (m, _INVISIBLE, _LOOKALIKE_K) for m in _LOOKALIKE_M.split(b"|")),
    rb"m(?:%s){0,4}(?:%s)" % (_INVISIBLE, _LOOKALIKE_K),
    rb"m(?:%s){1,4}k" % _INVISIBLE,
    rb"mk(?:%s){1,4}-" % _INVISIBLE,
    rb"mk(?:%s){0,4}(?:%s)" % (_INVISIBLE, _LOOKALIKE_DASH),
    rb"mk-%s(?:%s|%s|%s)" % (_BODY, _INVISIBLE, _LOOKALIKE_DASH, _NON_LATIN_LEAD),
)
_PDF = rb"FlateDecode"
# What decides where a window is decoded (`re`, precise).
_TRIGGERS = (_ESCAPES, _ENTITIES, _PERCENT, _QUOTED_PRINTABLE, _WRAPPED, _OBFUSCATED)
# The prefilter's hints: cheap necessary conditions for some trigger (every
# trigger's match holds one; a test checks it), written so that hyperscan
# compiles them in ~20 ms (bounded repeats and long alternations took it 2 s):
# an encoded `m` or `k` anywhere; `k` and an encoded dash; a plain `mk-`
# whose key characters end at a `\u`/`\x` escape, an entity, a percent or
# QP byte, a line continuation, a line of key characters only, or a
# non-ASCII byte (not at a plain line end: that would wake it for every key); `m` or `k` before an invisible, a look-alike
# dash or a Cyrillic `k`; a look-alike `m`; a Flate stream.
HINTS = (
    rb"\\u006[dDbB]|\\x6[dDbB]|&#10[79];|&#[xX]0*6[dDbB];|%6[dDbB]|=6[dDbB]",
    rb"k(?:\\u002[dD]|\\x2[dD]|&#0*45;|&#[xX]0*2[dD];|&hyphen;|&dash;|&minus;|&#8208;|&#8722;|=2[dD])",
    rb"mk(?:-|%2[dD])[A-Za-z0-9_-]*(?:\\[uxU\r\n]|&[#a-zA-Z]|%[0-9a-fA-F]|=[0-9A-F\r\n]"
    rb"|\r?\n[ \t]*[A-Za-z0-9_-]+[\"']?[ \t]*(?:\r?\n|$)|[\xc2\xce\xcf\xd0\xd1\xe2\xef])",
    rb"[mk](?:\xe2[\x80\x81\x88]|\xef[\xbb\xb9\xbc\xbd]|\xc2\xad|\xd0\xba)",
    rb"(?:\xd0\xbc|\xef\xbd\x8d)(?:k|\xd0\xba|\xef\xbd\x8b|\xe2[\x80\x81]|\xef\xbb|\xc2\xad)",
    _PDF,
)


@cache
def _branch(source: bytes) -> re.Pattern[bytes]:
    return re.compile(source)


@lru_cache(maxsize=1)
def _trigger_res() -> tuple[tuple[re.Pattern[bytes], ...], ...]:
    """The triggers, compiled on first use: a hook that never meets an
    encoding does not pay for it at start-up."""
    return tuple(tuple(_branch(branch) for branch in trigger) for trigger in _TRIGGERS)


# `wants` asks whether any trigger's branch matches anywhere, in fewer passes
# than one per branch (26 passes over the same bytes cost ~25 ms for the 28
# files of the benchmark tree the hints woke, 2.2 MB). Every branch's match
# starts with a plain `m` or an encoded or look-alike one:
_M_BRANCHES = tuple(branch for trigger in _TRIGGERS for branch in trigger if branch.startswith(b"m"))
_MK_BRANCHES = tuple(branch for branch in _M_BRANCHES if branch.startswith(b"mk"))
_M_NOT_K_BRANCHES = tuple(branch for branch in _M_BRANCHES if not branch.startswith(b"mk"))
_OTHER_BRANCHES = tuple(branch for trigger in _TRIGGERS for branch in trigger if not branch.startswith(b"m"))
# - a plain `m`: what follows it in any branch (`mk` and a dash, `%`, an
#   escape, an entity, a QP byte or a non-ASCII byte; `m` and an encoded `k`
#   or an invisible): one pass finds the few places where one can start,
#   and each branch is tried only there;
_M_START = rb"m(?:k[-%\\&=\x80-\xff]|[\\&%=\x80-\xff])"
# - an encoded or look-alike `m` (the other branches each open with one of
#   these, a test checks it): one literal pass each, after a memchr for its
#   first byte, and the branches themselves only in a file that has one.
_M_ENCODED = (
    (b"\\", _ESC_M),
    (b"&", _ENT_M),
    (b"%", _PCT_M),
    (b"=", _QP_M),
    *zip((b"\xd0", b"\xef"), _LOOKALIKE_M.split(b"|"), strict=True),
)
# Past this many places in one file where a plain-`m` branch may start, the
# branches are searched whole instead (each pass in C): bounds the Python
# loop on text made of `mk-` (a minified bundle), never a different answer.
_M_STARTS_MAX = 256


def _plain_m_triggers(data: bytes) -> bool:
    """Whether a branch that opens with a plain `m` matches in `data`."""
    for count, start in enumerate(_branch(_M_START).finditer(data)):
        if count == _M_STARTS_MAX:
            return any(_branch(branch).search(data, start.start()) is not None for branch in _M_BRANCHES)
        at = start.start()
        for branch in _MK_BRANCHES if data[at + 1] == 0x6B else _M_NOT_K_BRANCHES:  # `k`
            if _branch(branch).match(data, at) is not None:
                return True
    return False


def _encoded_m_triggers(data: bytes) -> bool:
    """Whether a branch that opens with an encoded or look-alike `m` matches."""
    if not any(byte in data and _branch(m).search(data) is not None for byte, m in _M_ENCODED):
        return False
    return any(_branch(branch).search(data) is not None for branch in _OTHER_BRANCHES)


def wants(source: SourceFile) -> bool:
    data = source.data
    if data.startswith(b"%PDF-") and _PDF in data:
        return True
    return _plain_m_triggers(data) or _encoded_m_triggers(data)
