"""Findings in the editor's terms: diagnostics, hovers and code actions.

Positions: a finding counts 1-based lines (split at `\\n`, as the scanner
does) and characters; LSP counts from 0 in the client's code units (UTF-16
unless negotiated), which pygls's position codec converts.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from typing import Any

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

from maniac_guard.findings import Finding, Severity, mask_keys_in_text
from maniac_guard.records import dataclass
from maniac_guard.selection import IGNORE_RE

SOURCE = "maniac-guard"

# critical/high block a commit: errors, as SARIF's levels (DESIGN.md).
SEVERITIES = {
    Severity.CRITICAL: types.DiagnosticSeverity.Error,
    Severity.HIGH: types.DiagnosticSeverity.Error,
    Severity.MEDIUM: types.DiagnosticSeverity.Warning,
    Severity.LOW: types.DiagnosticSeverity.Information,
    Severity.INFO: types.DiagnosticSeverity.Hint,
}

# Committed config files: the fix is to keep them out of git.
CONFIG_FILE_RULES = frozenset({"MG301", "MG302"})


def split_lines(text: str) -> list[str]:
    """Lines as the scanner counts them (at `\\n`), without their ends."""
    return text.split("\n")


@dataclass(frozen=True)
class Document:
    """An open document as the analysis saw it."""

    uri: str
    path: str
    text: str
    version: int | None
    codec: PositionCodec

    @property
    def lines(self) -> list[str]:
        return split_lines(self.text)

    def position(self, line: int, character: int) -> types.Position:
        """0-based line and character (code points) in client units."""
        return self.codec.position_to_client_units(self.lines, ServerTextPosition(line, character))

    def end(self) -> types.Position:
        lines = self.lines
        return self.position(len(lines) - 1, len(lines[-1]))


def finding_range(finding: Finding, doc: Document) -> types.Range:
    lines = doc.lines
    location = finding.location
    start_line = min(max(location.line - 1, 0), len(lines) - 1)
    end_line = min(max(location.end_line - 1, start_line), len(lines) - 1)
    start = doc.codec.position_to_client_units(lines, ServerTextPosition(start_line, max(location.column - 1, 0)))
    end = doc.codec.position_to_client_units(lines, ServerTextPosition(end_line, max(location.end_column - 1, 0)))
    if (end.line, end.character) < (start.line, start.character):
        end = start
    return types.Range(start=start, end=end)


def doc_url(rule_id: str) -> str:
    """The rule's page, as SARIF's helpUri: its own file holds its whole doc."""
    from maniac_guard.catalog import get_rule
    from maniac_guard.report.sarif import help_uri

    return help_uri(get_rule(rule_id))


def diagnostic(finding: Finding, doc: Document) -> types.Diagnostic:
    return types.Diagnostic(
        range=finding_range(finding, doc),
        message=mask_keys_in_text(finding.message),
        severity=SEVERITIES[finding.severity],
        code=finding.rule_id,
        code_description=types.CodeDescription(href=doc_url(finding.rule_id)),
        source=SOURCE,
        data={"fingerprint": finding.fingerprint, "fix": finding.fixable},
    )


def contains(outer: types.Range, position: types.Position) -> bool:
    here = (position.line, position.character)
    return (outer.start.line, outer.start.character) <= here <= (outer.end.line, outer.end.character)


def overlaps(a: types.Range, b: types.Range) -> bool:
    return (a.start.line, a.start.character) <= (b.end.line, b.end.character) and (
        b.start.line,
        b.start.character,
    ) <= (a.end.line, a.end.character)


def hover_markdown(findings: Sequence[Finding]) -> str:
    """What each finding here is, then its rule's `explain` text."""
    from maniac_guard.catalog import get_rule

    parts = []
    for rule_id in dict.fromkeys(f.rule_id for f in findings):
        messages = [f.message for f in findings if f.rule_id == rule_id]
        said = "\n".join(f"**{rule_id}**: {mask_keys_in_text(message)}" for message in dict.fromkeys(messages))
        parts.append(f"{said}\n\n{get_rule(rule_id).render_doc()}\n[Rule documentation]({doc_url(rule_id)})")
    return "\n\n---\n\n".join(parts)


# -- code actions ---------------------------------------------------------


def text_edits(doc: Document, new_text: str) -> list[types.TextEdit]:
    """Whole-line edits from the document's text to `new_text` (what changed
    only, so the editor keeps the cursor and folds elsewhere)."""
    old = [line + "\n" for line in doc.text.split("\n")]
    new = [line + "\n" for line in new_text.split("\n")]
    old[-1], new[-1] = old[-1][:-1], new[-1][:-1]
    edits = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start = types.Position(line=i1, character=0)
        # Past the last line: to the end of a last line that has no newline.
        end = doc.end() if i2 >= len(old) else types.Position(line=i2, character=0)
        edits.append(types.TextEdit(range=types.Range(start=start, end=end), new_text="".join(new[j1:j2])))
    return edits


def edit_document(doc: Document, edits: list[types.TextEdit]) -> types.WorkspaceEdit:
    return types.WorkspaceEdit(
        document_changes=[
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
                edits=list(edits),
            )
        ]
    )


