"""`.maniac-guard-ignore`: accepted findings, one fingerprint per line, each
with a required reason.

    # comments and blank lines are allowed
    3f1c0e9a5b7d2c4e8f6a1b3c5d7e9f01  # test key from the vendor docs, revoked 2024-05

The fingerprint is the one `--format json` shows (32 hex characters). The
file is looked up in the config file's folder, then from the scanned path up
to the git root; `ignore-file` in config (or `--ignore-file`) names another.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable

from maniac_guard.config import ConfigError, Settings
from maniac_guard.findings import Finding, mask
from maniac_guard.records import NamedTuple, dataclass, replace
from maniac_guard.summary import IgnoreSummary, ScanResult
from maniac_guard.writer import read_user_text

IGNORE_FILE = ".maniac-guard-ignore"
FINGERPRINT_RE = re.compile(r"[0-9a-f]{32}")


class IgnoreEntry(NamedTuple):  # not a frozen dataclass: a quarter of the start-up cost
    fingerprint: str
    reason: str
    line: int


@dataclass
class IgnoreFile:
    path: str
    entries: dict[str, IgnoreEntry]

    @functools.cached_property
    def folder(self) -> str:
        return anchor_dir(self.path)

    def matches(self, finding: Finding) -> bool:
        return any(key in self.entries for key in finding_keys(finding, self.folder))


def anchor_dir(file_path: str) -> str:
    """What paths in a file of fingerprints are relative to: the git work tree
    holding it, else its own folder. So the file works from any folder."""
    folder = os.path.dirname(os.path.abspath(file_path))
    for candidate in _ancestors_to_git_root(folder):
        if os.path.exists(os.path.join(candidate, ".git")):
            return candidate
    return folder


def anchored_path(path: str, base_dir: str) -> str:
    """`path` (relative to the current folder) made relative to `base_dir`."""
    absolute = os.path.normpath(os.path.join(os.getcwd(), path))
    return os.path.relpath(absolute, base_dir).replace(os.sep, "/")


def anchored(finding: Finding, base_dir: str) -> Finding:
    path = anchored_path(finding.path, base_dir)
    if path == finding.path:
        return finding
    return finding.replace(location=replace(finding.location, path=path))


def finding_keys(finding: Finding, base_dir: str) -> set[str]:
    """The fingerprint as reported here, and as seen from the file's folder."""
    return {finding.fingerprint, anchored(finding, base_dir).fingerprint}


def _shown(token: str) -> str:
    # Someone may paste a key where a fingerprint belongs: never echo it whole.
    return mask(token) if token.startswith("mk-") or len(token) > 40 else token


def parse(text: str, path: str) -> IgnoreFile:
    entries: dict[str, IgnoreEntry] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head, sep, reason = line.partition("#")
        words = head.split()
        token = words[0] if words else ""
        if not FINGERPRINT_RE.fullmatch(token.lower()):
            raise ConfigError(
                f"{path}:{number}: '{_shown(token)}' is not a fingerprint "
                "(32 hex characters, as `--format json` shows them)"
            )
        if len(words) > 1:
            raise ConfigError(f"{path}:{number}: put the reason after '#': `<fingerprint>  # why it is accepted`")
        if not sep or not reason.strip():
            raise ConfigError(
                f"{path}:{number}: entry {token[:12]}… needs a reason: `<fingerprint>  # why it is accepted`"
            )
        fingerprint = token.lower()
        entries[fingerprint] = IgnoreEntry(fingerprint, reason.strip(), number)
    return IgnoreFile(path, entries)


def load(path: str) -> IgnoreFile:
    try:
        text = read_user_text(path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: ignore file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: ignore file is not UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse(text, path)


def _ancestors_to_git_root(start: str) -> Iterable[str]:
    here = os.path.abspath(start)
    if not os.path.isdir(here):
        here = os.path.dirname(here)
    while True:
        yield here
        parent = os.path.dirname(here)
        if parent == here or os.path.exists(os.path.join(here, ".git")):
            return
        here = parent


def configured_path(settings: Settings, value: str) -> str:
    """Config values are relative to the config file; CLI values arrive absolute."""
    return os.path.normpath(os.path.join(settings.config_dir, value))


def find(settings: Settings, paths: list[str]) -> str | None:
    if settings.ignore_file:
        return configured_path(settings, settings.ignore_file)
    folders = [settings.config_dir] if settings.config_path else []
    folders += _ancestors_to_git_root(paths[0] if paths else ".")
    for folder in folders:
        candidate = os.path.join(folder, IGNORE_FILE)
        if os.path.isfile(candidate):
            return candidate
    return None


def shown_path(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative


def apply_ignore_file(result: ScanResult, settings: Settings, paths: list[str]) -> None:
    """Drop accepted findings; count them for the summary."""
    path = find(settings, paths)
    ignored = 0
    if path is not None:
        accepted = load(path)
        kept = [f for f in result.findings if not accepted.matches(f)]
        ignored = len(result.findings) - len(kept)
        result.findings = kept
    result.stages.ignore = IgnoreSummary(shown_path(path) if path else None, ignored)
    if ignored:
        result.notes.append(f"{ignored} finding{'s' if ignored != 1 else ''} ignored by {shown_path(path or '')}.")
