"""The command line. Each command parses its options, calls one function and
returns its exit code: 0 clean, 1 findings, 2 usage, config or input error."""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import click

from maniac_guard import __version__
from maniac_guard.config import ConfigError, Settings, load_settings
from maniac_guard.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, UsageError
from maniac_guard.findings import Severity

SEVERITIES = [s.label for s in Severity]
FORMATS = ["text", "json", "sarif", "github", "gitlab", "junit"]

# Options several commands share (click makes a fresh Option per use).
FORMAT_OPTION = click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
OUTPUT_OPTION = click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to FILE instead of stdout.")
EXCLUDE_OPTION = click.option("--exclude", multiple=True, metavar="GLOB", help="gitignore-style pattern to skip (repeatable).")
IGNORE_OPTION = click.option("--ignore", "ignore_rules", multiple=True, metavar="IDS", help="Skip these rules.")
FAIL_ON_OPTION = click.option("--fail-on", type=click.Choice(SEVERITIES), help="Lowest severity that fails the run [default: low].")
CONFIG_OPTION = click.option("--config", type=click.Path(dir_okay=False), help="Use this config file instead of the nearest one.")
COLOR_OPTION = click.option("--color/--no-color", default=None, help="Colours [default: when stdout is a terminal and NO_COLOR is unset].")
QUIET_OPTION = click.option("-q", "--quiet", is_flag=True, help="Only findings and errors.")


def use_color(flag: bool | None) -> bool:
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def fail(message: str) -> NoReturn:
    one_line = "; ".join(part.strip() for part in message.splitlines() if part.strip())
    click.echo(f"maniac-guard: error: {one_line}", err=True)
    sys.exit(EXIT_USAGE)


def split_ids(values: tuple[str, ...], flag: str = "--select") -> list[str]:
    ids = [part.strip() for value in values for part in value.split(",") if part.strip()]
    if values and not ids:  # `--select ""` must not quietly mean "every rule"
        raise ConfigError(f"{flag}: no rule ids given")
    return ids


def settings_for(paths: tuple[str, ...], config: str | None, **flags: Any) -> Settings:
    """Config file values, then CLI flags over them (a flag left unset keeps the file's value).
    The config is the one nearest to the folder holding every path."""
    from maniac_guard.config import apply_overrides, common_folder

    settings = load_settings(common_folder(paths), config)
    return apply_overrides(settings, {k: v for k, v in flags.items() if v is not None and v != () and v != []})


def debug_logging() -> None:
    """Our own loggers only: a library's debug output is not ours to vouch for."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("maniac-guard: debug: %(message)s"))
    logger = logging.getLogger("maniac_guard")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def check_api_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Refuse a non-HTTPS (or non-loopback HTTP) base before anything is scanned."""
    if value is None:
        return None
    from maniac_guard.verify.options import check_base_url

    try:
        return check_base_url(value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc).removeprefix("--api-url: ")) from None


def _internal_error(exc: Exception) -> NoReturn:
    """One line and exit 3; the traceback only with -v (it may quote our code, never a key)."""
    import logging

    from maniac_guard.findings import mask_keys_in_text

    if logging.getLogger("maniac_guard").isEnabledFor(logging.DEBUG):
        import traceback

        click.echo(mask_keys_in_text("".join(traceback.format_exception(exc))), err=True, nl=False)
    reason = mask_keys_in_text(f"{type(exc).__name__}: {exc}".splitlines()[0])
    click.echo(f"maniac-guard: internal error: {reason} (rerun with -v for the traceback)", err=True)
    sys.exit(EXIT_INTERNAL)


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
                "and a file named like an option would be read as one): add \"--\" as the last "
                "item of `args` in .pre-commit-config.yaml"
            )
        return super().parse_args(ctx, args)


