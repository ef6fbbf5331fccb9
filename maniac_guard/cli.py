"""The command line, and only that: click options wired to one function of
`maniac_guard.commands` each, whose return value is the exit code (0 clean,
1 findings, 2 usage, config or input error, 3 internal error; see errors.py).
`_Commands.invoke` is the one error boundary (commands/boundary.py). The
console script starts in entry.py, which runs a hook's plain `scan -- FILE…`
without importing click."""

from __future__ import annotations

import functools
import sys
from typing import Any

import click

from maniac_guard import __version__
from maniac_guard.commands.boundary import fail, guarded
from maniac_guard.errors import ConfigError
from maniac_guard.findings import Severity

SEVERITIES = [s.label for s in Severity]
FORMATS = ["text", "json", "sarif", "github", "gitlab", "junit"]

# Options several commands share (click makes a fresh Option per use).
FORMAT_OPTION = click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
OUTPUT_OPTION = click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write the report to FILE instead of stdout."
)
EXCLUDE_OPTION = click.option(
    "--exclude", multiple=True, metavar="GLOB", help="gitignore-style pattern to skip (repeatable)."
)
IGNORE_OPTION = click.option("--ignore", "ignore_rules", multiple=True, metavar="IDS", help="Skip these rules.")
FAIL_ON_OPTION = click.option(
    "--fail-on", type=click.Choice(SEVERITIES), help="Lowest severity that fails the run [default: low]."
)
CONFIG_OPTION = click.option(
    "--config", type=click.Path(dir_okay=False), help="Use this config file instead of the nearest one."
)
COLOR_OPTION = click.option(
    "--color/--no-color", default=None, help="Colours [default: when stdout is a terminal and NO_COLOR is unset]."
)
QUIET_OPTION = click.option("-q", "--quiet", is_flag=True, help="Only findings and errors.")


def check_api_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Refuse a non-HTTPS (or non-loopback HTTP) base before anything is scanned."""
    if value is None:
        return None
    from maniac_guard.verify.options import check_base_url

    try:
        return check_base_url(value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc).removeprefix("--api-url: ")) from None


# The hooks' entry in .pre-commit-hooks.yaml carries this flag and their
# default `args` are `[--]`: pre-commit appends file names after the args,
# and a staged file named `--select=MG4` or `-o` must stay a file name.
HOOK_OPTION = click.option("--pre-commit", is_flag=True, hidden=True, expose_value=False)


class _FileListCommand(click.Command):
    """Refuses a hook run whose file names do not follow `--` (a user's
    `args` that left it out), instead of reading file names as options."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Checked before parsing: a file named `-o FILE` must not get the chance to act.
        # No exception for --help: a staged file named `-h` must not turn a
        # commit into a help page that exits 0.
        if "--pre-commit" in args and "--" not in args:
            fail(
                "the hook's `args` must end with `--` (pre-commit appends file names after them, "
                'and a file named like an option would be read as one): add "--" as the last '
                "item of `args` in .pre-commit-config.yaml"
            )
        return super().parse_args(ctx, args)


