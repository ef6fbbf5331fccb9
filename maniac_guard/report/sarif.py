"""SARIF 2.1.0, as GitHub code scanning reads it."""

from __future__ import annotations

import json
from typing import Any

from maniac_guard import __version__
from maniac_guard.catalog import Rule, load_rules
from maniac_guard.summary import ScanResult
from maniac_guard.findings import Finding
from maniac_guard.report import ReportContext

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/maniac-guard/maniac-guard"


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    doc = rule.render_doc()
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.doc.get("what", rule.summary).strip()},
        "help": {"text": doc, "markdown": doc},
        "defaultConfiguration": {"level": rule.severity.sarif_level},
        "properties": {
            "security-severity": rule.severity.security_severity,
            "tags": list(rule.tags),
            "precision": "high",
        },
    }


def _result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
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
                    "artifactLocation": {"uri": loc.path, "uriBaseId": "%SRCROOT%"},
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {"maniacGuard/v1": finding.fingerprint},
        "properties": properties,
    }


def render(result: ScanResult, context: ReportContext) -> str:
    rules = list(load_rules().values())
    index = {rule.id: i for i, rule in enumerate(rules)}
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
                "results": [_result(f, index) for f in result.findings],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
