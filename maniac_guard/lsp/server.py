"""The language server: pygls wiring, debouncing and scanning off the loop.

Each document is analysed alone (`analysis.scan_document`) on one worker
thread, so the message loop keeps answering while a file is scanned, and a
result for a text the user has typed past is dropped. A changed document
waits DEBOUNCE seconds of quiet; open and save are analysed at once. A save
of a file that steers the scan (config, ignore file, baseline, .gitignore)
analyses every open document again.

A Python document's analysis follows its imports into the files on disk, as
`scan` does; a finding `scan` places in another file (the literal an import
brought in) is published on that file, and a save of that file analyses the
documents that placed it again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidRequest
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import from_fs_path

from maniac_guard import __version__
from maniac_guard.findings import Finding, mask_keys_in_text
from maniac_guard.lsp.analysis import DocumentScan, encode_document, reported_path, scan_document
from maniac_guard.lsp.protocol import (
    CONFIG_FILE_RULES,
    Document,
    contains,
    diagnostic,
    edit_document,
    finding_range,
    fix_title,
    gitignore_action,
    hover_markdown,
    ignore_edit,
    overlaps,
    text_edits,
)
from maniac_guard.records import dataclass

DEBOUNCE = 0.15  # seconds of quiet after a keystroke before the file is analysed
# Saving one of these can change what every open file reports.
STEERING_NAMES = frozenset({"pyproject.toml", ".maniac-guard.toml", ".maniac-guard-ignore", ".gitignore"})

T = TypeVar("T")
logger = logging.getLogger("maniac_guard.lsp")


@dataclass
class _Answered:
    """A request pygls could not read, already answered with an error."""

    jsonrpc: str = "answered"


class GuardedProtocol(LanguageServerProtocol):
    """A request whose params do not fit its method gets an error response
    (pygls would only log it, and the client would wait for ever)."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data.get("id"), (int, str)) and "method" in data:
                error = exc if not isinstance(exc, JsonRpcInternalError) else JsonRpcInvalidRequest()
                self._send_response(data["id"], error=error.to_response_error())
                return _Answered()
            raise

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Answered):
            return
        super().handle_message(message)


class GuardServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "maniac-guard",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=GuardedProtocol,
        )
        self.scanner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="maniac-guard-scan")
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.results: dict[str, tuple[int | None, str, DocumentScan]] = {}  # uri -> (version, text, scan)
        self.said: set[str] = set()  # error lines already shown
        # What each document's analysis placed in other files (uri -> target uri -> diagnostics),
        # and each document's own diagnostics: a file's list is the union of both.
        self.elsewhere: dict[str, dict[str, list[types.Diagnostic]]] = {}
        self.own: dict[str, list[types.Diagnostic]] = {}

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A message that cannot be read (not JSON, not UTF-8) or a handler's
        failure: said to the user, and the server goes on."""
        reason = mask_keys_in_text(f"{type(error).__name__}: {error}".splitlines()[0])
        self.show(types.MessageType.Error, f"maniac-guard: could not handle a message ({reason})")

    def show(self, kind: types.MessageType, text: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=text))
        self.window_log_message(types.LogMessageParams(type=kind, message=text))

    async def off_loop(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.scanner, function, *args)

    def document(self, uri: str) -> Document | None:
        doc = self.workspace.get_text_document(uri)
        if doc.path is None or not uri.startswith("file:"):
            return None  # an unsaved buffer has no place in the tree, so no config
        return Document(uri, doc.path, doc.source, doc.version, self.workspace.position_codec)

    # -- analysis ---------------------------------------------------------

    def schedule(self, uri: str, delay: float) -> None:
        old = self.pending.pop(uri, None)
        if old is not None:
            old.cancel()
        self.pending[uri] = asyncio.ensure_future(self._analyse_later(uri, delay))

    async def _analyse_later(self, uri: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        await self.analyse(uri)

    async def analyse(self, uri: str) -> DocumentScan | None:
        doc = self.document(uri)
        if doc is None:
            return None
        data, note = encode_document(doc.text)
        try:
            scan = await self.off_loop(scan_document, doc.path, data)
        except Exception as exc:  # one file's bug must not stop the server
            logger.debug("analysis failed", exc_info=True)
            self.show(types.MessageType.Error, f"maniac-guard: internal error on {doc.path}: {type(exc).__name__}")
            return None
        current = self.workspace.text_documents.get(uri)
        if current is None or current.version != doc.version:
            return None  # closed, or typed past: a newer analysis is on its way
        self.results[uri] = (doc.version, doc.text, scan)
        if note is not None:
            scan.notes.insert(0, f"{doc.path}: {note}")
            self._say_once(types.MessageType.Warning, f"maniac-guard: {doc.path}: {note}")
        if scan.error is not None:
            self._say_once(types.MessageType.Error, f"maniac-guard: {scan.error}")
        for line in scan.notes:
            self.window_log_message(types.LogMessageParams(type=types.MessageType.Info, message=line))
        self.own[uri] = [diagnostic(f, doc) for f in scan.findings]
        self.place_elsewhere(uri, {path: self._diagnostics_in(path, found) for path, found in scan.elsewhere.items()})
        self.publish(uri, doc.version)
        return scan

    def _diagnostics_in(self, path: str, findings: list[Finding]) -> tuple[str, list[types.Diagnostic]]:
        """Diagnostics in another file: against its open text, else the disk's."""
        uri = from_fs_path(path) or path
        open_doc = self.workspace.text_documents.get(uri)
        if open_doc is not None:
            text = open_doc.source
        else:
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
            except OSError:
                text = ""
        doc = Document(uri, path, text, None, self.workspace.position_codec)
        return uri, [diagnostic(f, doc) for f in findings]

    def place_elsewhere(self, uri: str, placed: dict[str, tuple[str, list[types.Diagnostic]]]) -> None:
        """Replace what `uri`'s analysis shows in other files, and publish those files again."""
        old = self.elsewhere.pop(uri, {})
        new = dict(placed.values())
        if new:
            self.elsewhere[uri] = new
        for target in dict.fromkeys([*old, *new]):
            if target != uri:
                self.publish(target, None)

    def publish(self, uri: str, version: int | None) -> None:
        shown = list(self.own.get(uri, []))
        for source, placed in self.elsewhere.items():
            if source != uri:
                shown += placed.get(uri, [])
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, version=version, diagnostics=shown)
        )

    def _say_once(self, kind: types.MessageType, text: str) -> None:
        if text not in self.said:
            self.said.add(text)
            self.show(kind, text)

    async def current(self, uri: str) -> tuple[Document, DocumentScan] | None:
        """The findings of the document's text as it is now."""
        doc = self.document(uri)
        if doc is None:
            return None
        kept = self.results.get(uri)
        if kept is not None and kept[0] == doc.version and kept[1] == doc.text:
            return doc, kept[2]
        data, _ = encode_document(doc.text)
        return doc, await self.off_loop(scan_document, doc.path, data)

    async def findings_at(
        self, uri: str, hit: Callable[[types.Range], bool]
    ) -> tuple[Document, DocumentScan, list[Finding]] | None:
        """The document's current findings whose range `hit` accepts (hover, code
        actions); None when there are none."""
        found = await self.current(uri)
        if found is None:
            return None
        doc, scan = found
        here = [f for f in scan.findings if hit(finding_range(f, doc))]
        return (doc, scan, here) if here else None

    def reanalyse_all(self) -> None:
        self.said.clear()
        for uri in list(self.workspace.text_documents):
            self.schedule(uri, 0)


