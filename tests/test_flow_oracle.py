"""The value-flow oracle (issue 21, item 7), CI-sized and with a fixed seed.

Generated programs carry a random non-`mk-` literal through 1–4 ordinary
Python steps into the Maniac SDK; each is run with a stub SDK, and its label
is whether the literal (as the steps decode it: `.strip()`, base64, …) is
what a client received. `maniac-guard scan` must report every positive
program at its literal (a 2xx finding on that file and line) and nothing at
all in a negative program. benchmarks/flow_oracle.py is the larger run."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import pytest

from tests.flowgen import (
    HARMLESS,
    SINKS,
    STEPS,
    Outcome,
    Program,
    build,
    execute,
    generate,
    judge,
    misses,
    report,
    scan,
    write_programs,
)
from tests.helpers import console_script

SEED = 20261206
COUNT = 400
# Constructs the analysis does not follow yet: the scan test's programs leave
# them out (the label tests keep every construct). Empty once issue 21 is done.
NOT_YET_FOLLOWED: frozenset[str] = frozenset()


def _run(work: Path, programs: list[Program]) -> tuple[list[Program], dict[str, Outcome], Path]:
    root = work / "programs"
    write_programs(programs, root)
    return programs, execute(programs, root, work / "run"), root


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Program], dict[str, Outcome], Path]:
    return _run(tmp_path_factory.mktemp("flow-oracle"), generate(SEED, COUNT))


@pytest.fixture(scope="module")
def followed(
    oracle: tuple[list[Program], dict[str, Outcome], Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[Program], dict[str, Outcome], Path]:
    """The CI seed's programs, without the constructs not followed yet."""
    assert not NOT_YET_FOLLOWED - {*STEPS, *(f"sink:{name}" for name in SINKS)}, "unknown construct"
    if not NOT_YET_FOLLOWED:
        return oracle
    steps = [name for name in STEPS if name not in NOT_YET_FOLLOWED]
    sinks = [name for name in SINKS if f"sink:{name}" not in NOT_YET_FOLLOWED]
    return _run(tmp_path_factory.mktemp("flow-oracle-followed"), generate(SEED, COUNT, steps=steps, sinks=sinks))


def test_every_generated_program_runs_and_is_labelled_as_meant(
    oracle: tuple[list[Program], dict[str, Outcome], Path],
) -> None:
    programs, outcomes, _ = oracle
    raised = {p.ident: outcomes[p.ident].error for p in programs if outcomes[p.ident].error}
    assert not raised, raised
    wrong = [p.ident for p in programs if outcomes[p.ident].reaches(p.key) != p.intended_positive]
    assert not wrong, f"programs whose run contradicts the generator: {wrong}"
    # A negative program's client got the environment's key and nothing else.
    for program in programs:
        if not program.intended_positive:
            assert outcomes[program.ident].received, program.ident


def test_every_step_kind_and_sink_has_positive_and_negative_programs_and_every_harmless_place_is_used(
    oracle: tuple[list[Program], dict[str, Outcome], Path],
) -> None:
    programs, outcomes, _ = oracle
    labels: dict[str, set[bool]] = defaultdict(set)
    for program in programs:
        for construct in (*program.steps, f"sink:{program.sink}"):
            labels[construct].add(outcomes[program.ident].reaches(program.key))
    expected = {*STEPS, *(f"sink:{name}" for name in SINKS)}
    assert {name for name in expected if labels[name] != {True, False}} == set()
    assert {p.harmless for p in programs if p.harmless} == set(HARMLESS)
    assert {len(p.steps) for p in programs} == {1, 2, 3, 4}


def test_the_label_comes_from_running_the_program_not_from_the_generator(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    meant_positive = build("q1", rng, ["assign", "function-return"], "keyword", positive=True)
    meant_negative = build("q2", rng, ["dict-literal"], "environ-write", positive=False, harmless="trace-id")
    # Break each: the positive one hands the client another value, the
    # negative one hands it its literal after all.
    main = meant_positive.files["main.py"].replace("client = Maniac(api_key=", "client = Maniac(api_key=str.lower(")
    broken_positive = Program(**{**meant_positive.__dict__, "files": {"main.py": main.replace("())", "()))")}})
    leak = f'\nclient = Maniac(api_key="{meant_negative.key}")\n'
    files = {**meant_negative.files, "main.py": meant_negative.files["main.py"] + leak}
    broken_negative = Program(**{**meant_negative.__dict__, "files": files})
    programs = [meant_positive, meant_negative, broken_positive, broken_negative]
    for number, program in enumerate(programs):
        programs[number] = Program(**{**program.__dict__, "ident": f"q{number}"})
    write_programs(programs, tmp_path / "programs")
    outcomes = execute(programs, tmp_path / "programs", tmp_path / "run", jobs=1)
    labels = [outcomes[p.ident].reaches(p.key) for p in programs]
    assert labels == [True, False, False, True], [outcomes[p.ident] for p in programs]


def test_scan_reports_every_positive_program_at_its_literal_and_no_negative_program(
    followed: tuple[list[Program], dict[str, Outcome], Path],
) -> None:
    programs, outcomes, root = followed
    assert not [p.ident for p in programs if outcomes[p.ident].error], "a generated program raised"
    verdicts = judge(programs, outcomes, scan(root, console_script()))
    missed = misses(verdicts)
    listed = "\n".join(
        f"  {v.program.ident}: {' → '.join(v.program.steps)} → sink:{v.program.sink}"
        + ("" if v.positive else f" (negative, literal at harmless:{v.program.harmless}: FALSE POSITIVE)")
        for v in missed[:40]
    )
    assert len(missed) == 0, f"{len(missed)} programs judged wrongly (seed {SEED}):\n{listed}\n\n{report(verdicts)}"
