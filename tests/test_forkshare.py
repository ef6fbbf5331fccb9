"""Chunks shared with forked helpers: every chunk done once, in order, even
when a helper dies, is stopped or hangs; no helper outlives an early exit;
`-j` is capped at the cores available."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from maniac_guard import forkshare
from maniac_guard.forkshare import MAX_CHUNKS, run_shared
from tests.helpers import console_script, fake_key, run_cli

PARENT = os.getpid()


def _slow_square(chunk: int) -> tuple[int, int]:
    time.sleep(0.002)  # long enough for the helpers to take their share
    return chunk * chunk, os.getpid()


def test_results_come_back_in_chunk_order_from_several_processes() -> None:
    results = run_shared(list(range(200)), _slow_square, helpers=2)
    assert [value for value, _ in results] == [n * n for n in range(200)]
    assert len({pid for _, pid in results}) > 1  # the helpers did some of it


def test_a_helper_that_dies_costs_nothing_but_time() -> None:
    def crash_in_helpers(chunk: int) -> int:
        if os.getpid() != PARENT:
            os._exit(9)  # as a segfault in a native parser would
        return chunk + 1

    assert run_shared(list(range(50)), crash_in_helpers, helpers=2) == list(range(1, 51))


def test_more_chunks_than_the_pipe_holds_run_in_rounds() -> None:
    count = MAX_CHUNKS + 10
    assert run_shared(list(range(count)), abs, helpers=1) == list(range(count))


def test_no_helpers_runs_everything_here() -> None:
    assert run_shared([1, 2, 3], lambda chunk: (chunk, os.getpid()), helpers=0) == [
        (1, PARENT),
        (2, PARENT),
        (3, PARENT),
    ]


def test_a_fork_that_fails_leaves_the_work_to_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    assert run_shared(list(range(20)), lambda chunk: (chunk, os.getpid()), helpers=3) == [
        (n, PARENT) for n in range(20)
    ]


@pytest.fixture
def alarm() -> Iterator[None]:
    """Fail instead of hanging when run_shared waits forever."""

    def hung(signum: int, frame: object) -> None:
        raise AssertionError("run_shared hung")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _stop_self_in_helpers(chunk: int) -> tuple[int, int]:
    if os.getpid() != PARENT:
        os.kill(os.getpid(), signal.SIGSTOP)  # a helper someone stopped
    time.sleep(0.01)
    return chunk * 2, os.getpid()


def test_a_stopped_helper_is_replaced_by_this_process(alarm: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forkshare, "STOPPED_GRACE", 0.2)
    results = run_shared(list(range(30)), _stop_self_in_helpers, helpers=2)
    assert results == [(n * 2, PARENT) for n in range(30)]


def test_a_helper_stopped_and_resumed_is_waited_for(alarm: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-Z then fg stops and resumes the whole job: its helpers' work counts."""
    monkeypatch.setattr(forkshare, "STOPPED_GRACE", 5.0)

    paused: list[int] = []  # each process's own copy

    def pause_then_go(chunk: int) -> tuple[int, int]:
        if os.getpid() != PARENT and not paused:
            paused.append(chunk)  # once, on the helper's first chunk
            subprocess.Popen(["sh", "-c", f"sleep 0.3; kill -CONT {os.getpid()}"])
            os.kill(os.getpid(), signal.SIGSTOP)
        time.sleep(0.05)
        return chunk, os.getpid()

    results = run_shared(list(range(20)), pause_then_go, helpers=1)
    assert [value for value, _ in results] == list(range(20))
    assert any(pid != PARENT for _, pid in results)  # the helper's results were kept


def test_a_helper_that_stops_answering_is_given_up_on(alarm: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forkshare, "STALL_SECONDS", 0.5)

    def hang_in_helpers(chunk: int) -> int:
        if os.getpid() != PARENT:
            time.sleep(3600)  # a hang in native code
        return -chunk

    started = time.monotonic()
    assert run_shared(list(range(12)), hang_in_helpers, helpers=2) == [-n for n in range(12)]
    assert time.monotonic() - started < 10


def test_helpers_are_killed_when_this_process_leaves_early() -> None:
    seen: list[int] = []

    def fail_here(chunk: int) -> int:
        if os.getpid() == PARENT:
            seen.extend(_children())
            raise KeyboardInterrupt
        time.sleep(3600)
        return chunk

    try:
        with pytest.raises(KeyboardInterrupt):
            run_shared(list(range(8)), fail_here, helpers=2)
        assert seen
        assert not any(Path(f"/proc/{pid}").exists() for pid in seen)
    except BaseException:
        for pid in seen:  # the test failed: no helper of ours sleeps on for an hour
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        raise


