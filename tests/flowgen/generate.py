"""Compose programs: a source, 1–4 steps, a sink (and, for a negative
program, a harmless place for the literal)."""

from __future__ import annotations

import random
import string
from collections.abc import Sequence

from tests.flowgen.model import ENV_KEY, Builder, Program
from tests.flowgen.sinks import HARMLESS, SINKS
from tests.flowgen.steps import ENCODERS, STEPS, decodes

# Key alphabets (DESIGN.md): base62, hex, base64url. Never `mk-`, so the key
# patterns cannot see the literal: only the value flow can.
_ALPHABETS = (string.ascii_letters + string.digits, "0123456789abcdef", string.ascii_letters + string.digits + "-_")


def random_literal(rng: random.Random) -> str:
    """24–40 random characters of a key alphabet that read as a credential
    (letters and digits; no `xx` run, which reads as a placeholder)."""
    alphabet = rng.choice(_ALPHABETS)
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(24, 40)))
        if (
            any(c.isalpha() for c in value)
            and any(c.isdigit() for c in value)
            and "xx" not in value.lower()
            and value[0] not in "-_"
        ):
            return value


def build(
    ident: str,
    rng: random.Random,
    steps: Sequence[str],
    sink: str,
    positive: bool,
    harmless: str | None = None,
) -> Program:
    """One program. Negative programs carry `os.environ["MANIAC_API_KEY"]`
    through the same steps and put the literal at `harmless` instead."""
    key = random_literal(rng)
    literal, env_value = _encode(steps, key), _encode(steps, ENV_KEY)
    b = Builder(rng)
    if positive:
        expr = f'"{literal}"'
    else:
        harmless = harmless or rng.choice(sorted(HARMLESS))
        b.need("import os")
        expr = HARMLESS[harmless](b, key)
    for name in steps:
        expr = STEPS[name](b, expr)
    SINKS[sink](b, expr)
    files = {path: module.text() for path, module in b.modules.items()}
    return Program(
        ident=ident,
        files=files,
        steps=tuple(steps),
        sink=sink,
        harmless=None if positive else harmless,
        literal=literal if positive else key,
        key=key,
        env_value=env_value,
        intended_positive=positive,
    )


def _encode(steps: Sequence[str], key: str) -> str:
    """The literal to write so that the chain's decoding steps give `key`."""
    for name in reversed(steps):
        key = ENCODERS[name](key) if name in ENCODERS else key
    return key


def generate(
    seed: int,
    count: int,
    *,
    steps: Sequence[str] | None = None,
    sinks: Sequence[str] | None = None,
    negative_share: float = 0.3,
) -> list[Program]:
    """`count` programs from `seed`. The first step walks the step kinds in
    turn (so every kind appears even in a small run), the others are random;
    1–4 steps each."""
    rng = random.Random(seed)
    kinds = sorted(steps if steps is not None else STEPS)
    sink_kinds = sorted(sinks if sinks is not None else SINKS)
    programs = []
    for index in range(count):
        # First walk the kinds, each at lengths 1–4 with one negative among
        # the four (at a rotating length); then random chains.
        walking = index < 4 * len(kinds)
        length = 1 + index % 4 if walking else rng.randint(1, 4)
        first = kinds[index // 4] if walking else rng.choice(kinds)
        chain = [first] + [rng.choice(kinds) for _ in range(length - 1)]
        rng.shuffle(chain)
        while not decodes(chain, _encode(chain, "a1b2c3d4e5f6"), "a1b2c3d4e5f6"):
            rng.shuffle(chain)  # a decoding step would undo another's encoding: another order
        positive = index % 4 != (index // 4) % 4 if walking else rng.random() >= negative_share
        programs.append(build(f"p{index:05d}", rng, chain, rng.choice(sink_kinds), positive))
    return programs