# Line comments by file suffix or name: the `ignore` comment must be a comment
# of the file's language (DESIGN.md), never text that breaks the file.
_HASH = "# {}"
_SLASHES = "// {}"
_COMMENT_TABLE = (
    (
        _HASH,
        ".py .pyi .pyw .sh .bash .zsh .fish .ksh .yaml .yml .toml .env .cfg .conf .ini .properties .rb .pl "
        ".pm .r .tf .tfvars .hcl .nix .ps1 .psm1 .mk .cmake .dockerfile .txt .gitignore .jl .ex .exs .cr",
    ),
    (
        _SLASHES,
        ".js .jsx .mjs .cjs .ts .tsx .mts .cts .go .java .kt .kts .c .h .cc .cpp .cxx .hpp .cs .rs .swift "
        ".scala .dart .php .groovy .gradle .jsonc .json5 .proto .zig .sol",
    ),
    ("-- {}", ".sql .lua .hs .elm .ada"),
    ("<!-- {} -->", ".md .markdown .html .htm .xml .svg .vue .svelte .xaml .csproj"),
    ("/* {} */", ".css .scss .less"),
    ("; {}", ".el .lisp .clj .cljs .scm"),
    ("% {}", ".tex .sty .erl .hrl"),
    ("REM {}", ".bat .cmd"),
    ('" {}', ".vim"),
)
_COMMENTS = {suffix: style for style, suffixes in _COMMENT_TABLE for suffix in suffixes.split()}
_NAMES_WITH_HASH = ("dockerfile", "makefile", "containerfile", "procfile", "gemfile", "rakefile", "vagrantfile")


def comment_style(path: str) -> str | None:
    """The line comment of this file's language ("{}" marks the text), or None (JSON has none)."""
    name = os.path.basename(path).lower()
    if name.startswith(".env") or name.endswith(".env") or name.startswith(_NAMES_WITH_HASH):
        return _HASH
    dot = name.rfind(".")
    return _COMMENTS.get(name[dot:]) if dot >= 0 else None


def ignore_edit(doc: Document, finding: Finding) -> types.TextEdit | None:
    """`maniac-guard: ignore[RULE]` on the finding's line: the rule added to an
    existing list, else a comment at the end of the line."""
    lines = doc.lines
    index = finding.line - 1
    if not 0 <= index < len(lines):
        return None
    line = lines[index].rstrip("\r")
    existing = IGNORE_RE.search(line)
    if existing is not None and existing.group(1) is not None:
        at = existing.end(1)  # inside the brackets, after the last id
        position = doc.position(index, at)
        return types.TextEdit(range=types.Range(start=position, end=position), new_text=f", {finding.rule_id}")
    style = comment_style(doc.path)
    if style is None:
        return None
    position = doc.position(index, len(line))
    gap = "  " if line.strip() else ""
    return types.TextEdit(
        range=types.Range(start=position, end=position),
        new_text=gap + style.format(f"maniac-guard: ignore[{finding.rule_id}]"),
    )


def git_root(path: str) -> str | None:
    here = os.path.dirname(os.path.abspath(path))
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def gitignore_action(doc: Document, finding: Finding, uri_of: Any) -> types.CodeAction | None:
    """Add the committed config file to the .gitignore at the root of its work tree."""
    root = git_root(doc.path)
    if root is None:
        return None
    entry = "/" + os.path.relpath(os.path.abspath(doc.path), root).replace(os.sep, "/")
    entry = re.sub(r"([*?\[\]!#\\ ])", r"\\\1", entry)  # a name with gitignore's special characters
    target = os.path.join(root, ".gitignore")
    target_uri = uri_of(target)
    changes: list[Any] = []
    try:
        with open(target, encoding="utf-8") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = None
    except (OSError, UnicodeDecodeError):
        return None
    if current is None:
        changes.append(types.CreateFile(uri=target_uri, options=types.CreateFileOptions(ignore_if_exists=True)))
        at = types.Position(line=0, character=0)
        text = entry + "\n"
    else:
        if entry in (line.strip() for line in current.splitlines()):
            return None
        lines = current.split("\n")
        at = types.Position(line=len(lines) - 1, character=len(lines[-1].encode("utf-16-le")) // 2)
        text = ("" if current.endswith("\n") or not current else "\n") + entry + "\n"
    changes.append(
        types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=target_uri, version=None),
            edits=[types.TextEdit(range=types.Range(start=at, end=at), new_text=text)],
        )
    )
    return types.CodeAction(
        title=f"Add {entry} to .gitignore (if git tracks it already: git rm --cached it, and rotate the key)",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic(finding, doc)],
        edit=types.WorkspaceEdit(document_changes=changes),
    )


def fix_title(finding: Finding, env_var: str, count: int, unsafe: bool) -> str:
    where = f" ({count} in this file)" if count > 1 else ""
    if unsafe:
        return f"Unsafe fix {finding.rule_id}{where}: read the key from ${env_var} (may change behaviour; review it)"
    return f"Fix {finding.rule_id}{where}: read the key from ${env_var}"
