"""Text from git instead of the work tree: staged blobs (here) and history
diffs (`gitlog.py`).

Staged content comes from a fixed number of git processes however many files
are staged: `git diff --cached --raw -z` for paths and blob ids, then one
`git cat-file --batch-check` and one `--batch` that stream each blob under
the size limit (a larger one is sized, never read). A staged Git LFS
pointer is replaced by the file it points to (the local LFS store, or the
work-tree file whose SHA-256 is the pointer's oid).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from maniac_guard.records import dataclass, field
from maniac_guard.sources.gitblobs import BlobReader
from maniac_guard.sources.gitcore import (
    GitError,
    RepoInfo,
    decode_path,
    encode_path,
    repo_info,
    run_git,
    unquote_path,
)
from maniac_guard.sources.gitlog import (
    COMMIT_MARK,
    HistoryState,
    _parse,
    count_commits,
    history_sources,
    log_args,
)

if TYPE_CHECKING:
    from maniac_guard.summary import ScanResult

__all__ = [
    "COMMIT_MARK",
    "GitError",
    "HistoryState",
    "RepoInfo",
    "StagedFile",
    "StagedReport",
    "_parse",
    "count_commits",
    "decode_path",
    "encode_path",
    "history_sources",
    "log_args",
    "read_blobs",
    "repo_info",
    "run_git",
    "staged_files",
    "unquote_path",
]

ZERO_SHA_RE = re.compile(r"^0+$")
SUBMODULE_MODE = b"160000"
SYMLINK_MODE = b"120000"


@dataclass
class StagedFile:
    path: str  # relative to the repository root, POSIX
    blob: str


@dataclass
class StagedReport:
    files: list[StagedFile] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def staged_files(cwd: str, pathspecs: Sequence[str] = ()) -> StagedReport:
    """Files added, copied, modified or retyped in the index, with their blob ids.
    Pathspecs are literal: a file named `*.py` or `:(exclude)x` is that file."""
    args = [
        "--literal-pathspecs",
        "diff",
        "--cached",
        "--raw",
        "-z",
        "--no-abbrev",
        "--no-renames",
        "--no-ext-diff",
        "--no-relative",
        "--diff-filter=ACMT",
    ]
    if pathspecs:
        args += ["--", *pathspecs]
    out = run_git(args, cwd)
    report = StagedReport()
    parts = out.split(b"\0")
    # -z --raw: ":old new oldsha newsha status" NUL "path" NUL
    for meta, path in zip(parts[0::2], parts[1::2]):
        if not meta.startswith(b":"):
            continue
        fields = meta[1:].split()
        new_mode, new_sha = fields[1], fields[3].decode("ascii")
        if new_mode == SUBMODULE_MODE:
            report.skipped["submodule"] = report.skipped.get("submodule", 0) + 1
            continue
        if new_mode == SYMLINK_MODE:
            report.skipped["symlink"] = report.skipped.get("symlink", 0) + 1
            continue
        if ZERO_SHA_RE.match(new_sha):  # `git add -N`: nothing staged yet
            continue
        report.files.append(StagedFile(decode_path(path), new_sha))
    return report


def unknown_paths(cwd: str, pathspecs: Sequence[str]) -> list[str]:
    """PATHS that name nothing: not on disk, not in the index, not a staged deletion."""
    missing = []
    for spec in pathspecs:
        if os.path.lexists(spec):
            continue
        literal = ["--literal-pathspecs"]
        if run_git([*literal, "ls-files", "-z", "--cached", "--", spec], cwd):
            continue
        if run_git([*literal, "diff", "--cached", "--name-only", "-z", "--no-relative", "--", spec], cwd):
            continue
        missing.append(spec)
    return missing


def read_blobs(cwd: str, names: Sequence[str], limit: int = 1 << 62) -> list[bytes | None]:
    """Blobs by name (blob id or `REV:path`), None when missing or over `limit`."""
    with BlobReader(cwd) as reader:
        return [reader.read(name, limit)[1] for name in names]


def lfs_content(root: str, abs_path: str, shown: str, data: bytes, max_size: int) -> tuple[bytes | None, str | None]:
    """For a staged LFS pointer: (content, None), or (None, why it cannot be
    scanned). For any other blob: (data, None)."""
    if len(data) >= 1024 or not data.startswith(b"version "):  # cheap: most blobs are not pointers
        return data, None
    from maniac_guard.sources.files import read_file
    from maniac_guard.sources.lfs import (
        POINTER_MAX,
        file_matches,
        object_path,
        parse_pointer,
    )

    pointer = parse_pointer(data) if len(data) < POINTER_MAX else None
    if pointer is None:
        return data, None
    candidates = [p for p in (object_path(root, pointer.oid),) if p] + (
        [abs_path] if file_matches(abs_path, pointer) else []
    )
    if not candidates:
        return None, (
            f"{shown}: staged Git LFS object {pointer.oid[:12]} is neither in the LFS store nor the "
            "work-tree file (it changed after `git add`), cannot scan it"
        )
    read = read_file(candidates[0], shown, max_size, roots=[], follow=True)
    if read.data is None:
        return None, read.message or f"{shown}: cannot read the Git LFS object"
    return read.data, None


def report_incomplete(result: ScanResult, errors: Sequence[str]) -> None:
    """What was asked but could not be read: one error line each on stderr,
    listed in the report, and the run ends with exit 2 (never clean)."""
    if not errors:
        return
    for error in errors:
        print(f"maniac-guard: error: {error}", file=sys.stderr)
    result.stages.incomplete = list(errors)