class _Commands(click.Group):
    """The one error boundary: every command's errors end here (see errors.py)."""

    def invoke(self, ctx: click.Context) -> Any:
        from maniac_guard.interrupts import EXIT_TERMINATED, Terminated, raise_on_sigterm

        raise_on_sigterm()
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            # click turns Ctrl-C into "Aborted!" and exit 1, which a CI gate
            # would read as "findings"; an interrupted scan found nothing for
            # certain. os._exit: a normal exit would first wait for
            # verification threads stuck in HTTP requests (up to the timeout).
            # Writes in progress have already cleaned up as the interrupt
            # passed through them.
            click.echo("\nmaniac-guard: interrupted", err=True)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_INTERRUPTED)
        except Terminated:
            click.echo("maniac-guard: terminated", err=True)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_TERMINATED)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the boundary: a bug is exit 3, never 0 or 1
            _internal_error(exc)


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
@click.option("--max-file-size", type=click.IntRange(min=1), metavar="BYTES", help="Skip larger files [default: 10 MiB].")
@click.option("-j", "--jobs", type=click.IntRange(min=0), help="Processes that scan, this one included [default: one per core].")
@CONFIG_OPTION
@COLOR_OPTION
@click.option("-v", "--verbose", is_flag=True, help="Debug messages on stderr (files that do not parse, skipped analysis).")
@QUIET_OPTION
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False), help="Report only findings not in this baseline file.")
@click.option("--no-baseline", is_flag=True, help="Ignore the configured baseline: report every finding.")
@click.option("--ignore-file", type=click.Path(dir_okay=False), help="Accepted fingerprints with reasons [default: .maniac-guard-ignore].")
@click.option("--verify/--no-verify", default=None, help="Ask the Maniac API whether each found key is live (GET /v1/models).")
@click.option("--api-url", callback=check_api_url, metavar="URL", help="Maniac API base [default: $MANIAC_BASE_URL, else https://platform.maniac.ai].")
@click.option("--verify-timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS", help="Per request [default: $MANIAC_TIMEOUT, else 10].")
@click.option("--verify-retries", type=click.IntRange(min=0), metavar="N", help="Retries on 429/5xx/network errors [default: $MANIAC_MAX_RETRIES, else 2].")
@click.option("--verify-budget", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS", help="Time for the whole verification [default: 60].")
@click.option("--only-live", is_flag=True, default=None, help="Report live keys only (implies --verify).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the verification cache.")
@click.option("--staged", is_flag=True, help="Scan the staged (index) version of staged files, for git hooks.")
@click.option("--commit-msg", is_flag=True, help="PATHS are commit message files (a commit-msg hook's $1).")
@click.option("--history", is_flag=True, help="Scan every commit reachable from any ref (added lines only).")
@click.option("--since", metavar="REF", help="History: only commits not reachable from REF (implies --history).")
@click.option("--range", "rev_range", metavar="A..B", help="History: only commits in A..B (implies --history).")
@click.option("--max-commits", type=click.IntRange(min=1), metavar="N", help="History: at most the N newest commits.")
@click.option("--fix", "apply_fix", is_flag=True, help="Rewrite Python that hardcodes keys to read the environment (safe fixes).")
@click.option("--diff", "show_diff", is_flag=True, help="Print the fixes as a unified diff (keys masked) and write nothing; exit 1 if there are any.")
@click.option("--unsafe-fixes", is_flag=True, default=None, help="Also apply fixes that can change behaviour (see each rule's fix safety).")
@click.option("--env-var", metavar="NAME", help="Variable the fixed code reads [default: MANIAC_API_KEY].")
@click.option("--write-env", type=click.Path(dir_okay=False), metavar="FILE", help="With --fix: append NAME=<key> to FILE (mode 600, git-ignored; refused if git tracks it).")
def scan(
    paths: tuple[str, ...],
    fmt: str,
    output: str | None,
    exclude: tuple[str, ...],
    select: tuple[str, ...],
    ignore_rules: tuple[str, ...],
    fail_on: str | None,
    no_gitignore: bool,
    max_file_size: int | None,
    jobs: int | None,
    config: str | None,
    color: bool | None,
    verbose: bool,
    quiet: bool,
    baseline_file: str | None,
    no_baseline: bool,
    ignore_file: str | None,
    verify: bool | None,
    api_url: str | None,
    verify_timeout: float | None,
    verify_retries: int | None,
    verify_budget: float | None,
    only_live: bool | None,
    no_cache: bool,
    staged: bool,
    commit_msg: bool,
    history: bool,
    since: str | None,
    rev_range: str | None,
    max_commits: int | None,
    apply_fix: bool = False,
    show_diff: bool = False,
    unsafe_fixes: bool | None = None,
    env_var: str | None = None,
    write_env: str | None = None,
) -> None:
    """Scan PATHS (default: .) for Maniac keys and committed key files."""
    from maniac_guard.scan import ScanRequest, run_scan

    if verbose:
        debug_logging()
    paths = paths or (".",)
    try:
        settings = settings_for(
            paths,
            config,
            select=split_ids(select),
            ignore=split_ids(ignore_rules, "--ignore"),
            fail_on=Severity.parse(fail_on) if fail_on else None,
            gitignore=False if no_gitignore else None,
            max_file_size=max_file_size,
            jobs=jobs,
            # Absolute, so that they are not read relative to the config file.
            baseline=os.path.abspath(baseline_file) if baseline_file else None,
            ignore_file=os.path.abspath(ignore_file) if ignore_file else None,
            verify=verify,
            api_url=api_url,
            verify_timeout=verify_timeout,
            verify_retries=verify_retries,
            verify_budget=verify_budget,
            only_live=only_live or None,
            verify_cache=False if no_cache else None,
            env_var=env_var,
            unsafe_fixes=unsafe_fixes,
        )
        if no_baseline:
            settings.baseline = None
        request = ScanRequest(
            paths=list(paths),
            settings=settings,
            fmt=fmt,
            output=output,
            color=use_color(color),
            verbose=verbose,
            quiet=quiet,
            cli_exclude=list(exclude),
        )
        request.source = git_source(staged, history, since, rev_range, max_commits, commit_msg)
        if apply_fix or show_diff:
            from maniac_guard.fix.apply import FixRequest

            if env_var is not None and not env_var.isidentifier():
                raise ConfigError(f"--env-var: {env_var!r} is not a variable name")
            if write_env and show_diff:
                raise ConfigError("--write-env needs --fix (--diff writes nothing)")
            request.fix = FixRequest(diff=show_diff, unsafe=bool(unsafe_fixes), write_env=write_env)
        elif write_env:
            raise ConfigError("--write-env needs --fix")
        sys.exit(run_scan(request))
    except ConfigError as exc:
        fail(str(exc))


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


def git_source(
    staged: bool, history: bool, since: str | None, rev_range: str | None, max_commits: int | None,
    commit_msg: bool = False,
) -> Any:
    """The ScanRequest.source for --staged / --history / --commit-msg (None: files on disk)."""
    history = history or bool(since or rev_range or max_commits)
    if staged + history + commit_msg > 1:
        raise ConfigError("--staged, --history and --commit-msg cannot be combined")
    if commit_msg:
        from maniac_guard.sources.gitmessages import scan_commit_msg

        return scan_commit_msg
    if staged:
        from maniac_guard.sources.git import scan_staged

        return scan_staged
    if not history:
        return None
    from maniac_guard.history import history_spec, scan_history
    from maniac_guard.sources.git import repo_info

    info = repo_info(os.getcwd())
    spec = history_spec(info.root, since=since, range_=rev_range, max_commits=max_commits, shallow=info.shallow)
    return lambda request: scan_history(request, spec, info.root)


@main.group()
def baseline() -> None:
    """Record today's findings so that scans report only new ones."""


@baseline.command("create")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Baseline file [default: config `baseline`, else .maniac-guard-baseline.json].")
@EXCLUDE_OPTION
@CONFIG_OPTION
def baseline_create(paths: tuple[str, ...], output: str | None, exclude: tuple[str, ...], config: str | None) -> None:
    """Record every current finding in PATHS (default: .), by fingerprint: no secrets, no line numbers."""
    from maniac_guard import baseline as baseline_mod

    paths = paths or (".",)
    try:
        sys.exit(baseline_mod.create(list(paths), output, settings_for(paths, config), list(exclude)))
    except ConfigError as exc:
        fail(str(exc))


@baseline.command("update")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Baseline file to update in place [default: as for create].")
@click.option("--add-new", is_flag=True, help="Also accept findings that are not in the baseline yet.")
@EXCLUDE_OPTION
@CONFIG_OPTION
def baseline_update(
    paths: tuple[str, ...], output: str | None, add_new: bool, exclude: tuple[str, ...], config: str | None
) -> None:
    """Remove entries that no longer match a finding in PATHS (default: .); says how many."""
    from maniac_guard import baseline as baseline_mod

    paths = paths or (".",)
    try:
        settings = settings_for(paths, config)
        sys.exit(baseline_mod.update(list(paths), output, settings, list(exclude), add_new=add_new))
    except ConfigError as exc:
        fail(str(exc))


@main.command()
@FORMAT_OPTION
@OUTPUT_OPTION
@click.option("--range", "rev_range", metavar="A..B", help="Scan this range instead of the one the CI environment names.")
@FAIL_ON_OPTION
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False), help="Report only findings not in this baseline file.")
@EXCLUDE_OPTION
@CONFIG_OPTION
@COLOR_OPTION
@QUIET_OPTION
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
) -> None:
    """Scan the lines a CI change adds (GitHub Actions, GitLab CI; else HEAD~1..HEAD)."""
    from maniac_guard.ci import CiRange, detect_range
    from maniac_guard.history import history_spec, scan_history
    from maniac_guard.scan import ScanRequest, run_scan
    from maniac_guard.sources.git import repo_info

    try:
        info = repo_info(os.getcwd())
        if rev_range:
            spec = history_spec(info.root, range_=rev_range, shallow=info.shallow)
            found = CiRange(spec, "--range", f"--range: scanning {rev_range}")
        else:
            found = detect_range(os.environ, info.root)
        click.echo(f"maniac-guard: ci: {found.note}", err=True)
        settings = settings_for(
            (info.root,),
            config,
            fail_on=Severity.parse(fail_on) if fail_on else None,
            baseline=os.path.abspath(baseline_file) if baseline_file else None,
        )
        request = ScanRequest(
            paths=[info.root], settings=settings, fmt=fmt, output=output, color=use_color(color),
            quiet=quiet, cli_exclude=list(exclude),
            source=lambda req: scan_history(req, found.spec, info.root),
        )
        sys.exit(run_scan(request))
    except ConfigError as exc:
        fail(str(exc))


