"""What a history scan reports: one finding per leaked key (`dedupe`), the
first commit that added it, and whether HEAD still holds it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from maniac_guard.findings import Finding, sort_key
from maniac_guard.sources.git import HistoryState, encode_path, run_git
from maniac_guard.sources.gitmessages import is_message_path

if TYPE_CHECKING:
    from maniac_guard.sources.gitblobs import BlobReader

FEW_PATHS = 256  # paths whose HEAD blobs are asked of the open reader, not of `git ls-tree`


def follow_renames(path: str, renames: dict[str, str]) -> str:
    seen = {path}
    while path in renames and renames[path] not in seen:
        path = renames[path]
        seen.add(path)
    return path


def _presence(finding: Finding) -> str:
    """What "still at HEAD" is about: the key itself, whichever rule reports
    it there (a plain key that HEAD passes to the SDK is MG201 there, not
    MG101); a finding without a key, by its rule and subject."""
    if finding.secret is not None:
        return f"secret:{finding.secret.digest}"
    return f"{finding.rule_id}:{finding.subject}"


def _head_blobs(root: str, paths: Sequence[str], reader: BlobReader) -> dict[str, str]:
    """Blob id of each path at HEAD (paths of any bytes, newlines included):
    a few are asked of the open reader, more of `git ls-tree`."""
    if len(paths) <= FEW_PATHS and not any("\n" in path for path in paths):
        asked = zip(paths, reader.infos([f"HEAD:{path}" for path in paths]))
        return {path: info.oid for path, info in asked if info is not None and info.kind == "blob"}
    wanted = {encode_path(p): p for p in paths}
    found: dict[str, str] = {}
    names = sorted(wanted)
    for start in range(0, len(names), 500):  # keep each command line short
        chunk = [n.decode("utf-8", "surrogateescape") for n in names[start : start + 500]]
        out = run_git(["--literal-pathspecs", "ls-tree", "-r", "-z", "--full-tree", "HEAD", "--", *chunk], root)
        for entry in out.split(b"\0"):
            meta, _, path = entry.partition(b"\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == b"blob" and path in wanted:
                found[wanted[path]] = parts[2].decode("ascii")
    return found


def _present_at_head(
    root: str, paths: Sequence[str], max_size: int = 1 << 62, blobs: BlobReader | None = None
) -> dict[str, set[str]]:
    """For each path, what a scan of its HEAD version finds (`_presence`).
    `blobs`: the caller's reader of objects (else one of its own)."""
    from contextlib import nullcontext

    from maniac_guard.detectors import load_detectors
    from maniac_guard.engine import name_findings, scan_source
    from maniac_guard.sources.gitblobs import BlobReader
    from maniac_guard.sources.gitproject import CommitReader
    from maniac_guard.versions import whole_file_source

    with nullcontext(blobs) if blobs is not None else BlobReader(root) as reader:
        head_commit = reader.info("HEAD")
        if head_commit is None or head_commit.kind != "commit":
            return {}
        head = CommitReader(reader, head_commit.oid, max_size)  # imports as they are at HEAD
        detectors = load_detectors()
        found: dict[str, set[str]] = {}
        for path, oid in _head_blobs(root, paths, reader).items():
            data = reader.read(oid, max_size)[1]
            source = whole_file_source(path, data, head) if data is not None else None
            if source is not None:
                found[path] = {_presence(f) for f in scan_source(source, detectors)}
            elif data is not None:  # binary: only its name can hold a key (MG105)
                found[path] = {_presence(f) for f in name_findings(path, None)}
    return found


def dedupe(
    findings: Sequence[Finding],
    state: HistoryState,
    root: str,
    *,
    annotate_head: bool = True,
    blobs: BlobReader | None = None,
) -> list[Finding]:
    """One finding per fingerprint: the first commit's, annotated for HEAD
    (not on a server, whose HEAD says nothing about what is being pushed).
    `blobs`: the caller's reader of objects (else one of its own)."""
    never = len(state.order) + 1
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.fingerprint, []).append(finding)
    firsts = [
        (min(group, key=lambda f: (state.order.get(f.commit or "", never), f.line)), len({f.commit for f in group}))
        for group in groups.values()
    ]
    wanted = {
        p for f, _ in firsts if not is_message_path(f.path) for p in (f.path, follow_renames(f.path, state.renames))
    }
    at_head = _present_at_head(root, sorted(wanted), blobs=blobs) if annotate_head else {}
    out = []
    for first, commits in firsts:
        if not annotate_head:
            out.append(first)
            continue
        present_path = None
        for path in (first.path, follow_renames(first.path, state.renames)):
            if _presence(first) in at_head.get(path, set()):
                present_path = path
                break
        extra = {**first.extra, "present_at_head": present_path is not None, "commits": commits}
        if present_path is not None and present_path != first.path:
            extra["path_at_head"] = present_path
        if is_message_path(first.path):
            note = "in git metadata every clone has: rotate the key"
        elif present_path is None:
            note = "no longer at HEAD but still in the history: rotate the key"
        elif present_path != first.path:
            note = f"still at HEAD in {present_path}"
        else:
            note = "still at HEAD"
        message = f"{first.message} (first added in {(first.commit or '?')[:12]}; {note})"
        out.append(first.replace(extra=extra, message=message))
    out.sort(key=sort_key)
    return out