class _Commands(click.Group):
    """The one error boundary: every command's errors end here (see errors.py)."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click cuts each description at 45 characters, mid-sentence: show the first paragraph whole.
        found = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        shown = [(name, c.short_help or (c.help or "").split("\n\n")[0]) for name, c in found if c and not c.hidden]
        with formatter.section("Commands"):
            formatter.write_dl([(name, " ".join(text.split())) for name, text in shown])

    def invoke(self, ctx: click.Context) -> Any:
        click_exits = (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort)
        return guarded(functools.partial(super().invoke, ctx), passthrough=click_exits)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="maniac-guard")
def main() -> None:
    """Find, fix and verify leaked Maniac API keys."""


@main.command(cls=_FileListCommand)
@click.argument("paths", nargs=-1, type=click.Path())
@HOOK_OPTION
@FORMAT_OPTION
@OUTPUT_OPTION
@EXCLUDE_OPTION
@click.option("--select", multiple=True, metavar="IDS", help="Only these rules (MG101, or a prefix like MG1).")
@IGNORE_OPTION
@FAIL_ON_OPTION
@click.option("--no-gitignore", is_flag=True, help="Scan files that .gitignore excludes.")
@click.option(
    "--max-file-size", type=click.IntRange(min=1), metavar="BYTES", help="Skip larger files [default: 10 MiB]."
)
@click.option(
    "-j", "--jobs", type=click.IntRange(min=0), help="Processes that scan, this one included [default: one per core]."
)
@CONFIG_OPTION
@COLOR_OPTION
@click.option(
    "-v", "--verbose", is_flag=True, help="Debug messages on stderr (files that do not parse, skipped analysis)."
)
@QUIET_OPTION
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(dir_okay=False),
    help="Report only findings not in this baseline file.",
)
@click.option("--no-baseline", is_flag=True, help="Ignore the configured baseline: report every finding.")
@click.option(
    "--ignore-file",
    type=click.Path(dir_okay=False),
    help="Accepted fingerprints with reasons [default: .maniac-guard-ignore].",
)
@click.option(
    "--verify/--no-verify", default=None, help="Ask the Maniac API whether each found key is live (GET /v1/models)."
)
@click.option(
    "--api-url",
    callback=check_api_url,
    metavar="URL",
    help="Maniac API base [default: $MANIAC_BASE_URL, else https://platform.maniac.ai].",
)
@click.option(
    "--verify-timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Per request [default: $MANIAC_TIMEOUT, else 10].",
)
@click.option(
    "--verify-retries",
    type=click.IntRange(min=0),
    metavar="N",
    help="Retries on 429/5xx/network errors [default: $MANIAC_MAX_RETRIES, else 2].",
)
@click.option(
    "--verify-budget",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Time for the whole verification [default: 60].",
)
@click.option("--only-live", is_flag=True, default=None, help="Report live keys only (implies --verify).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the verification cache.")
@click.option("--staged", is_flag=True, help="Scan the staged (index) version of staged files, for git hooks.")
@click.option("--commit-msg", is_flag=True, help="PATHS are commit message files (a commit-msg hook's $1).")
@click.option("--history", is_flag=True, help="Scan every commit reachable from any ref (added lines only).")
@click.option("--since", metavar="REF", help="History: only commits not reachable from REF (implies --history).")
@click.option("--range", "rev_range", metavar="A..B", help="History: only commits in A..B (implies --history).")
@click.option("--max-commits", type=click.IntRange(min=1), metavar="N", help="History: at most the N newest commits.")
@click.option(
    "--fix", "apply_fix", is_flag=True, help="Rewrite Python that hardcodes keys to read the environment (safe fixes)."
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="Print the fixes as a unified diff (keys masked) and write nothing; exit 1 if there are any.",
)
@click.option(
    "--unsafe-fixes",
    is_flag=True,
    default=None,
    help="Also apply fixes that can change behaviour (see each rule's fix safety).",
)
@click.option("--env-var", metavar="NAME", help="Variable the fixed code reads [default: MANIAC_API_KEY].")
@click.option(
    "--write-env",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="With --fix: append NAME=<key> to FILE (mode 600, git-ignored; refused if git tracks it).",
)
def scan(**options: Any) -> None:
    """Scan PATHS (default: .) for Maniac keys and committed key files."""
    from maniac_guard.commands.scan import ScanOptions, run_command

    sys.exit(run_command(ScanOptions(**options)))


def _fix_command(**options: Any) -> None:
    options["apply_fix"] = True
    scan.callback(**options)  # type: ignore[misc]


main.add_command(
    _FileListCommand(
        "fix",
        callback=_fix_command,
        params=list(scan.params),
        help="Fix PATHS (default: .): the same as `scan --fix`.",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
)


@main.group()
def baseline() -> None:
    """Record today's findings so that scans report only new ones."""


@baseline.command("create")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Baseline file [default: config `baseline`, else .maniac-guard-baseline.json].",
)
@EXCLUDE_OPTION
@CONFIG_OPTION
def baseline_create(paths: tuple[str, ...], output: str | None, exclude: tuple[str, ...], config: str | None) -> None:
    """Record every current finding in PATHS (default: .), by fingerprint: no secrets, no line numbers."""
    from maniac_guard.commands.baseline import run_create

    sys.exit(run_create(paths, output, exclude, config))


@baseline.command("update")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Baseline file to update in place [default: as for create]."
)
@click.option("--add-new", is_flag=True, help="Also accept findings that are not in the baseline yet.")
@EXCLUDE_OPTION
@CONFIG_OPTION
def baseline_update(
    paths: tuple[str, ...], output: str | None, add_new: bool, exclude: tuple[str, ...], config: str | None
) -> None:
    """Remove entries that no longer match a finding in PATHS (default: .); says how many."""
    from maniac_guard.commands.baseline import run_update

    sys.exit(run_update(paths, output, add_new, exclude, config))


@main.command()
@FORMAT_OPTION
@OUTPUT_OPTION
@click.option(
    "--range", "rev_range", metavar="A..B", help="Scan this range instead of the one the CI environment names."
)
@FAIL_ON_OPTION
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(dir_okay=False),
    help="Report only findings not in this baseline file.",
)
@EXCLUDE_OPTION
@CONFIG_OPTION
@COLOR_OPTION
@QUIET_OPTION
@click.option(
    "--fail-on-new-suppressions",
    is_flag=True,
    help="Report (and fail on) findings hidden by `maniac-guard: ignore` comments the change adds.",
)
def ci(
    fmt: str,
    output: str | None,
    rev_range: str | None,
    fail_on: str | None,
    baseline_file: str | None,
    exclude: tuple[str, ...],
    config: str | None,
    color: bool | None,
    quiet: bool,
    fail_on_new_suppressions: bool,
) -> None:
    """Scan the lines a CI change adds (GitHub Actions, GitLab CI; else HEAD~1..HEAD)."""
    from maniac_guard.commands.ci import run_command

    sys.exit(
        run_command(
            fmt, output, rev_range, fail_on, baseline_file, exclude, config, color, quiet, fail_on_new_suppressions
        )
    )


