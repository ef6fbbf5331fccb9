"""The engine's promises around detectors: merging and failure isolation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from maniac_guard.detectors import Detector, load_detectors
from maniac_guard.engine import scan_source
from maniac_guard.findings import Finding
from maniac_guard.sources import SourceFile
from tests.helpers import fake_key


def _too_deep(source: SourceFile) -> Iterator[Finding]:
    raise RecursionError
    yield  # pragma: no cover


def test_a_detector_out_of_its_depth_does_not_cost_the_others_their_findings() -> None:
    deep = Detector("deep", frozenset(), wants=lambda source: True, detect=_too_deep)
    source = SourceFile("a.txt", f"k={fake_key('deep-engine')}\n".encode())
    assert [f.rule_id for f in scan_source(source, [deep, *load_detectors({"MG101"})])] == ["MG101"]
    assert source.notes == ["a.txt: too deeply nested for deep; other rules still ran"]


def test_parallel_scan_equals_the_serial_scan(tmp_path: Path) -> None:
    """Chunks over worker processes: nothing may be lost or doubled."""
    from maniac_guard.engine import PARALLEL_MIN_FILES, scan_paths
    from maniac_guard.sources.files import Excluder

    for index in range(PARALLEL_MIN_FILES + 50):
        folder = tmp_path / f"pkg{index % 9}"
        folder.mkdir(exist_ok=True)
        if index % 40 == 0:
            text = f'from maniac import Maniac\nclient = Maniac(api_key="{fake_key(index)}")\n'
        elif index % 41 == 0:
            text = f"MANIAC_API_KEY={fake_key(index)}\n"
        else:
            text = f"value = {index}\n"
        (folder / f"m{index}.py").write_text(text)

    def run(jobs: int) -> list[tuple[str, int, str, str]]:
        result = scan_paths([str(tmp_path)], excluder=Excluder(), max_file_size=1 << 20, jobs=jobs)
        assert result.files_scanned == PARALLEL_MIN_FILES + 50
        return [(f.path, f.line, f.rule_id, f.fingerprint) for f in result.findings]

    serial = run(1)
    assert {rule for _, _, rule, _ in serial} == {"MG201", "MG101"}
    assert run(2) == serial
