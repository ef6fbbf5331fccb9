"""Text that merely puts keys or tokens on consecutive lines is not one key
wrapped over lines (MG103): a list of keys is N keys, each reported once."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import fake_key, run_cli


def _findings(tree: Path) -> list[dict[str, object]]:
    proc = run_cli("scan", ".", "--format", "json", cwd=tree)
    assert proc.returncode == 1, proc.stderr
    findings: list[dict[str, object]] = json.loads(proc.stdout)["findings"]
    return findings


def test_keys_on_consecutive_lines_are_separate_keys(tmp_path: Path) -> None:
    keys = [fake_key(f"list-{i}") for i in range(4)]
    (tmp_path / "keys.txt").write_text("\n".join(keys) + "\n")
    findings = _findings(tmp_path)
    assert sorted(f["rule_id"] for f in findings) == ["MG101"] * 4


def test_a_key_followed_by_a_token_line_at_the_margin_is_not_joined(tmp_path: Path) -> None:
    key = fake_key("then-hash")
    (tmp_path / "notes.txt").write_text(f"{key}\n9f86d081884c7d659a2feaa0c55ad015\n")
    findings = _findings(tmp_path)
    assert [f["rule_id"] for f in findings] == ["MG101"]
