"""Text from git instead of the work tree: staged blobs and history diffs.

Staged content comes from two git processes however many files are staged
(`git diff --cached --raw` for paths and blob ids, one `git cat-file
--batch` for every blob). History comes from one `git log -p` stream parsed
line by line, so memory stays flat on large histories; each file of each
commit becomes one `SourceFile` holding only the added lines, with
`line_numbers` mapping them to their lines in that commit's version.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from maniac_guard.config import ConfigError
from maniac_guard.sources import SourceFile

if TYPE_CHECKING:
    from maniac_guard.scan import ScanRequest
    from maniac_guard.summary import ScanResult

ZERO_SHA_RE = re.compile(r"^0+$")
SUBMODULE_MODE = b"160000"
SYMLINK_MODE = b"120000"
# A record separator no diff line can start with: every diff content line
# begins with its +/-/space prefix.
COMMIT_MARK = b"\0"
LOG_FORMAT = "--format=%x00%H%x00%an <%ae>%x00%aI"
HUNK_RE = re.compile(rb"^@@+ (?:-\d+(?:,\d+)? )+\+(\d+)(?:,\d+)? @@")


class GitError(ConfigError):
    """git is missing, this is not a repository, or a revision does not resolve
    (a usage error: exit 2 with a one-line reason)."""


def run_git(args: Sequence[str], cwd: str, input: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, input=input, capture_output=True, check=False
        )
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror}") from None
    if proc.returncode != 0:
        reason = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(reason[-1] if reason else f"git {args[0]} failed")
    return proc.stdout


@dataclass(frozen=True)
class RepoInfo:
    root: str
    shallow: bool


def repo_info(cwd: str) -> RepoInfo:
    try:
        out = run_git(["rev-parse", "--show-toplevel", "--is-shallow-repository"], cwd)
    except GitError as exc:
        if "not a git repository" in str(exc).lower():
            raise GitError(f"{os.path.abspath(cwd)} is not inside a git repository") from None
        raise
    lines = out.decode("utf-8", "surrogateescape").splitlines()
    return RepoInfo(root=lines[0], shallow=len(lines) > 1 and lines[1] == "true")


def unquote_path(raw: bytes) -> bytes:
    """Undo git's C-style quoting of unusual path names ("a\\tb", octal bytes)."""
    if not raw.startswith(b'"') or not raw.endswith(b'"'):
        return raw
    body, out, i = raw[1:-1], bytearray(), 0
    simple = {ord("n"): 10, ord("t"): 9, ord("r"): 13, ord("a"): 7, ord("b"): 8,
              ord("f"): 12, ord("v"): 11, ord("\\"): 92, ord('"'): 34}
    while i < len(body):
        char = body[i]
        if char == 92 and i + 1 < len(body):
            nxt = body[i + 1]
            digits = body[i + 1 : i + 4]
            if len(digits) == 3 and all(48 <= d <= 55 for d in digits):  # never int() on non-octal
                out.append(int(digits, 8) & 0xFF)
                i += 4
                continue
            out.append(simple.get(nxt, nxt))
            i += 2
            continue
        out.append(char)
        i += 1
    return bytes(out)


