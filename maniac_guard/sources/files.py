"""Files on disk: which to scan (walk, gitignore, excludes) and reading them."""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence

from maniac_guard.records import dataclass, field
from maniac_guard.sources import SourceFile

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from typing import Any

    import pathspec

    from maniac_guard.config import Settings

BINARY_SNIFF = 8192
# Files up to this size are read whole and then judged: a separate sniff
# read costs more than reading a small binary file for nothing.
SNIFF_ABOVE = 256 * 1024
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
PDF_MAGIC = b"%PDF-"
# Formats whose first bytes always hold a NUL (fixed-width header fields with
# a zero byte), so sniffing them would only ever say "binary": compiled
# Python (the bulk of a Python tree's files), ELF/Mach-O/PE objects, Java
# classes, PNG. They are counted as binary without being opened. Lower case;
# other files are sniffed. Archives are not listed: the engine opens them.
BINARY_SUFFIXES = (
    ".pyc",
    ".pyo",
    ".so",
    ".o",
    ".dylib",
    ".dll",
    ".exe",
    ".class",
    ".png",
)


@dataclass
class WalkReport:
    """What the walk passed over, for the summary and stderr."""

    messages: list[str] = field(default_factory=list)
    # What could not be listed (a folder the user cannot read, a path too
    # long for the system): the scan is incomplete, so it ends with exit 2.
    errors: list[str] = field(default_factory=list)
    missing_paths: list[str] = field(default_factory=list)
    binary_by_name: int = 0  # files with a BINARY_SUFFIXES name, never opened
    # Those of them whose path could hold a key (MG105 judges names, not content).
    binary_named_mk: list[str] = field(default_factory=list)


class Excluder:
    """gitignore-style patterns, each set relative to its own base folder."""

    def __init__(self) -> None:
        self._specs: list[tuple[str, pathspec.PathSpec[Any]]] = []

    def add(self, base: str, patterns: Sequence[str], where: str = "--exclude") -> None:
        if not patterns:
            return
        import pathspec

        try:
            spec = pathspec.PathSpec.from_lines("gitwildmatch", patterns)
        except (ValueError, re.error):  # GitIgnorePatternError, [z-a]: name the pattern, no traceback
            from maniac_guard.config import ConfigError, pattern_problem

            raise ConfigError(f"{where}: {pattern_problem(list(patterns))}") from None
        self._specs.append((os.path.abspath(base), spec))

    @classmethod
    def of(cls, settings: Settings, cli_exclude: Sequence[str]) -> Excluder:
        """The one exclude filter of a run: the config's patterns (relative to
        its folder), then `--exclude` (relative to the current folder)."""
        excluder = cls()
        excluder.add(settings.config_dir, settings.exclude, where=f"{settings.config_path or 'config'}: 'exclude'")
        excluder.add(os.getcwd(), cli_exclude)
        return excluder

    def __bool__(self) -> bool:
        return bool(self._specs)

    def excluded(self, abs_path: str, is_dir: bool = False) -> bool:
        for base, spec in self._specs:
            rel = os.path.relpath(abs_path, base)
            if rel.startswith(".."):
                continue
            rel = rel.replace(os.sep, "/")
            if spec.match_file(rel + "/" if is_dir else rel):
                return True
        return False


def display_path(abs_path: str, cwd: str) -> str:
    """`abs_path` (normalized, as `os.path.abspath` gives) relative to `cwd`, in POSIX form."""
    # Fast path for a path below cwd: relpath costs ~20 µs a file, a tenth of
    # a second on a big tree.
    prefix = cwd if cwd.endswith(os.sep) else cwd + os.sep
    if abs_path.startswith(prefix):
        rest = abs_path[len(prefix) :]
        return rest if os.sep == "/" else rest.replace(os.sep, "/")
    return os.path.relpath(abs_path, cwd).replace(os.sep, "/")


def display_path_under(cwd: str) -> Callable[[str], str]:
    """`display_path` for many paths: below `cwd` by cutting its prefix; a
    tree named from outside it (`scan ../other`) by one `relpath` per folder,
    not per file (~7.5 µs each, a tenth of a second on 12,000 files)."""
    prefix = cwd if cwd.endswith(os.sep) else cwd + os.sep
    cut = len(prefix)
    if os.sep != "/":
        return lambda abs_path: display_path(abs_path, cwd)
    folders: dict[str, str] = {}

    def shown(abs_path: str) -> str:
        if abs_path.startswith(prefix):
            return abs_path[cut:]
        if abs_path == cwd:
            return "."
        folder, _, name = abs_path.rpartition("/")
        shown_folder = folders.get(folder)
        if shown_folder is None:
            shown_folder = folders[folder] = os.path.relpath(folder or "/", cwd) + "/"
        return shown_folder + name

    return shown


