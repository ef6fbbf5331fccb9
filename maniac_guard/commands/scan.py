"""`maniac-guard scan`: settings → engine → filters → report → exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable

from maniac_guard.engine import scan_disk
from maniac_guard.errors import EXIT_USAGE, ConfigError
from maniac_guard.records import NamedTuple, dataclass, replace
from maniac_guard.selection import check_selectors, exit_code, select_findings
from maniac_guard.summary import ScanResult
from maniac_guard.target import ScanTarget

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from maniac_guard.fix.apply import FixRequest


@dataclass
class ScanRequest(ScanTarget):
    """The target, and how this command reports on it."""

    fmt: str = "text"
    output: str | None = None
    color: bool = False
    verbose: bool = False
    # Where findings come from; the default walks `paths` on disk. Other
    # sources (staged blobs, git history) plug in here.
    source: Callable[[ScanTarget], ScanResult] | None = None
    # --fix / --diff (maniac_guard.fix.apply.FixRequest); None: report only.
    fix: FixRequest | None = None


def emit(result: ScanResult, request: ScanRequest) -> None:
    from maniac_guard.report import ReportContext, render

    context = ReportContext(
        color=request.color and request.output is None,
        verbose=request.verbose,
        quiet=request.quiet,
        fail_on=request.settings.fail_on.label,
    )
    text = render(result, request.fmt, context)
    from maniac_guard.writer import WriteError, write_report, write_stdout

    try:
        if request.output:
            write_report(request.output, text)
        elif text:
            write_stdout(text)
    except WriteError as exc:
        raise ConfigError(str(exc)) from None
    if request.output and not request.quiet:
        # A report in a file leaves the terminal empty: say what happened and where it went.
        from maniac_guard.report.escape import printable
        from maniac_guard.report.text import summary_line

        print(
            f"maniac-guard: {summary_line(result)} Report ({request.fmt}): {printable(request.output)}", file=sys.stderr
        )


def report_messages(result: ScanResult, target: ScanTarget) -> None:
    """stderr lines, with control characters from file names made visible."""
    from maniac_guard.report.escape import printable

    for path in result.missing_paths:
        print(f"maniac-guard: {printable(path)}: no such file or directory", file=sys.stderr)
    # What could not be read makes the run incomplete (exit 2): shown even with -q.
    errors = set(result.stages.incomplete or ())
    for message in result.messages:
        if message in errors:
            print(f"maniac-guard: error: {printable(message)}", file=sys.stderr)
        elif not target.quiet:
            print(f"maniac-guard: {printable(message)}", file=sys.stderr)


def drop_accepted(result: ScanResult, request: ScanRequest) -> None:
    """The ignore file, then the baseline: accepted findings are counted, not reported."""
    from maniac_guard.ignorefile import apply_ignore_file

    apply_ignore_file(result, request.settings, request.paths)
    if not request.settings.baseline:  # baseline.py (and its json) is imported only when one is configured
        from maniac_guard.summary import BaselineSummary

        result.stages.baseline = BaselineSummary(None)
        return
    from maniac_guard.baseline import apply_baseline

    apply_baseline(result, request.settings, request.paths, disk_scan=request.source is None)


def run_scan(request: ScanRequest) -> int:
    settings = request.settings
    check_selectors(settings.select + settings.ignore)
    if request.fix is not None and request.source is not None:
        raise ConfigError("--fix and --diff work on files on disk, not on staged or historical content")
    if settings.policy:  # a least-privilege policy file (MG4xx); loaded only when configured
        from maniac_guard.permissions.policy import activate_configured_policy

        activate_configured_policy(settings)
    source = request.source or scan_disk
    result = source(request)
    if settings.verify or settings.only_live:
        from maniac_guard.verify import verify_result

        verify_result(result, settings, quiet=request.quiet)
    if request.source is not None:  # disk scans select per group (scan_disk)
        result.findings = select_findings(result.findings, settings)
    drop_accepted(result, request)
    if request.fix is not None:
        from maniac_guard.fix.apply import apply_fixes

        diff_exit = apply_fixes(result, request, request.fix)
        if diff_exit is not None:
            report_messages(result, request)
            return diff_exit
    report_messages(result, request)
    if result.missing_paths and len(result.missing_paths) == len(request.paths):
        return EXIT_USAGE  # nothing was scanned: no report that could read as "0 findings"
    emit(result, request)
    if result.stages.incomplete:  # a file, folder or git object that could not be read
        return EXIT_USAGE
    return exit_code(result.findings, settings.fail_on)


class ScanOptions(NamedTuple):
    """`scan` / `fix` as the command line gives them (None: not given). A
    NamedTuple: as immutable as a frozen dataclass, and ~1 ms less of every
    start to create with its 37 fields."""

    paths: tuple[str, ...]
    fmt: str
    output: str | None
    exclude: tuple[str, ...]
    select: tuple[str, ...]
    ignore_rules: tuple[str, ...]
    fail_on: str | None
    no_gitignore: bool
    max_file_size: int | None
    jobs: int | None
    config: str | None
    color: bool | None
    verbose: bool
    quiet: bool
    baseline_file: str | None
    no_baseline: bool
    ignore_file: str | None
    verify: bool | None
    api_url: str | None
    verify_timeout: float | None
    verify_retries: int | None
    verify_budget: float | None
    only_live: bool | None
    no_cache: bool
    staged: bool
    history: bool
    since: str | None
    rev_range: str | None
    max_commits: int | None
    commit_msg: bool = False
    apply_fix: bool = False
    show_diff: bool = False
    unsafe_fixes: bool | None = None
    env_var: str | None = None
    write_env: str | None = None


def run_command(opts: ScanOptions) -> int:
    """`maniac-guard scan` (and `fix`): options → settings → request → run_scan."""
    import os

    from maniac_guard.commands.options import debug_logging, settings_for, severity, split_ids, use_color

    if opts.verbose:
        debug_logging()
    paths = opts.paths or (".",)
    settings = settings_for(
        paths,
        opts.config,
        select=split_ids(opts.select),
        ignore=split_ids(opts.ignore_rules, "--ignore"),
        fail_on=severity(opts.fail_on),
        gitignore=False if opts.no_gitignore else None,
        max_file_size=opts.max_file_size,
        jobs=opts.jobs,
        # Absolute, so that they are not read relative to the config file.
        baseline=os.path.abspath(opts.baseline_file) if opts.baseline_file else None,
        ignore_file=os.path.abspath(opts.ignore_file) if opts.ignore_file else None,
        verify=opts.verify,
        api_url=opts.api_url,
        verify_timeout=opts.verify_timeout,
        verify_retries=opts.verify_retries,
        verify_budget=opts.verify_budget,
        only_live=opts.only_live or None,
        verify_cache=False if opts.no_cache else None,
        env_var=opts.env_var,
        unsafe_fixes=opts.unsafe_fixes,
    )
    if opts.no_baseline:
        settings = replace(settings, baseline=None)
    request = ScanRequest(
        paths=list(paths),
        settings=settings,
        fmt=opts.fmt,
        output=opts.output,
        color=use_color(opts.color),
        verbose=opts.verbose,
        quiet=opts.quiet,
        cli_exclude=list(opts.exclude),
    )
    request.source = git_source(opts, settings.max_file_size)
    request.fix = fix_request(opts)
    return run_scan(request)


def fix_request(opts: ScanOptions) -> FixRequest | None:
    if not (opts.apply_fix or opts.show_diff):
        if opts.write_env:
            raise ConfigError("--write-env needs --fix")
        return None
    from maniac_guard.fix.apply import FixRequest

    if opts.env_var is not None and not opts.env_var.isidentifier():
        raise ConfigError(f"--env-var: {opts.env_var!r} is not a variable name")
    if opts.write_env and opts.show_diff:
        raise ConfigError("--write-env needs --fix (--diff writes nothing)")
    return FixRequest(diff=opts.show_diff, unsafe=bool(opts.unsafe_fixes), write_env=opts.write_env)


def git_source(opts: ScanOptions, max_size: int | None = None) -> Callable[[ScanTarget], ScanResult] | None:
    """Where --staged / --history / --commit-msg read from (None: files on disk).
    `max_size`: the size limit, for a history scan's first git process."""
    import os

    history = opts.history or opts.since is not None or opts.rev_range is not None or bool(opts.max_commits)
    if opts.staged + history + opts.commit_msg > 1:
        raise ConfigError("--staged, --history and --commit-msg cannot be combined")
    if opts.commit_msg:
        from maniac_guard.staged import scan_commit_msg

        return scan_commit_msg
    if opts.staged:
        from maniac_guard.staged import scan_staged

        return scan_staged
    if not history:
        return None
    from maniac_guard.sources.gitbig import BigBlobs
    from maniac_guard.sources.gitstart import no_big_blobs

    # The check for blobs over the size limit comes before git log -p: git
    # reads the object headers while the history modules load (or the
    # console script already did, gitstart.py).
    cwd = os.getcwd()
    big_blobs = BigBlobs(cwd, max_size, none_found=no_big_blobs(cwd, max_size)) if max_size is not None else None
    try:
        from maniac_guard.history import history_spec, scan_history
        from maniac_guard.sources.git import repo_info

        info = repo_info(os.getcwd())
        spec = history_spec(
            info.root, since=opts.since, range_=opts.rev_range, max_commits=opts.max_commits, shallow=info.shallow
        )
    except BaseException:
        if big_blobs is not None:
            big_blobs.close()
        raise
    return lambda target: scan_history(target, spec, info.root, big_blobs=big_blobs, info=info)
