"""The finding model shared by every detector and reporter.

The full secret never leaves the process: a `Secret` prints masked, and
reporters only ever see `Finding.masked` and `Finding.fingerprint`.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable

from maniac_guard import records
from maniac_guard.records import dataclass, field

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from typing import Any

    from maniac_guard.verification import Verification  # built by --verify only

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
@functools.lru_cache(maxsize=1)
def _mask_re() -> re.Pattern[str]:
    """Compiled when a first text holds `mk`: a clean commit's run never does."""
    return re.compile(r"mk(?:-|%2[dD])((?:(?!mk(?:-|%2[dD]))[A-Za-z0-9_-]){6,})")


def mask_keys_in_text(text: str) -> str:
    if "mk" not in text:
        return text
    return _mask_re().sub(lambda m: mask("mk-" + m.group(1)), text)


def _real(body: str) -> bool:
    """What MG101 would call a key (keyshape): the body, or its first part
    when the rest is a suffix (`mk-<key>-prod`)."""
    from maniac_guard.keyshape import placeholder_reason

    head = re.split(r"[-_]", body, maxsplit=1)[0]
    return len(body) >= 16 and (
        placeholder_reason(body) is None or (len(head) >= 16 and placeholder_reason(head) is None)
    )


def mask_real_keys(text: str) -> str:
    """Mask every real-looking key, leave placeholders as written: for whole
    outputs and paths (a file named `mk-<key>.json` prints as
    `mk-AbC1…9z.json`), where `mk-scripts/` or a rule's documented example
    `mk-1234567890abcdef` must stay readable."""
    if "mk" not in text:
        return text
    return _mask_re().sub(lambda m: mask("mk-" + m.group(1)) if _real(m.group(1)) else m.group(), text)


def digest(text: str) -> str:
    from maniac_guard.cachefiles import sha256  # CPython's own: hashlib would load OpenSSL

    return str(sha256(text.encode("utf-8", "surrogatepass")).hexdigest())


class Secret:
    """A secret value that refuses to print itself.

    `forms` are the other texts that stand for it in the file: the literals
    a key was built from (`"mk-ab" + "cd…"`), its encoded form (base64, a
    percent-encoded key). `redact` masks all of them, wherever the key itself
    would be masked."""

    __slots__ = ("_forms", "_value", "_windows")

    def __init__(self, value: str, forms: Iterable[str] = ()) -> None:
        self._value = value
        self._windows: dict[str, int] | None = None
        # Longest first, so that a form holding a shorter one is masked whole.
        self._forms = tuple(sorted({f for f in forms if f and f != value}, key=lambda f: (-len(f), f)))

    def reveal(self) -> str:
        """The real value: only for verification and the env-file writer."""
        return self._value

    @property
    def masked(self) -> str:
        return mask(self._value)

    @property
    def digest(self) -> str:
        return digest(self._value)

    def windows(self) -> dict[str, int]:
        """Each PIECE_RUN-character window of the body -> where it starts (made once)."""
        if self._windows is None:
            body = self._value.removeprefix(KEY_PREFIX)
            self._windows = {body[i : i + PIECE_RUN]: i for i in range(len(body) - PIECE_RUN + 1)}
        return self._windows

    @property
    def has_forms(self) -> bool:
        return bool(self._forms)

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        # Findings cross process boundaries when a scan runs on several cores.
        return (Secret, (self._value, self._forms))


# A run of this many characters of a key's body is a piece of it wherever it
# appears, whatever surrounds it (the redaction audit's unit).
PIECE_RUN = 8
# Shorter forms are masked only as whole tokens: a 2-letter piece must not
# mask every 2-letter word of the line.
_SHORT_FORM = 4
_KEY_CHARS = "A-Za-z0-9_-"


def _mask_form(form: str) -> str:
    return f"{KEY_PREFIX}…" if form.startswith(KEY_PREFIX) else "…"


def _mask_runs(text: str, secret: Secret) -> str:
    """Every run of PIECE_RUN or more characters of the key's body in `text`, masked."""
    windows = secret.windows()
    if len(text) < PIECE_RUN or not any(window in text for window in windows):
        return text
    body = secret._value.removeprefix(KEY_PREFIX)
    while True:
        hits = [(at, i) for window, i in windows.items() if (at := text.find(window)) >= 0]
        if not hits:
            return text
        at, i = min(hits)
        start, end, first, last = at, at + PIECE_RUN, i, i + PIECE_RUN
        while start > 0 and first > 0 and text[start - 1] == body[first - 1]:
            start, first = start - 1, first - 1
        while end < len(text) and last < len(body) and text[end] == body[last]:
            end, last = end + 1, last + 1
        text = text[:start] + "…" + text[end:]


def redact(text: str, secrets: Iterable[Secret]) -> str:
    """The one masking function: each secret's value and forms, any `mk-`
    run (mask_keys_in_text), and any 8-character run of a known key's body."""
    secrets = tuple(secrets)
    for secret in secrets:
        value = secret._value
        if value and value in text:
            text = text.replace(value, mask(value))
        for form in secret._forms:
            if form not in text:
                continue
            if len(form) >= _SHORT_FORM:
                text = text.replace(form, _mask_form(form))
            else:
                token = re.compile(f"(?<![{_KEY_CHARS}]){re.escape(form)}(?![{_KEY_CHARS}])")
                text = token.sub(_mask_form(form), text)
    text = mask_keys_in_text(text)
    for secret in secrets:
        text = _mask_runs(text, secret)
    return text


@dataclass(frozen=True)
class Location:
    path: str  # relative, POSIX
    line: int  # 1-based
    column: int  # 1-based
    end_line: int
    end_column: int


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
        # A key built from pieces or encoded is masked in all its forms (Secret.hide).
        secrets = () if self.secret is None else (self.secret,)
        for name in ("message", "snippet", "subject"):
            text = getattr(self, name)
            if secrets or "mk" in text:
                object.__setattr__(self, name, redact(text, secrets))
        if self.extra:
            object.__setattr__(self, "extra", _masked(self.extra, secrets))
        if self.flow:
            object.__setattr__(self, "flow", _masked(self.flow, secrets))

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
        return records.replace(self, **changes)

    def hiding(self, secrets: Iterable[Secret]) -> Finding:
        """This finding with other findings' keys (and their pieces) masked in
        its snippet too: an MG101 on half of a key built from pieces must not
        print the other half, which only the MG203 finding knows."""
        others = tuple(s for s in secrets if s is not self.secret)
        snippet = redact(self.snippet, others) if others and self.snippet else self.snippet
        return self if snippet == self.snippet else records.replace(self, snippet=snippet)


def _masked(value: Any, secrets: tuple[Secret, ...] = ()) -> Any:
    """`extra` with every string masked, however deeply it is nested."""
    if isinstance(value, str):
        return redact(value, secrets) if secrets else mask_keys_in_text(value)
    if isinstance(value, dict):
        return {_masked(k, secrets): _masked(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_masked(v, secrets) for v in value)
    return value


def sort_key(finding: Finding) -> tuple[str, int, int, str]:
    loc = finding.location
    return (loc.path, loc.line, loc.column, finding.rule_id)