server = GuardServer()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: GuardServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: GuardServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, DEBOUNCE)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
def did_save(ls: GuardServer, params: types.DidSaveTextDocumentParams) -> None:
    uri = params.text_document.uri
    if os.path.basename(uri).lower() in STEERING_NAMES or uri.endswith("baseline.json"):
        ls.reanalyse_all()
    else:
        ls.schedule(uri, 0)
        # Documents whose findings sit in this file (a literal they import) read it again.
        for source, placed in list(ls.elsewhere.items()):
            if uri in placed and source != uri:
                ls.schedule(source, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: GuardServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    task = ls.pending.pop(uri, None)
    if task is not None:
        task.cancel()
    ls.results.pop(uri, None)
    ls.own.pop(uri, None)
    ls.place_elsewhere(uri, {})
    ls.publish(uri, None)  # what other open documents place in it stays


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: GuardServer, params: types.DidChangeWatchedFilesParams) -> None:
    ls.reanalyse_all()


@server.feature(types.TEXT_DOCUMENT_HOVER)
async def hover(ls: GuardServer, params: types.HoverParams) -> types.Hover | None:
    found = await ls.findings_at(params.text_document.uri, lambda at: contains(at, params.position))
    if found is None:
        return None
    doc, _, here = found
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=hover_markdown(here)),
        range=finding_range(here[0], doc),
    )


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix])
)
async def code_action(ls: GuardServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
    found = await ls.findings_at(params.text_document.uri, lambda at: overlaps(at, params.range))
    if found is None:
        return None
    return await ls.off_loop(build_actions, *found)


def build_actions(doc: Document, scan: DocumentScan, here: list[Finding]) -> list[types.CodeAction]:
    """The fixes first (safe, preferred; then unsafe, labelled), then ignores."""
    actions: list[types.CodeAction] = []
    env_var = scan.settings.env_var if scan.settings is not None else "MANIAC_API_KEY"
    fixed: set[tuple[str, bool]] = set()
    for finding in here:
        unsafe = finding.fixable == "unsafe"
        if finding.fixable not in ("safe", "unsafe") or (finding.rule_id, unsafe) in fixed:
            continue
        fixed.add((finding.rule_id, unsafe))
        new_text = fixed_text(doc, scan, finding.rule_id, unsafe)
        if new_text is None:
            continue
        count = sum(1 for f in scan.findings if f.rule_id == finding.rule_id)
        actions.append(
            types.CodeAction(
                title=fix_title(finding, env_var, count, unsafe),
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diagnostic(finding, doc)],
                is_preferred=not unsafe,
                edit=edit_document(doc, text_edits(doc, new_text)),
            )
        )
    for finding in here:
        edit = ignore_edit(doc, finding)
        if edit is not None:
            actions.append(
                types.CodeAction(
                    title=f"Ignore {finding.rule_id} on this line (maniac-guard: ignore[{finding.rule_id}])",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic(finding, doc)],
                    edit=edit_document(doc, [edit]),
                )
            )
        if finding.rule_id in CONFIG_FILE_RULES:
            action = gitignore_action(doc, finding, from_fs_path)
            if action is not None:
                actions.append(action)
    return actions


def fixed_text(doc: Document, scan: DocumentScan, rule_id: str, unsafe: bool) -> str | None:
    """The document with this rule's fixes applied (maniac_guard.fix, libcst), or None."""
    from maniac_guard.fix import fix_bytes, is_fixable_path
    from maniac_guard.fix.codemod import FixOptions

    if not is_fixable_path(doc.path):
        return None
    settings = scan.settings
    options = FixOptions(
        env_var=settings.env_var if settings else "MANIAC_API_KEY",
        unsafe=unsafe,
        select=(rule_id,),
        ignore=tuple(settings.ignore) if settings else (),
    )
    data, note = encode_document(doc.text)
    if note is not None:
        return None  # never rewrite text we could not read exactly
    result = fix_bytes(reported_path(doc.path), data, options)
    if result.new is None:
        return None
    return result.new.decode("utf-8")


class _MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_keys_in_text(super().format(record))


def run() -> None:
    """Serve on stdin/stdout until the client says exit. Logs (pygls's
    included) go to stderr, keys masked; stdout is the protocol's."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_MaskingFormatter("maniac-guard lsp: %(levelname)s: %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    try:
        server.start_io()
    finally:
        server.scanner.shutdown(wait=False, cancel_futures=True)