@main.command("install-hook")
@click.option("--force", is_flag=True, help="Replace a hook that is not maniac-guard's (kept as HOOK.orig).")
@click.option(
    "--hook",
    "hook_type",
    type=click.Choice(["pre-commit", "commit-msg", "pre-push"]),
    default="pre-commit",
    show_default=True,
    help="pre-commit: scan the staged files; commit-msg: the commit message; "
    "pre-push: the commits being pushed (`maniac-guard pre-push`).",
)
@click.argument("scan_args", nargs=-1, type=click.UNPROCESSED)
def install_hook_command(force: bool, hook_type: str, scan_args: tuple[str, ...]) -> None:
    """Write .git/hooks/HOOK running `maniac-guard scan --staged [SCAN_ARGS]` (or --commit-msg, or pre-push)."""
    from maniac_guard.commands.install_hook import run_command

    sys.exit(run_command(force, hook_type, scan_args))


@main.command("rules")
@click.option("--markdown", is_flag=True, help="As the Markdown table of docs/rules.md.")
@click.option("--catalog-json", is_flag=True, hidden=True, help="The parsed catalog shipped as rules/catalog.json.")
def list_rules(markdown: bool, catalog_json: bool) -> None:
    """List every rule."""
    from maniac_guard.commands.rules import list_rules as run

    sys.exit(run(markdown, catalog_json))


@main.command()
@click.argument("rule_id")
def explain(rule_id: str) -> None:
    """Print the documentation of RULE_ID (e.g. MG101)."""
    from maniac_guard.commands.rules import explain as run

    sys.exit(run(rule_id))


@main.command("policy", cls=_FileListCommand)
@click.argument("paths", nargs=-1, type=click.Path())
@HOOK_OPTION
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False),
    help="Policy file read over the built-in one [default: config `policy`].",
)
@click.option(
    "--infer", is_flag=True, help="Also print the minimal permissions the Python code under PATHS needs, as YAML."
)
@FORMAT_OPTION
@OUTPUT_OPTION
@EXCLUDE_OPTION
@click.option("--select", multiple=True, metavar="IDS", help="Only these rules [default: MG4].")
@IGNORE_OPTION
@FAIL_ON_OPTION
@CONFIG_OPTION
@COLOR_OPTION
@QUIET_OPTION
def policy_command(
    paths: tuple[str, ...],
    policy_file: str | None,
    infer: bool,
    fmt: str,
    output: str | None,
    exclude: tuple[str, ...],
    select: tuple[str, ...],
    ignore_rules: tuple[str, ...],
    fail_on: str | None,
    config: str | None,
    color: bool | None,
    quiet: bool,
) -> None:
    """Check Maniac key declarations under PATHS (default: .) against the least-privilege policy."""
    from maniac_guard.commands.policy import run_command

    sys.exit(
        run_command(
            paths, policy_file, infer, fmt, output, exclude, select, ignore_rules, fail_on, config, color, quiet
        )
    )


@main.command("lsp")
@click.option("--stdio", is_flag=True, help="Talk LSP over stdin/stdout (the only transport; editors pass it).")
def lsp_command(stdio: bool) -> None:
    """Language server for editors: diagnostics, quick fixes and hovers as you type (needs the `lsp` extra)."""
    from maniac_guard.commands.lsp import run_command

    sys.exit(run_command())


@main.command("pre-receive")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Time budget for the whole scan [default: none].",
)
@click.option(
    "--on-timeout",
    type=click.Choice(["reject", "accept"]),
    default="reject",
    show_default=True,
    help="What a push whose scan ran out of time gets (accept: with a warning).",
)
@EXCLUDE_OPTION
@click.option("--select", multiple=True, metavar="IDS", help="Only these rules (MG101, or a prefix like MG1).")
@IGNORE_OPTION
@FAIL_ON_OPTION
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    help="Server-side config file (the pushed repository's own config is never read).",
)
@click.option("-v", "--verbose", is_flag=True, help="Also say when a push is clean.")
def pre_receive_command(
    timeout: float | None,
    on_timeout: str,
    exclude: tuple[str, ...],
    select: tuple[str, ...],
    ignore_rules: tuple[str, ...],
    fail_on: str | None,
    config: str | None,
    verbose: bool,
) -> None:
    """Server hook: refuse a push whose new commits add a Maniac key (reads `<old> <new> <ref>` lines on stdin)."""
    from maniac_guard.commands.pre_receive import run_command

    sys.exit(run_command(timeout, on_timeout, exclude, select, ignore_rules, fail_on, config, verbose))


@main.command("pre-push")
@click.argument("remote", required=False)
@click.argument("url", required=False)
@EXCLUDE_OPTION
@FAIL_ON_OPTION
@CONFIG_OPTION
@QUIET_OPTION
def pre_push_command(
    remote: str | None, url: str | None, exclude: tuple[str, ...], fail_on: str | None, config: str | None, quiet: bool
) -> None:
    """Git hook: scan the commits being pushed (git's pre-push stdin, or pre-commit's PRE_COMMIT_* range)."""
    from maniac_guard.commands.pre_push import run_command

    sys.exit(run_command(remote, url, exclude, fail_on, config, quiet))
