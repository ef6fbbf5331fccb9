"""`maniac-guard lsp` end to end: the installed console script as a language
server, driven over stdio by a real LSP client (pytest-lsp, on pygls).

Each test opens documents in a fresh folder, waits for what the server
publishes, applies the code actions it offers the way an editor does, and
checks the result with `maniac-guard scan` (the editor must never disagree
with it)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.gitrepo import git_env
from tests.helpers import console_script, fake_key, run_cli

pytestmark = pytest.mark.asyncio(loop_scope="function")

TIMEOUT = 60  # seconds for anything the server is asked; a hang fails, it does not block the suite


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[console_script(), "lsp", "--stdio"]))
async def client(lsp_client: LanguageClient, tmp_path: Path):  # type: ignore[no-untyped-def]
    params = types.InitializeParams(
        capabilities=types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(
                workspace_edit=types.WorkspaceEditClientCapabilities(
                    document_changes=True, resource_operations=[types.ResourceOperationKind.Create]
                )
            )
        ),
        root_uri=tmp_path.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=tmp_path.as_uri(), name="work")],
    )
    await lsp_client.initialize_session(params)
    yield
    try:
        await asyncio.wait_for(lsp_client.shutdown_session(), TIMEOUT)
    finally:
        # After a failure the client may not say exit: the server must not outlive the test.
        server = lsp_client._server
        if server is not None and server.returncode is None:
            server.kill()


# -- helpers ----------------------------------------------------------------


def sdk_code(key: str) -> str:
    return f'from maniac import Maniac\n\nclient = Maniac(api_key="{key}")\n'


async def open_doc(client: LanguageClient, path: Path, text: str, language: str = "python") -> str:
    """Open `path` holding `text` (also written to disk, as an editor's file is) and wait for its diagnostics."""
    path.write_text(text, encoding="utf-8")
    uri = path.as_uri()
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
        )
    )
    await published(client, uri)
    return uri


async def published(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    async def wait() -> list[types.Diagnostic]:
        while uri not in client.diagnostics:
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        return list(client.diagnostics[uri])

    return await asyncio.wait_for(wait(), TIMEOUT)


async def change(client: LanguageClient, uri: str, version: int, text: str) -> list[types.Diagnostic]:
    client.diagnostics.pop(uri, None)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    return await published(client, uri)


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """As an editor applies them (the tests' texts are ASCII: UTF-16 units are characters)."""
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)

    def offset(position: types.Position) -> int:
        if position.line >= len(lines):
            return len(text)
        return min(starts[position.line] + position.character, len(text))

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


def apply_workspace_edit(edit: types.WorkspaceEdit) -> dict[str, str]:
    """Write what the edit says to disk; the new text of each file."""
    from pygls.uris import to_fs_path

    written: dict[str, str] = {}
    for change_ in edit.document_changes or []:
        if isinstance(change_, types.CreateFile):
            path = Path(to_fs_path(change_.uri) or "")
            if not path.exists():
                path.write_text("", encoding="utf-8")
            continue
        assert isinstance(change_, types.TextDocumentEdit)
        path = Path(to_fs_path(change_.text_document.uri) or "")
        new = apply_edits(path.read_text(encoding="utf-8"), list(change_.edits))  # type: ignore[arg-type]
        path.write_text(new, encoding="utf-8")
        written[change_.text_document.uri] = new
    for uri, edits in (edit.changes or {}).items():
        path = Path(to_fs_path(uri) or "")
        new = apply_edits(path.read_text(encoding="utf-8"), list(edits))
        path.write_text(new, encoding="utf-8")
        written[uri] = new
    return written


async def actions_at(client: LanguageClient, uri: str, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
    result = await asyncio.wait_for(
        client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=diagnostic.range,
                context=types.CodeActionContext(diagnostics=[diagnostic]),
            )
        ),
        TIMEOUT,
    )
    return [a for a in result or [] if isinstance(a, types.CodeAction)]