def _git(directory: str, *args: str) -> bytes | None:
    import subprocess  # here: a hook that names its files never starts git

    try:
        proc = subprocess.run(["git", *args], cwd=directory, capture_output=True, check=False)
    except OSError:
        return None
    return proc.stdout if proc.returncode == 0 else None


def _git_files(directory: str, report: WalkReport | None = None, depth: int = 0) -> list[str] | None:
    """Tracked and untracked-but-not-ignored files under `directory`, or None
    when it is not inside a git work tree (or git is missing). The files of
    checked-out submodules are listed too (git lists a submodule as one
    entry); one that is not checked out is named in `report`."""
    if not _maybe_in_git(directory):
        return None
    out = _git_listing(directory, report)
    if out is None:
        return None
    names = out.decode("utf-8", "surrogateescape").split("\0")
    # A name ending in "/" is an untracked nested repository (a clone, a
    # linked worktree): listed as its folder, whose files the engine scans.
    files = [os.path.join(directory, name.rstrip("/")) for name in names if name]
    if depth < 8 and _has_submodules(directory):
        files = _expand_submodules(directory, files, report, depth)
    return files


def _git_listing(directory: str, report: WalkReport | None) -> bytes | None:
    """`git ls-files` of the files to scan. git skips a folder it cannot read
    with only a warning and exit 0: that warning becomes an error here."""
    import subprocess

    args = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--deduplicate"]
    try:
        proc = subprocess.run(args, cwd=directory, capture_output=True, check=False)
    except OSError:
        return None
    if proc.returncode != 0:
        return None
    if report is not None and b"could not open directory" in proc.stderr:
        for line in proc.stderr.decode("utf-8", "surrogateescape").splitlines():
            # warning: could not open directory 'secret/': Permission denied
            head, _, why = line.partition("could not open directory '")
            name, _, reason = why.partition("': ")
            if head and name:
                shown = display_path(os.path.join(os.path.abspath(directory), name.rstrip("/")), os.getcwd())
                report.errors.append(f"{shown}: cannot list folder: {reason or 'unreadable'}")
    return proc.stdout


# What can make git find a repository other than by looking for one upwards.
_GIT_LOCATION_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY")


def _maybe_in_git(directory: str) -> bool:
    """False only where `git ls-files` must fail: no variable points git at a
    repository, and neither `directory` nor a folder above it holds a `.git`
    or looks like a git folder itself. Starting git to learn that costs
    ~8 ms of every scan of a tree outside git; these checks ~0.1 ms."""
    if any(os.environ.get(name) for name in _GIT_LOCATION_VARIABLES):
        return True
    here = os.path.abspath(directory)
    while True:
        if os.path.lexists(os.path.join(here, ".git")):
            return True
        if os.path.lexists(os.path.join(here, "HEAD")) and os.path.isdir(os.path.join(here, "objects")):
            return True  # a bare repository (or a folder inside git's own)
        parent = os.path.dirname(here)
        if parent == here:
            return False
        here = parent


def _has_submodules(directory: str) -> bool:
    """A `.gitmodules` beside the work tree's `.git`: only then are gitlinks looked for."""
    here = os.path.abspath(directory)
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            return os.path.isfile(os.path.join(here, ".gitmodules"))
        parent = os.path.dirname(here)
        if parent == here:
            return False
        here = parent


def _expand_submodules(directory: str, files: list[str], report: WalkReport | None, depth: int) -> list[str]:
    staged = _git(directory, "ls-files", "-z", "--stage", "--cached")
    gitlinks: set[str] = set()
    for record in (staged or b"").decode("utf-8", "surrogateescape").split("\0"):
        meta, _, name = record.partition("\t")
        if meta.startswith("160000 "):
            gitlinks.add(os.path.join(directory, name))
    if not gitlinks:
        return files
    kept = [path for path in files if path not in gitlinks]
    for link in sorted(gitlinks):
        checked_out = os.path.exists(os.path.join(link, ".git"))  # a file (gitdir: ...) or a folder
        inner = _git_files(link, report, depth + 1) if checked_out else None
        if inner is None:
            if report is not None:
                shown = os.path.relpath(link)
                report.messages.append(
                    f"{shown}: git submodule not checked out; not scanned (run `git submodule update --init`)"
                )
            continue
        kept.extend(inner)
    return kept


