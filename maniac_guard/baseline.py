"""Baselines: findings accepted today, so a scan reports only new ones.

The file holds, per finding, its fingerprint, rule id, path, severity and
masked key: never a secret and never a line number (lines move; the
fingerprint does not). Paths and fingerprints are taken relative to the git
work tree holding the baseline (else its folder), so the file works from any
folder of the repository.
Entries are sorted and the JSON is written the same way every time, so
recreating an unchanged baseline gives the same bytes.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

from maniac_guard.config import ConfigError, Settings
from maniac_guard.findings import Finding, mask_real_keys
from maniac_guard.ignorefile import FINGERPRINT_RE, anchor_dir, anchored, finding_keys, shown_path
from maniac_guard.records import dataclass
from maniac_guard.summary import BaselineSummary, ScanResult
from maniac_guard.writer import read_user_text

BASELINE_FILE = ".maniac-guard-baseline.json"
FORMAT_VERSION = 1
DESCRIPTION = (
    "maniac-guard baseline: findings accepted when it was made. `maniac-guard scan --baseline FILE` "
    "reports only findings not listed here; `maniac-guard baseline update` removes entries that no "
    "longer match. Holds fingerprints and masked keys only, never a secret."
)


@dataclass(frozen=True, order=True)
class Entry:
    path: str
    rule_id: str
    fingerprint: str
    severity: str
    masked_secret: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "fingerprint": self.fingerprint,
            "rule_id": self.rule_id,
            "path": self.path,
            "severity": self.severity,
        }
        if self.masked_secret:
            data["masked_secret"] = self.masked_secret
        return data


@dataclass
class Baseline:
    path: str
    entries: list[Entry]

    @functools.cached_property
    def folder(self) -> str:
        return anchor_dir(self.path)

    @functools.cached_property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(e.fingerprint for e in self.entries)

    def matches(self, finding: Finding) -> bool:
        return not finding_keys(finding, self.folder).isdisjoint(self.fingerprints)


def entry_for(finding: Finding, folder: str) -> Entry:
    seen = anchored(finding, folder)
    return Entry(
        path=mask_real_keys(seen.path),  # a file named after a key (MG105)
        rule_id=finding.rule_id,
        fingerprint=seen.fingerprint,
        severity=finding.severity.label,
        masked_secret=finding.masked or None,
    )


def entries_for(findings: Iterable[Finding], folder: str) -> list[Entry]:
    unique = {e.fingerprint: e for e in (entry_for(f, folder) for f in findings)}
    return sorted(unique.values())


def dump(entries: Sequence[Entry]) -> str:
    document = {
        "version": FORMAT_VERSION,
        "tool": "maniac-guard",
        "description": DESCRIPTION,
        "findings": [e.as_dict() for e in sorted(set(entries))],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write(path: str, entries: Sequence[Entry]) -> None:
    from maniac_guard.writer import WriteError, write_text_atomic

    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        write_text_atomic(path, dump(entries))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write: {exc.strerror}") from None
    except WriteError as exc:
        raise ConfigError(str(exc)) from None


def _entry(item: Any, where: str) -> Entry:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: each entry must be an object")
    fingerprint = item.get("fingerprint")
    if not isinstance(fingerprint, str) or not FINGERPRINT_RE.fullmatch(fingerprint):
        raise ConfigError(f"{where}: 'fingerprint' must be 32 lowercase hex characters")
    fields = {}
    for name in ("rule_id", "path", "severity", "masked_secret"):
        value = item.get(name)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: '{name}' must be a string")
        fields[name] = value or ""
    return Entry(
        path=fields["path"],
        rule_id=fields["rule_id"],
        fingerprint=fingerprint,
        severity=fields["severity"],
        masked_secret=fields["masked_secret"] or None,
    )


def load(path: str) -> Baseline:
    try:
        text = read_user_text(path)
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: baseline not found (create it with `maniac-guard baseline create -o {path}`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read baseline: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except RecursionError:  # a hostile file nested 100,000 deep
        raise ConfigError(f"{path}: not a maniac-guard baseline (nested too deeply)") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise ConfigError(f"{path}: not a maniac-guard baseline (no 'findings' list)")
    if data.get("version") != FORMAT_VERSION:
        raise ConfigError(f"{path}: unsupported baseline version {data.get('version')!r} (expected {FORMAT_VERSION})")
    entries = [_entry(item, f"{path}: findings[{i}]") for i, item in enumerate(data["findings"])]
    return Baseline(path, entries)


def configured(settings: Settings) -> str | None:
    """The baseline in use: `--baseline` arrives absolute, config values are relative to the config file."""
    if not settings.baseline:
        return None
    return os.path.normpath(os.path.join(settings.config_dir, settings.baseline))


def in_scope(entry: Entry, folder: str, paths: Sequence[str]) -> bool:
    """Whether a scan of `paths` could have seen this entry's file (for a
    member of an archive, `a.whl!/x.env`: the archive)."""
    from maniac_guard.sources.archives import SEPARATOR, archive_member_path

    path = entry.path.partition(SEPARATOR)[0] if archive_member_path(entry.path, folder) else entry.path
    target = os.path.normpath(os.path.join(folder, path))
    for path in paths or ["."]:
        root = os.path.abspath(path)
        if target == root or target.startswith(root.rstrip(os.sep) + os.sep):
            return True
    return False


def stale_entries(
    baseline: Baseline, findings: Sequence[Finding], paths: Sequence[str], settings: Settings
) -> list[Entry]:
    """Entries that a scan of `paths` with these rules should have matched, but did not."""
    from maniac_guard.selection import rule_matches

    seen: set[str] = set()
    for finding in findings:
        seen |= finding_keys(finding, baseline.folder)
    stale = []
    for entry in baseline.entries:
        if entry.fingerprint in seen or not in_scope(entry, baseline.folder, paths):
            continue
        if settings.select and not rule_matches(entry.rule_id, settings.select):
            continue
        if settings.ignore and rule_matches(entry.rule_id, settings.ignore):
            continue
        stale.append(entry)
    return stale


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def entries_text(count: int) -> str:
    return f"{count} baseline {'entry' if count == 1 else 'entries'}"


def apply_baseline(result: ScanResult, settings: Settings, paths: Sequence[str], *, disk_scan: bool) -> None:
    """Drop findings the baseline accepts; count them (and stale entries) for the summary."""
    path = configured(settings)
    if path is None:
        result.stages.baseline = BaselineSummary(None)
        return
    baseline = load(path)
    kept = [f for f in result.findings if not baseline.matches(f)]
    baselined = len(result.findings) - len(kept)
    lines = result.notes
    stale: int | None = None
    if baselined:
        lines.append(f"{plural(baselined, 'finding')} in the baseline {shown_path(path)} not shown.")
    # Only a scan of files on disk can tell that a baselined key is gone.
    if disk_scan:
        stale = len(stale_entries(baseline, result.findings, paths, settings))
        if stale:
            lines.append(
                f"{entries_text(stale)} no longer {'matches' if stale == 1 else 'match'} a finding; "
                "`maniac-guard baseline update` removes stale entries."
            )
    result.stages.baseline = BaselineSummary(shown_path(path), baselined, stale)
    result.findings = kept
