"""An oracle for the Python value-flow analysis (issue 21, item 7).

Generated programs carry one random non-`mk-` literal through 1–4 ordinary
Python steps into a Maniac credential sink (or, negative programs, carry the
environment's key there and leave the literal somewhere harmless). Each
program is *run* with a stub SDK; its label is whether the literal is what a
client received. `maniac-guard scan` is then judged against those labels.

    programs = generate(seed, count)
    write_programs(programs, root)
    outcomes = execute(programs, root, work)
    verdicts = judge(programs, outcomes, scan(root, maniac_guard))
    print(report(verdicts))
"""

from __future__ import annotations

from tests.flowgen.execute import Outcome, execute, write_programs
from tests.flowgen.generate import build, generate, random_literal
from tests.flowgen.measure import Verdict, gaps, judge, misses, report, scan
from tests.flowgen.model import Program
from tests.flowgen.sinks import HARMLESS, SINKS
from tests.flowgen.steps import MODULE_STEPS, STEPS

__all__ = [
    "HARMLESS",
    "MODULE_STEPS",
    "SINKS",
    "STEPS",
    "Outcome",
    "Program",
    "Verdict",
    "build",
    "execute",
    "gaps",
    "generate",
    "judge",
    "misses",
    "random_literal",
    "report",
    "scan",
    "write_programs",
]
