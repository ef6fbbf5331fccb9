"""`scan --fix` / `--diff` after detection: fix the files that hold Python
findings, then report what was fixed and what remains."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from maniac_guard.fix.codemod import FixOptions
from maniac_guard.records import dataclass
from maniac_guard.summary import FixSummary

if TYPE_CHECKING:
    from maniac_guard.config import Settings
    from maniac_guard.findings import Finding
    from maniac_guard.fix import FixRun
    from maniac_guard.summary import ScanResult
    from maniac_guard.target import ScanTarget

ROTATE = "the exposed keys must still be rotated (they are in your history)"


@dataclass(frozen=True)
class FixRequest:
    diff: bool = False  # print a diff, write nothing
    unsafe: bool = False
    write_env: str | None = None


def fix_options(settings: Settings, fix: FixRequest) -> FixOptions:
    return FixOptions(
        env_var=settings.env_var,
        unsafe=fix.unsafe or bool(getattr(settings, "unsafe_fixes", False)),
        select=tuple(settings.select),
        ignore=tuple(settings.ignore),
    )


def candidate_files(result: ScanResult) -> list[tuple[str, str]]:
    """(path on disk, path as shown) of each file whose findings a fix may remove."""
    from maniac_guard.fix import is_fixable_path
    from maniac_guard.sources.archives import archive_member_path

    cwd = os.getcwd()
    seen: dict[str, str] = {}
    for finding in result.findings:
        if finding.commit is None and is_fixable_path(finding.path) and finding.path not in seen:
            if archive_member_path(finding.path, cwd):  # fix the source and rebuild, not the artifact
                continue
            seen[finding.path] = os.path.join(cwd, finding.path)
    return [(real, shown) for shown, real in seen.items()]


def rescan(run: FixRun, result: ScanResult, target: ScanTarget) -> int:
    """Replace the findings of the fixed files by those of their new text;
    returns how many findings went away."""
    from maniac_guard.detectors import load_detectors
    from maniac_guard.engine import scan_bytes
    from maniac_guard.findings import sort_key
    from maniac_guard.selection import select_findings

    changed = {f.path: f.new for f in run.changed}
    if not changed:
        return 0
    detectors = load_detectors()
    before = [f for f in result.findings if f.path in changed]
    after = []
    for path, data in changed.items():
        assert data is not None
        after += scan_bytes(path, data, detectors)
    after = _carry_verdicts(before, select_findings(after, target.settings), target.settings.only_live)
    kept = [f for f in result.findings if f.path not in changed]
    result.findings = sorted(kept + after, key=sort_key)
    remaining = {(f.rule_id, f.fingerprint) for f in after}
    return sum(1 for f in before if (f.rule_id, f.fingerprint) not in remaining)


def _carry_verdicts(before: list[Finding], after: list[Finding], only_live: bool) -> list[Finding]:
    """The fixed files' new findings keep the verdicts their keys got before
    the fix (no second request); with --only-live, what is not live stays out."""
    from maniac_guard.verify.classify import kept_by_only_live

    verdicts = {f.secret: f.verification for f in before if f.secret is not None and f.verification is not None}
    out = []
    for finding in after:
        verdict = verdicts.get(finding.secret) if finding.secret is not None else None
        if verdict is not None:
            finding = finding.replace(verification=verdict)
        if only_live and not kept_by_only_live(verdict, finding.secret is not None):
            continue
        out.append(finding)
    return out


def _distinct_secrets(run: FixRun) -> list[str]:
    out: list[str] = []
    for fix in run.changed:
        for secret in fix.secrets:
            if secret not in out:
                out.append(secret)
    return out


def apply_fixes(result: ScanResult, target: ScanTarget, fix: FixRequest) -> int | None:
    """Fix (or diff) after a scan. Returns the exit code for --diff (which
    prints only the diff), None when the scan's own report should follow."""
    from maniac_guard.fix import fix_files, render_diff

    options = fix_options(target.settings, fix)
    from maniac_guard.fix.ondisk import fix_roots

    run = fix_files(candidate_files(result), options, write=not fix.diff, roots=fix_roots(target.paths))
    from maniac_guard.findings import mask_real_keys

    for message in run.messages:
        print(f"maniac-guard: {mask_real_keys(message)}", file=sys.stderr)
    if fix.diff:
        from maniac_guard.config import ConfigError
        from maniac_guard.writer import WriteError, write_stdout

        try:
            write_stdout("".join(render_diff(f) for f in run.changed))
        except WriteError as exc:
            raise ConfigError(str(exc)) from None
        count, files = run.fixed_count, len(run.changed)
        if not target.quiet:
            print(
                f"maniac-guard: would fix {count} finding{'s' * (count != 1)} in {files} file{'s' * (files != 1)}",
                file=sys.stderr,
            )
        return 1 if run.changed else 0
    fixed = rescan(run, result, target)
    lines: list[str] = []
    if run.changed:
        lines.append(
            f"Fixed {fixed} finding{'s' * (fixed != 1)} in {len(run.changed)} file{'s' * (len(run.changed) != 1)}; {ROTATE}."
        )
        lines += [f"  fixed {f.path}" for f in run.changed]
    else:
        lines.append("No fixes applied.")
    unsafe_left = sum(1 for f in result.findings if f.fixable == "unsafe") if not options.unsafe else 0
    if unsafe_left:
        lines.append(f"{unsafe_left} more finding{'s' * (unsafe_left != 1)} can be fixed with --unsafe-fixes.")
    secrets = _distinct_secrets(run)
    if fix.write_env and secrets:
        lines += write_env_file(fix.write_env, options.env_var, secrets)
    result.notes.extend(lines)
    result.stages.fixes = FixSummary(fixed, tuple(f.path for f in run.changed))
    return None


def write_env_file(path: str, env_var: str, secrets: Sequence[str]) -> list[str]:
    from maniac_guard.findings import mask
    from maniac_guard.fix.envfile import EnvFileError, write_env

    try:
        notes = write_env(path, env_var, secrets[0])
    except (EnvFileError, OSError) as exc:
        print(f"maniac-guard: {exc}", file=sys.stderr)
        return []
    if len(secrets) > 1:
        others = ", ".join(mask(s) for s in secrets[1:])
        notes.append(
            f"{len(secrets)} different keys now read {env_var}; only {mask(secrets[0])} was written ({others} were not)"
        )
    return notes