@main.command("install-hook")
@click.option("--force", is_flag=True, help="Replace a hook that is not maniac-guard's (kept as HOOK.orig).")
@click.option("--hook", "hook_type", type=click.Choice(["pre-commit", "commit-msg", "pre-push"]), default="pre-commit",
              show_default=True, help="pre-commit: scan the staged files; commit-msg: the commit message; "
              "pre-push: the commits being pushed (`maniac-guard pre-push`).")
@click.argument("scan_args", nargs=-1, type=click.UNPROCESSED)
def install_hook_command(force: bool, hook_type: str, scan_args: tuple[str, ...]) -> None:
    """Write .git/hooks/HOOK running `maniac-guard scan --staged [SCAN_ARGS]` (or --commit-msg, or pre-push)."""
    from maniac_guard.hooks import install_hook

    if hook_type == "pre-push":
        from maniac_guard.prepush import install_pre_push_hook

        try:
            path, moved = install_pre_push_hook(os.getcwd(), force=force, extra_args=scan_args)
        except ConfigError as exc:
            fail(str(exc))
            return
        if moved:
            click.echo(f"maniac-guard: moved the previous hook to {moved}", err=True)
        click.echo(f"installed {path}")
        return
    try:
        done = install_hook(os.getcwd(), force=force, extra_args=list(scan_args), hook=hook_type)
    except ConfigError as exc:
        fail(str(exc))
        return
    if done.replaced:
        click.echo(f"maniac-guard: moved the previous hook to {done.replaced}", err=True)
    click.echo(f"installed {done.path}")


