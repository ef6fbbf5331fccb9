"""What a scan produced: findings, counts and what each stage did.

Stages (ignore file, baseline, verification, fixes, history, policy) record
what they did in typed fields of `StageSummary`; reporters read them. The JSON
report's `summary` object is `StageSummary.to_json()`, so its keys stay those
documented in docs/formats.md.
"""

from __future__ import annotations

from collections import Counter

from maniac_guard.findings import Finding
from maniac_guard.records import NamedTuple, dataclass, field

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from typing import Any


# The stages' records are NamedTuples: as immutable as frozen dataclasses,
# and a quarter of the cost to create at every start (~0.4 ms each).
class BaselineSummary(NamedTuple):
    file: str | None  # as shown to the user; None: no baseline in use
    baselined: int = 0
    stale: int | None = None  # only a scan of files on disk can tell


class IgnoreSummary(NamedTuple):
    file: str | None
    ignored: int = 0


class FixSummary(NamedTuple):
    fixed: int
    files: tuple[str, ...]

    @property
    def rotate(self) -> bool:
        return bool(self.files)


class HistorySummary(NamedTuple):
    commits: int
    scope: str
    shallow: bool
    timed_out: bool = False  # a time budget (pre-receive) stopped the scan early


@dataclass
class StageSummary:
    ignore: IgnoreSummary | None = None
    baseline: BaselineSummary | None = None
    verification: dict[str, object] | None = None
    fixes: FixSummary | None = None
    history: HistorySummary | None = None
    inferred: dict[str, Any] | None = None  # policy --infer --format json
    waived: int | None = None
    # What a git source was asked to scan but could not read (a missing LFS
    # object): one line each; the run ends with exit 2, never clean.
    incomplete: list[str] | None = None
    # Findings that `maniac-guard: ignore` comments the change adds hide
    # (`ci`): listed, not counted as findings (None: not looked for).
    suppressed: list[Finding] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.ignore is not None:
            out["ignored"] = self.ignore.ignored
            out["ignore_file"] = self.ignore.file
        if self.baseline is not None:
            out["baseline"] = self.baseline.file
            out["baselined"] = self.baseline.baselined
            if self.baseline.stale is not None:
                out["baseline_stale"] = self.baseline.stale
        if self.verification is not None:
            out["verification"] = self.verification
        if self.fixes is not None:
            out["fixes"] = {"fixed": self.fixes.fixed, "files": list(self.fixes.files), "rotate": self.fixes.rotate}
        if self.history is not None:
            h = self.history
            out["history"] = {"commits": h.commits, "scope": h.scope, "shallow": h.shallow}
            if h.timed_out:
                out["history"]["timed_out"] = True
        if self.inferred is not None:
            out["inferred"] = self.inferred
        if self.waived is not None:
            out["waived"] = self.waived
        if self.incomplete is not None:
            out["incomplete"] = self.incomplete
        if self.suppressed is not None:
            out["suppressions_added"] = [
                {"rule_id": f.rule_id, "path": f.path, "line": f.line, "commit": f.commit, "fingerprint": f.fingerprint}
                for f in self.suppressed
            ]
        return out


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # one line each, for stderr
    files_scanned: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # files not scanned, by reason
    elapsed: float = 0.0
    missing_paths: list[str] = field(default_factory=list)
    # Lines the stages add under the findings (text, github and junit reports).
    notes: list[str] = field(default_factory=list)
    stages: StageSummary = field(default_factory=StageSummary)
    # Findings an inline `maniac-guard: ignore` comment dropped (counted in the summary).
    suppressed: list[Finding] = field(default_factory=list)

    def merge(self, other: ScanResult) -> None:
        self.findings.extend(other.findings)
        self.suppressed.extend(other.suppressed)
        self.messages.extend(other.messages)
        self.files_scanned += other.files_scanned
        self.skipped.update(other.skipped)
        if other.stages.incomplete:  # what a worker or a path group could not scan
            self.stages.incomplete = (self.stages.incomplete or []) + other.stages.incomplete
