"""Autofix: rewrite Python that hardcodes Maniac keys to read the environment.

`fix_bytes` turns one file's bytes into fixed bytes (or None); `fix_files`
does it for many files, writing atomically or collecting a diff. The edits
themselves are in `codemod`; what to edit comes from the Python analyzer.
"""

from __future__ import annotations

import ast
import difflib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from maniac_guard.findings import Secret, mask, redact
from maniac_guard.fix.codemod import FixOptions, Issue, ModuleFix, fix_module
from maniac_guard.records import dataclass, field

if TYPE_CHECKING:
    import libcst as cst

__all__ = ["FileFix", "FixOptions", "FixRun", "fix_bytes", "fix_files", "render_diff"]


@dataclass
class FileFix:
    path: str  # as shown
    original: bytes
    new: bytes | None = None  # None: nothing to change (or could not)
    applied: list[Issue] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def secrets(self) -> list[str]:
        """The distinct keys this fix took out of the file, in order."""
        out: list[str] = []
        for issue in self.applied:
            if issue.secret and issue.secret not in out:
                out.append(issue.secret)
        return out


def _python_parses(data: bytes) -> bool:
    try:
        ast.parse(data)
    except (SyntaxError, ValueError):
        return False
    return True


def _too_complex(result: FileFix, code: str) -> bool:
    """The scan's guard, before libcst's native parser sees the code: on
    chains thousands deep it overflows the C stack and kills the process."""
    from maniac_guard.detectors.python_code import too_complex

    reason = too_complex(code)
    if reason is not None:
        result.messages.append(f"{result.path}: {reason}; not fixed")
    return reason is not None


def fix_python(path: str, data: bytes, options: FixOptions) -> FileFix:
    import libcst as cst

    result = FileFix(path, data)
    if _too_complex(result, data.decode("utf-8", "replace")):
        return result
    try:
        module = cst.parse_module(data)
    except (cst.ParserSyntaxError, UnicodeDecodeError, LookupError, SyntaxError) as exc:
        result.messages.append(f"{path}: cannot parse as Python ({type(exc).__name__}); not fixed")
        return result
    fixed = _checked_fix(result, module, data, options)
    if fixed is None:
        return result
    new = fixed.module.bytes
    result.new, result.applied = new, list(fixed.applied)
    _note_remaining(result, new.decode(fixed.module.encoding, "replace"))
    return result


def _checked_fix(result: FileFix, module: cst.Module, old: bytes, options: FixOptions) -> ModuleFix | None:
    """Run the codemod; None when it changes nothing or its result fails the checks."""
    fixed = fix_module(module, options, result.path)
    _note_skipped(result, fixed.skipped)
    if not fixed.changed:
        return None
    problem = _check_python(result.path, old, fixed.module.bytes, options)
    if problem:
        result.messages.append(f"{result.path}: {problem}; not fixed")
        return None
    return fixed


def _check_python(path: str, old: bytes, new: bytes, options: FixOptions) -> str | None:
    """The result must parse, and fixing it again must change nothing."""
    import libcst as cst

    if _python_parses(old) and not _python_parses(new):
        return "the fixed code would not parse (a bug: please report it)"
    try:
        again = fix_module(cst.parse_module(new), options, path)
    except cst.ParserSyntaxError:
        return "the fixed code would not parse (a bug: please report it)"
    if again.changed:
        return "fixing did not converge (a bug: please report it)"
    return None


def _note_skipped(result: FileFix, skipped: Sequence[tuple[Issue, str]]) -> None:
    for issue, reason in skipped:
        result.messages.append(f"{result.path}: {issue.rule_id} not fixed: {reason}")


# A run of this many characters of a key's body still in the file after the
# fix is a piece of it (a constant it was built from), not a coincidence.
PIECE_LENGTH = 8


def _note_remaining(result: FileFix, text: str) -> None:
    for secret in result.secrets:
        body = secret[3:] if secret.startswith("mk-") else secret
        if secret in text:
            result.messages.append(
                f"{result.path}: {mask(secret)} still appears in the file (an unfixed finding, a comment or a string)"
            )
        elif any(body[i : i + PIECE_LENGTH] in text for i in range(len(body) - PIECE_LENGTH + 1)):
            # Constants may be imported elsewhere, so the fix edits uses, not definitions.
            result.messages.append(
                f"{result.path}: pieces of {mask(secret)} are still in the file (constants it was built from); "
                "remove them if nothing else uses them"
            )


