"""Git objects on demand, streamed: two long-lived `git cat-file` processes.

`--batch-check` answers an object's type and size without reading it, so a
blob over the size limit is never loaded (neither by git nor by us);
`--batch` then sends only blobs under the limit. Requests go one at a time
(write a name, read its answer), so no pipe can fill up and block.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import IO, Self

from maniac_guard.records import dataclass
from maniac_guard.sources.gitcore import GitError, git_command

CHUNK = 1 << 20
# Names asked of `git cat-file --batch-check` at once (`BlobReader.infos`):
# with names of at most MAX_NAME bytes and answers of ~60, both pipes (64
# KiB) hold a whole batch.
ASKED_AT_ONCE, MAX_NAME = 128, 400


@dataclass(frozen=True)
class ObjectInfo:
    oid: str
    kind: str  # blob, tree, commit, tag
    size: int


class BlobReader:
    """`reader.info(name)` and `reader.read(name, limit)` for object ids (or
    `REV:path` names without a newline). Use as a context manager."""

    def __init__(self, cwd: str) -> None:
        self.cwd = cwd
        self._check: subprocess.Popen[bytes] | None = None
        self._batch: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        for proc in (self._check, self._batch):
            if proc is None:
                continue
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._check = self._batch = None

    def _start(self, mode: str) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(
                [*git_command(), "cat-file", mode],
                cwd=self.cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror}") from None

    @staticmethod
    def _ask(proc: subprocess.Popen[bytes], name: str) -> tuple[IO[bytes], bytes]:
        assert proc.stdin is not None and proc.stdout is not None
        if "\n" in name:
            raise GitError("an object name with a newline cannot be read")
        try:
            proc.stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
            proc.stdin.flush()
        except BrokenPipeError:
            raise GitError("git cat-file stopped unexpectedly") from None
        header = proc.stdout.readline()
        if not header.endswith(b"\n"):
            raise GitError("git cat-file stopped unexpectedly")
        return proc.stdout, header[:-1]

    def info(self, name: str) -> ObjectInfo | None:
        if self._check is None:
            self._check = self._start("--batch-check")
        _, header = self._ask(self._check, name)
        return _parse_header(header)

    def infos(self, names: Sequence[str]) -> list[ObjectInfo | None]:
        """`info` of each name, asked ASKED_AT_ONCE at a time: git answers
        them in one go instead of one round trip each (~0.1 ms). Both pipes
        hold a whole batch (names and answers under 64 KiB), so neither side
        waits for the other to read."""
        if self._check is None:
            self._check = self._start("--batch-check")
        proc = self._check
        assert proc.stdin is not None and proc.stdout is not None
        found: list[ObjectInfo | None] = []
        for start in range(0, len(names), ASKED_AT_ONCE):
            batch = names[start : start + ASKED_AT_ONCE]
            encoded = [name.encode("utf-8", "surrogateescape") for name in batch]
            if any(b"\n" in name or len(name) > MAX_NAME for name in encoded):
                found.extend(self.info(name) for name in batch)  # one at a time (`info` says what is wrong)
                continue
            try:
                proc.stdin.write(b"".join(name + b"\n" for name in encoded))
                proc.stdin.flush()
            except BrokenPipeError:
                raise GitError("git cat-file stopped unexpectedly") from None
            for _ in batch:
                header = proc.stdout.readline()
                if not header.endswith(b"\n"):
                    raise GitError("git cat-file stopped unexpectedly")
                found.append(_parse_header(header[:-1]))
        return found

    def read(self, name: str, limit: int) -> tuple[ObjectInfo | None, bytes | None]:
        """(info, content): content is None when the object is missing, not a
        blob, or larger than `limit` (then it is not read at all)."""
        found = self.info(name)
        if found is None or found.kind != "blob" or found.size > limit:
            return found, None
        if self._batch is None:
            self._batch = self._start("--batch")
        stream, header = self._ask(self._batch, found.oid)
        again = _parse_header(header)
        if again is None:
            return None, None
        data = _read_exactly(stream, again.size + 1)[:-1]  # content and its newline
        return again, data


def read_many(cwd: str, oids: Sequence[str], limit: int) -> Iterator[tuple[ObjectInfo | None, bytes | None]]:
    """`BlobReader.read` for many object ids through one `git cat-file
    --batch` fed by a thread, so git never waits for us to ask. git streams
    each blob (it does not load a large one whole); a blob over `limit` is
    drained, not kept, and only one blob is held at a time. In order."""
    with _Pipeline(cwd, "--batch", oids) as batch:
        for _ in oids:
            info = _parse_header(batch.stdout.readline().rstrip(b"\n"))
            if info is None:
                yield None, None
            elif info.kind != "blob" or info.size > limit:
                _drain(batch.stdout, info.size + 1)
                yield info, None
            else:
                yield info, _read_exactly(batch.stdout, info.size + 1)[:-1]


def _drain(stream: IO[bytes], size: int) -> None:
    while size > 0:
        chunk = stream.read(min(size, CHUNK))
        if not chunk:
            raise GitError("git cat-file stopped unexpectedly")
        size -= len(chunk)


class _Pipeline:
    """`git cat-file MODE` with `names` fed by a thread; read `.stdout`."""

    def __init__(self, cwd: str, mode: str, names: Sequence[str]) -> None:
        import threading

        try:
            self.proc = subprocess.Popen(
                [*git_command(), "cat-file", mode],
                cwd=cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror}") from None
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdout: IO[bytes] = self.proc.stdout
        self.names = names
        self.writer = threading.Thread(target=self._feed, daemon=True)
        self.writer.start()

    def _feed(self) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            for start in range(0, len(self.names), 1024):
                stdin.write("".join(f"{name}\n" for name in self.names[start : start + 1024]).encode("ascii"))
            stdin.close()
        except OSError:  # git ended early; the reader reports it
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stdout.close()
        self.writer.join()
        self.proc.wait()


def _parse_header(header: bytes) -> ObjectInfo | None:
    if header.endswith((b" missing", b" ambiguous")):  # the name may hold spaces
        return None
    try:
        oid, kind, size = header.rsplit(b" ", 2)
        return ObjectInfo(oid.decode("ascii"), kind.decode("ascii"), int(size))
    except ValueError:
        raise GitError(f"git cat-file: unexpected answer {header[:80]!r}") from None


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise GitError("git cat-file stopped unexpectedly")
    return data