def decode_path(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


# --- staged blobs ---------------------------------------------------------------------


@dataclass
class StagedFile:
    path: str  # relative to the repository root, POSIX
    blob: str


@dataclass
class StagedReport:
    files: list[StagedFile] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def staged_files(cwd: str, pathspecs: Sequence[str] = ()) -> StagedReport:
    """Files added, copied, modified or retyped in the index, with their blob ids."""
    args = ["diff", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames",
            "--no-ext-diff", "--diff-filter=ACMT"]
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


def read_blobs(cwd: str, names: Sequence[str]) -> list[bytes | None]:
    """Objects by name (blob id or `REV:path`) through ONE `git cat-file --batch`."""
    if not names:
        return []
    request = "".join(f"{name}\n" for name in names).encode("utf-8", "surrogateescape")
    out = run_git(["cat-file", "--batch"], cwd, input=request)
    blobs: list[bytes | None] = []
    pos = 0
    for _ in names:
        end = out.index(b"\n", pos)
        header = out[pos:end]
        pos = end + 1
        if header.endswith((b" missing", b" ambiguous")):  # the name may hold spaces
            blobs.append(None)
            continue
        _, kind, size_text = header.rsplit(b" ", 2)
        size = int(size_text)
        blobs.append(out[pos : pos + size] if kind == b"blob" else None)
        pos += size + 1  # content and its trailing newline
    return blobs


# --- history ---------------------------------------------------------------------------


@dataclass
class HistoryState:
    """What the history stream saw besides the files it yielded."""

    order: dict[str, int] = field(default_factory=dict)  # commit -> position, oldest first
    renames: dict[str, str] = field(default_factory=dict)  # old path -> new path
    binary: int = 0
    submodules: int = 0
    too_large: int = 0
    messages: list[str] = field(default_factory=list)


@dataclass
class _File:
    path: bytes | None = None
    submodule: bool = False
    width: int = 1  # prefix columns: 1, or the parent count of a combined (merge) diff
    line: int = 0
    lines: list[bytes] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    size: int = 0
    too_large: bool = False
    renamed_from: str | None = None


def log_args(revs: Sequence[str], max_commits: int | None) -> list[str]:
    # --reverse with --date-order: oldest first and parents before children,
    # so the first commit that shows a key is the one that introduced it.
    # --cc: a merge shows only lines that match none of its parents (what the
    # merge itself introduced); the rest is scanned in the commits it merges.
    args = ["-c", "core.quotePath=true", "log", "-p", "--no-color", "--no-ext-diff", "--no-textconv",
            "-U0", "-M", "--cc", "--reverse", "--date-order", LOG_FORMAT]
    if max_commits is not None:
        args.append(f"--max-count={max_commits}")
    return [*args, *revs, "--"]


def count_commits(root: str, revs: Sequence[str], max_commits: int | None) -> int | None:
    try:
        out = run_git(["rev-list", "--count", *revs, "--"], root)
        total = int(out.strip() or 0)
    except (GitError, ValueError):
        return None
    return min(total, max_commits) if max_commits is not None else total


class _Progress:
    """`N/M commits` on a terminal's stderr, at most ten times a second."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.last = 0.0
        self.shown = False

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.1:
            return
        self.last = now
        self.shown = True
        of = f"/{self.total}" if self.total else ""
        sys.stderr.write(f"\rmaniac-guard: history: {done}{of} commits")
        sys.stderr.flush()

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def history_sources(
    root: str,
    revs: Sequence[str],
    state: HistoryState,
    *,
    max_commits: int | None = None,
    max_size: int = 10 * 1024 * 1024,
    progress: bool = False,
) -> Iterator[SourceFile]:
    """One SourceFile per (commit, file) with lines added by that commit."""
    import tempfile

    meter = _Progress(count_commits(root, revs, max_commits) if progress else None) if progress else None
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen(
                ["git", *log_args(revs, max_commits)], cwd=root, stdout=subprocess.PIPE, stderr=errors
            )
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror}") from None
        assert proc.stdout is not None
        _widen_pipe(proc.stdout)
        try:
            yield from _parse(_lines_worth_parsing(proc.stdout), state, max_size, meter)
        finally:
            proc.stdout.close()
            code = proc.wait()
            if meter is not None:
                meter.done()
        if code != 0:
            errors.seek(0)
            reason = errors.read().decode("utf-8", "replace").strip().splitlines()
            raise GitError(reason[-1] if reason else "git log failed")


# Header lines whose facts the parser records even when no key can be near.
_ALWAYS_PARSE = (rb"\nrename from ", rb"\nBinary files ", SUBMODULE_MODE)


def _fragment_hints() -> list[re.Pattern[bytes]] | None:
    """What a commit must contain for any detector to fire on its added lines
    (None: a detector gives no hint, so every commit is parsed)."""
    from maniac_guard.detectors import load_detectors

    hints = [re.compile(pattern) for pattern in _ALWAYS_PARSE]
    for detector in load_detectors():
        if detector.needs_whole_file:
            continue
        patterns = detector.hints
        if patterns is None:
            return None
        hints.extend(re.compile(pattern) for pattern in patterns)
    return hints


def _widen_pipe(stream: IO[bytes]) -> None:
    """Let git run up to 1 MiB ahead of us instead of 64 KiB, so it keeps
    writing while we search a block (Linux only; elsewhere a no-op)."""
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass


def _commit_blocks(stream: IO[bytes], block_size: int = 1 << 20) -> Iterator[bytes]:
    """The log cut at each commit record, read in large blocks."""
    separator = b"\n" + COMMIT_MARK
    buffer = bytearray()
    while True:
        chunk = stream.read(block_size)
        if not chunk:
            break
        searched = max(0, len(buffer) - len(separator))
        buffer += chunk
        start = 0
        while (cut := buffer.find(separator, max(searched, start))) >= 0:
            yield bytes(buffer[start : cut + 1])
            start = cut + 1
        del buffer[:start]
    if buffer:
        yield bytes(buffer)


def _lines_worth_parsing(stream: IO[bytes]) -> Iterator[bytes]:
    """Most commits hold nothing a detector looks for: parsing their diffs
    line by line in Python was 4x the time of `git log` itself. Such a commit
    keeps only its record line (for the commit order and the progress)."""
    hints = _fragment_hints()
    for block in _commit_blocks(stream):
        if hints is None or any(hint.search(block) for hint in hints):
            yield from block.splitlines(keepends=True)
        else:
            yield block[: block.find(b"\n") + 1] or block


def _parse(
    stream: Iterable[bytes], state: HistoryState, max_size: int, meter: _Progress | None
) -> Iterator[SourceFile]:
    commit = author = date = None
    current: _File | None = None
    in_hunks = False

    def flush() -> SourceFile | None:
        if current is None or current.submodule or current.path is None:
            return None
        if current.too_large:
            state.too_large += 1
            state.messages.append(
                f"{decode_path(current.path)} at {(commit or '')[:12]}: added text over the size limit, skipped"
            )
            return None
        if not current.lines:
            return None
        return SourceFile(
            path=decode_path(current.path),
            data=b"\n".join(current.lines) + b"\n",
            commit=commit,
            author=author,
            date=date,
            line_numbers=current.numbers,
        )

    for raw in stream:
        line = raw[:-1] if raw.endswith(b"\n") else raw
        if line.startswith(COMMIT_MARK):
            done = flush()
            if done is not None:
                yield done
            current, in_hunks = None, False
            fields = line.split(b"\0")
            commit = fields[1].decode("ascii", "replace")
            author = fields[2].decode("utf-8", "replace") if len(fields) > 2 else None
            date = fields[3].decode("ascii", "replace") if len(fields) > 3 else None
            state.order.setdefault(commit, len(state.order))
            if meter is not None:
                meter.update(len(state.order))
            continue
        if line.startswith((b"diff --git ", b"diff --cc ", b"diff --combined ")):
            done = flush()
            if done is not None:
                yield done
            current, in_hunks = _File(), False
            continue
        if current is None:
            continue
        if not in_hunks:
            _header_line(line, current, state)
            if line.startswith(b"@@"):
                in_hunks = True
                _hunk_start(line, current)
            continue
        if line.startswith(b"@@"):
            _hunk_start(line, current)
            continue
        if line.startswith(b"\\"):  # "\ No newline at end of file"
            continue
        prefix = line[: current.width]
        if b"-" in prefix:
            continue  # a removed line: not in the new version
        if prefix == b"+" * current.width and not current.submodule:
            text = line[current.width :]
            current.size += len(text) + 1
            if current.size > max_size:
                current.too_large = True
            elif not current.too_large:
                current.lines.append(text)
                current.numbers.append(current.line)
        current.line += 1
    done = flush()
    if done is not None:
        yield done


def _header_line(line: bytes, current: _File, state: HistoryState) -> None:
    if line.startswith(b"+++ "):
        target = line[4:].rstrip(b"\t")
        if target != b"/dev/null":
            target = unquote_path(target)
            current.path = target[2:] if target[:2] == b"b/" else target
    elif line.startswith((b"new file mode ", b"deleted file mode ", b"old mode ", b"new mode ")):
        if line.endswith(SUBMODULE_MODE):
            _mark_submodule(current, state)
    elif line.startswith(b"index "):
        if line.endswith(b" " + SUBMODULE_MODE):
            _mark_submodule(current, state)
    elif line.startswith(b"Binary files "):
        state.binary += 1
    elif line.startswith(b"rename from "):
        current.renamed_from = decode_path(unquote_path(line[len(b"rename from ") :]))
    elif line.startswith(b"rename to "):
        current.path = unquote_path(line[len(b"rename to ") :])
        if current.renamed_from is not None:
            state.renames[current.renamed_from] = decode_path(current.path)


def _mark_submodule(current: _File, state: HistoryState) -> None:
    if not current.submodule:
        current.submodule = True
        state.submodules += 1


def _hunk_start(line: bytes, current: _File) -> None:
    at = len(line) - len(line.lstrip(b"@"))
    current.width = max(1, at - 1)
    match = HUNK_RE.match(line)
    current.line = int(match.group(1)) if match else 0
    # `+N,0`: nothing added; the start names the line before, which is harmless
    # since no added line follows.


# --- scan adapters (ScanRequest.source) ------------------------------------------------


def scan_staged(request: ScanRequest) -> ScanResult:
    """`scan --staged`: the index's version of each staged file, not the work tree's.

    Paths are shown relative to the current folder, as `scan` shows disk files,
    and lines are those of the staged version.
    """
    from maniac_guard.engine import scan_sources
    from maniac_guard.selection import enabled_rules
    from maniac_guard.sources.files import Excluder, to_source
    from maniac_guard.summary import ScanResult

    cwd = os.getcwd()
    info = repo_info(cwd)
    pathspecs = [p for p in request.paths if p != "."]
    staged = staged_files(cwd, pathspecs)
    settings = request.settings
    excluder = Excluder()
    excluder.add(settings.config_dir, settings.exclude)
    excluder.add(cwd, request.cli_exclude)
    wanted = [f for f in staged.files if not (excluder and excluder.excluded(os.path.join(info.root, f.path)))]
    result = ScanResult()
    result.skipped.update(staged.skipped)
    sources: list[SourceFile] = []
    for item, data in zip(wanted, read_blobs(info.root, [f.blob for f in wanted])):
        shown = os.path.relpath(os.path.join(info.root, item.path), cwd).replace(os.sep, "/")
        if data is None:
            result.skipped["unreadable"] += 1
            result.messages.append(f"{shown}: staged blob cannot be read, skipped")
            continue
        if len(data) > settings.max_file_size:
            result.skipped["too-large"] += 1
            result.messages.append(f"{shown}: staged version is over the size limit, skipped")
            continue
        source, skipped, message = to_source(shown, data)
        if source is None:
            result.skipped[skipped or "unreadable"] += 1
            if message:
                result.messages.append(message)
            continue
        sources.append(source)
    scanned = scan_sources(sources, enabled_rules(request.settings))
    scanned.messages[:0] = result.messages
    scanned.skipped.update(result.skipped)
    return scanned
