"""`scan --history` shares the whole-file analyses of many changed versions
with a forked helper (maniac_guard/versions.py): the verdict, the notes and
their order are those of one process (`-j 1`)."""

from __future__ import annotations

import pytest

from tests.gitrepo import Repo, new_repo, scan_json
from tests.helpers import fake_key

CLEAN = "from maniac import Maniac\nimport os\n\nclient = Maniac(api_key=os.environ['MANIAC_KEY'])\n# {n}\n"
BROKEN = "from maniac import Maniac\n\ndef broken(:\n    pass  # {n}\n"


def _leaky(n: int) -> str:
    key = fake_key(f"shared-{n}")
    return f'from maniac import Maniac\n\nKEY = "{key[:12]}" + "{key[12:]}"\nclient = Maniac(api_key=KEY)\n'


@pytest.fixture(scope="module")
def busy_repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """Thirty commits, each changing two Python files: leaks added, removed
    and added again, and a file that does not parse (a note, once)."""
    root = tmp_path_factory.mktemp("shared")
    repo = new_repo(root)
    for n in range(30):
        repo.write(f"app/mod{n % 5}.py", _leaky(n) if n % 3 == 0 else CLEAN.format(n=n))
        repo.write("app/broken.py", BROKEN.format(n=n))
        repo.commit(f"step {n}")
    return repo


@pytest.fixture
def none_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    """No analysis while the history is read (`versions.Ahead`): on a small
    repository they would all be done then, leaving nothing to share."""
    import maniac_guard.versions as versions

    monkeypatch.setattr(versions, "SLOW_STEPS", 0)


@pytest.mark.usefixtures("none_ahead")
def test_shared_analyses_give_the_verdict_of_one_process(busy_repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    import maniac_guard.engine as engine
    import maniac_guard.forkshare as forkshare

    monkeypatch.setattr(engine, "available_cores", lambda: 2)  # the same on any machine
    shared: list[int] = []
    original = forkshare.run_shared

    def counted(chunks, work, helpers):  # type: ignore[no-untyped-def]
        shared.append(helpers)
        return original(chunks, work, helpers)

    monkeypatch.setattr(forkshare, "run_shared", counted)
    one_code, one, one_err = scan_json(busy_repo, "--history", "-j", "1")
    assert shared == []
    two_code, two, two_err = scan_json(busy_repo, "--history", "-j", "2")
    assert shared == [1]  # one helper took part
    assert (one_code, two_code) == (1, 1)
    assert two["findings"] == one["findings"]
    assert len(one["findings"]) == 10  # each leaky version where it was added
    assert two_err == one_err
    assert one_err.count("app/broken.py") == 1, one_err  # its note once, not once per version


@pytest.mark.usefixtures("none_ahead")
def test_a_helper_that_dies_leaves_its_versions_to_this_process(
    busy_repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import maniac_guard.engine as engine
    import maniac_guard.versions as versions

    monkeypatch.setattr(engine, "available_cores", lambda: 2)
    home = os.getpid()
    original = versions.Versions.added

    def dying(self, change, data):  # type: ignore[no-untyped-def]
        if os.getpid() != home:
            os._exit(9)  # the helper dies on its first version
        return original(self, change, data)

    monkeypatch.setattr(versions.Versions, "added", dying)
    code, report, _ = scan_json(busy_repo, "--history", "-j", "2")
    assert code == 1
    assert len(report["findings"]) == 10


def test_versions_analysed_while_git_writes_give_the_verdict_of_the_analyses_after_it(
    busy_repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The changed versions the parser analyses while it waits for git
    (`versions.Ahead`) give the findings, notes and order the analyses after
    the stream give, in one process or shared."""
    import maniac_guard.engine as engine
    import maniac_guard.sources.gitstream as gitstream
    import maniac_guard.versions as versions

    monkeypatch.setattr(engine, "available_cores", lambda: 2)
    # git as slow as can be: before each read, the parser does all it can ahead.
    monkeypatch.setattr(gitstream, "_readable", lambda fd: False)
    prepared: list[str] = []
    original = versions.Versions.prepare

    def counted(self, change):  # type: ignore[no-untyped-def]
        prepared.append(change.commit)
        return original(self, change)

    monkeypatch.setattr(versions.Versions, "prepare", counted)
    ahead = [scan_json(busy_repo, "--history", "-j", jobs) for jobs in ("1", "2")]
    done_ahead = len(prepared)
    assert done_ahead > 30  # most of the changed versions, in both runs
    monkeypatch.setattr(versions, "SLOW_STEPS", 0)
    after = [scan_json(busy_repo, "--history", "-j", jobs) for jobs in ("1", "2")]
    assert len(prepared) == done_ahead
    for (code, report, err), (code_after, report_after, err_after) in zip(ahead, after):
        assert (code, report["findings"], err) == (code_after, report_after["findings"], err_after)
    assert len(ahead[0][1]["findings"]) == 10
