"""`scan --history`'s `git log -p`, started before the rest of the program
loads (issue 26): the console script's fast path (entry.py) calls
`start_history` first thing, and `PatchStream` takes the process over with
`claim_log` if it is the very command it would start itself (same
arguments, same folder); anything else stops it and starts its own.

The start takes only `os`: importing subprocess (signal, threading,
selectors) and tempfile would cost more than git takes to start. The
arguments assume the defaults (every ref, no stash entry beyond the newest,
the default size limit); a run whose settings differ starts `git log` again
later, as before. The check for blobs over the size limit (`gitbig.py`)
runs first, here too: only when the object store holds none does `git log
-p` start (it would load such a blob whole), so its memory bound holds.
Linux only (`os.memfd_create` holds git's stderr); elsewhere nothing starts
early.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Sequence

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from threading import Thread
    from typing import IO

# config.DEFAULT_MAX_FILE_SIZE (tests/test_history_start.py compares): config loads too much to import here.
DEFAULT_MAX_SIZE = 10 * 1024 * 1024
LOG_FORMAT = "--format=%x00%H%x00%an <%ae>%x00%aI%x00%P"
BIG_CHECK_FORMAT = "--batch-check=%(objectsize) %(objectname)"
# What a thread reads of `git log -p` ahead of the parser while the program
# loads (~15 MB on the benchmark's history): memory on top of the stream's own bound.
AHEAD_LIMIT = 32 << 20
SPLIT_FROM = 200  # commits from which `git log -p` runs as two processes (SplitLog)
_SIGPIPE, _SIGKILL = 13, 9  # Linux's numbers (the only platform this runs on): no import of signal


def git_command() -> list[str]:
    """`git` with the settings our parsers rely on, whatever the user's config
    says (quoted paths, no pager, no colour)."""
    return ["git", "--no-pager", "-c", "core.quotePath=true", "-c", "color.ui=never"]


def log_args(revs: Sequence[str], max_commits: int | None, max_size: int = DEFAULT_MAX_SIZE) -> list[str]:
    # --reverse with --date-order: oldest first and parents before children,
    # so the first commit that shows a key is the one that introduced it.
    # --cc: a merge shows only lines that match none of its parents (what the
    # merge itself introduced); the rest is scanned in the commits it merges.
    # Explicit prefixes, --root, --no-relative: diff.noprefix,
    # diff.mnemonicPrefix, log.showRoot and diff.relative cannot change
    # what we parse. bigFileThreshold: git does not diff (nor load) blobs
    # over our size limit; they come out as "Binary files" and are sized.
    args = [
        "-c",
        f"core.bigFileThreshold={max(max_size, 1024)}",
        "log",
        "-p",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        "--no-relative",
        "--root",
        "--full-index",
        "--no-show-signature",
        "--irreversible-delete",
        "--full-history",
        "-U0",
        "-M",
        "--cc",
        "--reverse",
        "--date-order",
        LOG_FORMAT,
    ]
    if max_commits is not None:
        args.append(f"--max-count={max_commits}")
    return [*args, *revs, "--"]


def widen_pipe(stream: IO[bytes]) -> None:
    """Let git run up to 1 MiB ahead of us instead of 64 KiB, so it keeps
    writing while we do something else (Linux only; elsewhere a no-op)."""
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass


def big_ids(stream: IO[bytes], max_size: int) -> set[bytes]:
    """Object ids over `max_size` in `cat-file` BIG_CHECK_FORMAT output. A
    large repository has millions of objects: lines are matched by a regex
    over 1 MiB blocks (only sizes with enough digits), not split one by one."""
    found: set[bytes] = set()
    line = re.compile(rb"^(\d{%d,}) ([0-9a-f]+)$" % len(str(max_size)), re.MULTILINE)
    rest = b""
    while chunk := stream.read(1 << 20):
        block = rest + chunk
        end = block.rfind(b"\n") + 1
        block, rest = block[:end], block[end:]
        found.update(oid for size, oid in line.findall(block) if int(size) > max_size)
    found.update(oid for size, oid in line.findall(rest) if int(size) > max_size)
    return found


def error_file() -> IO[bytes]:
    """An anonymous file for a git process's stderr: a `memfd` on Linux
    (tempfile, and the shutil and random it imports, cost ~4 ms of every
    history scan), else a temporary file."""
    if hasattr(os, "memfd_create"):
        try:
            return open(os.memfd_create("maniac-guard-git-errors", os.MFD_CLOEXEC), "w+b")
        except OSError:
            pass
    import tempfile

    return tempfile.TemporaryFile()


class Spawned:
    """What `PatchStream` uses of `subprocess.Popen`, for a process started
    with `os.posix_spawnp`; its stdout is a pipe, its stderr `errors` (None:
    /dev/null, as for `gitbig.BigBlobs`: the scan proper says what failed)."""

    def __init__(self, argv: list[str], errors: IO[bytes] | None, stdin: int | None = None) -> None:
        error_fd = errors.fileno() if errors is not None else os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
        read_end, write_end = os.pipe()
        actions = [(os.POSIX_SPAWN_DUP2, write_end, 1), (os.POSIX_SPAWN_DUP2, error_fd, 2)]
        if stdin is not None:
            actions.append((os.POSIX_SPAWN_DUP2, stdin, 0))
        try:
            # SIGPIPE as git expects it (Python ignores it): stopped early, git ends at its next write.
            self.pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions, setsigdef=(_SIGPIPE,))
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
            if errors is None:
                os.close(error_fd)
        self.stdout: IO[bytes] = open(read_end, "rb")  # noqa: SIM115 - closed by its owner, as Popen's
        widen_pipe(self.stdout)
        self.returncode: int | None = None
        self._reader: Thread | None = None  # read_ahead's
        self._ahead: list[bytes] = []
        self._ahead_error: OSError | None = None
        self._stopping = False
        self.ahead_limit = AHEAD_LIMIT

    def read_ahead(self) -> None:
        """Read stdout on a thread until `take_ahead` (git would stop at the
        pipe's 1 MiB while the program loads), at most AHEAD_LIMIT bytes."""
        from threading import Thread

        self._reader = Thread(target=self._read, name="git-log-ahead", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        fd, size = self.stdout.fileno(), 0
        try:
            while not self._stopping and size < self.ahead_limit:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    return
                self._ahead.append(chunk)
                size += len(chunk)
                if len(chunk) < 1 << 18:
                    # Let git write more before the next read: each read takes
                    # the GIL from the parser (git fills its 1 MiB pipe in ~10 ms).
                    time.sleep(0.002)
        except OSError as exc:
            self._ahead_error = exc

    def release(self) -> None:
        """The reading thread stopped, stdout closed (the process is its owner's to stop)."""
        self.join_reader()
        self.stdout.close()

    def take_ahead(self) -> list[bytes]:
        """What the thread read (it is stopped: stdout is ours again); the
        OSError it met reading, if any."""
        self.join_reader()
        if self._ahead_error is not None:
            raise self._ahead_error
        ahead, self._ahead = self._ahead, []
        return ahead

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            os.kill(self.pid, _SIGKILL)

    def stop(self) -> None:
        self.kill()
        self.join_reader()
        self.stdout.close()
        self.wait()

    def join_reader(self) -> None:
        """Stops the reading thread (at git's next write, or its end: after `kill`, at once)."""
        if self._reader is not None:
            self._stopping = True
            self._reader.join()
            self._reader = None


class SplitLog:
    """`git log -p` of the commits as two git processes, one per part of the
    list (`git log --no-walk=unsorted --stdin`, in `--reverse --date-order`'s
    order: the same output as one `git log -p --reverse --date-order`). Both
    run at once, each on a core, the second read ahead by its thread while
    the first is parsed: git was the stream's critical path (synthetic
    history: 2 x 0.15 s instead of 0.28 s)."""

    def __init__(self, parts: list[Spawned]) -> None:
        self.parts = parts
        for part in parts:
            part.ahead_limit = AHEAD_LIMIT // len(parts)  # the read-ahead's memory bound, shared
        self.stdout = parts[0].stdout
        self.returncode: int | None = None

    def read_ahead(self) -> None:
        for part in self.parts:
            part.read_ahead()

    def poll(self) -> int | None:
        codes = [part.poll() for part in self.parts]
        if any(code is None for code in codes):
            return None
        self.returncode = next((code for code in codes if code), 0)
        return self.returncode

    def wait(self) -> int:
        codes = [part.wait() for part in self.parts]
        self.returncode = next((code for code in codes if code), 0)
        return self.returncode

    def kill(self) -> None:
        for part in self.parts:
            part.kill()

    def join_reader(self) -> None:
        for part in self.parts:
            part.join_reader()

    def release(self) -> None:
        for part in self.parts:
            part.release()

    def stop(self) -> None:
        for part in self.parts:
            part.stop()
        self.wait()


class _Early:
    def __init__(
        self, cwd: str, max_size: int, log: Spawned | SplitLog | None, argv: list[str], errors: IO[bytes] | None
    ):
        self.cwd, self.max_size, self.log, self.argv, self.errors = cwd, max_size, log, argv, errors

    def stop(self) -> None:
        if self.log is not None:
            self.log.stop()
            self.log = None
        if self.errors is not None:
            self.errors.close()
            self.errors = None


_early: _Early | None = None


def start_history(max_commits: int | None) -> None:
    """The big-blob check, then (none found) `git log -p --all` as
    `PatchStream` would start it by default, in this folder. Any failure
    (not a repository, no git) leaves nothing started: the scan proper
    then meets it and says why."""
    global _early
    if sys.platform != "linux" or not hasattr(os, "memfd_create") or _early is not None:
        return
    cwd = os.getcwd()
    try:
        check = Spawned([*git_command(), "cat-file", "--batch-all-objects", "--unordered", BIG_CHECK_FORMAT], None)
        # The commits, listed beside the check (commits only: no blob is loaded).
        listing = Spawned([*git_command(), *list_args(["--all"], max_commits)], None)
        try:
            found = big_ids(check.stdout, DEFAULT_MAX_SIZE)
            commits = listing.stdout.read().split()
        except BaseException:
            check.stop()
            listing.stop()
            raise
        check.stdout.close()
        listing.stdout.close()
        if listing.wait() != 0:
            commits = []
        if check.wait() != 0:
            return
        if found:  # the paths that hold them are read apart (gitbig.py): the scan proper does it
            return
        argv = [*git_command(), *log_args(["--all"], max_commits)]
        errors = error_file()
        try:
            log = _split_log(commits, errors) if len(commits) >= SPLIT_FROM else Spawned(argv, errors)
        except BaseException:
            errors.close()
            raise
        log.read_ahead()
        _early = _Early(cwd, DEFAULT_MAX_SIZE, log, argv, errors)
    except OSError:
        return


def list_args(revs: Sequence[str], max_commits: int | None) -> list[str]:
    """`git rev-list` of the commits `log_args` shows, in its order."""
    count = [] if max_commits is None else [f"--max-count={max_commits}"]
    return ["rev-list", "--reverse", "--date-order", *count, *revs, "--"]


def _split_log(commits: list[bytes], errors: IO[bytes]) -> SplitLog:
    """`git log -p` of `commits` as SplitLog's parts, each given its commits on stdin (a `memfd`)."""
    args = [*git_command(), *log_args([], None)]
    args.remove("--reverse")  # the list is in order already
    args.remove("--date-order")
    args[-1:-1] = ["--no-walk=unsorted", "--stdin"]
    half = len(commits) // 2
    parts: list[Spawned] = []
    try:
        for part in (commits[:half], commits[half:]):
            with open(os.memfd_create("maniac-guard-commits", os.MFD_CLOEXEC), "w+b") as listed:
                listed.write(b"\n".join(part) + b"\n")
                listed.flush()
                listed.seek(0)
                parts.append(Spawned(args, errors, stdin=listed.fileno()))
    except BaseException:
        for started in parts:
            started.stop()
        raise
    return SplitLog(parts)


def no_big_blobs(root: str, max_size: int) -> bool:
    """Whether the early check found no blob over `max_size` in the
    repository at `root` (False: it did not run there, at that size, or found some)."""
    return _early is not None and _early.cwd == root and _early.max_size == max_size and _early.log is not None


def claim_log(argv: Sequence[str], root: str) -> tuple[Spawned | SplitLog, IO[bytes]] | None:
    """The early `git log -p` and its stderr file if it runs `argv` in
    `root`; else None, and the early process (if any) is stopped."""
    global _early
    early, _early = _early, None
    if early is None:
        return None
    if early.log is not None and early.errors is not None and early.argv == list(argv) and early.cwd == root:
        return early.log, early.errors
    early.stop()
    return None


def discard() -> None:
    """Stops what was started early and never claimed (the run ended first)."""
    global _early
    early, _early = _early, None
    if early is not None:
        early.stop()
