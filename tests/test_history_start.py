"""`scan --history` and a plain `scan PATHS` without click, the history's
`git log -p` started first thing (issue 26, entry.py and
sources/gitstart.py): the fast path must give the
scan exactly what click would, hand anything else to click, and the early
git process must be the one the scan reads only when it is the command the
scan would have started."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from maniac_guard.entry import plain_scan_options
from maniac_guard.sources import gitstart
from tests.gitrepo import Repo, new_repo
from tests.helpers import fake_key, run_cli, run_in_process


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    found = new_repo(tmp_path)
    found.write("app/settings.py", f'MANIAC_API_KEY = "{fake_key("hist-start-1")}"\n')
    found.write(".env", f"MANIAC_API_KEY={fake_key('hist-start-2')}\n")
    found.commit("add settings")
    found.write("app/settings.py", 'import os\n\nMANIAC_API_KEY = os.environ["MANIAC_API_KEY"]\n')
    found.commit("read the key from the environment")
    return found


@pytest.fixture
def in_repo(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> Iterator[Repo]:
    """The test process in the repository, with its git environment (the early start spawns in the current folder)."""
    monkeypatch.chdir(repo.path)
    for name, value in repo.env.items():
        monkeypatch.setenv(name, value)
    yield repo
    gitstart.discard()


FAST = [
    ["--history"],
    ["--history", "--format", "json", "."],
    ["--format=sarif", "--history", "-o", "out.sarif", "-q"],
    ["--history", "--max-commits", "5", "--fail-on", "high", "sub", "other"],
    ["--history", "--since", "origin/main", "--quiet", "--output=report.json"],
    ["--range", "main..HEAD", "--history", "--format", "junit"],
    ["--history", "--fail-on=critical", "--max-commits=12"],
    ["--since", "main"],  # implies --history, as click reads it (commands/scan.git_source)
    # A plain scan of paths, as a CI job runs it: no click either.
    [],
    [".", "--format", "json"],
    ["--format=sarif", "-o", "report.sarif", "src", "tests"],
    ["-q", "--fail-on", "high", "app.py"],
    # What CI jobs add: rule selection, config, baseline, cores, colours.
    [".", "--select", "MG1", "--ignore=MG105", "--select", "MG2", "--exclude", "vendor/**"],
    ["--config", "ci.toml", "--baseline=base.json", "--ignore-file", "accepted.txt", "-j", "0", "src"],
    ["-v", "--no-gitignore", "--no-baseline", "--no-cache", "--no-color", "--jobs=2"],
    ["--color", "--verbose", "--format", "json", "."],
    ["--history", "--no-cache", "-v"],
]


@pytest.mark.parametrize("argv", FAST)
def test_the_fast_path_gives_scan_what_click_would(argv: list[str]) -> None:
    from maniac_guard import cli

    assert plain_scan_options(["scan", *argv]) == cli.scan.make_context("scan", list(argv)).params


@pytest.mark.parametrize(
    "argv",
    [
        [".", "--format", "yaml"],
        ["-j", "01", "."],  # click reads it as 1: plain digits only here
        ["-j2", "."],
        ["--color=yes", "."],
        ["--color", "--no-color"],  # click takes the last one
        [".", "--select"],
        [".", "--select", ""],
        [".", "--max-file-size", "10"],
        [".", "--config", "."],  # a folder: click.Path(dir_okay=False) refuses it
        ["--history", "--format", "JSON"],  # click says which formats there are
        ["--history", "--format"],
        ["--history", "--max-commits", "0"],
        ["--history", "--max-commits", "010"],
        ["--history", "--max-commits", "1e3"],
        ["--history", "--fail-on", "severe"],
        ["--history", "--format", "json", "--format", "text"],
        ["--history", "--history"],
        ["--history=yes"],
        ["--history", "--since", ""],
        ["--history", "--since", "-x"],
        ["--history", "-o", "."],  # a folder: click.Path(dir_okay=False) refuses it
        ["--history", "-ojson"],
        ["--history", "--", "path"],
        ["--history", "-"],
        ["--history", "--help"],
        ["--history", "--staged"],
    ],
)
def test_anything_else_goes_through_click(argv: list[str]) -> None:
    assert plain_scan_options(["scan", *argv]) is None


def test_the_fast_paths_choices_are_clicks() -> None:
    from maniac_guard import cli, entry
    from maniac_guard.config import DEFAULT_MAX_FILE_SIZE

    assert list(entry._FORMATS) == cli.FORMATS
    assert list(entry._SEVERITIES) == cli.SEVERITIES
    assert gitstart.DEFAULT_MAX_SIZE == DEFAULT_MAX_FILE_SIZE


def _untimed(out: str) -> str:
    out = re.sub(r'"elapsed_seconds": [0-9.]+', '"elapsed_seconds": 0', out)
    out = re.sub(r'time="[0-9.]+"', 'time="0"', out)
    out = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", "T", out)  # a report's start and end
    return re.sub(r" in \d+\.\d+s", " in …s", out)


def _as_click_reports(repo: Repo, *args: str) -> str:
    """`scan ARGS` from the console script (the fast path) gives what click's
    parse of the same command line gives (in this process); its output."""
    fast = run_cli("scan", *args, env=repo.env, cwd=repo.path)
    full = run_in_process("scan", *args, env=repo.env, cwd=repo.path)
    assert fast.returncode == full.returncode == 1, fast.stderr
    assert _untimed(fast.stdout) == _untimed(full.stdout) and fast.stdout
    assert fast.stderr == full.stderr
    return fast.stdout


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "gitlab", "junit"])
def test_the_fast_path_reports_as_click_does_in_every_format(repo: Repo, fmt: str) -> None:
    fast = _as_click_reports(repo, "--history", "--format", fmt)
    if fmt == "json":
        assert {f["path"] for f in json.loads(fast)["findings"]} >= {"app/settings.py", ".env"}


def test_the_scan_reads_the_git_log_started_early(in_repo: Repo) -> None:
    from maniac_guard.sources.gitlog import PatchStream
    from maniac_guard.sources.gitmodel import HistoryState

    gitstart.start_history(None)
    early = gitstart._early
    assert early is not None and early.log is not None
    assert gitstart.no_big_blobs(str(in_repo.path), gitstart.DEFAULT_MAX_SIZE)
    stream = PatchStream(str(in_repo.path), ["--all"])
    assert stream.proc is early.log  # taken over, not started again
    paths = {source.path for source in stream.sources(HistoryState())}
    assert {"app/settings.py", ".env"} <= paths
    assert stream.close() == 0


def test_another_command_stops_the_early_log_and_starts_its_own(in_repo: Repo) -> None:
    from maniac_guard.sources.gitlog import PatchStream

    gitstart.start_history(None)
    early = gitstart._early
    assert early is not None and early.log is not None
    log = early.log
    stream = PatchStream(str(in_repo.path), ["--all"], max_commits=1)  # not what was started
    try:
        assert stream.proc is not log and log.returncode is not None and log.stdout.closed
    finally:
        stream.close()


def test_no_early_log_when_a_blob_is_over_the_size_limit(in_repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    # git log -p would load such a blob whole: the scan proper reads its path apart (gitbig.py).
    monkeypatch.setattr(gitstart, "DEFAULT_MAX_SIZE", 20)
    gitstart.start_history(None)
    assert gitstart._early is None
    assert not gitstart.no_big_blobs(str(in_repo.path), 20)


def test_outside_a_repository_the_fast_path_says_so(tmp_path: Path) -> None:
    result = run_cli("scan", "--history", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2
    # One line, ours: not also git's own "fatal:" from the early size check.
    assert result.stderr == f"maniac-guard: error: {tmp_path} is not inside a git repository\n"


def test_a_grep_started_ahead_answers_as_one_run_then(repo: Repo) -> None:
    from maniac_guard.sources import gitproject

    root, head = str(repo.path), repo.head()
    alone = gitproject.files_naming(root, head, ("maniac",), words=False)
    gitproject.start_naming(root, head, ("maniac",), words=False)
    gitproject.start_naming(root, head, ("nothing-names-this",))
    assert len(gitproject._started) == 2
    assert gitproject.files_naming(root, head, ("maniac",), words=False) == alone == ["app/settings.py"]
    assert gitproject.files_naming(root, head, ("nothing-names-this",)) == []
    assert gitproject._started == {}
    gitproject.start_naming(root, head, ("maniac",), words=False)
    gitproject.stop_naming()  # never read: stopped, not left running
    assert gitproject._started == {}


def test_the_history_scan_reads_the_callers_greps_it_started_as_the_diffs_ended(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    from maniac_guard.config import Settings
    from maniac_guard.history import history_result, history_spec
    from maniac_guard.sources import gitproject

    repo.write(
        "app/client.py", "from maniac import Maniac\n\n\ndef make_client(key):\n    return Maniac(api_key=key)\n"
    )
    repo.commit("a wrapper of the SDK")
    started: list[str] = []
    real_start, real_run = gitproject.start_naming, subprocess.run
    monkeypatch.setattr(
        gitproject, "start_naming", lambda root, rev, *a, **k: (started.append(rev), real_start(root, rev, *a, **k))
    )
    ran: list[list[str]] = []
    monkeypatch.setattr(subprocess, "run", lambda args, *a, **k: (ran.append(list(args)), real_run(args, *a, **k))[1])
    root = str(repo.path)
    for name, value in repo.env.items():
        monkeypatch.setenv(name, value)
    result = history_result(root, history_spec(root), Settings())
    assert started  # the first and last commits that change modules
    assert not [args for args in ran if "grep" in args]  # every grep was one started ahead
    assert gitproject._started == {}
    assert {f.path for f in result.findings} >= {"app/settings.py", ".env"}


def test_git_writes_its_whole_log_while_the_program_loads(in_repo: Repo) -> None:
    """Past the pipe's 1 MiB, git would wait for the parser: a thread reads
    ahead until the scan takes the stream (then every byte reaches it, in order)."""
    import time

    from maniac_guard.sources.gitlog import PatchStream
    from maniac_guard.sources.gitmodel import HistoryState

    for n in range(3):
        in_repo.write(f"data/table_{n}.csv", "".join(f"row {n} {i} {'x' * 60}\n" for i in range(12000)))
        in_repo.commit(f"table {n}")
    gitstart.start_history(None)
    early = gitstart._early
    assert early is not None and early.log is not None
    waited = 0.0
    while early.log.poll() is None and waited < 60:  # nothing reads the pipe meanwhile
        time.sleep(0.05)
        waited += 0.05
    assert early.log.returncode == 0  # git ended: its > 2 MiB of output is held
    state = HistoryState()
    stream = PatchStream(str(in_repo.path), ["--all"])
    assert stream.proc is early.log
    paths = {source.path for source in stream.sources(state)}
    assert {"app/settings.py", ".env"} <= paths and len(state.order) == 5


@pytest.mark.parametrize("case", ["subfolder", "stash", "config"])
def test_a_scan_unlike_the_early_start_reports_as_click_does(repo: Repo, case: str) -> None:
    """The early git log assumes the defaults: from a subfolder, with stash
    entries (more revisions) or a configured size limit, the scan starts its
    own, and reports exactly what the click path reports."""
    cwd = repo.path
    if case == "subfolder":
        cwd = repo.path / "app"
    elif case == "stash":
        for n in range(2):
            repo.write("app/settings.py", f'TOKEN_{n} = "{fake_key(f"stash-{n}")}"\n')
            repo.git("stash")
    else:
        repo.write("pyproject.toml", "[tool.maniac-guard]\nmax-file-size = 4096\n")
    fast = run_cli("scan", "--history", "--format", "json", env=repo.env, cwd=cwd)
    full = run_in_process("scan", "--history", "--format", "json", env=repo.env, cwd=cwd)  # click parses
    assert fast.returncode == full.returncode == 1, fast.stderr
    findings = json.loads(fast.stdout)["findings"]
    assert findings == json.loads(full.stdout)["findings"] and fast.stderr == full.stderr
    if case == "stash":  # both entries, the older one beyond what --all reaches
        assert sum(f["path"] == "app/settings.py" for f in findings) >= 3


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit"])
def test_a_plain_scan_of_paths_reports_as_click_does(repo: Repo, fmt: str) -> None:
    _as_click_reports(repo, ".", "--format", fmt)


def test_a_ci_scan_of_a_tree_loads_no_click(repo: Repo) -> None:
    from tests.test_startup_imports import _imported

    modules, proc = _imported(["scan", ".", "--format", "sarif", "-o", "out.sarif"], repo.path)
    assert proc.returncode == 1, proc.stderr
    assert "click" not in {m.split(".")[0] for m in modules}
    assert "MG101" in (repo.path / "out.sarif").read_text()


def test_the_history_fast_path_loads_neither_click_nor_tempfile(repo: Repo) -> None:
    from tests.test_startup_imports import _imported

    modules, proc = _imported(["scan", "--history", "--format", "json"], repo.path)
    assert proc.returncode == 1, proc.stderr  # the keys of the fixture's history: the scan ran
    assert {m.split(".")[0] for m in modules} & {"click", "tempfile", "shutil", "argparse"} == set()


@pytest.mark.parametrize("max_commits", [None, 3])
def test_a_log_split_in_two_processes_gives_the_parser_what_one_git_log_gives(
    in_repo: Repo, monkeypatch: pytest.MonkeyPatch, max_commits: int | None
) -> None:
    """From SPLIT_FROM commits the early `git log -p` runs as two git
    processes over the two halves of the commit list (SplitLog): their
    output, in order, is the one log's, byte for byte, with branches, a
    merge, a rename and an empty commit; and so are the sources parsed."""
    from maniac_guard.sources.gitlog import PatchStream
    from maniac_guard.sources.gitmodel import HistoryState

    repo = in_repo
    repo.git("checkout", "-q", "-b", "side")
    repo.write("side.txt", f"KEY={fake_key('hist-split-side')}\n")
    repo.commit("on a side branch")
    repo.git("checkout", "-q", "-")
    repo.git("mv", "app/settings.py", "app/config.py")
    repo.commit("rename")
    repo.git("merge", "-q", "--no-ff", "-m", "merge", "side")
    repo.git("commit", "-q", "--allow-empty", "-m", "empty")
    repo.write(".env", f"MANIAC_API_KEY={fake_key('hist-split-3')}\n")
    repo.commit("last")

    def parsed(stream: PatchStream) -> tuple[list[tuple[str, str | None, bytes]], HistoryState]:
        state = HistoryState()
        try:
            return [(s.path, s.commit, s.data) for s in stream.sources(state)], state
        finally:
            assert stream.close() == 0

    one = parsed(PatchStream(str(repo.path), ["--all"], max_commits=max_commits))  # nothing started early
    monkeypatch.setattr(gitstart, "SPLIT_FROM", 2)
    gitstart.start_history(max_commits)
    early = gitstart._early
    assert early is not None and isinstance(early.log, gitstart.SplitLog)
    argv = [*gitstart.git_command(), *gitstart.log_args(["--all"], max_commits)]
    whole = __import__("subprocess").run(argv, cwd=repo.path, capture_output=True, check=True).stdout
    stream = PatchStream(str(repo.path), ["--all"], max_commits=max_commits)
    assert stream.proc is early.log
    split = parsed(stream)
    assert split[0] == one[0] and split[1].order == one[1].order and split[1].renames == one[1].renames
    assert len(split[1].order) == (max_commits or 7)
    gitstart.start_history(max_commits)  # again, to read its bytes
    again = gitstart._early
    assert again is not None and isinstance(again.log, gitstart.SplitLog)
    assert b"".join(b"".join(part.take_ahead()) + part.stdout.read() for part in again.log.parts) == whole
    assert again.log.wait() == 0
