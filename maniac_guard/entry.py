"""The console script's entry: a hook's plain `scan [--pre-commit] -- FILE…`
and a plain `scan` of paths or of the history (the options
`plain_scan_options` knows: a CI gate's `scan . --format sarif -o F`) run
without click (importing it and building every command's options costs
more than starting Python); everything else goes to the click CLI (cli.py).
A history scan's `git log -p` starts here, before the rest loads (gitstart.py)."""

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


# The options of `scan PATHS` and `scan --history` the fast path parses, as
# click would (cli.py's FORMATS and SEVERITIES: tests/test_history_start.py
# compares); a value outside these sets, or any other option, goes through click.
_FORMATS = ("text", "json", "sarif", "github", "gitlab", "junit")
_SEVERITIES = ("info", "low", "medium", "high", "critical")
# (flag: the option it sets and to what)
_PLAIN_FLAGS: dict[str, tuple[str, object]] = {
    "--history": ("history", True),
    "-q": ("quiet", True),
    "--quiet": ("quiet", True),
    "-v": ("verbose", True),
    "--verbose": ("verbose", True),
    "--no-gitignore": ("no_gitignore", True),
    "--no-baseline": ("no_baseline", True),
    "--no-cache": ("no_cache", True),
    "--color": ("color", True),
    "--no-color": ("color", False),
}
_PLAIN_VALUES = {
    "--format": "fmt",
    "-o": "output",
    "--output": "output",
    "--fail-on": "fail_on",
    "--max-commits": "max_commits",
    "--since": "since",
    "--range": "rev_range",
    "--config": "config",
    "--baseline": "baseline_file",
    "--ignore-file": "ignore_file",
    "-j": "jobs",
    "--jobs": "jobs",
}
_PLAIN_REPEATED = {"--select": "select", "--ignore": "ignore_rules", "--exclude": "exclude"}  # multiple=True


def _plain_value(name: str, value: str) -> object:
    """`value` as click converts it for option `name`; None where click
    might do otherwise (refuse it, or read it another way)."""
    import os

    if not value or value.startswith("-"):
        return None
    if name == "fmt":
        return value if value in _FORMATS else None
    if name == "fail_on":
        return value if value in _SEVERITIES else None
    if name in ("max_commits", "jobs"):  # click.IntRange(min=1), (min=0)
        plain = value.isascii() and value.isdigit() and (value[0] != "0" or (value == "0" and name == "jobs"))
        return int(value) if plain else None
    if name in ("output", "config", "baseline_file", "ignore_file") and os.path.isdir(value):
        return None  # click.Path(dir_okay=False) says why
    return value


def plain_scan_options(argv: Sequence[str]) -> dict[str, Any] | None:
    """`scan`'s options when `argv` is `scan` with paths and only options of
    _PLAIN_FLAGS and _PLAIN_VALUES (each once) and _PLAIN_REPEATED, else None."""
    if not argv or argv[0] != "scan":
        return None
    options = scan_defaults()
    seen: set[str] = set()
    paths: list[str] = []
    converted: object
    args = iter(argv[1:])
    for arg in args:
        flag, equals, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if flag in _PLAIN_FLAGS and not equals:
            name, converted = _PLAIN_FLAGS[flag]
        elif flag in _PLAIN_VALUES or flag in _PLAIN_REPEATED:
            name = _PLAIN_VALUES.get(flag) or _PLAIN_REPEATED[flag]
            converted = _plain_value(name, value if equals else next(args, ""))
            if converted is None:
                return None
            if flag in _PLAIN_REPEATED:
                options[name] += (converted,)
                continue
        elif arg.startswith("-"):
            return None  # another option, `--`, `-`, `--help`: click's
        else:
            paths.append(arg)
            continue
        if name in seen:
            return None
        seen.add(name)
        options[name] = converted
    options["paths"] = tuple(paths)
    return options


def main() -> None:
    argv = sys.argv[1:]
    if argv in (["lsp"], ["lsp", "--stdio"]):  # an editor starting the server: no click (~45 ms)
        from maniac_guard.commands.boundary import guarded
        from maniac_guard.commands.lsp import run_command

        sys.exit(guarded(run_command))
    # The value flow makes millions of small objects, most short-lived and
    # acyclic: under CPython's default thresholds (700, 10, 10) the cyclic
    # collector took a fifth to a quarter of an analysis-heavy scan (this
    # repository's last 150 commits: 17.9 -> 13.1 s), for little memory
    # (peak 218 -> 221 MB; docs/speed.md). Not the language server's: it lives on.
    import gc

    gc.set_threshold(100_000, 20, 20)
    options = hook_scan_options(argv) or plain_scan_options(argv)
    if options is None:
        from maniac_guard.cli import main as click_main

        click_main()
        return
    from maniac_guard.commands.boundary import exit_now, guarded

    early = options["history"] and options["since"] is None and options["rev_range"] is None
    exit_now(guarded(lambda: _run_scan(options, early)))


def _run_scan(options: dict[str, Any], early: bool) -> int:
    """`scan` with `options`; `early`: a history scan of every ref, whose
    `git log -p` starts before the rest loads (gitstart.py)."""
    try:
        if early:
            from maniac_guard.sources.gitstart import start_history

            start_history(options["max_commits"])
        from maniac_guard.commands.scan import ScanOptions, run_command

        return run_command(ScanOptions(**options))
    finally:
        started = sys.modules.get("maniac_guard.sources.gitstart")
        if started is not None:
            started.discard()  # git started early and never taken (the run stopped before it)
