"""Scan the generated programs with `maniac-guard scan` and judge each one
against its executed label: recall per construct and per step count, and
false positives."""

from __future__ import annotations

import json
import os
import subprocess
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.flowgen.execute import Outcome
from tests.flowgen.model import Program


@dataclass(frozen=True)
class Verdict:
    program: Program
    positive: bool  # the executed label: the literal reached a Maniac client
    reported: bool  # positive: a 2xx finding on the literal's line; negative: any finding
    elsewhere: bool  # positive, not reported at the literal, but some finding in the program
    findings: tuple[str, ...] = ()  # the program's findings: "MG202 main.py:3 (masked)"


def scan(root: Path, maniac_guard: str, *, timeout: float = 600) -> list[dict[str, Any]]:
    """One `maniac-guard scan . --format json` over every program under `root`."""
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        [maniac_guard, "scan", ".", "--format", "json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"maniac-guard scan exited {done.returncode}: {done.stderr[-2000:]}")
    findings: list[dict[str, Any]] = json.loads(done.stdout)["findings"]
    return findings


def judge(programs: Iterable[Program], outcomes: dict[str, Outcome], findings: list[dict[str, Any]]) -> list[Verdict]:
    by_program: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in findings:
        by_program[finding["path"].split("/", 1)[0]].append(finding)
    verdicts = []
    for program in programs:
        mine = by_program.get(program.ident, [])
        shown = tuple(
            f"{f['rule_id']} {f['path'].split('/', 1)[1]}:{f['line']} ({f['masked_secret'] or 'no secret'})"
            for f in mine
        )
        positive = outcomes[program.ident].reaches(program.key)
        if positive:
            file, line = program.literal_location()
            path = f"{program.ident}/{file}"
            at_literal = any(
                f["rule_id"].startswith("MG2") and f["path"] == path and f["line"] <= line <= f["end_line"]
                for f in mine
            )
            verdicts.append(Verdict(program, True, at_literal, bool(mine) and not at_literal, shown))
        else:
            verdicts.append(Verdict(program, False, bool(mine), False, shown))
    return verdicts


def _row(name: str, positives: int, found: int, elsewhere: int, negatives: int, false: int) -> str:
    recall = f"{100 * found / positives:5.1f} %" if positives else "    –  "
    return f"| {name:<34} | {positives:>4} | {found:>4} | {recall} | {elsewhere:>4} | {negatives:>4} | {false:>3} |"


def _header(title: str) -> list[str]:
    return [
        f"| {title:<34} | pos. | rep. | recall  | else | neg. |  FP |",
        f"|{'-' * 36}|------|------|---------|------|------|-----|",
    ]


def _tally(group: list[Verdict]) -> tuple[int, int, int, int, int]:
    pos = [v for v in group if v.positive]
    neg = [v for v in group if not v.positive]
    return len(pos), sum(v.reported for v in pos), sum(v.elsewhere for v in pos), len(neg), sum(v.reported for v in neg)


def report(verdicts: list[Verdict]) -> str:
    """Markdown tables: overall, per step count, per construct (worst first).
    pos./neg.: programs by executed label; rep.: positives reported at the
    literal; else: positives with findings, none at the literal; FP:
    negatives with any finding."""
    lines = [*_header("all programs"), _row("all", *_tally(verdicts)), ""]
    lines += _header("steps")
    for count in sorted({len(v.program.steps) for v in verdicts}):
        lines.append(_row(str(count), *_tally([v for v in verdicts if len(v.program.steps) == count])))
    by_construct: dict[str, list[Verdict]] = defaultdict(list)
    for verdict in verdicts:
        for construct in verdict.program.constructs:
            by_construct[construct].append(verdict)
    rows = sorted(by_construct.items(), key=lambda item: (_recall(item[1]), item[0]))
    lines += ["", *_header("construct (worst recall first)")]
    lines += [_row(name, *_tally(group)) for name, group in rows]
    return "\n".join(lines)


def _recall(group: list[Verdict]) -> float:
    pos = [v for v in group if v.positive]
    return sum(v.reported for v in pos) / len(pos) if pos else 2.0


def misses(verdicts: list[Verdict]) -> list[Verdict]:
    """Positive programs not reported at the literal, and negative programs
    with a finding."""
    return [v for v in verdicts if v.positive != v.reported]


def gaps(verdicts: list[Verdict]) -> str:
    """For every construct with a missed positive (or a false positive): the
    shortest such program, in full, to turn into a rule example."""
    by_construct: dict[str, list[Verdict]] = defaultdict(list)
    for verdict in misses(verdicts):
        for construct in verdict.program.constructs:
            by_construct[construct].append(verdict)
    single: dict[str, list[Verdict]] = defaultdict(list)
    for verdict in verdicts:
        if len(verdict.program.steps) == 1 and verdict.positive:
            single[verdict.program.steps[0]].append(verdict)
    alone = sorted(
        (sum(not v.reported for v in group), name, len(group))
        for name, group in single.items()
        if not all(v.reported for v in group)
    )
    out = [
        "One-step programs missed, by step (missed/all; the sink varies): "
        + ", ".join(f"{name} {missed}/{total}" for missed, name, total in reversed(alone)),
        "",
    ]
    for construct, group in sorted(by_construct.items()):
        shortest = min(group, key=lambda v: (len(v.program.steps), sum(map(len, v.program.files.values()))))
        program = shortest.program
        kind = "missed positive" if shortest.positive else "FALSE POSITIVE"
        if shortest.elsewhere:
            kind += " (a finding exists, but not at the literal's line)"
        out.append(
            f"### {construct}: {kind}, {len(group)} program(s); e.g. {program.ident} {' → '.join(program.steps)} → sink:{program.sink}"
        )
        if shortest.findings:
            out += ["", "Findings: " + "; ".join(shortest.findings)]
        if program.literal != program.key:
            out += ["", "(the literal is written encoded; the client receives it decoded)"]
        for path, text in program.files.items():
            out += ["", f"`{path}`", "", "```text", text.rstrip("\n"), "```"]
        out.append("")
    return "\n".join(out)
