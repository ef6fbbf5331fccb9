"""`scan --history` analyses each version of a Python file at its commit
(issue 21), but a version it has already analysed in this run, with the
same bytes and the same bytes in what it read, is looked up, not analysed
again: a file that goes back and forth between two texts costs two analyses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import new_repo, scan_json
from tests.helpers import fake_key

FIRST = "from maniac import Maniac\nfrom proj import settings\n\nclient = Maniac(api_key=settings.KEY)\n"
SECOND = FIRST + "\n\ndef ask(text):\n    return client.chat(text)\n"
SETTINGS = 'import os\n\nKEY = os.environ["MANIAC_KEY"]\n'


def test_a_version_seen_before_in_the_run_is_not_analysed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import maniac_guard.python.analyzer as analyzer

    repo = new_repo(tmp_path)
    repo.write("proj/__init__.py", "")
    repo.write("proj/settings.py", SETTINGS)
    for number in range(10):  # app.py goes back and forth: two versions in ten commits
        repo.write("proj/app.py", FIRST if number % 2 == 0 else SECOND)
        repo.write("notes.txt", f"step {number}\n")
        repo.commit(f"step {number}")
    analysed: list[str] = []
    original = analyzer.analyze_project

    def counted(*args: object, **kwargs: object) -> object:
        analysed.append(str(kwargs.get("path")))
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(analyzer, "analyze_project", counted)
    code, report, _ = scan_json(repo, "--history")
    assert code == 0, report
    assert analysed.count("proj/app.py") == 2, analysed


def test_a_leaked_key_in_a_repeated_version_is_still_reported(tmp_path: Path) -> None:
    repo = new_repo(tmp_path)
    key = fake_key("history-versions")
    leaky = f'from maniac import Maniac\n\nKEY = "{key[:12]}" + "{key[12:]}"\nclient = Maniac(api_key=KEY)\n'
    clean = "from maniac import Maniac\nimport os\n\nclient = Maniac(api_key=os.environ['MANIAC_KEY'])\n"
    commits = []
    for number in range(4):  # the leak is added, removed, added again
        repo.write("app.py", leaky if number % 2 == 0 else clean)
        commits.append(repo.commit(f"step {number}"))
    code, report, _ = scan_json(repo, "--history")
    assert code == 1
    found = [(f["rule_id"], f.get("commit")) for f in report["findings"] if f.get("path") == "app.py"]
    assert found == [("MG203", commits[0])], report["findings"]  # the key, where it was first added