@main.command("rules")
@click.option("--markdown", is_flag=True, help="As the Markdown table of docs/rules.md.")
def list_rules(markdown: bool) -> None:
    """List every rule."""
    from maniac_guard.catalog import load_rules, rules_table

    if markdown:
        click.echo(rules_table(load_rules()))
        return
    for rule in load_rules().values():
        click.echo(f"{rule.id}  {rule.severity.label:<8}  fix:{rule.fix:<6}  {rule.name}: {rule.summary}")


@main.command()
@click.argument("rule_id")
def explain(rule_id: str) -> None:
    """Print the documentation of RULE_ID (e.g. MG101)."""
    from maniac_guard.catalog import load_rules

    rule = load_rules().get(rule_id.strip().upper())
    if rule is None:
        fail(f"unknown rule '{rule_id}' (see `maniac-guard rules`)")
        return
    click.echo(rule.render_doc(), nl=False)


@main.command("policy", cls=_FileListCommand)
@click.argument("paths", nargs=-1, type=click.Path())
@HOOK_OPTION
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), help="Policy file read over the built-in one [default: config `policy`].")
@click.option("--infer", is_flag=True, help="Also print the minimal permissions the Python code under PATHS needs, as YAML.")
@FORMAT_OPTION
@OUTPUT_OPTION
@EXCLUDE_OPTION
@click.option("--select", multiple=True, metavar="IDS", help="Only these rules [default: MG4].")
@IGNORE_OPTION
@FAIL_ON_OPTION
@CONFIG_OPTION
@COLOR_OPTION
@QUIET_OPTION
def policy_command(paths: tuple[str, ...], policy_file: str | None, infer: bool, fmt: str, output: str | None,
                   exclude: tuple[str, ...], select: tuple[str, ...], ignore_rules: tuple[str, ...],
                   fail_on: str | None, config: str | None, color: bool | None, quiet: bool) -> None:
    """Check Maniac key declarations under PATHS (default: .) against the least-privilege policy."""
    from maniac_guard.permissions.command import run_policy
    from maniac_guard.scan import ScanRequest

    paths = paths or (".",)
    try:
        settings = settings_for(
            paths, config, select=split_ids(select), ignore=split_ids(ignore_rules, "--ignore"),
            fail_on=Severity.parse(fail_on) if fail_on else None,
            policy=os.path.abspath(policy_file) if policy_file else None,
        )
        request = ScanRequest(paths=list(paths), settings=settings, fmt=fmt, output=output,
                              color=use_color(color), quiet=quiet, cli_exclude=list(exclude))
        sys.exit(run_policy(request, infer))
    except ConfigError as exc:
        fail(str(exc))


