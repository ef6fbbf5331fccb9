"""The history stream's reading and marking (issue 26, target 3): git's output
is cut into runs of whole commits and one native pass marks the commits to
parse; nothing a commit-by-commit filter would parse may be left out."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maniac_guard.sources.gitstream import Marker, commit_runs, record_starts
from tests.gitrepo import Repo, new_repo
from tests.helpers import fake_key, run_in_process


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return new_repo(tmp_path)


def record(sha: str) -> bytes:
    return b"\0" + sha.encode() + b"\0A U <a@example.com>\0" + b"2024-01-01T00:00:00+00:00\0\n"


_LINES = st.lists(
    st.sampled_from([b"+plain\n", b"-gone\n", b" kept\n", b"+with\0nul\n", b"diff --git a/x b/x\n", b"+mk-\n"]),
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_LINES, min_size=1, max_size=6), st.lists(st.integers(1, 97), max_size=12), st.integers(8, 200))
def test_runs_hold_every_commit_once_however_the_output_is_cut(
    bodies: list[list[bytes]], cuts: list[int], limit: int
) -> None:
    commits = [record(f"{n:040x}") + b"".join(body) for n, body in enumerate(bodies)]
    text = b"".join(commits)
    chunks, at = [], 0
    for size in cuts:
        chunks.append(text[at : at + size])
        at += size
    chunks.append(text[at:])
    runs = list(commit_runs([c for c in chunks if c], limit))
    assert b"".join(run for run, _, _ in runs) == text
    whole = []
    for run, starts, strays in runs:
        assert all(run[at] == 0 and at not in starts for at in strays)
        bounds = [*starts, len(run)]
        whole.extend(run[bounds[i] : bounds[i + 1]] for i in range(len(starts)))
        assert not starts or starts[0] == 0  # a run of whole commits starts with a record
    # Every commit no larger than the limit arrives whole, as one commit of a run.
    assert [c for c in commits if len(c) <= limit and c in whole] == [c for c in commits if len(c) <= limit]
    assert all(c in commits for c in whole)


def test_a_commit_right_after_a_pieced_one_ends_at_a_chunk_end_is_a_commit() -> None:
    # Found by the property above in CI: the big commit's last piece ended
    # exactly where a read of git's output ended, and the next commit's
    # record, at the start of the next read, was taken for more of it.
    big = record("0" * 40) + b"-gone\ndiff --git a/x b/x\n+mk-\n+mk-\n"
    small = record("0" * 39 + "1")
    runs = list(commit_runs([big[:27], big[27:], small], len(small)))
    assert runs[-1] == (small, [0], [])


def test_record_starts_skip_the_nuls_of_record_lines_and_collect_those_of_diff_text() -> None:
    first, second = record("a" * 40), record("b" * 40)
    run = first + b"+a\0b\n" + second + b"+c\n"
    strays: list[int] = []
    assert record_starts(run, strays) == [0, len(first) + len(b"+a\0b\n")]
    assert strays == [len(first) + 2]


def test_a_match_marks_the_commit_that_holds_it_and_a_nul_marks_its_files() -> None:
    from maniac_guard.prefilter import match_ends

    matches = match_ends([[rb"mk-"], [rb"MANIAC_"]], family="test-stream-")
    assert matches is not None
    commits = [
        record("a" * 40) + b"+plain\n",
        record("b" * 40) + b"+x = 'mk-\n",
        record("c" * 40) + b"+MANIAC_\n",
        record("d" * 40) + b"+text\0with a nul\n",
        record("e" * 40) + b"+mk-\n",
    ]
    run = b"".join(commits)
    strays: list[int] = []
    parse, loud = Marker(matches).mark(run, record_starts(run, strays), strays)
    assert parse == {1, 4}
    assert loud == {2, 3}


def test_a_failed_native_scan_marks_every_commit() -> None:
    run = record("a" * 40) + b"+plain\n" + record("b" * 40) + b"+plain\n"
    assert Marker(lambda data: None).mark(run, record_starts(run)) == ({0, 1}, {0, 1})


def test_the_native_marking_and_the_re_filter_give_the_same_sources(repo: Repo) -> None:
    """Every kind of commit the filter decides on: plain, a key, a Python
    hint, a rename, a binary file, a merge; the native pass over runs of
    commits and the commit-by-commit `re` search agree."""
    from maniac_guard.changes import whole_file_detectors
    from maniac_guard.history import fragment_hints
    from maniac_guard.historytracker import tracker
    from maniac_guard.prefilter import match_ends
    from maniac_guard.sources.git import HistoryState, history_sources
    from maniac_guard.sources.gitlog import hint_groups

    repo.write("plain.txt", "nothing here\n")
    repo.commit("plain")
    repo.write("app.py", "import os\nKEY = os.environ['MANIAC_API_KEY']\n")
    repo.commit("python")
    repo.write("conf.env", f"TOKEN={fake_key('stream-native')}\n")
    repo.commit("key")
    repo.git("mv", "plain.txt", "moved.txt")
    repo.commit("rename")
    (repo.path / "blob.bin").write_bytes(b"\0\1\2" + fake_key("stream-binary").encode())
    repo.git("add", "blob.bin")
    repo.commit("binary")
    repo.git("checkout", "-q", "-b", "side", "HEAD~2")
    repo.write("side.py", "def f():\n    return 1\n")
    repo.commit("side")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-edit", "side")

    def sources(native: bool) -> tuple[list[tuple[str | None, str, bytes]], list[str], int]:
        picker = tracker(whole_file_detectors(None), 1 << 20)
        hints = fragment_hints()
        groups = hint_groups(hints, picker)
        matches = match_ends(groups, family="test-stream-") if native and groups else None
        state = HistoryState()
        found = history_sources(str(repo.path), ["--all"], state, hints=hints, whole=picker, matches=matches)
        return [(s.commit, s.path, s.data) for s in found], list(state.order), len(picker.changes)

    native = sources(True)
    assert native == sources(False)
    assert {path for _, path, _ in native[0]} == {"conf.env", "app.py"}  # blob.bin: binary, judged, skipped


def test_a_key_in_one_message_of_many_is_found_and_every_message_counts(repo: Repo) -> None:
    for n in range(30):
        repo.write("a.txt", f"{n}\n")
        repo.commit(f"change {n}")
    key = fake_key("stream-message")
    repo.write("a.txt", "last\n")
    leaky = repo.commit(f"Fix\n\nused {key}\n")
    for n in range(30):
        repo.write("b.txt", f"{n}\n")
        repo.commit(f"more {n}")
    proc = run_in_process("scan", "--history", "--format", "json", cwd=repo.path, env=repo.env)
    report = json.loads(proc.stdout)
    [finding] = report["findings"]
    assert (finding["path"], finding["commit"]) == ("<commit message>", leaky)
    assert report["summary"]["history"]["commits"] == 61
    assert report["summary"]["files_scanned"] >= 61  # every message, scanned or known to hold no hint
    assert key not in proc.stdout + proc.stderr
    assert re.search(r"mk-\w{4}", json.dumps(finding))


def test_a_scan_that_stops_early_stops_git(repo: Repo) -> None:
    """A deadline or an error ends the scan between two files: git (still
    writing) is stopped and its pipe closed."""
    from maniac_guard.sources.git import HistoryState
    from maniac_guard.sources.gitlog import PatchStream

    for n in range(40):
        repo.write(f"f{n}.env", f"TOKEN={fake_key(f'stream-stop-{n}')}\n" + "filler line\n" * 2000)
        repo.commit(f"key {n}")
    stream = PatchStream(str(repo.path), ["--all"])
    sources = stream.sources(HistoryState())
    assert next(sources).path == "f0.env"
    sources.close()
    assert stream.proc.poll() is not None
    assert stream.proc.stdout is not None and stream.proc.stdout.closed


def test_an_older_stash_is_scanned_from_a_linked_work_tree_too(repo: Repo, tmp_path: Path) -> None:
    """The stash's reflog lives in the common git folder: a scan run in a
    linked work tree (whose git folder has no logs of its own) still reads
    every stash entry, not just the newest that `--all` reaches."""
    from maniac_guard.sources.gitmessages import _may_have_stash_log

    repo.write("a.txt", "start\n")
    repo.commit("start")
    assert not _may_have_stash_log(str(repo.path / ".git"))  # no stash: no git run needed
    repo.write("a.txt", f"start\n{fake_key('linked-stash')}\n")
    repo.git("stash", "-q")
    repo.write("a.txt", "start\nnewer stash, no key\n")
    repo.git("stash", "-q")
    repo.git("worktree", "add", "-q", str(tmp_path / "linked"), "-b", "linked")
    linked_git_dir = repo.git("-C", str(tmp_path / "linked"), "rev-parse", "--absolute-git-dir")
    assert _may_have_stash_log(linked_git_dir)
    proc = run_in_process("scan", "--history", "--format", "json", cwd=tmp_path / "linked", env=repo.env)
    paths = [f["path"] for f in json.loads(proc.stdout)["findings"]]
    assert paths == ["a.txt"]


def test_a_deadline_stops_a_history_whose_commits_and_messages_make_no_source(repo: Repo) -> None:
    """Commits and messages without any hint make no source, so the check
    between two sources never comes: the stream and the messages check the
    deadline themselves, and the scan says it timed out."""
    import time

    from maniac_guard.config import Settings
    from maniac_guard.history import HistorySpec, history_result

    for n in range(5):
        repo.write("a.txt", f"plain {n}\n")
        repo.commit(f"plain {n}")
    spec = HistorySpec(("--all",), "all refs", whole_repository=True)
    done = history_result(str(repo.path), spec, Settings())
    assert done.stages.history is not None and not done.stages.history.timed_out
    late = history_result(str(repo.path), spec, Settings(), deadline=time.monotonic())
    assert late.stages.history is not None and late.stages.history.timed_out


def test_a_second_history_scan_reuses_the_python_analysis_of_each_version(repo: Repo, tmp_path: Path) -> None:
    """The whole-file analysis of each changed Python version is kept in the
    detector cache, as `scan .` keeps it: the next history scan gives the
    same findings without analysing (nor learning) anything again."""
    key = fake_key("history-cache")
    repo.write("settings.py", "TIMEOUT = 3\n")
    repo.write("app.py", f'from maniac import Maniac\nclient = Maniac(api_key="{key}")\n')
    repo.commit("leak")
    repo.write(
        "app.py", "import os\nfrom maniac import Maniac\nclient = Maniac(api_key=os.environ['MANIAC_API_KEY'])\n"
    )
    repo.commit("fix")
    env = {**repo.env, "MANIAC_GUARD_CACHE_DIR": str(tmp_path / "cache")}
    first = run_in_process("scan", "--history", "--format", "json", cwd=repo.path, env=env)
    stored = {
        path.name: path.stat().st_mtime_ns for path in (tmp_path / "cache").glob("*-*.*") if "hsdb" not in path.name
    }
    assert any(name.startswith("clean-") for name in stored) and any(name.startswith("found-") for name in stored)
    again = run_in_process("scan", "--history", "--format", "json", cwd=repo.path, env=env)
    assert "MG201" in [f["rule_id"] for f in json.loads(again.stdout)["findings"]]
    assert json.loads(again.stdout)["findings"] == json.loads(first.stdout)["findings"]
    after = {
        path.name: path.stat().st_mtime_ns for path in (tmp_path / "cache").glob("*-*.*") if "hsdb" not in path.name
    }
    assert after == stored  # nothing new learnt: every version came from the cache


def test_the_size_check_keeps_only_blobs_over_the_limit(repo: Repo) -> None:
    """The object list is read without types (cheaper for git); a tree or a
    commit over the limit is not a blob, so no path is read apart for it."""
    from maniac_guard.sources.gitbig import BigBlobs

    for n in range(60):
        repo.write(f"file-with-a-long-name-{n:03}.txt", f"{n}\n")
    repo.write("big.txt", "x" * 5000 + "\n")
    repo.commit("many files and a big one\n\n" + "a long message line\n" * 100)
    tree = repo.git("rev-parse", "HEAD^{tree}")
    assert int(repo.git("cat-file", "-s", tree)) > 2048 and int(repo.git("cat-file", "-s", "HEAD")) > 2048
    big = repo.git("rev-parse", "HEAD:big.txt")
    assert BigBlobs(str(repo.path), 2048).result() == {big.encode()}


def test_a_pipe_that_cannot_be_read_is_an_error_not_an_end(tmp_path: Path) -> None:
    """A read error is not the end of git's output: the scan must not pass
    as if the history ended there."""
    import os

    from maniac_guard.sources.gitcore import GitError
    from maniac_guard.sources.gitstream import read_chunks

    read_end, write_end = os.pipe()
    os.close(write_end)
    os.close(read_end)

    class Closed:
        @staticmethod
        def fileno() -> int:
            return read_end

    with pytest.raises(GitError, match="cannot read git's output"):
        list(read_chunks(Closed()))  # type: ignore[arg-type]


@pytest.mark.skipif(not hasattr(__import__("os"), "memfd_create"), reason="the early start runs on Linux only")
def test_what_was_read_ahead_comes_first_and_git_is_drained_while_it_is_parsed() -> None:
    """The early `git log -p`'s output read ahead by a thread comes first, in
    order, then the pipe's; while the parser works through what was read
    ahead, what git wrote meanwhile is taken from the pipe at each batch, so
    git is not left waiting at a full pipe (it cost ~35 ms on the benchmark)."""
    import os

    from maniac_guard.sources.gitstream import BATCH, behind

    read_end, write_end = os.pipe()
    backlog = [bytes([65 + n]) * (BATCH // 2 + 1) for n in range(4)]
    expected = b"".join(backlog) + b"written meanwhile\n" + b"written later\n"
    os.write(write_end, b"written meanwhile\n")
    with open(read_end, "rb") as stream:
        batches = behind(backlog, stream)
        first = next(batches)
        os.set_blocking(read_end, False)
        with pytest.raises(BlockingIOError):  # nothing left waiting in the pipe
            os.read(read_end, 1)
        os.set_blocking(read_end, True)
        os.write(write_end, b"written later\n")
        os.close(write_end)
        assert first + b"".join(batches) == expected


def test_objects_asked_at_once_get_the_answers_asked_one_by_one(repo: Repo) -> None:
    """`BlobReader.infos` (the importers' and HEAD's lookups, one batch
    each) answers what `info` answers for each name, in order: blobs, trees,
    absent paths and objects, names too long for a batch, more names than
    one batch; a name with a newline is refused as `info` refuses it."""
    from maniac_guard.sources.gitblobs import ASKED_AT_ONCE, MAX_NAME, BlobReader
    from maniac_guard.sources.gitcore import GitError

    for n in range(3):
        repo.write(f"pkg/m{n}.py", f"X = {n}\n")
    repo.write("ünïcode name.txt", "text\n")
    first = repo.commit("files")
    repo.write("pkg/m0.py", "X = 10\n")
    second = repo.commit("change")
    names = [
        f"{rev}:{path}"
        for rev in (first, second, "HEAD", "0" * 40)
        for path in ("pkg/m0.py", "pkg/m1.py", "pkg", "missing.py", "ünïcode name.txt", "x" * (MAX_NAME + 1))
    ]
    names = (names * (ASKED_AT_ONCE // len(names) + 2))[: ASKED_AT_ONCE + 7]
    with BlobReader(str(repo.path)) as blobs:
        expected = [blobs.info(name) for name in names]
        assert blobs.infos(names) == expected
        assert blobs.info(names[0]) == expected[0]  # the reader goes on as before
        assert any(found is None for found in expected) and any(found is not None for found in expected)
        with pytest.raises(GitError, match="newline"):
            blobs.infos([names[0], "HEAD:a\nb"])


@pytest.mark.skipif(__import__("sys").platform != "linux", reason="work while waiting for git is Linux's")
def test_work_is_done_while_git_writes_nothing_and_never_after_git_ended() -> None:
    """The parser works (`idle`) only while git's pipe is empty and git still
    writing: once git has ended, what is left is the whole-file step's,
    which shares it between processes (done here one by one, this
    repository's own history took 30 s instead of 21)."""
    import os

    from maniac_guard.sources.gitstream import read_chunks

    read_end, write_end = os.pipe()
    calls: list[int] = []

    def idle() -> bool:
        calls.append(len(calls))
        if len(calls) == 3:  # git writes its last bytes and ends
            os.write(write_end, b"the end\n")
            os.close(write_end)
        return len(calls) < 10  # more work than the wait for git leaves time for

    with open(read_end, "rb") as stream:
        assert b"".join(read_chunks(stream, idle)) == b"the end\n"
    assert len(calls) == 3
