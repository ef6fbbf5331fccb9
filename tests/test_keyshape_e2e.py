"""End to end (issue 13): a tree of random keys of every alphabet, scanned by
the installed console script, reports every key and prints none in full."""

from __future__ import annotations

import json
import random
from pathlib import Path

from maniac_guard.findings import mask
from tests.helpers import run_cli
from tests.test_keyshape_calibration import ALPHABETS, LENGTHS, random_body

SHAPES = [(alphabet, length) for alphabet in ALPHABETS for length in LENGTHS] + [("uuid", 36)]
FORMATS = {
    "settings/.env": "MANIAC_API_KEY_{n}={key}",
    "app/client.py": 'MANIAC_API_KEY_{n} = "{key}"',
    "deploy/values.yaml": "key{n}: {key}",
}


def _write_tree(root: Path) -> dict[tuple[str, int], str]:
    """Every shape in every format; returns (path, line) -> key."""
    rng = random.Random("keyshape-e2e")
    planted: dict[tuple[str, int], str] = {}
    for path, template in FORMATS.items():
        lines = []
        for n, (alphabet, length) in enumerate(SHAPES):
            key = "mk-" + random_body(rng, alphabet, length)
            lines.append(template.format(n=n, key=key))
            planted[(path, n + 1)] = key
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(lines) + "\n")
    return planted


def test_every_random_key_shape_is_reported_masked(tmp_path: Path) -> None:
    planted = _write_tree(tmp_path)
    proc = run_cli("scan", ".", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    reported: dict[tuple[str, int], set[str]] = {}
    for finding in json.loads(proc.stdout)["findings"]:
        reported.setdefault((finding["path"], finding["line"]), set()).add(finding["masked_secret"])
    missed = sorted((where, mask(key)) for where, key in planted.items() if mask(key) not in reported.get(where, set()))
    assert missed == []
    for key in planted.values():
        assert key not in proc.stdout and key not in proc.stderr
        assert key[3:] not in proc.stdout and key[3:] not in proc.stderr


def test_text_output_prints_no_key_in_full(tmp_path: Path) -> None:
    planted = _write_tree(tmp_path)
    proc = run_cli("scan", ".", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    output = proc.stdout + proc.stderr
    for key in planted.values():
        assert key[3:] not in output
        assert key[3:][-12:] not in output  # not even the tail after a masked prefix
