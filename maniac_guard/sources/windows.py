"""Files over the size limit, for the key patterns: overlapping windows.

A key on line 1 of an 11 MiB file is a key. The size limit exists for the
analyses that need a whole file in memory (the Python analysis, YAML); the
key patterns look at bytes, so a big file (on disk, or a git blob) is read
as a stream of WINDOW-byte windows, each sharing OVERLAP bytes with the
next, and only the detectors that can work on part of a file run on them
(the same ones that run on a diff's added lines). Memory stays at one
window, whatever the file's size.

A window owns the findings that start in it before the overlap at its end;
the next window, which holds that overlap whole, owns those. So a key up to
OVERLAP bytes long is found once, never cut, and CONTEXT bytes before each
window's own part keep the check of what precedes `mk-` honest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from maniac_guard.records import dataclass
from maniac_guard.sources import SourceFile, char_count

WINDOW = 8 << 20
# Longer than any key match: a body of 16 to a few hundred characters, a
# base64 block of one; a "key" of 64 KiB on one line is not a key.
OVERLAP = 64 << 10
CONTEXT = 64  # bytes before a window's own part: what precedes a key there


@dataclass
class WindowSource(SourceFile):
    """One window of a big file. `line_numbers` holds the real line numbers,
    so whole-file detectors leave it alone, as they leave a diff."""

    owned_from: int = 0  # byte offset in `data` where this window's findings start
    owned_until: int | None = None  # where the next window's start (None: the last window)
    first_column: int = 0  # characters of the first line that precede the window


def read_full(read: Callable[[int], bytes], size: int) -> bytes:
    """`size` bytes from a stream (fewer only at its end): reads may be short."""
    data = read(size)
    while len(data) < size:
        more = read(size - len(data))
        if not more:
            break
        data += more
    return data


def windows(
    path: str,
    read: Callable[[int], bytes],
    *,
    commit: str | None = None,
    author: str | None = None,
    date: str | None = None,
    window: int = WINDOW,
    overlap: int = OVERLAP,
) -> Iterator[WindowSource]:
    """The stream `read` gives, as overlapping windows (see the module doc;
    `window` and `overlap` are smaller in tests)."""
    carried = b""  # the end of the window before: OVERLAP + CONTEXT bytes
    line, column = 1, 0  # where `carried` (or the file) starts
    first = True
    while True:
        fresh = read_full(read, window - len(carried))
        # Short: the end of the file (the window before may have ended
        # exactly there; then this one is its overlap, owned to the end).
        last = len(carried) + len(fresh) < window
        data = carried + fresh
        newlines = data.count(b"\n")
        source = WindowSource(
            path=path,
            data=data,
            commit=commit,
            author=author,
            date=date,
            line_numbers=list(range(line, line + newlines + 1)),
            owned_from=0 if first else CONTEXT,
            owned_until=None if last else len(data) - overlap,
            first_column=column,
        )
        yield source
        if last:
            return
        next_start = len(data) - overlap - CONTEXT
        crossed = data.count(b"\n", 0, next_start)
        if crossed:
            line += crossed
            column = char_count(data, data.rfind(b"\n", 0, next_start) + 1, next_start)
        else:
            column += char_count(data, 0, next_start)
        carried = data[next_start:]
        first = False
