"""The console script's entry: a hook's plain `scan [--pre-commit] -- FILE…`
runs without click (importing it and building every command's options costs
more than starting Python); everything else goes to the click CLI (cli.py)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from typing import Any

# The flags a hook passes (.pre-commit-hooks.yaml, install-hook) and the
# option each sets; any other option goes through click.
_HOOK_FLAGS: dict[str, str | None] = {
    "--pre-commit": None,
    "--staged": "staged",
    "--commit-msg": "commit_msg",
    "-q": "quiet",
    "--quiet": "quiet",
}


def scan_defaults() -> dict[str, Any]:
    """What click gives `scan` for options left out (tests/test_startup_imports.py compares)."""
    return {
        "paths": (),
        "fmt": "text",
        "output": None,
        "exclude": (),
        "select": (),
        "ignore_rules": (),
        "fail_on": None,
        "no_gitignore": False,
        "max_file_size": None,
        "jobs": None,
        "config": None,
        "color": None,
        "verbose": False,
        "quiet": False,
        "baseline_file": None,
        "no_baseline": False,
        "ignore_file": None,
        "verify": None,
        "api_url": None,
        "verify_timeout": None,
        "verify_retries": None,
        "verify_budget": None,
        "only_live": None,
        "no_cache": False,
        "staged": False,
        "commit_msg": False,
        "history": False,
        "since": None,
        "rev_range": None,
        "max_commits": None,
        "apply_fix": False,
        "show_diff": False,
        "unsafe_fixes": None,
        "env_var": None,
        "write_env": None,
    }


def hook_scan_options(argv: Sequence[str]) -> dict[str, Any] | None:
    """`scan`'s options when `argv` is a hook's plain scan, else None (click parses it)."""
    if not argv or argv[0] != "scan":
        return None
    args = list(argv[1:])
    split = args.index("--") if "--" in args else len(args)
    before, files = args[:split], args[split + 1 :]
    if "--pre-commit" in before and split == len(args):
        return None  # click refuses it, with the reason (cli._FileListCommand)
    options = scan_defaults()
    paths: list[str] = []
    for arg in before:
        if arg in _HOOK_FLAGS:
            name = _HOOK_FLAGS[arg]
            if name is not None:
                options[name] = True
        elif arg.startswith("-") and arg != "-":
            return None
        else:
            paths.append(arg)
    options["paths"] = (*paths, *files)
    return options


def main() -> None:
    options = hook_scan_options(sys.argv[1:])
    if options is None:
        from maniac_guard.cli import main as click_main

        click_main()
        return
    from maniac_guard.commands.boundary import exit_now, guarded
    from maniac_guard.commands.scan import ScanOptions, run_command

    exit_now(guarded(lambda: run_command(ScanOptions(**options))))
