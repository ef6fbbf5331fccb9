"""`maniac-guard lsp`: a language server (stdio) for any editor.

`analysis` is the scan of one open document under the workspace's own
configuration, with no editor types; `protocol` turns findings into LSP
diagnostics, hovers and code actions; `server` wires them to pygls. Only
`server` and `protocol` import pygls/lsprotocol (the `lsp` extra).
"""

from __future__ import annotations

LSP_EXTRA_HINT = "lsp needs pygls: pip install 'maniac-guard[lsp]'"