def scan_json(*args: str, cwd: Path) -> tuple[int, list[dict[str, Any]]]:
    proc = run_cli("scan", "--format", "json", *args, cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)["findings"]


def where(diagnostics: list[types.Diagnostic]) -> set[tuple[str, int]]:
    return {(str(d.code), d.range.start.line + 1) for d in diagnostics}


# -- diagnostics --------------------------------------------------------------


async def test_open_shows_the_finding_masked_with_its_rule_doc(client: LanguageClient, tmp_path: Path) -> None:
    key = fake_key("lsp-open")
    uri = await open_doc(client, tmp_path / "app.py", sdk_code(key))
    [found] = await published(client, uri)
    assert found.code == "MG201"
    assert found.source == "maniac-guard"
    assert found.severity == types.DiagnosticSeverity.Error
    assert found.code_description is not None and found.code_description.href.endswith("/rules/MG201.yaml")
    # The key's literal, on line 3 (0-based 2).
    line = sdk_code(key).split("\n")[2]
    assert found.range.start.line == 2 and found.range.end.line == 2
    assert line[found.range.start.character : found.range.end.character].strip('"') == key
    assert key not in found.message and key[3:] not in json.dumps(found.data)
    assert key[:7] in found.message  # the masked form: mk-AbC1…9z


async def test_change_and_save_analyse_again(client: LanguageClient, tmp_path: Path) -> None:
    key = fake_key("lsp-change")
    path = tmp_path / "app.py"
    uri = await open_doc(client, path, "print('hello')\n")
    assert await published(client, uri) == []
    # A key typed in: reported once the typing stops.
    assert where(await change(client, uri, 2, sdk_code(key))) == {("MG201", 3)}
    # Taken out again: the diagnostic goes.
    assert await change(client, uri, 3, "from maniac import Maniac\n\nclient = Maniac()\n") == []
    # Saved: analysed at once, the editor's text (not the disk's) is what counts.
    client.diagnostics.pop(uri, None)
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    assert await published(client, uri) == []


async def test_a_literal_imported_from_another_module_is_shown_where_scan_reports_it(
    client: LanguageClient, tmp_path: Path
) -> None:
    key = fake_key("lsp-import")
    settings = tmp_path / "settings.py"
    settings.write_text(f'KEY = "{key}"\n', encoding="utf-8")
    app = "from maniac import Maniac\n\nfrom settings import KEY\n\nclient = Maniac(api_key=KEY)\n"
    (tmp_path / "app.py").write_text(app, encoding="utf-8")
    code, findings = scan_json("app.py", cwd=tmp_path)
    assert code == 1 and {(f["rule_id"], f["path"], f["line"]) for f in findings} == {("MG202", "settings.py", 1)}
    # Opening the module that passes it: the editor follows the import as `scan` does,
    # and shows the finding in settings.py (where scan puts it), not in app.py.
    uri = await open_doc(client, tmp_path / "app.py", app)
    assert await published(client, uri) == []
    [found] = await published(client, settings.as_uri())
    assert found.code == "MG202" and found.range.start.line == 0
    assert key not in found.message and "app.py:5" in found.message
    # The key replaced by the environment and saved: the finding goes from settings.py.
    settings.write_text('import os\n\nKEY = os.environ["MANIAC_API_KEY"]\n', encoding="utf-8")
    client.diagnostics.pop(settings.as_uri(), None)
    client.diagnostics.pop(uri, None)
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    assert await published(client, uri) == []
    assert await published(client, settings.as_uri()) == []
    assert scan_json("app.py", cwd=tmp_path) == (0, [])


async def test_every_file_type_the_scanner_reads(client: LanguageClient, tmp_path: Path) -> None:
    key = fake_key("lsp-types")
    env = await open_doc(client, tmp_path / "settings.js", f'const key = "{key}";\n', "javascript")
    assert where(await published(client, env)) == {("MG101", 1)}
    (tmp_path / ".maniac").mkdir()
    config = await open_doc(client, tmp_path / ".maniac" / "config.yaml", f"api_key: {key}\n", "yaml")
    assert "MG301" in {d.code for d in await published(client, config)}


