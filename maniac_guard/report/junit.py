"""JUnit XML, for CI systems that show test reports (GitLab `reports: junit`,
Jenkins, Azure). One testcase per finding: a `<failure>` when the finding is at
or above `--fail-on`, `<skipped>` below it (reported, but not failing the run),
and one passing testcase when the scan is clean."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from maniac_guard.catalog import get_rule
from maniac_guard.summary import ScanResult
from maniac_guard.findings import Finding, Severity
from maniac_guard.report import ReportContext
from maniac_guard.report.text import summary_line

SUITE = "maniac-guard"
# Characters XML 1.0 cannot carry at all (a snippet may hold them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _details(finding: Finding) -> str:
    rule = get_rule(finding.rule_id)
    loc = finding.location
    lines = [
        f"{finding.rule_id} {rule.name} ({finding.severity.label}) at {loc.path}:{loc.line}:{loc.column}",
        finding.message,
    ]
    if finding.commit:
        lines.append(f"commit {finding.commit} by {finding.author or '?'} on {finding.date or '?'}")
    if finding.snippet:
        lines.append(f"{loc.line:>5} | {finding.snippet.strip()}")
    remediation = str(rule.data.get("remediation", "")).strip()
    if remediation:
        lines.append(f"help: {remediation}")
    lines.append(f"fingerprint: {finding.fingerprint}")
    return clean("\n".join(lines))


def _testcase(suite: ET.Element, finding: Finding, fail_on: Severity) -> bool:
    loc = finding.location
    case = ET.SubElement(
        suite,
        "testcase",
        classname=clean(f"{SUITE}.{finding.rule_id}"),
        name=clean(f"{finding.rule_id} {loc.path}:{loc.line}:{loc.column}"),
        file=clean(loc.path),
        line=str(loc.line),
        time="0",
    )
    failed = finding.severity >= fail_on
    if failed:
        failure = ET.SubElement(case, "failure", type=finding.rule_id, message=clean(finding.message))
        failure.text = _details(finding)
    else:
        skipped = ET.SubElement(
            case, "skipped", message=f"{finding.severity.label}: below --fail-on {fail_on.label}"
        )
        skipped.text = _details(finding)
    return failed


def render(result: ScanResult, context: ReportContext) -> str:
    try:
        fail_on = Severity.parse(context.fail_on)
    except ValueError:
        fail_on = Severity.LOW
    root = ET.Element("testsuites", name=SUITE)
    suite = ET.SubElement(root, "testsuite", name=SUITE, time=f"{result.elapsed:.3f}")
    failures = sum(_testcase(suite, f, fail_on) for f in result.findings)
    skipped = len(result.findings) - failures
    if not result.findings:
        ET.SubElement(suite, "testcase", classname=SUITE, name="no Maniac keys found", time="0")
    tests = max(len(result.findings), 1)
    summary = ET.SubElement(suite, "system-out")
    summary.text = clean("\n".join([*result.notes, summary_line(result)]))
    for element in (root, suite):
        element.set("tests", str(tests))
        element.set("failures", str(failures))
        element.set("errors", "0")
        element.set("skipped", str(skipped))
    root.set("time", f"{result.elapsed:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
