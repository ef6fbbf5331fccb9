"""What the history parser records, shared by the parser (gitlog.py) and the
readers of what git will not diff (gitbinary.py, gitbig.py)."""

from __future__ import annotations

from maniac_guard.records import dataclass, field


@dataclass
class HistoryState:
    """What the history stream saw besides the files it yielded."""

    order: dict[str, int] = field(default_factory=dict)  # commit -> position, oldest first
    renames: dict[str, str] = field(default_factory=dict)  # old path -> new path
    binary: int = 0
    # Binary versions whose path could hold a key: (path, commit), for MG105.
    binary_named_mk: list[tuple[str, Commit]] = field(default_factory=list)
    submodules: int = 0
    too_large: int = 0
    messages: list[str] = field(default_factory=list)
    # What could not be read at all (e.g. a Git LFS object that is not
    # here): the scan is incomplete, so it must not end clean.
    unreadable: list[str] = field(default_factory=list)


@dataclass
class FileDiff:
    """One file of one commit, as the diff shows it."""

    path: bytes | None = None
    submodule: bool = False
    binary: bool = False  # git would not diff it: judged by content instead
    width: int = 1  # prefix columns: 1, or the parent count of a combined (merge) diff
    line: int = 0
    lines: list[bytes] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    size: int = 0
    too_large: bool = False
    renamed_from: str | None = None
    old_blobs: list[str] = field(default_factory=list)
    new_blob: str | None = None
    # One per parent, in the parents' order (None: the file is new there).
    parent_blobs: list[str | None] = field(default_factory=list)


@dataclass
class Commit:
    sha: str | None = None
    author: str | None = None
    date: str | None = None
    parents: tuple[str, ...] = ()
