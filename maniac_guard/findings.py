"""The finding model shared by every detector and reporter.

The full secret never leaves the process: a `Secret` prints masked, and
reporters only ever see `Finding.masked` and `Finding.fingerprint`.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from dataclasses import dataclass, field
from typing import Any

KEY_PREFIX = "mk-"


class Severity(enum.IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (one of: {names})") from None

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def sarif_level(self) -> str:
        if self >= Severity.HIGH:
            return "error"
        if self == Severity.MEDIUM:
            return "warning"
        return "note"

    @property
    def security_severity(self) -> str:
        # GitHub code scanning maps these CVSS-like scores back to severities.
        return {4: "9.5", 3: "8.0", 2: "5.5", 1: "3.0", 0: "0.0"}[int(self)]


def mask(secret: str) -> str:
    """`mk-` plus at most four leading and two trailing body characters."""
    if secret.startswith(KEY_PREFIX):
        prefix, body = KEY_PREFIX, secret[len(KEY_PREFIX) :]
    else:
        prefix, body = "", secret
    if len(body) >= 12:
        return f"{prefix}{body[:4]}…{body[-2:]}"
    if len(body) >= 6:
        return f"{prefix}{body[:2]}…"
    return f"{prefix}…"


# Masking is wider than detection: any `mk-` run of 6+ letters and digits,
# whatever precedes it, each stopping where the next `mk-` starts (so keys
# pasted back to back are each masked).
_MASK_RE = re.compile(r"mk(?:-|%2[dD])((?:(?!mk(?:-|%2[dD]))[A-Za-z0-9_-]){6,})")


def mask_keys_in_text(text: str) -> str:
    if "mk" not in text:
        return text
    return _MASK_RE.sub(lambda m: mask("mk-" + m.group(1)), text)


def digest(text: str) -> str:
    import hashlib  # here, not at start-up: OpenSSL's loading costs a hook ~4 ms

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Secret:
    """A secret value that refuses to print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value: only for verification and the env-file writer."""
        return self._value

    @property
    def masked(self) -> str:
        return mask(self._value)

    @property
    def digest(self) -> str:
        return digest(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        # Findings cross process boundaries when a scan runs on several cores.
        return (Secret, (self._value,))


@dataclass(frozen=True)
class Location:
    path: str  # relative, POSIX
    line: int  # 1-based
    column: int  # 1-based
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Verification:
    state: str  # live | revoked | unknown
    status: int | None
    reason: str


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: Severity
    message: str
    location: Location
    # What makes this finding this finding: a secret, or for findings without
    # one (a committed config file, a permission) a stable description.
    secret: Secret | None = None
    subject: str = ""
    snippet: str = ""  # the source line, with any secret masked
    commit: str | None = None
    author: str | None = None
    date: str | None = None
    verification: Verification | None = None
    fixable: str | None = None  # "safe" | "unsafe" | None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # How the value got from where it is written to where it is used: steps
    # of (path, line, column, label), the first at the finding, the last at
    # the sink (Python value flow; empty when both are one line).
    flow: tuple[tuple[str, int, int, str], ...] = field(default=(), compare=False, hash=False)

    def __post_init__(self) -> None:
        # The last line of defence: whatever a detector quoted, no text a
        # reporter can print holds a key (a YAML error naming a field, say).
        for name in ("message", "snippet", "subject"):
            text = getattr(self, name)
            if "mk" in text:
                object.__setattr__(self, name, mask_keys_in_text(text))
        if self.extra:
            object.__setattr__(self, "extra", _masked(self.extra))
        if self.flow:
            object.__setattr__(self, "flow", _masked(self.flow))

    @property
    def path(self) -> str:
        return self.location.path

    @property
    def line(self) -> int:
        return self.location.line

    @property
    def masked(self) -> str:
        return self.secret.masked if self.secret is not None else ""

    @property
    def fingerprint(self) -> str:
        """Stable when lines move: rule id, path and a hash of the secret."""
        what = self.secret.digest if self.secret is not None else digest(self.subject)
        raw = f"{self.rule_id}\0{self.location.path}\0{what}"
        return digest(raw)[:32]

    def replace(self, **changes: Any) -> Finding:
        return dataclasses.replace(self, **changes)


def _masked(value: Any) -> Any:
    """`extra` with every string masked, however deeply it is nested."""
    if isinstance(value, str):
        return mask_keys_in_text(value)
    if isinstance(value, dict):
        return {_masked(k): _masked(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_masked(v) for v in value)
    return value


def sort_key(finding: Finding) -> tuple[str, int, int, str]:
    loc = finding.location
    return (loc.path, loc.line, loc.column, finding.rule_id)
