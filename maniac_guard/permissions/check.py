"""One declaration file -> MG4xx findings, with positions, waivers and the
comparison against what the key's code needs (`code:` globs)."""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import os
import re

from maniac_guard.findings import Finding, Location, Severity
from maniac_guard.permissions.declarations import (
    DeclarationFile,
    KeyDecl,
    Problem,
    Waiver,
    named_declaration,
    parse,
)
from maniac_guard.permissions.infer import Inference, infer_files, python_files
from maniac_guard.permissions.policy import Policy, Violation, active_policy, evaluate, parse_date
from maniac_guard.permissions.scopes import Catalog, load_catalog
from maniac_guard.permissions.yamlsafe import Span, join_key
from maniac_guard.sources import SourceFile


def _finding(
    source: SourceFile,
    rule_id: str,
    message: str,
    span: Span,
    yaml_path: str,
    subject: str,
    severity: Severity | None = None,
) -> Finding:
    from maniac_guard.catalog import get_rule
    from maniac_guard.detectors.snippet import mask_line

    lines = source.text.splitlines()
    text_line = lines[span.line - 1] if 0 < span.line <= len(lines) else ""
    shown_message = f"{message} [{yaml_path}]" if yaml_path else message
    # Messages quote declared values (a scope, a name), which may be a pasted key.
    shown_message = mask_line(shown_message, [])
    return Finding(
        rule_id=rule_id,
        severity=severity if severity is not None else get_rule(rule_id).severity,
        message=shown_message,
        location=Location(
            source.path, source.real_line(span.line), span.column, source.real_line(span.end_line), span.end_column
        ),
        subject=subject,
        snippet=mask_line(text_line.strip()[:160], []),
        commit=source.commit,
        author=source.author,
        date=source.date,
        extra={"yaml_path": yaml_path},
    )


def _waiver_for(violation: Violation, waivers: list[Waiver], path: str) -> Waiver | None:
    for waiver in waivers:
        if waiver.rule != violation.rule_id:
            continue
        if waiver.key is not None and waiver.key != violation.key:
            continue
        if waiver.scope is not None and waiver.scope != violation.scope:
            continue
        if waiver.path is not None and not fnmatch.fnmatch(path, waiver.path):
            continue
        return waiver
    return None


def apply_waiver(finding: Finding, waiver: Waiver | None, today: dt.date) -> Finding:
    """Waived: listed and counted as info, with the reason; expired: back at full severity."""
    if waiver is None:
        return finding
    expires = parse_date(waiver.expires)
    if expires is not None and expires >= today:
        extra = {
            **finding.extra,
            "waived": {"reason": waiver.reason, "expires": waiver.expires, "severity": finding.severity.label},
        }
        return finding.replace(
            severity=Severity.INFO,
            extra=extra,
            message=f"waived until {waiver.expires} ({waiver.reason}): {finding.message}",
        )
    extra = {**finding.extra, "waiver_expired": {"reason": waiver.reason, "expires": waiver.expires}}
    return finding.replace(
        extra=extra, message=f"{finding.message} (waiver expired on {waiver.expires}: {waiver.reason})"
    )


def check_source(
    source: SourceFile,
    policy: Policy | None = None,
    today: dt.date | None = None,
    with_code: bool = True,
    parsed: tuple[DeclarationFile | None, list[Problem]] | None = None,
) -> list[Finding]:
    """The MG4xx findings of one file; [] when it declares no Maniac keys.
    `parsed`: what `declarations.parse` made of it, when the caller has it."""
    if parsed is None:
        parsed = parse(source.path, source.text, len(source.data), named_declaration(source.name))
    decl, problems = parsed
    findings: list[Finding] = []
    for problem in problems:
        if problem.line is not None:
            span = Span(problem.line, problem.column, problem.line, problem.column)
        else:
            span = decl.located.span(problem.yaml_path) if decl is not None else Span(1, 1, 1, 1)
        findings.append(
            _finding(
                source,
                "MG401",
                f"invalid key declaration: {problem.message}",
                span,
                problem.yaml_path,
                f"invalid:{problem.yaml_path}:{problem.message}",
            )
        )
    if decl is None:
        return findings
    # Only now: a YAML file that merely mentions `permissions` (a CI
    # workflow) must not pay for the policy and its schema (jsonschema).
    policy = policy or active_policy()
    today = today or dt.date.today()
    catalog = load_catalog()
    violations = evaluate(decl, policy, catalog, today)
    if with_code and source.commit is None:
        violations += code_violations(decl, source, catalog)
    violations = [v for v in violations if v.rule_id not in policy.disabled]
    waivers = decl.waivers + policy.waivers
    for violation in violations:
        severity = violation.severity or policy.severity.get(violation.rule_id)
        finding = _finding(
            source,
            violation.rule_id,
            violation.message,
            decl.located.span(violation.yaml_path),
            violation.yaml_path,
            violation.subject,
            severity,
        )
        findings.append(apply_waiver(finding, _waiver_for(violation, waivers, source.path), today))
    return findings


