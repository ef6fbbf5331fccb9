"""Issue 7: baselines. Adopt maniac-guard on a legacy repository by accepting
today's findings, then gate on new ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from maniac_guard.findings import Secret
from tests.helpers import fake_key, run_cli, run_in_process

OLD = fake_key("baseline-old")
OLD2 = fake_key("baseline-old-2")
NEW = fake_key("baseline-new")
BASELINE = ".maniac-guard-baseline.json"
ENTRY_FIELDS = {"fingerprint", "rule_id", "path", "severity", "masked_secret"}


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def scan_json(root: Path, *args: str, cwd: Path | None = None) -> tuple[int, dict[str, Any]]:
    done = run_cli("scan", *args, "--format", "json", cwd=cwd or root)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def reported(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["path"], f["masked_secret"]) for f in document["findings"]}


@pytest.fixture()
def legacy(tmp_path: Path) -> Path:
    write(tmp_path, "src/old.py", f'KEY = "{OLD}"\n')
    write(tmp_path, "deploy/run.sh", f"export TOKEN={OLD2}\n")
    return tmp_path


def create(root: Path, *args: str) -> str:
    done = run_cli("baseline", "create", *args, cwd=root)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_round_trip_create_add_remove_update(legacy: Path) -> None:
    out = create(legacy, "-o", BASELINE)
    assert "Recorded 2 findings" in out
    code, document = scan_json(legacy, "--baseline", BASELINE)
    assert code == 0 and document["findings"] == []
    assert document["summary"]["baselined"] == 2

    write(legacy, "src/new.py", f'NEW = "{NEW}"\n')
    code, document = scan_json(legacy, "--baseline", BASELINE)
    assert code == 1
    assert reported(document) == {("src/new.py", Secret(NEW).masked)}
    assert document["summary"]["baselined"] == 2
    text = run_cli("scan", "--baseline", BASELINE, cwd=legacy).stdout
    assert "2 findings in the baseline .maniac-guard-baseline.json not shown." in text

    (legacy / "src/old.py").write_text("import os\nKEY = os.environ['MANIAC_API_KEY']\n")
    code, document = scan_json(legacy, "--baseline", BASELINE)
    assert document["summary"]["baseline_stale"] == 1
    assert document["summary"]["baselined"] == 1

    done = run_cli("baseline", "update", "-o", BASELINE, cwd=legacy)
    assert done.returncode == 0, done.stderr
    assert "Removed 1 baseline entry" in done.stdout
    assert "1 finding not in the baseline was not added" in done.stdout
    entries = json.loads((legacy / BASELINE).read_text())["findings"]
    assert [(e["path"], e["masked_secret"]) for e in entries] == [("deploy/run.sh", Secret(OLD2).masked)]
    # The new key was never accepted: it still fails the scan.
    code, document = scan_json(legacy, "--baseline", BASELINE)
    assert code == 1 and reported(document) == {("src/new.py", Secret(NEW).masked)}
    assert document["summary"]["baseline_stale"] == 0


def test_update_add_new_accepts_current_findings(legacy: Path) -> None:
    create(legacy)
    write(legacy, "src/new.py", f'NEW = "{NEW}"\n')
    done = run_in_process("baseline", "update", "--add-new", cwd=legacy)
    assert done.returncode == 0, done.stderr
    assert "Removed 0 baseline entries" in done.stdout and "1 added" in done.stdout
    code, document = scan_json(legacy, "--baseline", BASELINE)
    assert code == 0 and document["summary"]["baselined"] == 3


def test_update_of_some_paths_keeps_entries_elsewhere(legacy: Path) -> None:
    create(legacy)
    (legacy / "src/old.py").unlink()
    done = run_in_process("baseline", "update", "deploy", cwd=legacy)
    assert "Removed 0 baseline entries" in done.stdout
    assert len(json.loads((legacy / BASELINE).read_text())["findings"]) == 2
    done = run_in_process("baseline", "update", cwd=legacy)
    assert "Removed 1 baseline entry" in done.stdout
    assert len(json.loads((legacy / BASELINE).read_text())["findings"]) == 1


def test_baseline_holds_no_secret_and_no_line_numbers(legacy: Path) -> None:
    create(legacy)
    text = (legacy / BASELINE).read_text(encoding="utf-8")
    for key in (OLD, OLD2):
        assert key not in text and key[3:] not in text
    document = json.loads(text)
    assert document["version"] == 1
    for entry in document["findings"]:
        assert set(entry) == ENTRY_FIELDS
        assert all(isinstance(value, str) for value in entry.values())
        assert not {"line", "column", "start_line", "end_line"} & set(entry)
        assert entry["masked_secret"] in {Secret(OLD).masked, Secret(OLD2).masked}


def test_baseline_is_sorted_and_byte_identical_across_runs_and_moved_lines(legacy: Path) -> None:
    create(legacy)
    first = (legacy / BASELINE).read_bytes()
    create(legacy)
    assert (legacy / BASELINE).read_bytes() == first
    old = legacy / "src/old.py"
    old.write_text("# a header that moves the key down\n\n\n" + old.read_text())
    create(legacy)
    assert (legacy / BASELINE).read_bytes() == first
    paths = [e["path"] for e in json.loads(first)["findings"]]
    assert paths == sorted(paths) == ["deploy/run.sh", "src/old.py"]


def test_baseline_works_from_a_subfolder(legacy: Path) -> None:
    create(legacy)
    code, document = scan_json(legacy, ".", "--baseline", f"../{BASELINE}", cwd=legacy / "src")
    assert code == 0 and document["summary"]["baselined"] == 1


def test_config_baseline_is_relative_to_the_config_file_and_no_baseline_overrides(legacy: Path) -> None:
    create(legacy, "-o", "ci/accepted.json")
    write(legacy, ".maniac-guard.toml", 'baseline = "ci/accepted.json"\n')
    code, document = scan_json(legacy, ".", cwd=legacy / "src")
    assert code == 0 and document["summary"]["baselined"] == 1
    assert document["summary"]["baseline"].endswith("ci/accepted.json")
    code, document = scan_json(legacy, ".", "--no-baseline", cwd=legacy / "src")
    assert code == 1 and document["summary"]["baselined"] == 0 and len(document["findings"]) == 1
    # create and update default to the configured file
    (legacy / "src/old.py").unlink()
    done = run_in_process("baseline", "update", cwd=legacy)
    assert "Removed 1 baseline entry" in done.stdout
    assert "ci/accepted.json" in done.stdout


def test_missing_or_broken_baseline_is_a_one_line_error(legacy: Path) -> None:
    done = run_in_process("scan", "--baseline", "nope.json", cwd=legacy)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "nope.json" in done.stderr and "baseline create" in done.stderr
    write(legacy, "broken.json", '{\n  "version": 1,\n  "findings": [\n')
    done = run_in_process("scan", "--baseline", "broken.json", cwd=legacy)
    assert done.returncode == 2 and "broken.json:" in done.stderr and "invalid JSON" in done.stderr
    write(legacy, "wrong.json", '{"version": 1, "findings": [{"fingerprint": "not-hex"}]}')
    done = run_in_process("scan", "--baseline", "wrong.json", cwd=legacy)
    assert done.returncode == 2 and "wrong.json: findings[0]" in done.stderr
    done = run_in_process("baseline", "update", "-o", "nope.json", cwd=legacy)
    assert done.returncode == 2 and "nope.json" in done.stderr


def test_create_on_missing_paths_writes_nothing(tmp_path: Path) -> None:
    done = run_in_process("baseline", "create", "does-not-exist", cwd=tmp_path)
    assert done.returncode == 2
    assert not (tmp_path / BASELINE).exists()


def test_history_style_findings_are_matched_by_fingerprint_not_line(legacy: Path) -> None:
    """Fingerprints ignore lines: a baselined key that moves within its file stays accepted."""
    create(legacy)
    old = legacy / "src/old.py"
    old.write_text("\n\n\n\n" + old.read_text() + "\n# trailing\n")
    code, document = scan_json(legacy, "--baseline", BASELINE)
    assert code == 0 and document["summary"]["baselined"] == 2


def test_same_key_in_another_file_is_new(legacy: Path) -> None:
    """The fingerprint includes the path: copying an accepted key elsewhere is a new leak."""
    create(legacy)
    write(legacy, "src/copy.py", f'KEY = "{OLD}"\n')
    code, document = scan_json(legacy, "--baseline", BASELINE)
    assert code == 1 and reported(document) == {("src/copy.py", Secret(OLD).masked)}


def test_in_a_git_repository_paths_are_relative_to_the_work_tree(legacy: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q"], cwd=legacy, check=True)
    create(legacy, "-o", "ci/accepted.json")
    entries = json.loads((legacy / "ci/accepted.json").read_text())["findings"]
    assert [e["path"] for e in entries] == ["deploy/run.sh", "src/old.py"]
    code, document = scan_json(legacy, ".", "--baseline", "../ci/accepted.json", cwd=legacy / "src")
    assert code == 0 and document["summary"]["baselined"] == 1
