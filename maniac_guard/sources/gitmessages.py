"""What history holds besides file diffs: commit and tag messages, tags that
point at a blob or a tree, and every stash (not just the newest).

Messages are sources of their own, reported with their commit (or tag
object) under a path in angle brackets, which no file in a tree can have
as its whole name:

- `<commit message>`: line 1 is the subject line;
- `<tag NAME>`: an annotated tag's message;
- `<tag NAME>` / `<tag NAME>/PATH`: the blob, or the files of the tree, a
  tag points at directly.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from maniac_guard.sources import SourceFile
from maniac_guard.sources.gitblobs import BlobReader
from maniac_guard.sources.gitcore import GitError, decode_path, git_command, run_git, widen_pipe
from maniac_guard.sources.gitstart import error_file

if TYPE_CHECKING:
    from maniac_guard.sources.gitstream import Matches

COMMIT_MESSAGE = "<commit message>"
MESSAGE_FORMAT = "--format=%x00%H%x00%an <%ae>%x00%aI%n%B"
TAG_FORMAT = (
    "%00%(refname:strip=2)%00%(objectname)%00%(objecttype)%00%(*objecttype)%00%(*objectname)"
    "%00%(taggername) %(taggeremail)%00%(taggerdate:iso-strict)%0a%(contents)"
)


def is_message_path(path: str) -> bool:
    return path.startswith("<")


def stash_commits(root: str, git_dir: str = "") -> list[str]:
    """Every stash entry (`git log --all` reaches only the newest). With
    `git_dir`, a repository whose refs are files and hold no stash log has
    none (its newest entry, if any, is a ref `--all` reaches): no git run."""
    if git_dir and not _may_have_stash_log(git_dir):
        return []
    try:
        out = run_git(["log", "--walk-reflogs", "--format=%H", "refs/stash", "--"], root)
    except GitError:  # no stash
        return []
    return out.decode("ascii", "replace").split()


def _may_have_stash_log(git_dir: str) -> bool:
    """False only where the refs are plain files and the stash's reflog file
    is absent (then `git log --walk-reflogs refs/stash` lists nothing)."""
    import os

    if os.environ.get("GIT_COMMON_DIR"):
        return True
    common = git_dir
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as handle:  # a linked work tree's
            common = os.path.join(git_dir, handle.read().strip())
    except OSError:
        pass
    if os.path.exists(os.path.join(common, "reftable")):  # another ref store: ask git
        return True
    return os.path.exists(os.path.join(common, "logs", "refs", "stash"))


class MessageLog:
    """The commit messages' `git log`, started before it is read: it runs
    beside the patch stream (`scan --history` reads it after the diffs), up
    to what its pipe holds, then waits for us."""

    def __init__(self, root: str, revs: Sequence[str], max_commits: int | None) -> None:
        # --date-order: with --max-count, the same commits the diff pass picks.
        args = [*git_command(), "log", "--no-show-signature", "--date-order", MESSAGE_FORMAT]
        if max_commits is not None:
            args.append(f"--max-count={max_commits}")
        self.errors = error_file()  # closed by __exit__, which owns the process too
        try:
            self.proc = subprocess.Popen([*args, *revs, "--"], cwd=root, stdout=subprocess.PIPE, stderr=self.errors)
        except OSError as exc:
            self.errors.close()
            raise GitError(f"cannot run git: {exc.strerror}") from None
        assert self.proc.stdout is not None
        self.stdout = self.proc.stdout
        widen_pipe(self.stdout)  # 1 MiB of messages (~5,000 commits) before git waits for us
        self.skipped = 0  # messages no detector could fire on, not made sources

    def sources(
        self,
        max_size: int,
        matches: Matches | None = None,
        seen: Callable[[str], object] | None = None,
        expired: Callable[[], bool] | None = None,
    ) -> Iterator[SourceFile]:
        """The messages; `seen(commit)` is told every commit in order. With
        `matches` (a native matcher whose group 0 holds every fragment
        detector's hints), only the messages holding a match become sources:
        no detector can fire on the others (`skipped` counts them); then
        the messages stop between two runs once `expired()` says so."""
        if matches is None:
            for source in _split_messages(self.stdout, max_size):
                if seen is not None:
                    seen(source.commit or "")
                yield source
        else:
            finished = yield from self._matched(max_size, matches, seen, expired or (lambda: False))
            if not finished:
                return  # stopped early: __exit__ stops git
        self.stdout.close()
        code = self.proc.wait()
        if code != 0:
            self.errors.seek(0)
            reason = self.errors.read().decode("utf-8", "replace").strip().splitlines()
            raise GitError(reason[-1] if reason else "git log failed")

    def _matched(
        self, max_size: int, matches: Matches, seen: Callable[[str], object] | None, expired: Callable[[], bool]
    ) -> Generator[SourceFile, None, bool]:
        """One native pass per run of messages (cut at a record); a
        message is split into lines only when it holds a match. Returns
        whether it read them all (not stopped by `expired`)."""
        from maniac_guard.sources.gitstream import Marker, record_starts

        marker = Marker(matches)
        rest = b""
        while not expired():
            chunk = self.stdout.read(1 << 20)
            data = rest + chunk if rest else chunk
            cut = len(data) if not chunk else data.rfind(b"\n\0") + 1
            run, rest = data[:cut], data[cut:]
            if run:
                strays: list[int] = []
                starts = record_starts(run, strays)
                parse, loud = marker.mark(run, starts, strays)
                hits = parse | loud  # loud: a NUL (UTF-16 text?) or a Python hint; scanned as before
                bounds = [*starts, len(run)]
                for index in range(len(starts)):
                    start = bounds[index]
                    if index in hits:
                        for source in _split_messages(run[start : bounds[index + 1]].splitlines(True), max_size):
                            if seen is not None:
                                seen(source.commit or "")
                            yield source
                        continue
                    self.skipped += 1
                    if seen is not None:
                        sha_end = run.find(b"\0", start + 1, bounds[index + 1])
                        seen(run[start + 1 : sha_end].decode("ascii", "replace"))
            if not chunk:
                return True
        return False

    def __enter__(self) -> MessageLog:
        return self

    def __exit__(self, *exc: object) -> None:
        """Stops git when the messages were not all read (an error, a deadline)."""
        if self.proc.poll() is None and not self.stdout.closed:
            self.proc.kill()
        self.stdout.close()
        self.proc.wait()
        self.errors.close()


def _split_messages(stream: Iterable[bytes], max_size: int) -> Iterator[SourceFile]:
    header: list[bytes] | None = None
    body: list[bytes] = []
    size = 0

    def done() -> SourceFile | None:
        if header is None or not any(line.strip() for line in body):
            return None
        return SourceFile(
            path=COMMIT_MESSAGE,
            data=b"".join(body),
            commit=header[1].decode("ascii", "replace"),
            author=header[2].decode("utf-8", "replace") if len(header) > 2 else None,
            date=header[3].decode("ascii", "replace").strip() if len(header) > 3 else None,
        )

    for line in stream:
        if line.startswith(b"\0"):
            source = done()
            if source is not None:
                yield source
            header, body, size = line.rstrip(b"\n").split(b"\0"), [], 0
            continue
        size += len(line)
        if size <= max_size:  # a message is small; a pathological one is cut, not held whole
            body.append(line)
    source = done()
    if source is not None:
        yield source


class TagList:
    """`git for-each-ref` over the tags, started before it is read (it runs
    while the patch stream is parsed instead of after it)."""

    def __init__(self, root: str) -> None:
        try:
            self.proc = subprocess.Popen(
                ["git", "for-each-ref", f"--format={TAG_FORMAT}", "refs/tags"],
                cwd=root,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror}") from None

    def output(self) -> bytes:
        out, err = self.proc.communicate()
        if self.proc.returncode != 0:
            reason = err.decode("utf-8", "replace").strip().splitlines()
            raise GitError(reason[-1] if reason else "git for-each-ref failed")
        return out

    def close(self) -> None:
        """Stops git if its answer was never read."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


def tag_sources(
    root: str, reader: BlobReader, max_size: int, messages: list[str], listing: TagList | None = None
) -> Iterator[SourceFile]:
    """Annotated tag messages, and what a tag points at when that is not a
    commit (`listing`: the tags' for-each-ref, if started earlier)."""
    out = (
        listing.output()
        if listing is not None
        else run_git(["for-each-ref", f"--format={TAG_FORMAT}", "refs/tags"], root)
    )
    for record in out.split(b"\n\0") if out else []:
        record = record.lstrip(b"\0")
        head, _, contents = record.partition(b"\n")
        fields = head.split(b"\0")
        if len(fields) < 7:
            continue
        name = decode_path(fields[0])
        oid, kind, target_kind, target = (f.decode("ascii", "replace") for f in fields[1:5])
        tagger, date = fields[5].decode("utf-8", "replace").strip(), fields[6].decode("ascii", "replace")
        if kind == "tag" and contents.strip():
            yield SourceFile(f"<tag {name}>", contents[:max_size], commit=oid, author=tagger or None, date=date or None)
        pointed, pointed_kind = (target, target_kind) if kind == "tag" else (oid, kind)
        if pointed_kind in ("blob", "tree"):
            yield from _object_sources(root, reader, f"<tag {name}>", pointed, pointed_kind, oid, max_size, messages)


def _object_sources(
    root: str, reader: BlobReader, label: str, oid: str, kind: str, tag: str, max_size: int, messages: list[str]
) -> Iterator[SourceFile]:
    from maniac_guard.sources.files import to_source

    entries = [(label, oid)]
    if kind == "tree":
        out = run_git(["ls-tree", "-r", "-z", "--full-tree", oid], root)
        entries = []
        for entry in out.split(b"\0"):
            meta, _, path = entry.partition(b"\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == b"blob":
                entries.append((f"{label}/{decode_path(path)}", parts[2].decode("ascii")))
    for shown, blob in entries:
        info, data = reader.read(blob, max_size)
        if data is None:
            if info is not None and info.kind == "blob":
                messages.append(f"{shown}: over the size limit, skipped")
            continue
        source, _, message = to_source(shown, data)
        if message:
            messages.append(message)
        if source is not None:
            source.commit = tag
            yield source


# `git commit -v` puts the diff below this line; git drops it from the message.
SCISSORS = re.compile(rb"^\S+ -{24} >8 -{24}\r?$", re.MULTILINE)
