#!/usr/bin/env python3
"""The value-flow oracle, at scale: generate programs that carry a random
non-`mk-` literal through 1–4 Python steps into the Maniac SDK (or carry the
environment's key there and leave the literal somewhere harmless), run each
with a stub SDK to label it, scan them all with `maniac-guard scan`, and
print recall per construct and per step count, and false positives.

    .venv/bin/python benchmarks/flow_oracle.py --seed 7 --count 5000

Not a test: nothing here asserts a number (tests/test_flow_oracle.py does,
on a CI-sized run). `--gaps FILE` writes, for every construct with a miss,
the shortest program it missed (for rule examples). The literals are random
non-keys; no output holds a real key.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.flowgen import execute, gaps, generate, judge, report, scan, write_programs  # noqa: E402


def _default_tool() -> str:
    candidate = Path(sys.executable).parent / "maniac-guard"
    return str(candidate) if candidate.exists() else (shutil.which("maniac-guard") or "maniac-guard")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--maniac-guard", default=_default_tool(), help="the console script to measure")
    parser.add_argument("--jobs", type=int, default=2, help="interpreters that run the programs")
    parser.add_argument("--gaps", type=Path, help="write the shortest missed program per construct here")
    parser.add_argument("--json", type=Path, help="write per-program verdicts here")
    parser.add_argument("--keep", type=Path, help="write the programs here (kept) instead of a temporary folder")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    programs = generate(args.seed, args.count)
    with tempfile.TemporaryDirectory(prefix="flow-oracle-") as temporary:
        work = Path(temporary)
        root = args.keep or work / "programs"
        write_programs(programs, root)
        outcomes = execute(programs, root, work / "run", jobs=args.jobs)
        ran = time.perf_counter() - started
        broken = [p.ident for p in programs if outcomes[p.ident].error]
        mislabelled = [p.ident for p in programs if outcomes[p.ident].reaches(p.key) != p.intended_positive]
        scan_started = time.perf_counter()
        findings = scan(root, args.maniac_guard)
        scanned = time.perf_counter() - scan_started
    verdicts = judge(programs, outcomes, findings)
    print(f"{len(programs)} programs, seed {args.seed}, measured: {args.maniac_guard}")
    print(f"generated and ran in {ran:.1f} s; scanned in {scanned:.1f} s")
    if broken or mislabelled:
        print(f"generator problems: {len(broken)} raised, {len(mislabelled)} labelled otherwise than meant")
    print()
    print(report(verdicts))
    if args.gaps:
        args.gaps.write_text(
            f"# Oracle gaps (seed {args.seed}, {args.count} programs, {args.maniac_guard})\n\n"
            f"{report(verdicts)}\n\n## Shortest miss per construct\n\n{gaps(verdicts)}\n"
        )
    if args.json:
        rows = [
            {
                "program": v.program.ident,
                "steps": v.program.steps,
                "sink": v.program.sink,
                "harmless": v.program.harmless,
                "positive": v.positive,
                "reported": v.reported,
            }
            for v in verdicts
        ]
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
