"""A key in a file or folder name (MG105): `mk-<key>.json`, `keys/mk-<key>/…`.

Judged on the path as shown, whatever the file holds, with the key
patterns' own test of what a key is (so `mk-build-deps.sh` stays silent).
Every path printed anywhere is masked (reports, notes, the baseline), so
the finding names the file as `mk-AbC1…9z.json`.
"""

from __future__ import annotations

from collections.abc import Iterator

from maniac_guard.findings import Finding, Location, Secret, mask
from maniac_guard.sources import SourceFile

RULE_IDS = frozenset({"MG105"})


def _keys_in(path: str) -> list[tuple[str, str, bool]]:
    """(key, as written, in the last part: a file name) for each key in `path`."""
    from maniac_guard.detectors.keys import _real_keys

    raw = path.encode("utf-8", "surrogateescape")
    last = raw.rfind(b"/") + 1
    return [
        (key, raw[start:end].decode("utf-8", "surrogateescape"), start >= last) for start, end, key in _real_keys(raw)
    ]


def wants(source: SourceFile) -> bool:
    return "mk" in source.path


def path_findings(
    path: str, commit: str | None = None, author: str | None = None, date: str | None = None
) -> Iterator[Finding]:
    """One finding per key in the path (the file need not be readable: a
    binary or too large file is named after a key too)."""
    from maniac_guard.catalog import get_rule

    rule = get_rule("MG105")
    for key, written, file_name in dict.fromkeys(_keys_in(path)):
        where = "file name" if file_name else "folder name"
        yield Finding(
            rule_id="MG105",
            severity=rule.severity,
            message=f"Maniac API key {mask(key)} in a {where}",
            location=Location(path, 1, 1, 1, 1),
            secret=Secret(key, (written,)),
            snippet=path,  # masked by the Finding itself
            commit=commit,
            author=author,
            date=date,
        )


def detect(source: SourceFile) -> Iterator[Finding]:
    # In history, every commit that touches the file reports it; the history
    # scan keeps one finding per fingerprint (the first commit's).
    yield from path_findings(source.path, source.commit, source.author, source.date)
