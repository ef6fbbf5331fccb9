"""The Python analysis at the git gates: each changed Python file is analyzed
whole, as it is at its commit (imports read from that commit), and a gate
reports what the change added, not what was there before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maniac_guard.sources.gitblobs import BlobReader
from maniac_guard.sources.gitproject import CommitReader
from tests.gitrepo import Repo, started_repo
from tests.helpers import run_cli

BODY = "SKuCzYRumfOhEmUv5a41WEODLWfspjT7"  # a rule example's body: split below, so no key pattern sees it
PIECES = f'from maniac import Maniac\nPREFIX = "mk-"\nclient = Maniac(api_key=PREFIX + "{BODY}")\n'


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return started_repo(tmp_path)


def _ci(repo: Repo, *args: str) -> tuple[int, list[dict[str, object]], str]:
    proc = run_cli("ci", "--format", "json", *args, cwd=repo.path, env=repo.env)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)["findings"], proc.stderr


def test_a_key_built_from_pieces_in_a_commit_is_refused_by_ci_and_history(repo: Repo) -> None:
    repo.write("app.py", PIECES)
    commit = repo.commit("client")
    code, findings, _ = _ci(repo)
    assert code == 1
    assert [(f["rule_id"], f["path"], f["line"], f["commit"]) for f in findings] == [("MG203", "app.py", 3, commit)]
    proc = run_cli("scan", "--history", "--format", "json", cwd=repo.path, env=repo.env)
    assert proc.returncode == 1
    assert [f["masked_secret"] for f in json.loads(proc.stdout)["findings"]] == ["mk-SKuC…T7"]


def test_a_commit_that_only_edits_another_line_adds_nothing(repo: Repo) -> None:
    repo.write("app.py", PIECES)
    repo.commit("client")
    repo.write("app.py", "# the client\n" + PIECES + "print(client)\n")
    repo.commit("comment")
    code, findings, stderr = _ci(repo)  # HEAD~1..HEAD
    assert (code, findings) == (0, []), stderr
    # The whole history still holds it, once, first added by the first commit.
    proc = run_cli("scan", "--history", "--format", "json", cwd=repo.path, env=repo.env)
    assert proc.returncode == 1
    assert [f["rule_id"] for f in json.loads(proc.stdout)["findings"]] == ["MG203"]


def test_a_commit_that_passes_an_old_literal_to_the_sdk_adds_the_sdk_finding(repo: Repo) -> None:
    # No key pattern sees this literal: only the flow into the SDK makes it a credential.
    repo.write("app.py", 'TOKEN = "tok-8f3kQ2vN9xL4pR7sW1zY6bC5"\n')
    repo.commit("a constant")
    assert _ci(repo)[0] == 0
    repo.write(
        "app.py", 'from maniac import Maniac\nTOKEN = "tok-8f3kQ2vN9xL4pR7sW1zY6bC5"\nclient = Maniac(api_key=TOKEN)\n'
    )
    commit = repo.commit("use it")
    code, findings, _ = _ci(repo)
    assert code == 1
    assert [(f["rule_id"], f["line"], f["commit"]) for f in findings] == [("MG202", 2, commit)]


def test_an_inline_suppression_holds_at_the_gate_as_in_scan(repo: Repo) -> None:
    repo.write("app.py", PIECES.replace(")\n", ")  # maniac-guard: ignore[MG203]\n"))
    repo.commit("client")
    code, findings, _ = _ci(repo)
    assert (code, findings) == (0, [])


def test_the_commit_reader_reads_the_commits_version_not_the_work_trees(repo: Repo) -> None:
    repo.write("pkg/settings.py", "TOKEN = 'old'\n")
    first = repo.commit("settings")
    repo.write("pkg/settings.py", "TOKEN = 'new'\n")
    with BlobReader(str(repo.path)) as blobs:
        at_commit = CommitReader(blobs, first, limit=1 << 20)
        assert at_commit.key() == first
        assert at_commit.read("pkg/settings.py") == b"TOKEN = 'old'\n"
        assert at_commit.read("pkg/../pkg/settings.py") == b"TOKEN = 'old'\n"
        assert at_commit.read("missing.py") is None
        assert at_commit.read("../outside.py") is None
        assert at_commit.read("pkg") is None  # a tree, not a file
        assert CommitReader(blobs, first, limit=4).read("pkg/settings.py") is None  # over the limit
        repo.git("add", "pkg/settings.py")
        staged = CommitReader(blobs, "", limit=1 << 20, prefix="pkg", key="index")
        assert staged.read("settings.py") == b"TOKEN = 'new'\n"


def test_a_line_without_any_hint_that_makes_a_flow_is_found_in_history_and_ci(repo: Repo) -> None:
    # The commit that makes the finding adds no line a hint matches (no `maniac`,
    # no `mk-`): the file's earlier versions hold them, so each version is read.
    sdk = 'from maniac import Maniac\nimport os\n\nTOKEN = os.environ["TOKEN"]\nclient = Maniac(api_key=TOKEN)\n'
    repo.write("app.py", sdk)
    repo.commit("client from the environment")
    repo.write("app.py", "# settings\n" + sdk)
    repo.commit("a comment")
    repo.write("app.py", "# settings\n" + sdk.replace('os.environ["TOKEN"]', '"tok-8f3kQ2vN9xL4pR7sW1zY6bC5"'))
    commit = repo.commit("a literal")
    proc = run_cli("scan", "--history", "--format", "json", cwd=repo.path, env=repo.env)
    assert proc.returncode == 1, proc.stderr
    assert [(f["rule_id"], f["line"], f["commit"]) for f in json.loads(proc.stdout)["findings"]] == [
        ("MG202", 5, commit)
    ]
    code, findings, _ = _ci(repo)
    assert code == 1
    assert [(f["rule_id"], f["commit"]) for f in findings] == [("MG202", commit)]


TOKEN = "tok-8f3kQ2vN9xL4pR7sW1zY6bC5"
IMPORTER = "from maniac import Maniac\nimport settings\n\nclient = Maniac(api_key=settings.KEY)\n"


def test_a_commit_that_edits_an_imported_module_but_keeps_its_literal_adds_nothing(repo: Repo) -> None:
    repo.write("settings.py", f'KEY = "{TOKEN}"\n')
    repo.write("client.py", IMPORTER)
    first = repo.commit("client")
    repo.write("settings.py", f'# the settings\nKEY = "{TOKEN}"\nREGION = "eu"\n')
    repo.commit("another setting")
    code, findings, stderr = _ci(repo)  # HEAD~1..HEAD: settings.py changed, client.py analysed again
    assert (code, findings) == (0, []), stderr
    proc = run_cli("scan", "--history", "--format", "json", cwd=repo.path, env=repo.env)
    assert proc.returncode == 1, proc.stderr
    found = [(f["rule_id"], f["path"], f["line"], f["commit"]) for f in json.loads(proc.stdout)["findings"]]
    assert found == [("MG202", "settings.py", 1, first)]


def test_the_importers_looked_up_are_bounded_and_what_is_left_out_is_said(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from maniac_guard import changes

    repo.write("settings.py", "KEY = None\n")
    for name in ("a", "b", "c"):
        repo.write(f"{name}.py", IMPORTER)
    repo.commit("clients")
    repo.write("settings.py", f'KEY = "{TOKEN}"\n')
    repo.git("add", "settings.py")
    detectors = changes.whole_file_detectors(None)
    whole = changes.added_to_index(str(repo.path), ["settings.py"], detectors, max_size=1 << 20)
    assert {(f.rule_id, f.path, f.line) for f in whole.findings} == {("MG202", "settings.py", 1)}
    assert whole.messages == []
    monkeypatch.setattr(changes, "MAX_IMPORTERS", 2)
    whole = changes.added_to_index(str(repo.path), ["settings.py"], detectors, max_size=1 << 20)
    assert whole.messages == [
        "at the index: more than 2 files may import the changed modules; the first 2 were analysed again"
    ]
    monkeypatch.setattr(changes, "MAX_IMPORTER_SCANS", 0)
    whole = changes.added_to_index(str(repo.path), ["settings.py"], detectors, max_size=1 << 20)
    assert whole.findings == []
    assert len(whole.messages) == 1 and "were not analysed again" in whole.messages[0], whole.messages
