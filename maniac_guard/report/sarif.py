"""SARIF 2.1.0, as GitHub code scanning reads it.

What code scanning needs, and what this writes:

- URIs relative to the repository root with `uriBaseId: "%SRCROOT%"`, the
  root itself in `run.originalUriBaseIds`, whatever folder the scan ran in
  (outside a repository: relative to the current folder);
- `partialFingerprints.primaryLocationLineHash`, computed here, so the
  upload action does not hash lines of files that may not exist at HEAD
  (history findings), next to our own `maniacGuard/v1` fingerprint;
- at most 25,000 results per run (more and the whole upload is rejected):
  the most severe are kept, the rest counted in a tool notification and on
  stderr;
- rule `fullDescription` at most 1,024 characters (the whole doc is `help`),
  `helpUri`, and the `security` tag wherever `security-severity` is set.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from maniac_guard import __version__
from maniac_guard.catalog import Rule, load_rules
from maniac_guard.findings import Finding, digest, sort_key
from maniac_guard.report import ReportContext
from maniac_guard.report.escape import json_text
from maniac_guard.report.paths import source_root
from maniac_guard.summary import ScanResult

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/maniac-guard/maniac-guard"
SRCROOT = "%SRCROOT%"
MAX_RESULTS = 25_000  # GitHub code scanning's limit per run
MAX_FULL_DESCRIPTION = 1_024  # GitHub code scanning's limit
TRUNCATED_ID = "results-left-out"
INCOMPLETE_ID = "not-scanned"


def help_uri(rule: Rule) -> str:
    # The rule's own file holds its whole doc, at a path that never moves.
    return f"{INFO_URI}/blob/main/rules/{rule.id}.yaml"


def shortened(text: str, limit: int = MAX_FULL_DESCRIPTION) -> str:
    """`text` if it fits, else cut at a word boundary and ended with `…`."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    doc = rule.render_doc()
    tags = list(rule.tags)
    if "security" not in tags:
        tags.insert(0, "security")  # GitHub ignores security-severity without it
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": shortened(rule.doc.get("what", rule.summary).strip())},
        "help": {"text": doc, "markdown": doc},
        "helpUri": help_uri(rule),
        "defaultConfiguration": {"level": rule.severity.sarif_level},
        "properties": {
            "security-severity": rule.severity.security_severity,
            "tags": tags,
            "precision": "high",
        },
    }


class Locator:
    """Turns a finding's path into a URI relative to the source root."""

    def __init__(self, cwd: str, root: str) -> None:
        self.cwd = os.path.realpath(cwd)
        self.root = os.path.realpath(root)
        self._real_dirs: dict[str, str] = {}

    def _real_dir(self, folder: str) -> str:
        real = self._real_dirs.get(folder)
        if real is None:
            real = self._real_dirs[folder] = os.path.realpath(folder)
        return real

    def absolute(self, finding: Finding, path: str | None = None) -> str:
        # History findings are relative to the repository root; the others
        # to the folder the scan ran in. Only folders are resolved: a path
        # that is itself a symlink is reported under its own name.
        base = self.root if finding.commit else self.cwd
        joined = os.path.normpath(os.path.join(base, finding.path if path is None else path))
        return os.path.join(self._real_dir(os.path.dirname(joined)), os.path.basename(joined))

    def artifact(self, finding: Finding, path: str | None = None) -> dict[str, str]:
        """Where `finding` is (or `path`, a file of its flow), as SARIF says a file."""
        absolute = self.absolute(finding, path)
        relative = os.path.relpath(absolute, self.root)
        if relative == os.pardir or relative.startswith(os.pardir + os.sep):
            return {"uri": Path(absolute).as_uri()}  # outside the root
        # Percent-encoded bytes: exact even for a name that is not UTF-8.
        # `!` (a sub-delim, valid in a URI path) is kept, so a member of an
        # archive, `dist/pkg.whl!/pkg/.env`, reads as in the other formats.
        posix = relative.replace(os.sep, "/")
        return {
            "uri": quote(posix.encode("utf-8", "surrogateescape"), safe="/!"),
            "uriBaseId": SRCROOT,
        }

    def base_ids(self) -> dict[str, Any]:
        uri = Path(self.root).as_uri()
        return {SRCROOT: {"uri": uri if uri.endswith("/") else uri + "/"}}


def line_hash(finding: Finding) -> str:
    """Our `primaryLocationLineHash`: what GitHub's hashes (the line, blanks
    ignored, never its number), from the masked line and a hash of the key,
    so it needs no file and holds no secret."""
    what = finding.secret.digest if finding.secret is not None else digest(finding.subject)
    line = " ".join(finding.snippet.split())
    return digest(f"{finding.rule_id}\0{what}\0{line}")[:16]