async def test_the_workspace_configuration_decides_as_scan_does(client: LanguageClient, tmp_path: Path) -> None:
    """Config exclude and select, .maniac-guard-ignore, baseline and inline
    suppression: the editor shows exactly what `scan` reports."""
    keys = [fake_key(f"lsp-config-{n}") for n in range(5)]
    (tmp_path / "pyproject.toml").write_text('[tool.maniac-guard]\nexclude = ["vendored/**"]\nignore = ["MG208"]\n')
    (tmp_path / "vendored").mkdir()
    texts = {
        "app.py": sdk_code(keys[0]),
        "suppressed.py": f'KEY = "{keys[1]}"  # maniac-guard: ignore[MG101]\nOTHER = "{keys[2]}"\n',
        "vendored/lib.py": sdk_code(keys[3]),
        "accepted.env": f"TOKEN={keys[4]}\n",
    }
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    # The accepted finding goes in the ignore file by its fingerprint, as a user would put it.
    _, before = scan_json("accepted.env", cwd=tmp_path)
    (tmp_path / ".maniac-guard-ignore").write_text(f"{before[0]['fingerprint']}  # a revoked test key\n")
    _, findings = scan_json(".", cwd=tmp_path)
    expected: dict[str, set[tuple[str, int]]] = {name: set() for name in texts}
    for f in findings:
        expected[f["path"]].add((f["rule_id"], f["line"]))
    assert expected["app.py"] and expected["suppressed.py"] and not expected["vendored/lib.py"]
    for name, text in texts.items():
        uri = await open_doc(client, tmp_path / name, text, "plaintext")
        assert where(await published(client, uri)) == expected[name], name


async def test_a_broken_config_is_said_not_passed_silently(client: LanguageClient, tmp_path: Path) -> None:
    (tmp_path / ".maniac-guard.toml").write_text("select = [\n")
    uri = await open_doc(client, tmp_path / "app.py", sdk_code(fake_key("lsp-broken")))
    assert await published(client, uri) == []
    shown = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert any(".maniac-guard.toml" in m and "invalid TOML" in m for m in shown), shown


# -- code actions -------------------------------------------------------------


async def test_safe_fix_applied_rescans_clean(client: LanguageClient, tmp_path: Path) -> None:
    key = fake_key("lsp-fix")
    path = tmp_path / "app.py"
    uri = await open_doc(client, path, sdk_code(key))
    [found] = await published(client, uri)
    actions = await actions_at(client, uri, found)
    [fix] = [a for a in actions if a.title.startswith("Fix MG201")]
    assert fix.is_preferred and fix.kind == types.CodeActionKind.QuickFix
    assert "MANIAC_API_KEY" in fix.title and key not in fix.title
    assert fix.edit is not None
    new = apply_workspace_edit(fix.edit)[uri]
    assert 'os.getenv("MANIAC_API_KEY")' in new and "import os" in new and key not in new
    assert run_cli("scan", str(path), cwd=tmp_path).returncode == 0
    assert await change(client, uri, 2, new) == []


async def test_unsafe_fix_is_a_separate_labelled_action(client: LanguageClient, tmp_path: Path) -> None:
    key = fake_key("lsp-unsafe")
    path = tmp_path / "setup_env.py"
    uri = await open_doc(client, path, f'import os\n\nos.environ["MANIAC_API_KEY"] = "{key}"\n')
    [found] = await published(client, uri)
    assert found.code == "MG204"
    actions = await actions_at(client, uri, found)
    [unsafe] = [a for a in actions if "nsafe" in a.title]
    assert unsafe.title.startswith("Unsafe fix MG204") and "may change behaviour" in unsafe.title
    assert not unsafe.is_preferred
    assert not [a for a in actions if a.title.startswith("Fix ")]  # no safe fix pretends to exist
    assert unsafe.edit is not None
    new = apply_workspace_edit(unsafe.edit)[uri]
    assert key not in new
    assert run_cli("scan", str(path), cwd=tmp_path).returncode == 0
    assert await change(client, uri, 2, new) == []