def test_a_helper_dies_mid_chunk_when_its_parent_is_killed(tmp_path: Path) -> None:
    # A helper must not scan on for the rest of a long chunk once the scan
    # is gone (SIGKILL: no handler in the parent runs). Here every chunk
    # sleeps an hour, so only the helper's watch on its parent can end it.
    pids = tmp_path / "pids"
    script = (
        "import os, sys, time\n"
        "from maniac_guard.forkshare import run_shared\n"
        "def work(chunk):\n"
        f"    open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n')\n"
        "    time.sleep(3600)\n"
        "run_shared(list(range(4)), work, helpers=1)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    helper = None
    try:
        deadline = time.monotonic() + 30
        while helper is None and time.monotonic() < deadline:
            seen = {int(line) for line in pids.read_text().split()} if pids.exists() else set()
            helper = next(iter(seen - {parent.pid}), None)
            time.sleep(0.02)
        assert helper is not None, "no helper took a chunk"
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 5
        while _running(helper) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _running(helper), "the helper slept on after its parent was killed"
    finally:
        parent.kill()
        if helper is not None and _running(helper):
            os.kill(helper, signal.SIGKILL)


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan waits for init to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _children() -> list[int]:
    return [int(p) for p in Path(f"/proc/{PARENT}/task/{PARENT}/children").read_text().split()]


# -- -j is capped at the cores available (through the console script) ------------


def _small_tree(root: Path) -> Path:
    root.mkdir()
    for n in range(120):  # over PARALLEL_MIN_FILES: a tree scan
        (root / f"f{n:03d}.txt").write_text(f"plain text {n}\n")
    (root / "app.py").write_text(f'KEY = "{fake_key("jobs")}"\n')
    return root


def _on_one_core() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def test_jobs_beyond_the_cores_are_capped_and_said_so(tmp_path: Path) -> None:
    tree = _small_tree(tmp_path / "t")
    cores = len(os.sched_getaffinity(0))
    proc = run_cli("scan", "-j", "64", str(tree))
    assert proc.returncode == 1, proc.stderr
    assert (
        f"maniac-guard: -j 64: only {cores} core{'s' * (cores != 1)} available, using {cores}"
        in proc.stderr.splitlines()
    )
    assert "Scanned 121 files" in proc.stdout
    quiet = run_cli("scan", "-q", "-j", "64", str(tree))
    assert quiet.returncode == 1 and "-j 64" not in quiet.stderr
    asked = run_cli("scan", "-j", str(cores), str(tree))
    assert "core" not in asked.stderr


def test_the_cap_follows_the_cpu_affinity(tmp_path: Path) -> None:
    tree = _small_tree(tmp_path / "t")
    proc = subprocess.run(
        [console_script(), "scan", "-j", "8", str(tree)],
        capture_output=True,
        text=True,
        preexec_fn=_on_one_core,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "maniac-guard: -j 8: only 1 core available, using 1" in proc.stderr.splitlines()


# Chunks of paths still being made by a walk (run_streamed, issue 26).


def _walk_slowly(count: int) -> Iterator[list[str]]:
    for n in range(count):
        time.sleep(0.001)  # a walk in progress: the helpers start before it ends
        yield [f"/tree/dir{n}/file-{n}.py", f"/tree/dir{n}/caf\udce9-{n}.txt"]  # an undecodable name too


def _paths_and_pid(chunk: list[str]) -> tuple[list[str], int]:
    time.sleep(0.002)
    return chunk, os.getpid()


def test_streamed_chunks_come_back_whole_and_in_order_from_several_processes() -> None:
    results = forkshare.run_streamed(_walk_slowly(100), _paths_and_pid, helpers=1)
    assert [chunk for chunk, _ in results] == list(_walk_slowly(100))
    assert len({pid for _, pid in results}) > 1  # the helper scanned while the walk went on


def test_streamed_chunks_a_helper_dropped_are_redone_here() -> None:
    def crash_in_helpers(chunk: list[str]) -> list[str]:
        if os.getpid() != PARENT:
            os._exit(9)
        return chunk

    assert forkshare.run_streamed(_walk_slowly(30), crash_in_helpers, helpers=2) == list(_walk_slowly(30))


def test_a_streamed_helper_stopped_before_it_closed_its_ends_does_not_hold_this_process(
    alarm: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A helper stopped (SIGSTOP) before it closed its copy of the socket's
    # sending end: this process, waiting for that end of file once the walk
    # was over, waited forever (a whole-suite run hung in test_signals).
    monkeypatch.setattr(forkshare, "STOPPED_GRACE", 0.2)
    real_fork = os.fork

    def fork_then_stop() -> int:
        pid = real_fork()
        if pid == 0:
            os.kill(os.getpid(), signal.SIGSTOP)
        return pid

    monkeypatch.setattr(os, "fork", fork_then_stop)
    results = forkshare.run_streamed(_walk_slowly(30), _paths_and_pid, helpers=1)
    assert results == [(chunk, PARENT) for chunk in _walk_slowly(30)]


def test_streamed_without_helpers_runs_everything_here() -> None:
    results = forkshare.run_streamed(_walk_slowly(5), _paths_and_pid, helpers=0)
    assert results == [(chunk, PARENT) for chunk in _walk_slowly(5)]


def test_streamed_this_process_walks_on_while_the_helpers_are_busy() -> None:
    """When the helpers have all they can queue, this process keeps walking
    rather than scanning a chunk itself: a slow chunk it took stopped the
    walk, and the helpers then ran out of work (issue 26)."""
    walked: list[float] = []
    scanned_here: list[float] = []

    def walk() -> Iterator[list[str]]:
        for n in range(400):
            yield [f"/tree/dir{n}/{'long-name-' * 40}{m}.py" for m in range(40)]  # ~20 KB: the socket fills
        walked.append(time.monotonic())

    def scan(chunk: list[str]) -> int:
        if os.getpid() == PARENT:
            scanned_here.append(time.monotonic())
        else:
            time.sleep(0.002)
        return len(chunk)

    assert forkshare.run_streamed(walk(), scan, helpers=1) == [40] * 400
    assert walked and scanned_here  # both processes scanned
    assert min(scanned_here) >= walked[0]


def test_each_archive_is_a_chunk_of_its_own() -> None:
    """An archive is opened in place and costs as much as a chunk of other
    files or more: four wheels in one chunk made the slowest chunk of the
    benchmark's run, which no other process could share."""
    folder = [f"/tree/wheels/{name}" for name in ("a.py", "b-1.0.whl", "c-2.0.whl", "d.txt", "e.tar.gz", "f.py")]
    chunks = list(forkshare.path_chunks(folder, iter([["/tree/z.py", "/tree/z.zip"]]), 8, 8))
    assert chunks == [
        ["/tree/wheels/a.py"],
        ["/tree/wheels/b-1.0.whl"],
        ["/tree/wheels/c-2.0.whl"],
        ["/tree/wheels/d.txt"],
        ["/tree/wheels/e.tar.gz"],
        ["/tree/wheels/f.py", "/tree/z.py"],
        ["/tree/z.zip"],
    ]  # in walk order


def _three_paths(count: int) -> Iterator[list[str]]:
    for n in range(count):
        time.sleep(0.001)
        yield [f"/tree/dir{n}/a.py", f"/tree/dir{n}/slow.py", f"/tree/dir{n}/caf\udce9-{n}.txt"]


def _hand_on_in_helpers(paths: list[str], hand: Callable[[list[str]], bool]) -> tuple[list[str], int]:
    """Scans up to `slow.py`; in a helper, hands it and what follows on."""
    time.sleep(0.002)
    scanned: list[str] = []
    for at, path in enumerate(paths):
        if at and path.endswith("slow.py") and os.getpid() != PARENT and hand(paths[at:]):
            break
        scanned.append(path)
    return scanned, os.getpid()


def test_a_chunk_a_helper_hands_on_midway_is_finished_by_this_process() -> None:
    """A slow file hands the rest of its chunk to another process: on a cold
    cache the Maniac SDK's modules, neighbours in one chunk, kept one
    process busy for half a second while the other waited (issue 26)."""
    results = forkshare.run_streamed(_three_paths(100), _hand_on_in_helpers, helpers=1, handing=True)
    assert [path for scanned, _ in results for path in scanned] == [p for chunk in _three_paths(100) for p in chunk]
    pieces = [(scanned, pid) for scanned, pid in results if scanned[0].endswith("slow.py")]
    assert pieces, "no helper handed a piece on"
    assert {pid for _, pid in pieces} == {PARENT}


def test_a_helper_that_dies_after_handing_on_has_its_chunk_redone_here_once() -> None:
    def hand_on_then_die(paths: list[str], hand: Callable[[list[str]], bool]) -> list[str]:
        if os.getpid() != PARENT and hand(paths[1:]):
            os._exit(9)
        return paths

    results = forkshare.run_streamed(_three_paths(30), hand_on_then_die, helpers=1, handing=True)
    assert [path for scanned in results for path in scanned] == [p for chunk in _three_paths(30) for p in chunk]


def test_with_nobody_to_hand_to_a_chunk_is_scanned_whole() -> None:
    def hand_on(paths: list[str], hand: Callable[[list[str]], bool]) -> list[str]:
        return paths[:1] if hand(paths[1:]) else paths

    results = forkshare.run_streamed(_three_paths(5), hand_on, helpers=0, handing=True)
    assert results == list(_three_paths(5))


def test_a_chunk_this_process_hands_on_is_finished_by_a_helper_that_waited_for_it() -> None:
    """A helper whose chunks ran out waits for what this process hands on
    until it hands on no more, rather than leaving it the rest of a slow chunk."""

    def hand_on_here(paths: list[str], hand: Callable[[list[str]], bool]) -> tuple[list[str], int]:
        time.sleep(0.002)
        scanned: list[str] = []
        for at, path in enumerate(paths):
            if at and path.endswith("slow.py") and os.getpid() == PARENT and hand(paths[at:]):
                break
            scanned.append(path)
        return scanned, os.getpid()

    results = forkshare.run_streamed(_three_paths(100), hand_on_here, helpers=1, handing=True)
    assert [path for scanned, _ in results for path in scanned] == [p for chunk in _three_paths(100) for p in chunk]
    pieces = [pid for scanned, pid in results if scanned[0].endswith("slow.py")]
    assert pieces and set(pieces) != {PARENT}
