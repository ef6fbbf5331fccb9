"""Write programs to disk and run them with the stub SDK; the label of a
program is whether its key (the literal, as the steps decode it) is what a
Maniac client received."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.flowgen.model import Program
from tests.stub_sdk import install_stub

RUNNER = Path(__file__).with_name("runner.py")


@dataclass(frozen=True)
class Outcome:
    received: tuple[str, ...]  # the keys the stub SDK's clients got, in order
    error: str | None  # the program raised (a generator bug) or timed out

    def reaches(self, key: str) -> bool:
        return key in self.received


def write_programs(programs: list[Program], root: Path) -> None:
    """Each program in `root/<ident>/`, its entry point `main.py`."""
    for program in programs:
        for relative, text in program.files.items():
            path = root / program.ident / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)


def execute(
    programs: list[Program], root: Path, work: Path, *, jobs: int = 2, seconds_each: int = 5
) -> dict[str, Outcome]:
    """Run the programs written under `root` in `jobs` interpreters (each runs
    its share one after another); `work` holds records and manifests and must
    lie outside `root` (the records hold the literals)."""
    stub = install_stub(work)
    records = work / "records"
    records.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MANIAC_", "APP_ORACLE_"))}
    env.update(PYTHONPATH=str(stub), PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0")
    shares = [programs[i::jobs] for i in range(jobs) if programs[i::jobs]]
    running = []
    for number, share in enumerate(shares):
        manifest = work / f"manifest-{number}.json"
        results = work / f"results-{number}.json"
        entries = [
            {
                "ident": p.ident,
                "folder": str((root / p.ident).resolve()),
                "record": str(records / p.ident),
                "env": p.env_value,
            }
            for p in share
        ]
        manifest.write_text(json.dumps(entries))
        command = [sys.executable, str(RUNNER), str(manifest), str(results), str(seconds_each)]
        running.append((subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE), results))
    errors: dict[str, str | None] = {}
    for process, results in running:
        _, stderr = process.communicate(timeout=60 + 2 * seconds_each * len(programs))
        if process.returncode != 0:
            raise RuntimeError(f"the program runner failed ({process.returncode}): {stderr.decode()[-2000:]}")
        errors.update(json.loads(results.read_text()))
    outcomes = {}
    for program in programs:
        record = records / program.ident
        received = tuple(record.read_text().splitlines()) if record.exists() else ()
        outcomes[program.ident] = Outcome(received, errors[program.ident])
    return outcomes