@pytest.mark.parametrize(
    ("name", "line", "comment"),
    [
        ("config.py", "TOKEN = '{key}'", "  # maniac-guard: ignore[MG101]"),
        ("config.ts", "const token = '{key}';", "  // maniac-guard: ignore[MG101]"),
        ("notes.md", "token: {key}", "  <!-- maniac-guard: ignore[MG101] -->"),
    ],
)
async def test_ignore_on_this_line_in_the_files_language(
    client: LanguageClient, tmp_path: Path, name: str, line: str, comment: str
) -> None:
    key = fake_key(f"lsp-ignore-{name}")
    text = "first line\n" + line.format(key=key) + "\n"
    path = tmp_path / name
    uri = await open_doc(client, path, text, "plaintext")
    [found] = await published(client, uri)
    [ignore] = [a for a in await actions_at(client, uri, found) if a.title.startswith("Ignore MG101")]
    assert ignore.edit is not None
    new = apply_workspace_edit(ignore.edit)[uri]
    assert new == "first line\n" + line.format(key=key) + comment + "\n"
    assert run_cli("scan", str(path), cwd=tmp_path).returncode == 0
    assert await change(client, uri, 2, new) == []


async def test_ignore_adds_the_rule_to_an_existing_list(client: LanguageClient, tmp_path: Path) -> None:
    key = fake_key("lsp-ignore-list")
    text = f"KEY = '{key}'  # maniac-guard: ignore[MG999]\n"
    uri = await open_doc(client, tmp_path / "k.py", text)
    [found] = await published(client, uri)
    [ignore] = [a for a in await actions_at(client, uri, found) if a.title.startswith("Ignore")]
    assert ignore.edit is not None
    new = apply_workspace_edit(ignore.edit)[uri]
    assert new == f"KEY = '{key}'  # maniac-guard: ignore[MG999, MG101]\n"
    assert await change(client, uri, 2, new) == []


async def test_committed_env_file_add_to_gitignore(client: LanguageClient, tmp_path: Path) -> None:
    env = git_env(tmp_path)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=env)
    (tmp_path / ".gitignore").write_text("*.log")  # no newline at the end: the entry must go on its own line
    key = fake_key("lsp-gitignore")
    path = tmp_path / "deploy" / ".env"
    path.parent.mkdir()
    uri = await open_doc(client, path, f"MANIAC_API_KEY={key}\n", "dotenv")
    diagnostics = await published(client, uri)
    assert "MG302" in {d.code for d in diagnostics}
    [found] = [d for d in diagnostics if d.code == "MG302"]
    [add] = [a for a in await actions_at(client, uri, found) if ".gitignore" in a.title]
    assert add.title.startswith("Add /deploy/.env to .gitignore")
    assert add.edit is not None
    apply_workspace_edit(add.edit)
    assert (tmp_path / ".gitignore").read_text() == "*.log\n/deploy/.env\n"
    assert run_cli("scan", ".", cwd=tmp_path).returncode == 0
    # Saving .gitignore makes the server look again: the file is now out of the scan.
    client.diagnostics.pop(uri, None)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=(tmp_path / ".gitignore").as_uri())
        )
    )
    assert await published(client, uri) == []


async def test_gitignore_action_creates_the_file_when_missing(client: LanguageClient, tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=git_env(tmp_path))
    (tmp_path / ".maniac").mkdir()
    path = tmp_path / ".maniac" / "config.yaml"
    uri = await open_doc(client, path, f"api_key: {fake_key('lsp-gitignore-new')}\n", "yaml")
    [found] = [d for d in await published(client, uri) if d.code == "MG301"]
    [add] = [a for a in await actions_at(client, uri, found) if ".gitignore" in a.title]
    assert add.edit is not None
    apply_workspace_edit(add.edit)
    assert (tmp_path / ".gitignore").read_text() == "/.maniac/config.yaml\n"
    assert run_cli("scan", ".", cwd=tmp_path).returncode == 0


