"""The package is layered (docs/development.md): a module imports only from
its own layer or the ones below it, function-local and TYPE_CHECKING imports
included, and no two modules import each other in a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "maniac_guard"

# Lowest first. A module belongs to the first layer with a prefix of its name.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "vocabulary",
        (
            "__init__",
            "findings",
            "errors",
            "summary",
            "verification",
            "keyshape",
            "debuglog",
            "words",
            "cachefiles",
            "writer",
            "interrupts",
            "progress",
            "records",
        ),
    ),
    ("configuration and rules", ("config", "catalog", "selection", "target")),
    ("sources", ("sources",)),
    ("detectors", ("detectors", "python", "permissions")),
    (
        "engine",
        ("engine", "engine_archives", "scanfile", "inline", "prefilter", "forkshare", "forkpieces", "detectorcache"),
    ),
    (
        "stages",
        (
            "ignorefile",
            "baseline",
            "verify",
            "fix",
            "history",
            "historyhead",
            "historytracker",
            "changes",
            "versions",
            "staged",
            "ci",
            "ci_git",
            "ci_trust",
        ),
    ),
    ("reports", ("report",)),
    ("commands", ("commands", "cli", "entry", "__main__", "lsp")),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> int:
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    raise AssertionError(f"maniac_guard.{module} is in no layer: add it to LAYERS")


def imports_of(path: Path) -> set[str]:
    """Every maniac_guard module `path` imports, anywhere in the file."""
    module = module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                names = [".".join(["maniac_guard", *base, *([node.module] if node.module else [])])]
            else:
                names = [node.module or ""]
            # `from maniac_guard.x import y` may name a submodule y
            names += [f"{names[0]}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.startswith("maniac_guard.") and _exists(name):
                found.add(name.removeprefix("maniac_guard."))
    found.discard(module)
    return found


def _exists(dotted: str) -> bool:
    relative = Path(*dotted.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").is_file() or (PACKAGE / relative / "__init__.py").is_file()


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_import_runs_down_the_layers() -> None:
    wrong = []
    for module, imported in graph().items():
        for other in sorted(imported):
            if layer_of(other) > layer_of(module):
                wrong.append(f"{module} ({LAYERS[layer_of(module)][0]}) imports {other} ({LAYERS[layer_of(other)][0]})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles() -> None:
    edges = graph()
    # A package's __init__ importing its own submodules (a registry) is not a cycle.
    edges = {m: {o for o in out if not o.startswith(m + ".")} for m, out in edges.items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "\n".join(cycles)


def test_no_module_is_over_500_lines() -> None:
    long = [
        f"{p.relative_to(PACKAGE)}: {n}" for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 500
    ]
    assert not long, long
