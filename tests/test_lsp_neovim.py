"""A real editor: Neovim, headless, with its built-in LSP client on
`maniac-guard lsp`. It opens a Python file holding a key, shows the
diagnostic, applies the preferred quick fix and writes the file, which
`maniac-guard scan` then finds clean.

Neovim comes from Debian's package (.ci/run installs it). The script uses
`vim.lsp.start` where Neovim has it (0.8+) and `start_client` +
`buf_attach_client` before (Debian 12 ships 0.7)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import console_script, fake_key, run_cli

SCRIPT = r"""
local out = {}
local function finish()
  local f = io.open(os.getenv("MG_OUT"), "w")
  f:write(vim.fn.json_encode(out))
  f:close()
  vim.cmd("qa!")
end
local ok, err = pcall(function()
  vim.cmd("edit " .. vim.fn.fnameescape(os.getenv("MG_FILE")))
  local config = {
    name = "maniac-guard",
    cmd = { os.getenv("MG_SERVER"), "lsp", "--stdio" },
    root_dir = os.getenv("MG_ROOT"),
  }
  local id
  if vim.lsp.start then
    id = vim.lsp.start(config)
  else
    id = vim.lsp.start_client(config)
    vim.lsp.buf_attach_client(0, id)
  end
  out.attached = vim.wait(30000, function() return #vim.diagnostic.get(0) > 0 end, 50)
  out.before = {}
  for _, d in ipairs(vim.diagnostic.get(0)) do
    table.insert(out.before, { code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code),
      message = d.message, lnum = d.lnum, col = d.col, end_col = d.end_col, severity = d.severity })
  end
  local d = vim.diagnostic.get(0)[1]
  local params = {
    textDocument = vim.lsp.util.make_text_document_params(),
    range = { start = { line = d.lnum, character = d.col }, ["end"] = { line = d.end_lnum, character = d.end_col } },
    context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics and vim.lsp.diagnostic.get_line_diagnostics(0, d.lnum) or {} },
  }
  local responses = vim.lsp.buf_request_sync(0, "textDocument/codeAction", params, 30000) or {}
  out.titles = {}
  local chosen
  for _, response in pairs(responses) do
    for _, action in ipairs(response.result or {}) do
      table.insert(out.titles, action.title)
      if action.isPreferred and not chosen then chosen = action end
    end
  end
  if chosen then
    vim.lsp.util.apply_workspace_edit(chosen.edit, "utf-16")
    vim.cmd("write")
    out.cleared = vim.wait(30000, function() return #vim.diagnostic.get(0) == 0 end, 50)
  end
  vim.lsp.stop_client(id)
end)
if not ok then out.error = tostring(err) end
finish()
"""


def nvim() -> str:
    found = shutil.which("nvim")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nvim is missing: .ci/run installs Debian's neovim package")
        pytest.skip("nvim is not installed (apt-get install neovim)")
    return found


def test_neovim_shows_the_key_and_applies_the_quick_fix(tmp_path: Path) -> None:
    key = fake_key("neovim")
    source = tmp_path / "app.py"
    source.write_text(f'from maniac import Maniac\n\nclient = Maniac(api_key="{key}")\n', encoding="utf-8")
    script = tmp_path / "drive.lua"
    script.write_text(SCRIPT, encoding="utf-8")
    out = tmp_path / "out.json"
    env = {
        **os.environ,
        "MG_FILE": str(source),
        "MG_SERVER": console_script(),
        "MG_ROOT": str(tmp_path),
        "MG_OUT": str(out),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),  # no user config, no plugins
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    proc = subprocess.run(
        [nvim(), "--headless", "--clean", "-n", "-c", f"luafile {script}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert out.exists(), proc.stderr
    result = json.loads(out.read_text())
    assert "error" not in result, result
    assert result["attached"], result
    [diagnostic] = result["before"]
    assert diagnostic["code"] == "MG201"
    assert diagnostic["severity"] == 1  # vim.diagnostic.severity.ERROR
    assert key not in diagnostic["message"]
    assert (diagnostic["lnum"], diagnostic["col"]) == (2, 24)  # the literal on `client = Maniac(api_key="…")`
    assert any(t.startswith("Fix MG201") for t in result["titles"]), result["titles"]
    assert result["cleared"], result
    fixed = source.read_text(encoding="utf-8")
    assert 'Maniac(api_key=os.getenv("MANIAC_API_KEY"))' in fixed and "import os" in fixed
    assert key not in fixed
    assert run_cli("scan", str(source), cwd=tmp_path).returncode == 0