def _named_but_ignored(directory: str) -> bool:
    """Whether git ignores this folder itself (`git check-ignore`)."""
    parent, name = os.path.split(directory.rstrip(os.sep))
    if not name or not os.path.isdir(parent):
        return False
    return _git(parent, "check-ignore", "-q", "--", name) is not None


def _walk(directory: str, excluder: Excluder, report: WalkReport) -> Iterator[list[str]]:
    """The files below `directory`, a folder at a time in name order, `.git`
    folders left out, folder symlinks not followed."""
    stack = [directory]
    while stack:
        current = stack.pop()
        files: list[str] = []
        subdirs: list[str] = []
        try:
            with os.scandir(current) as entries:
                # entry.path is joined in C; paths under one folder sort as their names do.
                for entry in entries:
                    if not entry.is_dir(follow_symlinks=False):
                        files.append(entry.path)
                    elif entry.name != ".git":
                        subdirs.append(entry.path)
        except OSError as exc:
            report.errors.append(f"{display_path(current, os.getcwd())}: cannot list folder: {exc.strerror}")
            continue
        files.sort()
        yield files
        subdirs.sort(reverse=True)
        if excluder:
            subdirs = [path for path in subdirs if not excluder.excluded(path, is_dir=True)]
        stack.extend(subdirs)


def iter_path_batches(
    paths: Sequence[str], *, use_gitignore: bool, excluder: Excluder, report: WalkReport
) -> Iterator[list[str]]:
    """Absolute paths of the files to scan, each once, in batches (a walked
    folder at a time): a big tree has tens of thousands, so per-path work
    here is kept to the minimum."""
    seen: set[str] | None = set() if len(paths) > 1 else None  # only roots can overlap
    for given in paths:
        abs_path = os.path.abspath(given)
        try:
            os.lstat(abs_path)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                report.missing_paths.append(given)
            else:  # a name too long for the system, a folder on the way we may not enter
                report.errors.append(f"{given}: cannot read: {exc.strerror}")
            continue
        if not os.path.isdir(abs_path):
            batches: Iterable[list[str]] = [[abs_path]]
        elif "/.git/" in abs_path.replace(os.sep, "/") + "/":
            continue  # a folder inside .git: nothing in it is scanned
        else:
            listed = _git_files(abs_path, report) if use_gitignore else None
            if listed is not None and _named_but_ignored(abs_path):
                # Named on the command line: scanned, as ruff and gitleaks do,
                # not "Scanned 0 files" because .gitignore lists it.
                report.messages.append(f"{given}: ignored by git; scanned because it was named on the command line")
                listed = None
            batches = [listed] if listed is not None else _walk(abs_path, excluder, report)
        for batch in batches:
            if seen is not None:
                batch = [path for path in batch if path not in seen]
                seen.update(batch)
            # Excludes apply to explicit files too, so a pre-commit hook that
            # passes file names obeys the same config as `scan .`.
            if excluder:
                batch = [path for path in batch if not excluder.excluded(path)]
            kept = [path for path in batch if not path.lower().endswith(BINARY_SUFFIXES)]
            if len(kept) != len(batch):
                unread = [path for path in batch if path.lower().endswith(BINARY_SUFFIXES)]
                report.binary_by_name += len(unread)
                report.binary_named_mk += [path for path in unread if "mk" in path]
            if kept:
                yield kept


def iter_paths(paths: Sequence[str], *, use_gitignore: bool, excluder: Excluder, report: WalkReport) -> Iterator[str]:
    """Absolute paths of the files to scan, each once."""
    for batch in iter_path_batches(paths, use_gitignore=use_gitignore, excluder=excluder, report=report):
        yield from batch


@dataclass
class ReadResult:
    data: bytes | None = None
    skipped: str | None = None  # binary | too-large | symlink | unreadable | ...
    message: str | None = None  # shown on stderr
    # The file is there but cannot be read (permissions, a name too long for
    # the system, an I/O error): the scan is incomplete, exit 2.
    error: bool = False


