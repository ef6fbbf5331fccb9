"""Chunks shared with forked helpers: every chunk done once, in order, even
when a helper dies."""

from __future__ import annotations

import os
import time

import pytest

from maniac_guard.forkshare import MAX_CHUNKS, run_shared

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
    assert run_shared([1, 2, 3], lambda chunk: (chunk, os.getpid()), helpers=0) == [(1, PARENT), (2, PARENT), (3, PARENT)]


def test_a_fork_that_fails_leaves_the_work_to_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    assert run_shared(list(range(20)), lambda chunk: (chunk, os.getpid()), helpers=3) == [(n, PARENT) for n in range(20)]
