"""The Python analysis of callers that never name the SDK (python/callers.py
says how they are found): `CALLER`, the detector that analyses such a file
whole, and the files of a disk scan it must see.

A tree scan looks from the wrapper's side: each `.py` file of the walk that
imports the SDK and defines a wrapper names the files that may call it
(under the folder it can be imported from, spelling its module's name and a
wrapper's). A scan of a few files (a hook's) looks from the caller's side:
each `.py` file the byte hints passed over has its imports read. Both are
bounded; past a bound a note says what was left out.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence

from maniac_guard.detectors import Detector, python_code
from maniac_guard.findings import Finding
from maniac_guard.records import replace
from maniac_guard.sources import SourceFile
from maniac_guard.sources.files import display_path_under, read_file, to_source

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from typing import Protocol

    from maniac_guard.sources import ProjectReader
    from maniac_guard.sources.gitblobs import BlobReader

    class Scanned(Protocol):
        findings: list[Finding]
        suppressed: list[Finding]
        messages: list[str]

    class TreeScanned(Scanned, Protocol):
        sdk_modules: list[str]


MAX_READS = 4096  # files read to find the callers of the tree's wrapper modules
MAX_CALLERS = 64  # callers analysed per scan

RULE_IDS = python_code.RULE_IDS
CALLER = Detector(
    "python_callers",
    python_code.RULE_IDS,
    lambda source: source.suffix == ".py",
    python_code.detect_caller,
    needs_whole_file=True,
    suffixes=(".py",),
)


# Also one of python_code's HINTS: a tree scan asks `re` only where the
# prefilter's pass found that hint (Prefilter.may_match).
SDK_IMPORT = re.compile(rb"(?:from|import)[ \t]+maniac\b")


# The first name of each import (or the dots of a relative one).
_IMPORTED = re.compile(rb"^[ \t]*(?:from[ \t]+(\.+|\w+)|import[ \t]+(\w+))", re.M)


def imports_project(data: bytes) -> bool:
    """Whether a file imports anything but the standard library and the SDK
    (read on its text, before the analysis's modules are loaded for it)."""
    for match in _IMPORTED.finditer(data):
        top = (match.group(1) or match.group(2)).decode("ascii", "replace")
        if top.startswith(".") or (top not in sys.stdlib_module_names and top not in ("maniac", "__future__")):
            return True
    return False


def imports_sdk(path: str, data: bytes) -> bool:
    """Whether a file of the walk may be a wrapper module (it imports the SDK)."""
    return path.endswith(".py") and b"aniac" in data and SDK_IMPORT.search(data) is not None


def scan_callers(
    files: Sequence[str],
    cwd: str,
    result: TreeScanned,
    max_size: int,
    few: bool,
    scan: Callable[..., list[Finding]],
    anchors: Sequence[str] = (),
) -> None:
    """Adds to `result` what `scan` (the engine's scan_source) finds in the
    callers among `files` (`caller_sources`), and the notes."""
    sources, notes = caller_sources(files, cwd, result.sdk_modules, max_size, few=few, anchors=anchors)
    for source in sources:
        result.findings += scan(source, [CALLER], suppressed=result.suppressed)
        result.messages += source.notes
    result.messages += notes


def caller_sources(
    files: Sequence[str], cwd: str, modules: Sequence[str], max_size: int, *, few: bool, anchors: Sequence[str] = ()
) -> tuple[list[SourceFile], list[str]]:
    """The `.py` files among `files` (absolute paths) that the byte hints
    passed over and that call a wrapper: of one of `modules` (the files of
    the walk that import the SDK) for a tree, of any module of the project
    when the scan has `few` files; `anchors` are the folders the scan named
    (absolute). Returns them, read, and the notes."""
    from maniac_guard.sources.worktree import WorkTreeReader

    notes: list[str] = []
    shown_from = display_path_under(cwd)
    project: ProjectReader = WorkTreeReader(cwd)
    roots: dict[str, tuple[str, str]] = {}  # module → (the folder its callers are under, its name)
    if not few and modules:
        from maniac_guard.python.callers import import_root, may_call, module_word, spells, wrapper_names
    for module in [] if few else modules:
        # Its path from the named folder holding it: the folders above what
        # was named are no package names, so the search is the same named
        # from inside the tree (`.`) or from outside (`../tree`).
        anchor = max((a for a in anchors if module.startswith(a + os.sep)), key=len, default=cwd)
        root = import_root(os.path.relpath(module, anchor).replace(os.sep, "/"))
        if root is not None:
            folder = os.path.normpath(os.path.join(anchor, root) if root else anchor) + os.sep
            roots[module] = (folder, module_word(module.replace(os.sep, "/")))
    if not roots and not few:
        return [], []
    spelled: dict[str, list[tuple[SourceFile, bytes]]] = {}  # module → the files spelling its name
    found: list[SourceFile] = []
    reads = 0
    folders = tuple(folder for folder, _ in roots.values())
    for path in files:
        if not (few or path.startswith(folders)) or not path.endswith(".py") or path in roots:
            continue
        near = [m for m, (folder, _) in roots.items() if path.startswith(folder)]
        if reads >= MAX_READS:
            notes.append(_left_out(True))
            break
        reads += 1
        shown = shown_from(path)
        data = _read(path, shown, max_size)
        near = [module for module in near if data is not None and spells(data, roots[module][1])]
        if data is None or not (near or few) or python_code.may_fire(data):  # unread, or analysed already
            continue
        source = to_source(shown, data)[0]
        if source is None:
            continue
        source.project = project
        for module in near:
            spelled.setdefault(module, []).append((source, data))
        if few and _calls_a_wrapper(source):
            found.append(source)
    for module, sources in spelled.items():
        data = _read(module, shown_from(module), max_size)
        names = wrapper_names(data.decode("utf-8", "replace")) if data is not None else frozenset()
        found += [source for source, text in sources if names and may_call(text, roots[module][1], names)]
    unique = list({id(source): source for source in found}.values())
    if len(unique) > MAX_CALLERS:
        notes.append(_left_out(False))
    return unique[:MAX_CALLERS], notes


def scan_listed_callers(sources: Iterable[SourceFile], result: Scanned, scan: Callable[..., list[Finding]]) -> None:
    """`scan_callers` for files already read and scanned (a commit's staged
    blobs, with the reader of that version): those the byte hints passed
    over that call a wrapper of another module, looked for from their side."""
    for source in sources:
        if is_caller(source):
            again = replace(source, notes=[])
            result.findings += scan(again, [CALLER], suppressed=result.suppressed)
            result.messages += again.notes


def is_caller(source: SourceFile) -> bool:
    """Whether a `.py` file the byte hints pass over calls a wrapper of
    another module of the project (read through `source.project`)."""
    return source.suffix == ".py" and not python_code.may_fire(source.data) and _calls_a_wrapper(source)


def _calls_a_wrapper(source: SourceFile) -> bool:
    if source.project is None or not imports_project(source.data):
        return False
    from maniac_guard.python.callers import calls_a_wrapper

    return calls_a_wrapper(source.path, source.data, source.project)


def wrappers_at(root: str, blobs: BlobReader, max_size: int, revs: set[str]) -> list[tuple[str, str, frozenset[str]]]:
    """(the folder its callers are under, its module name, its wrappers) for
    each wrapper module of the commits `revs` (one `git grep` each)."""
    from maniac_guard.python.callers import import_root, module_word, wrapper_names
    from maniac_guard.sources.gitproject import files_naming

    out = []
    for rev in sorted(revs):
        for path in files_naming(root, rev, ("maniac",), words=False) or ():
            data = blobs.read(f"{rev}:{path}", max_size)[1]
            names = wrapper_names(data.decode("utf-8", "replace")) if data and imports_sdk(path, data) else None
            folder = import_root(path) if names else None
            if names and folder is not None:
                out.append((f"{folder}/" if folder else "", module_word(path), names))
    return out


def _read(path: str, shown: str, max_size: int) -> bytes | None:
    return read_file(path, shown, max_size, (), skip_binary=True).data


def _left_out(reads: bool) -> str:
    what = f"{MAX_READS} files were read" if reads else f"{MAX_CALLERS} were analysed"
    return (
        f"files that may call a wrapper of the SDK defined in another module: {what}; "
        "the others were not analysed (their own keys are still found)"
    )
