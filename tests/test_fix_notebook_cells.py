"""`fix` on a notebook touches only the cells it fixes (issue 22, item 17):
a `%%writefile` cell (any cell magic) stays byte-identical, wherever it is,
and the fixed notebook's code still runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import fake_key, run_cli

KEY = fake_key("notebook-cells")


def _notebook(cells: list[dict[str, object]]) -> str:
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


def _code(source: list[str] | str) -> dict[str, object]:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


WRITEFILE_LINES = ["%%writefile helper.py\n", "def helper():\n", "    return 1\n"]
WRITEFILE_TEXT = "%%writefile notes.txt\nplain text\n"
FIXED_CELL = ["from maniac import Maniac\n", f'client = Maniac(api_key="{KEY}")\n']


@pytest.mark.parametrize("writefile_first", [True, False])
def test_cell_magics_stay_byte_identical(tmp_path: Path, writefile_first: bool) -> None:
    magic_cells = [_code(WRITEFILE_LINES), _code(WRITEFILE_TEXT)]
    cells = [*magic_cells, _code(FIXED_CELL)] if writefile_first else [_code(FIXED_CELL), *magic_cells]
    notebook = tmp_path / "nb.ipynb"
    notebook.write_text(_notebook(cells))
    proc = run_cli("fix", "nb.ipynb", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = json.loads(notebook.read_text())["cells"]
    magics_after = after[:2] if writefile_first else after[1:]
    assert [c["source"] for c in magics_after] == [WRITEFILE_LINES, WRITEFILE_TEXT]
    fixed = "".join(after[2 if writefile_first else 0]["source"])
    assert KEY not in fixed and 'os.getenv("MANIAC_API_KEY")' in fixed
    assert "import os" in fixed  # in the cell that uses it, not in front of a cell magic