def fix_notebook(path: str, data: bytes, options: FixOptions) -> FileFix:
    import libcst as cst

    from maniac_guard.fix import notebook

    result = FileFix(path, data)
    try:
        raw = data.decode("utf-8")
        root = notebook.parse(raw)
        cells = notebook.code_cells(root)
    except (UnicodeDecodeError, ValueError, notebook.NotebookError) as exc:
        result.messages.append(f"{path}: not a readable notebook ({exc}); not fixed")
        return result
    except RecursionError:  # JSON nested thousands deep: the reader recurses
        result.messages.append(f"{path}: not a readable notebook (nested too deeply); not fixed")
        return result
    if not cells:
        return result
    code, magics = notebook.join_cells(cells)
    if _too_complex(result, code):
        return result
    try:
        module = cst.parse_module(code)
    except cst.ParserSyntaxError as exc:
        result.messages.append(
            f"{path}: code cells do not parse as Python (line {exc.raw_line} of the joined cells); not fixed"
        )
        return result
    fixed = _checked_fix(result, module, code.encode("utf-8"), options)
    if fixed is None:
        return result
    new_code = fixed.module.code
    try:
        texts = notebook.split_cells(new_code, cells, magics)
        new = notebook.rewrite(raw, cells, texts).encode("utf-8")
    except notebook.NotebookError as exc:
        result.messages.append(f"{path}: {exc}; not fixed")
        return result
    result.new, result.applied = new, list(fixed.applied)
    _note_remaining(result, "".join(texts))
    return result


def fix_bytes(path: str, data: bytes, options: FixOptions) -> FileFix:
    if path.lower().endswith(".ipynb"):
        return fix_notebook(path, data, options)
    return fix_python(path, data, options)


def is_fixable_path(path: str) -> bool:
    return path.lower().endswith((".py", ".pyi", ".ipynb"))


def mask_keys(text: str, secrets: Sequence[str] = (), pieces: Sequence[Sequence[str]] = ()) -> str:
    """Mask whole keys, the pieces each was built from (`pieces`: a sequence
    per key, its own only: every key's pieces for every key made the masking
    quadratic), and any run of 8 characters of a known key's body (findings.redact)."""
    own = [*pieces, *([()] * (len(secrets) - len(pieces)))]
    return redact(text, [Secret(secret, forms) for secret, forms in zip(secrets, own)])


def _code_of(fix: FileFix) -> str:
    text = fix.original.decode("utf-8", "surrogateescape")
    if not fix.path.lower().endswith(".ipynb"):
        return text
    from maniac_guard.sources.notebook import extract

    code = extract(fix.original)
    return code.text if code is not None else ""


def render_diff(fix: FileFix) -> str:
    """A unified diff of one fix, every key in it masked (so it is for
    reading and review, not for `patch`)."""
    if fix.new is None:
        return ""
    from maniac_guard.detectors.python_code import pieces_in_code

    old = fix.original.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    new = fix.new.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    lines = []
    for line in difflib.unified_diff(old, new, f"a/{fix.path}", f"b/{fix.path}"):
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        lines.append(line)
    secrets = fix.secrets
    return mask_keys("".join(lines), secrets, pieces_in_code(_code_of(fix), secrets) if secrets else ())


@dataclass
class FixRun:
    files: list[FileFix] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[FileFix]:
        return [f for f in self.files if f.new is not None]

    @property
    def fixed_count(self) -> int:
        return sum(len(f.applied) for f in self.changed)


def fix_files(
    paths: Sequence[tuple[str, str]], options: FixOptions, *, write: bool, roots: Sequence[str] | None = None
) -> FixRun:
    """Fix each (path on disk, path as shown); with `write`, write each fixed
    file safely (fix.ondisk), refusing any that changed since they were read.
    A symbolic link's target is written only inside `roots` (default: see
    `fix_roots`); a file reached under two names is fixed once."""
    from maniac_guard.fix.ondisk import fix_roots, resolve_target, write_fixed
    from maniac_guard.writer import WriteError

    inside = fix_roots(()) if roots is None else roots
    written: dict[object, FileFix] = {}  # realpath and (device, inode) -> its fix
    run = FixRun()
    for real, shown in paths:
        same = _already_written(real, written) if write else None
        if same is not None:
            # Another name of a file fixed above: it holds the fix already.
            run.files.append(FileFix(shown, same.original, same.new, list(same.applied)))
            continue
        try:
            with open(real, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            run.messages.append(f"{shown}: cannot read: {exc.strerror}; not fixed")
            continue
        fix = fix_bytes(shown, data, options)
        run.messages.extend(fix.messages)
        if fix.new is not None and write:
            try:
                target = resolve_target(real, shown, inside)
                identity = _identities(target)
                write_fixed(target, shown, fix.new, data)
                written.update(dict.fromkeys(identity, fix))
            except WriteError as exc:
                run.messages.append(str(exc))
                fix.new = None
                fix.applied = []
        run.files.append(fix)
    return run


def _identities(path: str) -> list[object]:
    info = os.stat(path)
    return [os.path.realpath(path), (info.st_dev, info.st_ino)]


def _already_written(path: str, written: dict[object, FileFix]) -> FileFix | None:
    try:
        keys = _identities(path)
    except OSError:
        return None
    return next((written[k] for k in keys if k in written), None)
