"""`scan --staged` and `scan --history` on real repositories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from maniac_guard.history import HistorySpec
from maniac_guard.sources.git import HistoryState, history_sources, unquote_path
from tests.gitrepo import Repo, git_env, make_repo, scan_json
from tests.helpers import fake_key, run_cli, run_in_process


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return git_env(home)


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str]) -> Repo:
    return make_repo(tmp_path / "repo", env)


# --- staged -----------------------------------------------------------------------------


def test_staged_scans_the_index_version_with_its_line_numbers(repo: Repo) -> None:
    key = fake_key("staged")
    repo.write("app.py", f"import os\n\n\nKEY = '{key}'\n")
    repo.git("add", "app.py")
    # The work tree drops the key and shifts lines: only the index has it.
    repo.write("app.py", "import os\nKEY = os.environ['MANIAC_API_KEY']\n")

    code, report, _ = scan_json(repo, "--staged")
    assert code == 1
    [finding] = report["findings"]
    assert (finding["path"], finding["line"], finding["rule_id"]) == ("app.py", 4, "MG101")
    assert key not in json.dumps(report)

    disk = run_cli("scan", "app.py", cwd=repo.path, env=repo.env)
    assert disk.returncode == 0, disk.stdout


def test_staged_ignores_keys_only_in_the_work_tree(repo: Repo) -> None:
    repo.write("app.py", "x = 1\n")
    repo.git("add", "app.py")
    repo.write("app.py", f"x = '{fake_key('unstaged')}'\n")

    code, report, _ = scan_json(repo, "--staged")
    assert code == 0 and report["findings"] == []


def test_staged_from_a_subfolder_reports_paths_relative_to_it(repo: Repo) -> None:
    repo.commit("root", *[str(repo.write("README", "hi\n").name)])
    repo.write("src/pkg/.env", f"MANIAC_API_KEY={fake_key('sub')}\n")
    repo.write("other.txt", f"{fake_key('other')}\n")
    repo.git("add", ".")

    # Like `git commit`, --staged covers the whole index; PATHS narrow it.
    code, report, _ = scan_json(repo, "--staged", cwd=repo.path / "src")
    assert code == 1
    assert {f["path"] for f in report["findings"]} == {"pkg/.env", "../other.txt"}
    code, report, _ = scan_json(repo, "--staged", "pkg", cwd=repo.path / "src")
    assert {f["path"] for f in report["findings"]} == {"pkg/.env"}


def test_staged_skips_binary_blobs_and_obeys_config_excludes(repo: Repo) -> None:
    repo.write("pyproject.toml", '[tool.maniac-guard]\nexclude = ["fixtures/**"]\n')
    repo.write("fixtures/sample.txt", f"{fake_key('fixture')}\n")
    repo.write("blob.bin", b"\0\1\2" + fake_key("bin").encode())
    repo.write("ok.txt", "nothing here\n")
    repo.git("add", ".")

    code, report, _ = scan_json(repo, "--staged")
    assert code == 0 and report["findings"] == []
    assert report["summary"]["files_scanned"] == 2  # pyproject.toml, ok.txt


def test_staged_works_before_the_first_commit_and_with_nothing_staged(repo: Repo) -> None:
    code, report, _ = scan_json(repo, "--staged")
    assert code == 0 and report["summary"]["files_scanned"] == 0
    repo.write("first.sh", f"export MANIAC_API_KEY={fake_key('first')}\n")
    repo.git("add", "first.sh")
    code, report, _ = scan_json(repo, "--staged")
    assert code == 1 and report["findings"][0]["path"] == "first.sh"


def test_staged_outside_a_repository_is_a_one_line_error(tmp_path: Path, env: dict[str, str]) -> None:
    proc = run_cli("scan", "--staged", cwd=tmp_path, env={**env, "GIT_CEILING_DIRECTORIES": str(tmp_path.parent)})
    assert proc.returncode == 2
    assert "not inside a git repository" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


# --- history ----------------------------------------------------------------------------


def test_history_finds_a_deleted_key_with_the_commit_that_added_it(repo: Repo) -> None:
    key = fake_key("deleted")
    repo.write("config.py", "A = 1\n")
    repo.commit("start")
    repo.write("config.py", f"A = 1\nB = 2\nKEY = '{key}'\n")
    added = repo.commit("add a key")
    repo.write("config.py", "A = 1\nB = 2\n")
    repo.commit("remove the key")
    repo.write("config.py", f"A = 1\nB = 2\nC = 3\nKEY = '{key}'\n")
    repo.commit("put it back")

    code, report, _ = scan_json(repo, "--history")
    assert code == 1
    [finding] = report["findings"]
    assert finding["commit"] == added
    assert finding["line"] == 3  # its line in that commit
    assert finding["author"] == "Test Author <author@example.com>"
    assert finding["date"]
    assert finding["details"]["commits"] == 2
    assert finding["details"]["present_at_head"] is True
    assert key not in json.dumps(report)


def test_history_reports_a_removed_key_as_not_at_head(repo: Repo) -> None:
    key = fake_key("gone")
    repo.write("notes.md", f"token: {key}\n")
    added = repo.commit("oops")
    repo.write("notes.md", "token: see vault\n")
    repo.commit("remove")

    code, report, _ = scan_json(repo, "--history")
    assert code == 1
    [finding] = report["findings"]
    assert finding["commit"] == added and finding["path"] == "notes.md"
    assert finding["details"]["present_at_head"] is False
    assert "rotate" in finding["message"]
    assert scan_json(repo, ".")[0] == 0  # the work tree alone looks clean


def test_history_follows_a_renamed_file(repo: Repo) -> None:
    key = fake_key("renamed")
    repo.write("old/settings.py", "DEBUG = False\n" * 5 + f"KEY = '{key}'\n")
    added = repo.commit("settings")
    repo.git("mv", "old/settings.py", "new_settings.py")
    later = fake_key("added-in-rename")
    repo.write("new_settings.py", "DEBUG = False\n" * 5 + f"KEY = '{key}'\nOTHER = '{later}'\n")
    renamed = repo.commit("rename and add")

    code, report, _ = scan_json(repo, "--history")
    assert code == 1
    by_commit = {f["commit"]: f for f in report["findings"]}
    assert set(by_commit) == {added, renamed}
    first = by_commit[added]
    assert (first["path"], first["line"]) == ("old/settings.py", 6)
    assert first["details"]["present_at_head"] is True
    assert first["details"]["path_at_head"] == "new_settings.py"
    second = by_commit[renamed]
    assert (second["path"], second["line"]) == ("new_settings.py", 7)


def test_history_attributes_merged_keys_to_their_branch_commit_and_catches_evil_merges(repo: Repo) -> None:
    repo.write("a.txt", "base\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "side")
    repo.write("side.txt", f"{fake_key('side')}\n")
    side = repo.commit("side key")
    repo.git("checkout", "-q", "main")
    repo.write("a.txt", "base\nmain\n")
    repo.commit("main work")
    repo.git("merge", "-q", "--no-commit", "--no-ff", "side")
    repo.write("merge.txt", f"{fake_key('evil')}\n")  # only in the merge commit
    repo.git("add", "merge.txt")
    repo.git("commit", "-q", "--no-verify", "-m", "merge")
    merge = repo.head()

    code, report, _ = scan_json(repo, "--history")
    assert code == 1
    assert {(f["path"], f["commit"]) for f in report["findings"]} == {("side.txt", side), ("merge.txt", merge)}


def test_history_range_since_and_max_commits_limit_the_commits(repo: Repo) -> None:
    commits = []
    for n in range(4):
        repo.write(f"f{n}.txt", f"{fake_key(f'n{n}')}\n")
        commits.append(repo.commit(f"c{n}"))

    def paths(*args: str) -> set[str]:
        return {f["path"] for f in scan_json(repo, *args)[1]["findings"]}

    assert paths("--history") == {"f0.txt", "f1.txt", "f2.txt", "f3.txt"}
    assert paths("--range", f"{commits[1]}..{commits[3]}") == {"f2.txt", "f3.txt"}
    assert paths("--since", commits[2]) == {"f3.txt"}
    assert paths("--history", "--max-commits", "2") == {"f2.txt", "f3.txt"}


def test_history_with_a_bad_revision_is_a_one_line_usage_error(repo: Repo) -> None:
    repo.write("a.txt", "x\n")
    repo.commit("one")
    for args in (("--range", "nope..HEAD"), ("--since", "2024-01-01"), ("--range", "HEAD")):
        proc = run_in_process("scan", *args, cwd=repo.path, env=repo.env)
        assert proc.returncode == 2, args
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_history_of_an_empty_repository_says_so(repo: Repo) -> None:
    code, report, err = scan_json(repo, "--history")
    assert code == 0 and report["findings"] == []
    assert "no commits to scan" in err


def test_history_survives_binary_non_utf8_and_odd_paths(repo: Repo) -> None:
    key = fake_key("latin1")
    repo.write("image.png", b"\x89PNG\0\0" + key.encode())
    repo.write("legacy.txt", b"caf\xe9 = '" + key.encode() + b"'\n")
    repo.write('dir with space/"quoted"\tname.txt', f"{fake_key('odd')}\n")
    repo.commit("mixed")

    code, report, _ = scan_json(repo, "--history")
    assert code == 1
    assert {f["path"] for f in report["findings"]} == {"legacy.txt", 'dir with space/"quoted"\tname.txt'}
    assert report["summary"]["files_skipped"].get("binary") == 1


def test_history_skips_submodules(repo: Repo, tmp_path: Path, env: dict[str, str]) -> None:
    inner = make_repo(tmp_path / "inner", env)
    inner.write("k.txt", f"{fake_key('inner')}\n")
    inner.commit("inner")
    repo.write("top.txt", "top\n")
    repo.commit("top")
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner.path), "sub")
    repo.commit("add submodule")

    code, report, _ = scan_json(repo, "--history")
    assert code == 0, report
    assert report["findings"] == []


def test_history_in_a_shallow_clone_says_what_it_misses(repo: Repo, tmp_path: Path) -> None:
    for n in range(3):
        repo.write("f.txt", f"{n}\n")
        repo.commit(f"c{n}")
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(clone)],
        check=True,
        env={**repo.env, "PATH": __import__("os").environ["PATH"]},
    )
    code, _report, err = scan_json(repo, "--history", cwd=clone)
    assert code == 0
    assert "shallow clone" in err


def test_history_parser_maps_added_lines_to_real_line_numbers(repo: Repo) -> None:
    repo.write("f.txt", "".join(f"line {n}\n" for n in range(1, 11)))
    repo.commit("ten lines")
    lines = [f"line {n}\n" for n in range(1, 11)]
    # Text a detector looks for: commits without any are not parsed at all.
    lines[1] = "api_key 2\n"
    lines.insert(6, "inserted\n")
    repo.write("f.txt", "".join(lines))
    second = repo.commit("edit")

    state = HistoryState()
    sources = list(history_sources(str(repo.path), [second, "-1"], state))
    [source] = sources
    assert source.commit == second
    assert source.text.splitlines() == ["api_key 2", "inserted"]
    assert source.line_numbers == [2, 7]
    assert isinstance(HistorySpec(("--all",), "all"), HistorySpec)


def test_commits_nothing_could_fire_on_are_counted_not_parsed(repo: Repo) -> None:
    repo.write("f.txt", "plain text\n")
    first = repo.commit("plain")
    repo.write("f.txt", "plain text\nMANIAC_API_KEY=\n")
    second = repo.commit("names the variable")
    from maniac_guard.history import fragment_hints

    state = HistoryState()
    sources = list(history_sources(str(repo.path), ["--all"], state, hints=fragment_hints()))
    assert [source.commit for source in sources] == [second]
    assert list(state.order) == [first, second]


def test_unquote_path_undoes_git_c_quoting() -> None:
    assert unquote_path(b'"a\\tb\\"c\\303\\251"') == b'a\tb"c\xc3\xa9'
    assert unquote_path(b"plain name") == b"plain name"


def test_staged_scan_with_python_rules_ignored_still_reports_the_key(repo: Repo) -> None:
    """MG201 would win the merge with MG101 and then be filtered out; with
    MG2 ignored the Python detector does not run, so MG101 stays."""
    from tests.helpers import fake_key, run_cli

    repo.write("app.py", f'from maniac import Maniac\nc = Maniac(api_key="{fake_key("staged-ignore")}")\n')
    repo.git("add", "app.py")
    proc = run_cli("scan", "--staged", "--ignore", "MG2", "--format", "json", cwd=repo.path)
    assert [f["rule_id"] for f in json.loads(proc.stdout)["findings"]] == ["MG101"]


def test_python_files_of_commits_without_any_python_hint_are_judged_in_one_pass(repo: Repo) -> None:
    """The whole-file tracker must not decode and test each Python file of a
    commit the parser skips when no part of the commit's diffs holds a hint
    of the Python rules (the commit's record line, NUL-separated, is not
    file text)."""
    from maniac_guard.changes import whole_file_detectors
    from maniac_guard.history import fragment_hints
    from maniac_guard.historytracker import tracker

    for n in range(3):
        repo.write(f"m{n}.py", f"def f():\n    return {n}\n")
        repo.commit(f"plain {n}")
    picker = tracker(whole_file_detectors(None), 1 << 20)
    asked: list[str] = []
    wants = picker.wants
    picker.wants = lambda path, data: asked.append(path) or wants(path, data)  # type: ignore[method-assign]
    state = HistoryState()
    assert list(history_sources(str(repo.path), ["--all"], state, hints=fragment_hints(), whole=picker)) == []
    assert asked == [] and len(picker.clean) == 3 and not picker.changes


def test_a_history_scan_keeps_each_compiled_hint_set_for_the_next_run(repo: Repo, tmp_path: Path) -> None:
    """scan --history compiles its hint sets (the commit filter, the Python
    rules' one-pass test: one database since both are marked in one pass);
    it stays cached, so the next run compiles none (when two sets shared one
    cache name, each run recompiled both: ~30 ms)."""
    repo.write("app.py", "import os\nKEY = os.environ['MANIAC_API_KEY']\n")
    repo.commit("app")
    cache = tmp_path / "cache"
    env = {**repo.env, "MANIAC_GUARD_CACHE_DIR": str(cache)}
    assert run_cli("scan", "--history", "-q", ".", cwd=repo.path, env=env).returncode == 0
    first = {path.name: path.stat().st_mtime_ns for path in cache.glob("*.hsdb")}
    assert run_cli("scan", "--history", "-q", ".", cwd=repo.path, env=env).returncode == 0
    assert {path.name: path.stat().st_mtime_ns for path in cache.glob("*.hsdb")} == first
    assert len(first) == 1