# -- hover ------------------------------------------------------------------


async def test_hover_explains_the_rule(client: LanguageClient, tmp_path: Path) -> None:
    key = fake_key("lsp-hover")
    uri = await open_doc(client, tmp_path / "app.py", sdk_code(key))
    [found] = await published(client, uri)
    hover = await asyncio.wait_for(
        client.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=found.range.start)
        ),
        TIMEOUT,
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    explain = run_cli("explain", "MG201").stdout
    assert explain.strip() in hover.contents.value
    assert key not in hover.contents.value and "**MG201**" in hover.contents.value
    # Away from the finding: nothing.
    nothing = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=0)
        )
    )
    assert nothing is None


# -- bad input ----------------------------------------------------------------


async def send_raw(client: LanguageClient, body: bytes) -> None:
    """Bytes no client library would send, straight onto the server's stdin."""
    server = client._server
    assert server is not None and server.stdin is not None
    server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    await server.stdin.drain()


async def test_malformed_request_gets_an_error_and_the_server_goes_on(client: LanguageClient, tmp_path: Path) -> None:
    # The client library refuses to build such a request: it goes raw, and
    # its answer is awaited as the library awaits its own.
    answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    client.protocol._request_futures["bad-1"] = answer
    await send_raw(
        client,
        b'{"jsonrpc": "2.0", "id": "bad-1", "method": "textDocument/hover", "params": {"textDocument": 5, "position": "here"}}',
    )
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(answer, TIMEOUT)
    assert caught.value.code == -32602  # InvalidParams
    uri = await open_doc(client, tmp_path / "app.py", sdk_code(fake_key("lsp-after-bad")))
    assert where(await published(client, uri)) == {("MG201", 3)}


async def test_a_message_that_is_not_utf8_gets_an_error_not_a_crash(client: LanguageClient, tmp_path: Path) -> None:
    key = fake_key("lsp-bad-bytes")
    uri = (tmp_path / "bad.py").as_uri()
    body = (
        b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": "'
        + uri.encode()
        + b'", "languageId": "python", "version": 1, "text": "KEY = \'\xff\xfe'
        + key.encode()
        + b"'\\n\"}}}"
    )
    await send_raw(client, body)

    async def error_shown() -> str:
        while True:
            await client.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
            errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
            if errors:
                return errors[0]

    said = await asyncio.wait_for(error_shown(), TIMEOUT)
    assert "could not handle a message" in said and key not in said
    # Still serving.
    ok = await open_doc(client, tmp_path / "app.py", sdk_code(fake_key("lsp-after-bytes")))
    assert where(await published(client, ok)) == {("MG201", 3)}


async def test_a_document_with_lone_surrogates_is_scanned_as_bytes_and_said(
    client: LanguageClient, tmp_path: Path
) -> None:
    key = fake_key("lsp-surrogate")
    uri = (tmp_path / "odd.py").as_uri()
    text = f"# caf\udce9\nKEY = '{key}'\n"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        )
    )
    assert where(await published(client, uri)) == {("MG101", 2)}
    warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert any("not valid UTF-8" in m and "odd.py" in m for m in warnings), warnings


async def test_shutdown_then_exit_ends_the_server(client: LanguageClient, tmp_path: Path) -> None:
    await open_doc(client, tmp_path / "app.py", "x = 1\n")
    await asyncio.wait_for(client.shutdown_async(None), TIMEOUT)
    client.exit(None)
    server = client._server
    assert server is not None
    assert await asyncio.wait_for(server.wait(), TIMEOUT) == 0
    client.capabilities = None  # the fixture must not shut it down twice
