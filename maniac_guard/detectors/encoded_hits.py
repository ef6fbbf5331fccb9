"""MG103/MG104's decoding and findings (encoded.py holds the hints and
`wants`): imported only when a file holds an encoded `mk-` or a hidden one,
so a scan whose files have none builds none of these classes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache

from maniac_guard.detectors.encoded import _BREAK, _INVISIBLE, _LOOKALIKE_DASH, _PDF, _trigger_res
from maniac_guard.detectors.keys import real_keys, vendor_named_near
from maniac_guard.findings import Finding, mask
from maniac_guard.records import dataclass
from maniac_guard.sources import SourceFile


def _triggered(data: bytes, branches: tuple[re.Pattern[bytes], ...]) -> list[tuple[int, int]]:
    return sorted((match.start(), match.end()) for branch in branches for match in branch.finditer(data))


# --- decoding windows --------------------------------------------------------

# A window starts this far before a trigger (the key's start) and reaches
# this far after it: a key of 64 characters, each encoded in 8 bytes.
_BEFORE, _AFTER = 16, 768


@dataclass(frozen=True)
class Decoded:
    """Decoded text, and for each run of it the bytes it came from."""

    text: str
    # Sorted by where each piece begins in `text`: (text index, byte start,
    # byte end, encoded). A verbatim piece maps character i to byte
    # start + (i - index); an encoded atom maps all its characters to its span.
    pieces: list[tuple[int, int, int, bool]]
    indexes: list[int]  # pieces[i][0], for bisecting

    def span(self, start: int, end: int) -> tuple[int, int, bool]:
        """Byte span of text[start:end], and whether any of it was encoded."""
        import bisect

        indexes = self.indexes
        first = bisect.bisect_right(indexes, start) - 1
        last = bisect.bisect_right(indexes, end - 1) - 1
        index, byte_start, byte_end, encoded = self.pieces[first]
        begin = byte_start + (start - index) if not encoded else byte_start
        index, byte_start, byte_end, encoded = self.pieces[last]
        finish = byte_start + (end - index) if not encoded else byte_end
        return begin, finish, any(piece[3] for piece in self.pieces[first : last + 1])


def _decode_window(
    data: bytes, low: int, high: int, atoms: re.Pattern[bytes], decode: Callable[[bytes], str]
) -> Decoded:
    """data[low:high] with every atom decoded: work in proportion to the
    number of atoms, not of bytes."""
    text: list[str] = []
    pieces: list[tuple[int, int, int, bool]] = []
    length = 0
    position = low
    for match in atoms.finditer(data, low, high):
        if match.start() > position:
            pieces.append((length, position, match.start(), False))
            text.append(data[position : match.start()].decode("latin-1"))
            length += match.start() - position
        # An atom that decodes to nothing (a soft break, an invisible) is a
        # piece of no text: it marks what spans it as encoded.
        value = decode(match.group())
        pieces.append((length, match.start(), match.end(), True))
        text.append(value)
        length += len(value)
        position = match.end()
    if high > position:
        pieces.append((length, position, high, False))
        text.append(data[position:high].decode("latin-1"))
    return Decoded("".join(text), pieces, [piece[0] for piece in pieces])


def _unescape_code(atom: bytes) -> str:
    """A string escape as JSON, JavaScript and Python read it."""
    if atom[1:2] in (b"u", b"x", b"U"):
        code = int(atom[2:], 16)
        return chr(code) if code < 0x110000 else "?"
    return {b"n": "\n", b"r": "\r", b"t": "\t"}.get(atom[1:2], atom[1:2].decode("latin-1"))


def _unescape_html(atom: bytes) -> str:
    import html

    text = html.unescape(atom.decode("ascii")) or "?"
    # `&hyphen;`, `&dash;` and `&minus;` name Unicode dashes: a reader sees `-`.
    return "-" if len(text) == 1 and text in _DASHES else text


def _unescape_percent(atom: bytes) -> str:
    return chr(int(atom[1:], 16))


def _unescape_qp(atom: bytes) -> str:
    return "" if atom[1:2] in (b"\r", b"\n") else chr(int(atom[1:], 16))


def _nothing(atom: bytes) -> str:
    return ""


# Look-alike letters (Cyrillic, Greek) and dashes -> ASCII; full-width ASCII
# is mapped by its code point.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_LOOKALIKES = {
    **dict.fromkeys(_DASHES, "-"),
    **dict(zip("аеорсхукміјѕАВЕКМНОРСТХοΑΒΕΖΗΙΚΜΝΟΡΤΧΥ", "aeopcxykmijsABEKMHOPCTXoABEZHIKMNOPTXY", strict=True)),
}


def _unobfuscate(atom: bytes) -> str:
    char = atom.decode("utf-8")
    if char in _LOOKALIKES:
        return _LOOKALIKES[char]
    if "\uff01" <= char <= "\uff5e":
        return chr(ord(char) - 0xFEE0)
    return ""  # invisible


_LOOKALIKE_LETTERS = b"|".join(
    re.escape(c.encode()) for c in sorted({*_LOOKALIKES, *(chr(c) for c in range(0xFF01, 0xFF5F))})
)


@dataclass(frozen=True)
class Encoding:
    name: str  # what the message calls it
    trigger: int  # which of _TRIGGERS says where a window is decoded
    atoms: bytes  # what is decoded in a window
    decode: Callable[[bytes], str]
    rule_id: str = "MG103"


ENCODINGS = (
    Encoding(
        "string escapes", 0, rb"\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\U[0-9a-fA-F]{8}|\\[nrt\"'\\/]", _unescape_code
    ),
    Encoding("HTML entities", 1, rb"&#[0-9]{1,7};|&#[xX][0-9a-fA-F]{1,6};|&[A-Za-z][A-Za-z0-9]{1,31};", _unescape_html),
    Encoding("percent-encoding", 2, rb"%[0-9a-fA-F]{2}", _unescape_percent),
    Encoding("quoted-printable", 3, rb"=[0-9A-F]{2}|=\r?\n", _unescape_qp),
    Encoding("a value wrapped over lines", 4, _BREAK + rb"(?=[A-Za-z0-9_-]{2,}[\"']?[ \t]*(?:\r?\n|\Z))", _nothing),
    Encoding(
        "look-alike or invisible characters",
        5,
        _INVISIBLE + b"|" + _LOOKALIKE_DASH + b"|" + _LOOKALIKE_LETTERS,
        _unobfuscate,
        rule_id="MG104",
    ),
)


@lru_cache(maxsize=len(ENCODINGS))
def _compiled(pattern: bytes) -> re.Pattern[bytes]:
    return re.compile(pattern)


@dataclass(frozen=True)
class Hit:
    start: int
    end: int
    key: str
    how: str
    rule_id: str


def _hits_in(data: bytes, encoding: Encoding, plain: dict[int, int]) -> Iterator[Hit]:
    done = 0  # windows never overlap: each byte is decoded at most once per encoding
    atoms = _compiled(encoding.atoms)
    for trigger_start, trigger_end in _triggered(data, _trigger_res()[encoding.trigger]):
        if trigger_start < done:
            continue
        low = max(done, trigger_start - _BEFORE)
        high = min(len(data), trigger_end + _AFTER)
        done = high
        decoded = _decode_window(data, low, high, atoms, encoding.decode)
        # One byte per character, so the key search's offsets index `text`.
        text = decoded.text.encode("ascii", "replace")
        for key_start, key_end, key in real_keys(text):
            start, end, encoded = decoded.span(key_start, key_end)
            # A key the key detector finds whole where it starts is its to report;
            # one it finds cut short (a wrapped value's first line) is not.
            if not encoded or plain.get(start, 0) >= len(key):
                continue
            if encoding.trigger == _WRAP_TRIGGER and start in plain and not _deliberate_wrap(data, start, end):
                continue
            yield Hit(start, end, key, encoding.name, encoding.rule_id)


_WRAP_TRIGGER = 4
_EXPLICIT_CONTINUATION = re.compile(rb"\\\r?\n")
_BLOCK_INDICATORS = (b">", b"|", b">-", b"|-", b">+", b"|+")


def _deliberate_wrap(data: bytes, start: int, end: int) -> bool:
    """A line break inside a key that is whole on its first line joins only
    where the file says the value goes on: a backslash-newline, or a YAML block
    scalar (`key: >-` on the line before). Otherwise the next line is text
    of its own (`MANIAC_API_KEY=mk-…` and then a bare word)."""
    if _EXPLICIT_CONTINUATION.search(data, start, end):
        return True
    line_start = data.rfind(b"\n", 0, start) + 1
    previous = data[data.rfind(b"\n", 0, max(0, line_start - 1)) + 1 : max(0, line_start - 1)]
    return previous.rstrip().endswith(_BLOCK_INDICATORS)


def _pdf_hits(data: bytes) -> Iterator[Hit]:
    from maniac_guard.detectors.pdftext import keys_in_pdf

    for start, end, key in keys_in_pdf(data):
        yield Hit(start, end, key, "a PDF's compressed text", "MG103")


def find_hits(data: bytes) -> list[Hit]:
    plain = {start: len(key) for start, _, key in real_keys(data)}
    hits: dict[tuple[int, str], Hit] = {}
    for encoding in ENCODINGS:
        for hit in _hits_in(data, encoding, plain):
            hits.setdefault((hit.start, hit.key), hit)
    if data.startswith(b"%PDF-") and _PDF in data:
        for hit in _pdf_hits(data):
            hits.setdefault((hit.start, hit.key), hit)
    return sorted(hits.values(), key=lambda hit: (hit.start, hit.key))


# --- findings ------------------------------------------------------------------


def _masked_snippet(source: SourceFile, hit: Hit, spans: list[tuple[int, int, str]]) -> str:
    """The line of the hit with every encoded key on it replaced by its mask."""
    from maniac_guard.detectors.snippet import WINDOW_BYTES, snippet

    data = source.data
    line_start, line_end = source.line_span(hit.start)
    low = max(line_start, hit.start - WINDOW_BYTES)
    high = min(line_end, hit.start + WINDOW_BYTES)
    pieces: list[bytes] = []
    position = low
    for start, end, key in spans:
        if end <= low or start >= high:
            continue
        pieces.append(data[position : max(position, start)])
        pieces.append(mask(key).encode())
        position = max(position, min(end, high))
    pieces.append(data[position:high])
    text = b"".join(pieces).decode("utf-8", "replace")
    text = "".join(c if c.isprintable() or c == "\t" else " " for c in text)  # a PDF stream's bytes
    return snippet(text, [hit.key], low > line_start, high < line_end)


def detect(source: SourceFile) -> Iterator[Finding]:
    from maniac_guard.detectors.snippet import finding_at

    hits = find_hits(source.data)
    spans = [(hit.start, hit.end, hit.key) for hit in hits]
    for hit in hits:
        vendor = vendor_named_near(source.data, hit.start, hit.end)
        if hit.rule_id == "MG104":
            what = f"Maniac API key {mask(hit.key)} hidden with {hit.how}"
        else:
            what = f"Maniac API key {mask(hit.key)} written in {hit.how}"
        if vendor is not None:
            what = f"{what.replace('Maniac API key', 'API key')}: probably a {vendor} key (the line names {vendor})"
        finding = finding_at(source, hit.rule_id, what, hit.start, hit.end, secret=hit.key)
        extra = {**finding.extra, "vendor": vendor} if vendor is not None else finding.extra
        yield finding.replace(snippet=_masked_snippet(source, hit, spans), extra=extra)