def _symlink_message(path: str, shown: str, roots: Sequence[str]) -> ReadResult:
    try:
        target = os.path.realpath(path, strict=True)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return ReadResult(skipped="symlink", message=f"{shown}: symlink loop, skipped")
        return ReadResult(skipped="symlink", message=f"{shown}: broken symlink, skipped")
    inside = any(target == r or target.startswith(r.rstrip(os.sep) + os.sep) for r in roots)
    if inside:
        return ReadResult(skipped="symlink")  # its target is scanned on its own
    return ReadResult(skipped="symlink", message=f"{shown}: symlink to outside the scanned tree, not followed")


_OPEN_FOLLOW = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_OPEN_NOFOLLOW = _OPEN_FOLLOW | getattr(os, "O_NOFOLLOW", 0)


def read_file(
    path: str, shown: str, max_size: int, roots: Sequence[str], follow: bool = False, skip_binary: bool = False
) -> ReadResult:
    """Read a file once, refusing what is not a small regular text file.

    With `skip_binary`, a file over SNIFF_ABOVE that `to_source` would call
    binary is refused after its first BINARY_SNIFF bytes instead of being
    read whole."""
    try:
        fd = os.open(path, _OPEN_FOLLOW if follow else _OPEN_NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            return _symlink_message(path, shown, roots)
        if exc.errno == errno.ENOENT:
            if os.path.islink(path):
                return _symlink_message(path, shown, roots)
            return ReadResult(skipped="unreadable", message=f"{shown}: no longer exists, skipped")
        if exc.errno == errno.EISDIR:
            return ReadResult(skipped="directory")  # a git submodule
        return ReadResult(skipped="unreadable", message=f"{shown}: cannot read: {exc.strerror}", error=True)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            if stat.S_ISDIR(info.st_mode):
                return ReadResult(skipped="directory")
            return ReadResult(skipped="special", message=f"{shown}: not a regular file, skipped")
        if info.st_size > max_size:
            return ReadResult(
                skipped="too-large",
                message=f"{shown}: {info.st_size / 1048576:.1f} MiB is over the {max_size / 1048576:.1f} MiB limit, skipped",
            )
        if skip_binary and info.st_size > SNIFF_ABOVE:
            head = os.pread(fd, BINARY_SNIFF, 0)  # leaves the offset at 0
            if is_binary(head):
                return ReadResult(skipped="binary")
        # One read of the whole file: no chunk list to join (a copy of a
        # 100 MB file costs 100 MB more).
        data = os.read(fd, info.st_size + 1)
        while len(data) < info.st_size:  # a short read: rare, but allowed
            more = os.read(fd, info.st_size - len(data))
            if not more:
                break
            data += more
    except OSError as exc:
        return ReadResult(skipped="unreadable", message=f"{shown}: cannot read: {exc.strerror}", error=True)
    finally:
        os.close(fd)
    if len(data) > max_size:  # grew while we read it
        return ReadResult(skipped="too-large", message=f"{shown}: over the size limit, skipped")
    return ReadResult(data=data)


def to_source(shown: str, data: bytes) -> tuple[SourceFile | None, str | None, str | None]:
    """Decode what was read: (file, skipped reason, message)."""
    if data.startswith(UTF16_BOMS):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            return None, "undecodable", f"{shown}: invalid UTF-16 at byte {exc.start}, skipped"
        return SourceFile(shown, text.encode("utf-8")), None, None
    # A PDF is binary but shows text: the encoded-text detector reads its
    # compressed streams (MG103).
    if data.find(b"\0", 0, BINARY_SNIFF) >= 0 and not data.startswith(PDF_MAGIC):  # no copy of the first bytes
        return None, "binary", None
    return SourceFile(shown, data), None, None


def is_binary(data: bytes) -> bool:
    """What `to_source` calls binary: a NUL in the first BINARY_SNIFF bytes
    and no UTF-16 byte-order mark."""
    return not data.startswith((*UTF16_BOMS, PDF_MAGIC)) and b"\0" in data[:BINARY_SNIFF]


def utf8_problem(source: SourceFile) -> str | None:
    """A note for a file that is not valid UTF-8 (it is still scanned as bytes)."""
    try:
        source.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"{source.path}: not valid UTF-8 (byte 0x{source.data[exc.start]:02x} at offset {exc.start}); scanned as bytes"
    return None