@main.command("pre-receive")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS", help="Time budget for the whole scan [default: none].")
@click.option("--on-timeout", type=click.Choice(["reject", "accept"]), default="reject", show_default=True, help="What a push whose scan ran out of time gets (accept: with a warning).")
@EXCLUDE_OPTION
@click.option("--select", multiple=True, metavar="IDS", help="Only these rules (MG101, or a prefix like MG1).")
@IGNORE_OPTION
@FAIL_ON_OPTION
@click.option("--config", type=click.Path(dir_okay=False), help="Server-side config file (the pushed repository's own config is never read).")
@click.option("-v", "--verbose", is_flag=True, help="Also say when a push is clean.")
def pre_receive_command(timeout: float | None, on_timeout: str, exclude: tuple[str, ...], select: tuple[str, ...],
                        ignore_rules: tuple[str, ...], fail_on: str | None, config: str | None, verbose: bool) -> None:
    """Server hook: refuse a push whose new commits add a Maniac key (reads `<old> <new> <ref>` lines on stdin)."""
    from maniac_guard.config import Settings
    from maniac_guard.prereceive import run_pre_receive

    try:
        settings = load_settings(".", config) if config else Settings()
        if select:
            settings.select = split_ids(select)
        if ignore_rules:
            settings.ignore = split_ids(ignore_rules)
        if fail_on:
            settings.fail_on = Severity.parse(fail_on)
        from maniac_guard.prepush import read_stdin

        lines = read_stdin()
        if lines is None:
            raise ConfigError("pre-receive: git passes the pushed refs on stdin; install it as the repository's hooks/pre-receive")
        sys.exit(run_pre_receive(lines, settings, exclude=list(exclude), timeout=timeout,
                                 on_timeout=on_timeout, verbose=verbose))
    except ConfigError as exc:
        fail(str(exc))


@main.command("pre-push")
@click.argument("remote", required=False)
@click.argument("url", required=False)
@EXCLUDE_OPTION
@FAIL_ON_OPTION
@CONFIG_OPTION
@QUIET_OPTION
def pre_push_command(remote: str | None, url: str | None, exclude: tuple[str, ...], fail_on: str | None,
                     config: str | None, quiet: bool) -> None:
    """Git hook: scan the commits being pushed (git's pre-push stdin, or pre-commit's PRE_COMMIT_* range)."""
    from maniac_guard.prepush import read_stdin, run_pre_push

    try:
        # Under pre-commit the range comes from its PRE_COMMIT_* variables; git's lines were its.
        stdin_text = None if os.environ.get("PRE_COMMIT") == "1" else read_stdin()
        sys.exit(run_pre_push(remote, (), config, fail_on=fail_on, exclude=list(exclude), quiet=quiet,
                              stdin_text=stdin_text))
    except ConfigError as exc:
        fail(str(exc))
