"""What a generated program is, and the builder the steps write into.

A program is a few modules (paths relative to the program's folder) and a
chain: a *source* expression (the literal, or the environment read for a
negative program) that each step wraps in one more ordinary Python construct,
ending in a sink. A step receives the builder and the expression that holds
the value so far, may write statements and modules, and returns the
expression that holds the value after it."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

ENV_SOURCE = 'os.environ["MANIAC_API_KEY"]'
ENV_KEY = "env-provided-credential-0000"  # the environment's key (before the steps' encoding)
_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(\(\))?")


@dataclass
class Module:
    path: str  # relative to the program folder, POSIX
    imports: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)

    def text(self) -> str:
        head = list(dict.fromkeys(self.imports))
        parts = [*head, "", *self.body] if head else list(self.body)
        return "\n".join(parts).strip("\n") + "\n"


@dataclass
class Builder:
    rng: random.Random
    modules: dict[str, Module] = field(default_factory=dict)
    current: Module = field(default_factory=lambda: Module("main.py"))
    counter: int = 0

    def __post_init__(self) -> None:
        self.modules.setdefault(self.current.path, self.current)

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}_{self.counter}"

    def emit(self, *lines: str) -> None:
        self.current.body.extend(lines)

    def need(self, *imports: str) -> None:
        self.current.imports.extend(imports)

    def cut(self, path: str) -> Module:
        """Move everything written so far into a new module at `path`; the
        chain goes on in a fresh main module. Returns the new module."""
        moved = Module(path, list(self.current.imports), list(self.current.body))
        self.modules[path] = moved
        self.current.imports.clear()
        self.current.body.clear()
        return moved


def paren(expr: str) -> str:
    """`expr` as an operand of `.attr`, `[i]` or an operator."""
    return expr if _SIMPLE.fullmatch(expr) or _is_plain_literal(expr) else f"({expr})"


def _is_plain_literal(expr: str) -> bool:
    return len(expr) >= 2 and expr[0] == expr[-1] == '"' and '"' not in expr[1:-1]


def fstring(template: str, expr: str) -> str:
    """An f-string `template` with `{}` replaced by `{expr}`, quoted so that
    Python 3.11 (no nested quotes of the same kind) parses it."""
    inner = template.replace("{}", "{" + expr + "}")
    for quote in ('"', "'", '"""', "'''"):
        if quote not in expr:
            return f"f{quote}{inner}{quote}"
    raise ValueError("no quote style fits")  # steps never nest quotes three deep


@dataclass(frozen=True)
class Program:
    """One generated program: its files, the constructs it chains, and what
    the generator means it to be (the executor checks that by running it)."""

    ident: str
    files: dict[str, str]
    steps: tuple[str, ...]
    sink: str
    harmless: str | None  # negative programs: where the literal sits instead
    literal: str  # the string literal in the source (the scan must report it)
    key: str  # what a client receives when the literal flows there (the literal, decoded by the steps)
    env_value: str  # MANIAC_API_KEY for the run (the environment's key, encoded as the steps decode)
    intended_positive: bool

    @property
    def constructs(self) -> tuple[str, ...]:
        extra = (f"sink:{self.sink}",) + ((f"harmless:{self.harmless}",) if self.harmless else ())
        return tuple(dict.fromkeys(self.steps)) + extra

    def literal_location(self) -> tuple[str, int]:
        """(file, line) of the literal's string token."""
        needle = f'"{self.literal}"'
        for path, text in self.files.items():
            for number, line in enumerate(text.splitlines(), 1):
                if needle in line:
                    return path, number
        raise LookupError(f"{self.ident}: the literal is in no file")
