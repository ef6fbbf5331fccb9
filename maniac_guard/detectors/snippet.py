"""Building findings: locations and source lines with every secret masked."""

from __future__ import annotations

from maniac_guard.catalog import get_rule
from maniac_guard.findings import Finding, Location, Secret, mask
from maniac_guard.sources import SourceFile

SNIPPET_WIDTH = 160


def mask_line(line: str, secrets: list[str]) -> str:
    from maniac_guard.detectors.keys import mask_keys_in_text

    for secret in secrets:
        if secret:
            line = line.replace(secret, mask(secret))
    return mask_keys_in_text(line)


def snippet(line: str, column: int, secrets: list[str]) -> str:
    """The line, masked, cut to a window around the column for minified files."""
    # Mask before cutting, so the window never leaves a key half-visible.
    raw = line.rstrip("\r\n")
    line = mask_line(raw, secrets)
    if len(line) > SNIPPET_WIDTH:
        anchor = line.find(mask(secrets[0])) if secrets else -1
        if anchor < 0:
            anchor = int((column - 1) * len(line) / max(len(raw), 1))
        start = max(0, anchor - SNIPPET_WIDTH // 3)
        cut = line[start : start + SNIPPET_WIDTH]
        line = ("…" if start else "") + cut + ("…" if start + SNIPPET_WIDTH < len(line) else "")
    return line


def finding_at(
    source: SourceFile,
    rule_id: str,
    message: str,
    start: int,
    end: int,
    secret: str | None = None,
    subject: str = "",
    fixable: str | None = None,
) -> Finding:
    """A finding for the byte span [start, end) of `source.data`."""
    rule = get_rule(rule_id)
    line, column = source.position(start)
    end_line, end_column = source.position(end)
    text_line = source.line_at(start).decode("utf-8", "replace")
    local_column = len(source.data[source.data.rfind(b"\n", 0, start) + 1 : start].decode("utf-8", "replace")) + 1
    return Finding(
        rule_id=rule_id,
        severity=rule.severity,
        message=message,
        location=Location(source.path, line, column, end_line, end_column),
        secret=Secret(secret) if secret is not None else None,
        subject=subject,
        snippet=snippet(text_line, local_column, [secret] if secret else []),
        commit=source.commit,
        author=source.author,
        date=source.date,
        fixable=fixable,
    )