def line_hashes(findings: list[Finding]) -> dict[int, str]:
    """`hash:n`, n counting the same hash in one file, as GitHub's does."""
    seen: dict[tuple[str, str], int] = {}
    out: dict[int, str] = {}
    for finding in sorted(findings, key=sort_key):
        value = line_hash(finding)
        n = seen[(finding.path, value)] = seen.get((finding.path, value), 0) + 1
        out[id(finding)] = f"{value}:{n}"
    return out


def _result(finding: Finding, index: dict[str, int], locator: Locator, hashes: dict[int, str]) -> dict[str, Any]:
    loc = finding.location
    properties: dict[str, Any] = {"severity": finding.severity.label}
    if finding.masked:
        properties["maskedSecret"] = finding.masked
    if finding.commit:
        properties.update(commit=finding.commit, author=finding.author, date=finding.date)
    if finding.verification is not None:
        v = finding.verification
        properties["verification"] = v.state
        properties["verificationStatus"] = v.status
        properties["verificationReason"] = v.reason
    if finding.extra:
        properties["details"] = finding.extra
    region: dict[str, Any] = {
        "startLine": loc.line,
        "startColumn": loc.column,
        "endLine": loc.end_line,
        "endColumn": max(loc.end_column, 1),
    }
    if finding.snippet:
        region["snippet"] = {"text": finding.snippet}
    return {
        "ruleId": finding.rule_id,
        "ruleIndex": index[finding.rule_id],
        "level": finding.severity.sarif_level,
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": locator.artifact(finding),
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {
            "primaryLocationLineHash": hashes[id(finding)],
            "maniacGuard/v1": finding.fingerprint,
        },
        **({"codeFlows": [code_flow(finding, locator)]} if finding.flow else {}),
        "properties": properties,
    }


def code_flow(finding: Finding, locator: Locator) -> dict[str, Any]:
    """The value's path, as SARIF's codeFlows (GitHub shows the steps)."""
    steps = []
    for path, line, column, label in finding.flow:
        location = {
            "physicalLocation": {
                "artifactLocation": locator.artifact(finding, path),
                "region": {"startLine": line, "startColumn": column},
            },
            "message": {"text": label},
        }
        steps.append({"location": location})
    return {"threadFlows": [{"locations": steps}]}


def most_severe(findings: list[Finding], limit: int = MAX_RESULTS) -> list[Finding]:
    # A stable sort: within a severity, findings keep their order.
    ordered = sorted(findings, key=lambda f: -f.severity)
    return ordered[:limit]


def invocation(total: int, kept: int, incomplete: list[str] | None = None) -> dict[str, Any]:
    done: dict[str, Any] = {"executionSuccessful": True}
    # What could not be scanned (an archive past a bound, a missing LFS
    # object): the run exits 2, and the SARIF file says why.
    notes: list[dict[str, Any]] = [
        {"level": "error", "message": {"text": line}, "descriptor": {"id": INCOMPLETE_ID}} for line in incomplete or []
    ]
    if notes:
        done["toolExecutionNotifications"] = notes
    if kept < total:
        text = (
            f"{total - kept:,} of {total:,} results left out: GitHub code scanning takes at most "
            f"{MAX_RESULTS:,} per run; the {kept:,} most severe are included "
            "(--format json lists them all)."
        )
        done["toolExecutionNotifications"] = [
            *notes,
            {
                "level": "warning",
                "message": {"text": text},
                "descriptor": {"id": TRUNCATED_ID},
            },
        ]
    return done


# A result an inline `maniac-guard: ignore` hides: GitHub shows it as dismissed, not open.
IN_SOURCE = {"kind": "inSource", "justification": "a maniac-guard: ignore comment the change adds"}


def render(result: ScanResult, context: ReportContext) -> str:
    rules = list(load_rules().values())
    index = {rule.id: i for i, rule in enumerate(rules)}
    cwd = context.cwd or os.getcwd()
    locator = Locator(cwd, source_root(cwd, context.source_root))
    kept = most_severe(result.findings)
    if len(kept) < len(result.findings):
        left = len(result.findings) - len(kept)
        print(
            f"maniac-guard: warning: SARIF: {left:,} of {len(result.findings):,} results left out "
            f"(GitHub code scanning takes at most {MAX_RESULTS:,} per run; the most severe are kept)",
            file=sys.stderr,
        )
    hidden = result.stages.suppressed or []  # inline suppressions the change adds (`ci`)
    hashes = line_hashes([*kept, *hidden])
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "maniac-guard",
                        "version": __version__,
                        "informationUri": INFO_URI,
                        "rules": [rule_descriptor(rule) for rule in rules],
                    }
                },
                "invocations": [invocation(len(result.findings), len(kept), result.stages.incomplete)],
                "originalUriBaseIds": locator.base_ids(),
                "results": [_result(f, index, locator, hashes) for f in kept]
                + [{**_result(f, index, locator, hashes), "suppressions": [IN_SOURCE]} for f in hidden],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json_text(document, lossless_paths=False, items=len(kept))
