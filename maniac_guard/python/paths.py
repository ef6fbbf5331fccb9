"""Where an import is read from: the paths a module name may be at, nearest
first (modules.py reads them; callers.py and the detector's caller search
look for them without loading the analysis)."""

from __future__ import annotations

import sys

_EXTERNAL_TOPS = frozenset({*getattr(sys, "stdlib_module_names", ()), "maniac", "__future__"})


def candidates(dotted: str, base: str) -> list[str]:
    """Paths a module name may be read from, nearest first."""
    level = len(dotted) - len(dotted.lstrip("."))
    name = dotted[level:]
    relative = name.replace(".", "/")
    if level:
        folders = base.split("/") if base else []
        if level - 1 > len(folders):
            return []
        root = "/".join(folders[: len(folders) - (level - 1)])
        stem = f"{root}/{relative}" if root and relative else root or relative
        return [f"{stem}.py", f"{stem}/__init__.py"] if relative else [f"{root}/__init__.py" if root else "__init__.py"]
    if not name or name.split(".")[0] in _EXTERNAL_TOPS:
        return []
    parts = base.split("/") if base else []
    out: list[str] = []
    for cut in range(len(parts), -1, -1):
        for folder in ("/".join(parts[:cut]), "/".join([*parts[:cut], "src"])):
            prefix = f"{folder}/" if folder else ""
            out += [f"{prefix}{relative}.py", f"{prefix}{relative}/__init__.py"]
    return list(dict.fromkeys(out))
