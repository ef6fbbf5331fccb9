"""Building findings: locations and source lines with every secret masked."""

from __future__ import annotations

import re
from collections.abc import Sequence

from maniac_guard.catalog import get_rule
from maniac_guard.findings import Finding, Location, Secret, mask, redact
from maniac_guard.sources import SourceFile

SNIPPET_WIDTH = 160
_QUOTES = (b'"', b"'", b"`", b"\\")
WINDOW_BYTES = 2048


def mask_line(line: str, secrets: Sequence[str | Secret]) -> str:
    return redact(line, [s if isinstance(s, Secret) else Secret(s) for s in secrets if s])


# A quoted run of key characters (`"BZbm…"`, `\\"BZbm…\\"` in a JSON-escaped notebook line).
_QUOTED_RUN = re.compile(r"""(\\?["'`])[A-Za-z0-9_-]+\1""")


def snippet(
    line: str,
    secrets: Sequence[str | Secret],
    clipped_left: bool = False,
    clipped_right: bool = False,
    continued: bool = False,
) -> str:
    """The line, masked, cut to a window around the secret for minified files.

    `continued`: the key ends where its string literal ends, so the other
    quoted runs of key characters on the line may be the rest of it (`"mk-…"
    + "…"` in a language, or a diff, that no analysis folds): masked too."""
    # Mask before cutting (the key, its pieces, its encoded form), so the
    # window never leaves a key or a piece half-visible.
    line = mask_line(line.rstrip("\r\n"), secrets)
    if continued:
        line = _QUOTED_RUN.sub(lambda m: f"{m.group(1)}…{m.group(1)}", line)
    if len(line) > SNIPPET_WIDTH:
        first = secrets[0] if secrets else None
        anchor = line.find(first.masked if isinstance(first, Secret) else mask(first)) if first else -1
        start = max(0, (anchor if anchor >= 0 else len(line) // 2) - SNIPPET_WIDTH // 3)
        clipped_left = clipped_left or start > 0
        clipped_right = clipped_right or start + SNIPPET_WIDTH < len(line)
        line = line[start : start + SNIPPET_WIDTH]
    return ("…" if clipped_left else "") + line + ("…" if clipped_right else "")


def finding_at(
    source: SourceFile,
    rule_id: str,
    message: str,
    start: int,
    end: int,
    secret: str | None = None,
    subject: str = "",
    fixable: str | None = None,
    pieces: Sequence[str] = (),
) -> Finding:
    """A finding for the byte span [start, end) of `source.data`.

    `pieces`: other texts that stand for the secret (the literals it was
    built from). The span's own text, when it is not the key as written (a
    base64 token, a percent-encoded key), is one too."""
    rule = get_rule(rule_id)
    line, column = source.position(start)
    end_line, end_column = source.position(end)
    # Only a bounded window of a long (minified) line is ever decoded.
    line_start, line_end = source.line_span(start)
    window_start = max(line_start, start - WINDOW_BYTES)
    window_end = min(line_end, max(end, start) + WINDOW_BYTES)
    text = source.data[window_start:window_end].decode("utf-8", "replace")
    hidden = None
    if secret is not None:
        written = source.data[start:end].decode("utf-8", "replace")
        encoded = (written,) if secret not in written and not any(c.isspace() for c in written) else ()
        hidden = Secret(secret, (*pieces, *encoded))
    return Finding(
        rule_id=rule_id,
        severity=rule.severity,
        message=message,
        location=Location(source.path, line, column, end_line, end_column),
        secret=hidden,
        subject=subject,
        snippet=snippet(
            text,
            [hidden] if hidden else [],
            window_start > line_start,
            window_end < line_end,
            continued=hidden is not None and source.data[end : end + 1] in _QUOTES,
        ),
        commit=source.commit,
        author=source.author,
        date=source.date,
        fixable=fixable,
    )