# ---- declared vs needed (MG412, MG413) ---------------------------------------------


@functools.lru_cache(maxsize=64)
def _code_inference(base: str, globs: tuple[str, ...]) -> Inference:
    import pathspec

    spec = pathspec.PathSpec.from_lines("gitignore", globs)
    pairs = []
    for real in python_files([base] if os.path.isdir(base) else []):
        rel = os.path.relpath(real, base).replace(os.sep, "/")
        if spec.match_file(rel):
            pairs.append((os.path.normpath(real).replace(os.sep, "/"), real))
    return infer_files(pairs)


def key_inference(key: KeyDecl, declaration_path: str) -> Inference | None:
    """What the code under the key's `code:` globs needs (globs are relative to the file's folder)."""
    globs = key.fields.get("code")
    if not isinstance(globs, list) or not globs or not all(isinstance(g, str) for g in globs):
        return None
    base = os.path.dirname(declaration_path) or "."
    return _code_inference(base, tuple(globs))


def code_violations(decl: DeclarationFile, source: SourceFile, catalog: Catalog) -> list[Violation]:
    out: list[Violation] = []
    for key in decl.keys:
        try:
            inference = key_inference(key, source.path)
        except (re.error, ValueError) as exc:  # pathspec: a glob that is no pattern
            globs = ", ".join(str(g) for g in key.fields.get("code") or ())
            where = join_key(key.path, "code")
            message = f"invalid key declaration: {key.shown}: `code:` glob {globs} is not a pattern: {exc}"
            out.append(Violation("MG401", where, message, f"invalid:{where}:glob"))
            continue
        if inference is None:
            continue
        source.notes.extend(inference.errors)
        if inference.files == 0:
            line = decl.located.span(join_key(key.path, "code")).line
            source.notes.append(
                f"{source.path}:{line}: {key.shown}: `code:` globs match no Python files; nothing to compare"
            )
            continue
        out += compare(key, inference, catalog)
    return out


def compare(key: KeyDecl, inference: Inference, catalog: Catalog) -> list[Violation]:
    needed = set(inference.scopes())
    unresolved = len(inference.unresolved)
    caveat = f" ({unresolved} unresolved call{'s' if unresolved != 1 else ''} not counted)" if unresolved else ""
    out: list[Violation] = []
    covered: set[str] = set()
    for path, raw in key.scopes():
        scope = raw.strip()
        if catalog.problem(scope) is not None:
            continue
        granted = catalog.expand(scope)
        used = granted & needed
        covered |= used
        if not used:
            out.append(
                Violation(
                    "MG412",
                    path,
                    f"{key.shown} holds '{scope}' but its code never needs it; remove it{caveat}",
                    f"{key.label}.permissions:{scope}:unused",
                    key=key.name,
                    scope=scope,
                )
            )
        elif used != granted:
            out.append(
                Violation(
                    "MG412",
                    path,
                    f"{key.shown} holds '{scope}' but its code needs only {', '.join(sorted(used))}; narrow it{caveat}",
                    f"{key.label}.permissions:{scope}:broad",
                    key=key.name,
                    scope=scope,
                )
            )
    for scope in sorted(needed - covered):
        calls = [c for c in inference.calls if c.scope == scope]
        first = calls[0]
        out.append(
            Violation(
                "MG413",
                join_key(key.path, "permissions"),
                f"{key.shown} lacks '{scope}', needed by {first.method} at {first.path}:{first.line}"
                f"{f' and {len(calls) - 1} more calls' if len(calls) > 1 else ''}; the call will fail with 403",
                f"{key.label}:needs:{scope}",
                key=key.name,
                scope=scope,
            )
        )
    return out
