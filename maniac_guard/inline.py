"""What the findings of one file become together, for the engine's
`scan_source`: duplicates merged (the most specific rule wins), findings on
one line masking each other's keys, and what `maniac-guard: ignore` in a
comment of the file's language drops (kept apart, so the summary counts it)."""

from __future__ import annotations

from maniac_guard.detectors import RULE_PRECEDENCE, SPAN_MASKING_RULES
from maniac_guard.findings import Finding, Secret
from maniac_guard.selection import comment_syntax, suppresses, suppressions
from maniac_guard.sources import SourceFile


def _rule_rank(rule_id: str) -> int:
    """More specific rules win a merge (Python over plain patterns): the
    precedence each detector declares."""
    return RULE_PRECEDENCE.get(rule_id, 0)


def merge_duplicates(findings: list[Finding]) -> list[Finding]:
    """One finding per (line, secret) among the key rules."""
    # Keyed by the Secret itself (equal when the values are): a SHA-256 of
    # each key would load OpenSSL (~3 ms of a hook's start) for a dict key.
    best: dict[tuple[int, Secret], Finding] = {}
    span_masked: dict[tuple[int, Secret], str] = {}
    rest: list[Finding] = []
    for finding in findings:
        if finding.secret is None or _rule_rank(finding.rule_id) == 0:
            rest.append(finding)
            continue
        key = (finding.line, finding.secret)
        current = best.get(key)
        if current is None or _rule_rank(finding.rule_id) > _rule_rank(current.rule_id):
            best[key] = finding
        if finding.rule_id in SPAN_MASKING_RULES:
            span_masked[key] = finding.snippet
    # A key written encoded (`mk\u002d…`) is masked only by the encoded-text
    # rules, which know its span: whichever rule wins shows their snippet.
    for key, snippet in span_masked.items():
        best[key] = best[key].replace(snippet=snippet)
    return rest + list(best.values())


def hide_each_other(findings: list[Finding]) -> list[Finding]:
    """Findings on one line show the same text: each snippet masks every key
    on the line with its pieces and encoded forms, not only its own (an
    MG101 on the first half of a key built from pieces would print the
    second half, which only the MG203 finding knows)."""
    # Only keys with pieces or an encoded form: a plain `mk-…` key is masked
    # in every snippet already (mask_keys_in_text), and a minified line with
    # thousands of keys must not cost the square of their number.
    by_line: dict[int, list[Secret]] = {}
    for finding in findings:
        if finding.secret is not None and finding.secret.has_forms:
            by_line.setdefault(finding.line, []).append(finding.secret)
    if not by_line:
        return findings
    return [f.hiding(by_line[f.line]) if f.line in by_line else f for f in findings]


# A notebook cell's comment syntax by the kernel's language.
_CELL_SYNTAX = {
    "python": "python",
    **dict.fromkeys(("r", "julia", "ruby", "perl", "bash", "sh", "powershell", "raku", "elixir", "nim"), "hash"),
    **dict.fromkeys(
        ("javascript", "typescript", "java", "c", "c++", "c#", "scala", "kotlin", "go", "rust", "swift", "dart"), "c"
    ),
    "sql": "sql",
    "lua": "dash",
    "haskell": "dash",
}


def _offset(source: SourceFile, finding: Finding) -> int:
    """The byte offset of a finding's start in `source.data` (a whole file)."""
    data = source.data
    start = 0
    line = finding.line if source.line_numbers is None else source.line_numbers.index(finding.line) + 1
    for _ in range(line - 1):
        start = data.find(b"\n", start) + 1
        if start == 0:
            return len(data)
    end = data.find(b"\n", start)
    row = data[start : end if end >= 0 else len(data)].decode("utf-8", "replace")
    return start + len(row[: finding.location.column - 1].encode("utf-8"))


def _notebook_suppressed(source: SourceFile, findings: list[Finding]) -> list[bool]:
    """In a notebook, a comment in a cell's own language suppresses the
    findings on its line of that cell; outputs and JSON hold no comments.
    The added lines of a diff that are not a whole notebook (history) cannot
    tell a cell from an output: nothing is suppressed there (fail closed)."""
    from maniac_guard.sources.notebook import cell_texts

    marked = []
    for cell in cell_texts(source.data):
        syntax = "markup" if cell.cell_type == "markdown" else None
        if cell.cell_type == "code":
            syntax = _CELL_SYNTAX.get(cell.language.split()[0] if cell.language else "python", "text")
        for line, rules in suppressions(cell.text, syntax).items():
            marked.append((cell, line, rules))
    out = []
    for finding in findings:
        at = _offset(source, finding) if marked else 0
        hit = False
        for cell, line, rules in marked:
            if cell.start <= at < cell.end and suppresses(rules, finding.rule_id):
                # A cell source given as one string: the same line of it (its `\n` escapes).
                hit = hit or source.data.count(b"\\n", cell.start, at) == line
        out.append(hit)
    return out


def drop_suppressed(source: SourceFile, findings: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(kept, suppressed): inline `maniac-guard: ignore` / `ignore[MG101]` in
    a comment of the file's language on the finding's line."""
    if source.suffix == ".ipynb":
        hits = _notebook_suppressed(source, findings)
    else:
        by_index = suppressions(source.text, comment_syntax(source.path))
        lines = {source.real_line(index + 1): rules for index, rules in by_index.items()}
        hits = [f.line in lines and suppresses(lines[f.line], f.rule_id) for f in findings]
    kept = [f for f, hit in zip(findings, hits) if not hit]
    return kept, [f for f, hit in zip(findings, hits) if hit]
