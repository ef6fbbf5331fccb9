"""Notebooks: code cells become Python with a line map back to the .ipynb."""

from __future__ import annotations

import json

from maniac_guard.detectors import load_detectors
from maniac_guard.engine import scan_source
from maniac_guard.sources import SourceFile
from maniac_guard.sources.notebook import extract
from tests.helpers import fake_key


def notebook(*cells: dict[str, object], language: str = "python") -> bytes:
    data = {
        "cells": list(cells),
        "metadata": {"kernelspec": {"language": language, "name": "k"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()


def code(*lines: str, outputs: list[object] | None = None) -> dict[str, object]:
    return {"cell_type": "code", "metadata": {}, "outputs": outputs or [], "source": list(lines)}


def line_of(data: bytes, needle: str) -> int:
    return data[: data.index(needle.encode())].count(b"\n") + 1


def test_code_cells_map_to_their_notebook_lines_and_magics_are_blanked() -> None:
    data = notebook(
        {"cell_type": "markdown", "metadata": {}, "source": ["x = 'not code'\n"]},
        code("%matplotlib inline\n", "!pip install maniac\n", "files = !ls\n", "a = 1"),
        code("%%bash\n", "echo hi\n"),
        code("%time b = 2\n", "obj?"),
    )
    nb = extract(data)
    assert nb is not None
    rows = nb.text.split("\n")
    assert rows[:4] == ["", "", "", "a = 1"]
    assert rows[4:6] == ["", ""]  # %%bash cell
    assert rows[6:8] == ["b = 2", ""]
    assert nb.notebook_line(4) == line_of(data, '"a = 1"')
    assert nb.notebook_line(7) == line_of(data, '"%time b = 2')


def test_key_in_a_code_cell_is_one_python_finding_at_its_notebook_line() -> None:
    key = fake_key("nb-1")
    data = notebook(
        code("from maniac import Maniac\n", f'KEY = "{key}"\n'),
        code("client = Maniac(api_key=KEY)\n"),
    )
    findings = scan_source(SourceFile("nb.ipynb", data), load_detectors())
    assert [(f.rule_id, f.line) for f in findings] == [("MG202", line_of(data, "KEY = "))]
    assert f"used at line {line_of(data, 'client = ')}" in findings[0].message
    assert key not in findings[0].snippet


def test_key_in_a_cell_output_is_found_by_the_key_patterns() -> None:
    key = fake_key("nb-2")
    output = {"name": "stdout", "output_type": "stream", "text": [f"key is {key}\n"]}
    data = notebook(code("print(1)\n", outputs=[output]))
    findings = scan_source(SourceFile("nb.ipynb", data), load_detectors())
    assert [(f.rule_id, f.line) for f in findings] == [("MG101", line_of(data, "key is"))]


def test_a_cell_that_does_not_parse_leaves_the_others_analyzed() -> None:
    data = notebook(
        code("def broken(:\n", "    pass\n"),
        code("from maniac import Maniac\n", 'client = Maniac(api_key="MANIAC_API_KEY")\n'),
    )
    findings = scan_source(SourceFile("nb.ipynb", data), load_detectors())
    assert [(f.rule_id, f.line) for f in findings] == [("MG207", line_of(data, "client = "))]


def test_non_python_and_malformed_notebooks_are_left_to_the_key_patterns() -> None:
    assert extract(notebook(code("x <- 1\n"), language="R")) is None
    assert extract(b'{"cells": [') is None
    key = fake_key("nb-3")
    broken = f'{{"cells": [ "Maniac(api_key=\\"{key}\\")"'.encode()
    findings = scan_source(SourceFile("nb.ipynb", broken), load_detectors())
    assert [f.rule_id for f in findings] == ["MG101"]
