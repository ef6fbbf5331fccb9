"""Which rules run and which findings are kept: rule selection (--select /
--ignore, ruff-style prefixes) and inline suppression, each written once."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from maniac_guard.errors import EXIT_CLEAN, EXIT_FINDINGS, ConfigError
from maniac_guard.findings import Finding, Severity

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from maniac_guard.config import Settings

# `maniac-guard: ignore` or `maniac-guard: ignore[MG101, MG2]`, honoured only
# in a comment of the file's language (comment_syntax).
IGNORE_RE = re.compile(r"maniac-guard:\s*ignore(?:\[([A-Za-z0-9_,\s]+)\])?")

# Comment syntaxes: one regex each, matching (and so skipping) the
# language's strings and capturing its comments in group `c`. Every
# alternative is linear: no nested quantifiers, unterminated block comments
# and strings end at the end of the text or line.
_DQ = r'"(?:[^"\\\n]|\\.)*"'
_SQ = r"'(?:[^'\\\n]|\\.)*'"
_TRIPLE = r'"""(?:[^"\\]|\\.|"(?!""))*(?:"""|\Z)' + r"|'''(?:[^'\\]|\\.|'(?!''))*(?:'''|\Z)"
_BLOCK = r"/\*(?:[^*]|\*(?!/))*(?:\*/|\Z)"
_AFTER_SPACE = r"(?:(?<=[ \t])|^)"
_SYNTAXES = {
    # Python: `#` anywhere outside a string (also triple-quoted ones).
    "python": rf"{_TRIPLE}|{_DQ}|{_SQ}|(?P<c>#[^\n]*)",
    # Shell, YAML, TOML, .env, Dockerfile, Makefile, Ruby, R, Perl: `#` that
    # starts the line or follows a blank (`a#b` is no comment in these).
    "hash": rf"{_TRIPLE}|{_DQ}|{_SQ}|(?P<c>{_AFTER_SPACE}#[^\n]*)",
    # C, C++, Java, JavaScript, TypeScript, Go, Rust, Kotlin, Swift, C#, JSONC, CSS…
    "c": rf"{_DQ}|{_SQ}|`(?:[^`\\]|\\.)*`|(?P<c>//[^\n]*|{_BLOCK})",
    # PHP, Terraform/HCL: both.
    "c-hash": rf"{_DQ}|{_SQ}|(?P<c>//[^\n]*|#[^\n]*|{_BLOCK})",
    # HTML, XML, SVG, Markdown.
    "markup": r"(?P<c><!--(?:[^-]|-(?!->))*(?:-->|\Z))",
    # SQL (`#` is MySQL's), Lua, Haskell: `--`.
    "sql": rf"'(?:[^']|'')*'|(?P<c>--[^\n]*|{_BLOCK}|#[^\n]*)",
    "dash": rf"{_DQ}|{_SQ}|(?P<c>--[^\n]*)",
    # INI, .cfg, .properties: `;` or `#` at the start or after a blank.
    "ini": rf"(?P<c>{_AFTER_SPACE}[;#!][^\n]*)",
    # Lisp, Clojure, assembly.
    "semicolon": rf"{_DQ}|(?P<c>;[^\n]*)",
    # TeX, Erlang, MATLAB.
    "percent": r"(?P<c>(?<!\\)%[^\n]*)",
    # Batch files.
    "batch": r"(?P<c>(?:^|&)[ \t@]*(?:[Rr][Ee][Mm]\b|::)[^\n]*)",
    # Plain text, logs, files of no known language: a `#` or `//` comment
    # that starts the line or follows a blank.
    "text": rf"(?P<c>{_AFTER_SPACE}(?:#|//)[^\n]*)",
}


@functools.cache
def comment_re(syntax: str) -> re.Pattern[str]:
    """The syntax's comment regex, compiled on first use: only a file that
    holds `maniac-guard` needs one, and compiling all 12 cost a hook ~2 ms."""
    return re.compile(_SYNTAXES[syntax], re.MULTILINE)


_BY_SUFFIX = {
    **dict.fromkeys((".py", ".pyi", ".pyw"), "python"),
    **dict.fromkeys(
        (
            ".sh",
            ".bash",
            ".zsh",
            ".ksh",
            ".fish",
            ".yaml",
            ".yml",
            ".toml",
            ".env",
            ".rb",
            ".r",
            ".pl",
            ".pm",
            ".ps1",
            ".psm1",
            ".ex",
            ".exs",
            ".nim",
            ".cmake",
            ".mk",
            ".conf",
            ".tcl",
            ".jl",
            ".cr",
            ".coffee",
            ".dockerfile",
            ".gitignore",
            ".dockerignore",
            ".editorconfig",
            ".bzl",
            ".star",
            ".nix",
        ),
        "hash",
    ),
    **dict.fromkeys(
        (
            ".c",
            ".h",
            ".cc",
            ".cpp",
            ".cxx",
            ".hpp",
            ".hh",
            ".m",
            ".mm",
            ".java",
            ".js",
            ".jsx",
            ".mjs",
            ".cjs",
            ".ts",
            ".tsx",
            ".mts",
            ".cts",
            ".go",
            ".rs",
            ".kt",
            ".kts",
            ".swift",
            ".cs",
            ".scala",
            ".dart",
            ".groovy",
            ".gradle",
            ".jsonc",
            ".json5",
            ".css",
            ".scss",
            ".less",
            ".proto",
            ".sol",
            ".zig",
            ".v",
            ".vue",
            ".svelte",
            ".fs",
            ".fsx",
        ),
        "c",
    ),
    **dict.fromkeys((".php", ".tf", ".tfvars", ".hcl", ".http", ".rest"), "c-hash"),
    **dict.fromkeys(
        (".html", ".htm", ".xhtml", ".xml", ".svg", ".md", ".markdown", ".rst", ".plist", ".xaml"), "markup"
    ),
    **dict.fromkeys((".sql", ".psql", ".mysql"), "sql"),
    **dict.fromkeys((".lua", ".hs", ".elm", ".ada", ".adb", ".ads", ".vhd", ".vhdl"), "dash"),
    **dict.fromkeys((".ini", ".cfg", ".properties", ".desktop", ".reg", ".inf"), "ini"),
    **dict.fromkeys((".lisp", ".el", ".clj", ".cljs", ".edn", ".scm", ".asm", ".s"), "semicolon"),
    **dict.fromkeys((".tex", ".sty", ".erl", ".hrl"), "percent"),
    **dict.fromkeys((".bat", ".cmd"), "batch"),
    # JSON has no comments: a marker in a value is data, never a suppression.
    **dict.fromkeys((".json", ".ipynb", ".lock", ".map", ".geojson", ".har", ".csv", ".tsv"), None),
}
_BY_NAME = {
    **dict.fromkeys(
        (
            "dockerfile",
            "containerfile",
            "makefile",
            "gnumakefile",
            "rakefile",
            "gemfile",
            "vagrantfile",
            "procfile",
            "brewfile",
            "pipfile",
            "codeowners",
            "requirements.txt",
            ".gitattributes",
            ".npmrc",
            ".bashrc",
            ".zshrc",
            ".profile",
        ),
        "hash",
    ),
}


def comment_syntax(path: str) -> str | None:
    """The comment syntax of a file, by its name (None: it has no comments)."""
    name = path.rsplit("/", 1)[-1].lower()
    if name in _BY_NAME:
        return _BY_NAME[name]
    if name.startswith(".env") or name.endswith(".env"):
        return "hash"
    if name.startswith("dockerfile") or name.endswith(".dockerfile"):
        return "hash"
    dot = name.rfind(".")
    suffix = name[dot:] if dot > 0 or (dot == 0 and name.count(".") == 1) else ""
    return _BY_SUFFIX.get(suffix, "text")


def suppressions(text: str, syntax: str | None) -> dict[int, frozenset[str] | None]:
    """0-based line -> the rules its comments suppress (None: all). Only a
    marker inside a comment counts: in a string, a JSON value, glued to a
    key or anywhere in a line of data it is text like any other."""
    found: dict[int, frozenset[str] | None] = {}
    if syntax is None or "maniac-guard" not in text:
        return found
    for comment in comment_re(syntax).finditer(text):
        start = comment.start("c")
        if start < 0 or "maniac-guard" not in comment.group("c"):
            continue
        for marker in IGNORE_RE.finditer(comment.group("c")):
            line = text.count("\n", 0, start + marker.start())
            rules = _marker_rules(marker)
            previous = found.get(line, frozenset())
            found[line] = None if rules is None or previous is None else previous | rules
    return found


def _marker_rules(marker: re.Match[str]) -> frozenset[str] | None:
    if marker.group(1) is None:
        return None
    return frozenset(part.strip().upper() for part in marker.group(1).split(",") if part.strip())


def suppresses(rules: frozenset[str] | None, rule_id: str) -> bool:
    """Whether a line's suppression (`suppressions`) covers this rule."""
    return rules is None or rule_id in rules


def rule_matches(rule_id: str, selectors: Sequence[str]) -> bool:
    """ruff-style: `MG1` selects every 1xx rule, `MG101` just that rule."""
    return any(rule_id.startswith(s.strip().upper()) for s in selectors if s.strip())


def check_selectors(selectors: Sequence[str]) -> None:
    """Every selector names a rule. Loads the catalog even with none: a broken
    rules folder must stop a run (exit 2), not let it report clean."""
    from maniac_guard.catalog import load_rules

    ids = load_rules()
    for selector in selectors:
        if not any(rule_id.startswith(selector.strip().upper()) for rule_id in ids):
            raise ConfigError(f"unknown rule selector '{selector}' (see `maniac-guard rules`)")


def select_findings(findings: list[Finding], settings: Settings) -> list[Finding]:
    kept = findings
    if settings.select:
        kept = [f for f in kept if rule_matches(f.rule_id, settings.select)]
    if settings.ignore:
        kept = [f for f in kept if not rule_matches(f.rule_id, settings.ignore)]
    return kept


def enabled_rules(settings: Settings) -> frozenset[str] | None:
    """The rules --select/--ignore leave on, or None when all are. None left
    on is an error (exit 2): a scan that checks nothing must not say clean."""
    if not settings.select and not settings.ignore:
        return None
    from maniac_guard.catalog import load_rules

    enabled = frozenset(
        rule_id
        for rule_id in load_rules()
        if (not settings.select or rule_matches(rule_id, settings.select))
        and not rule_matches(rule_id, settings.ignore)
    )
    if not enabled:
        raise ConfigError(f"{_where_selected(settings)} switch every rule off; nothing would be scanned")
    return enabled


def _where_selected(settings: Settings) -> str:
    """`--select MG4 --ignore MG4`, or the config file that set them."""
    parts = []
    for key in ("select", "ignore"):
        values = getattr(settings, key)
        if not values:
            continue
        flag = "--ignore" if key == "ignore" else "--select"
        if key in settings.overrides:
            parts.append(f"{flag} {','.join(values)}")
        else:
            parts.append(f"{settings.config_path or 'config'}: {key} = {list(values)}")
    return " and ".join(parts)


def exit_code(findings: Sequence[Finding], fail_on: Severity) -> int:
    return EXIT_FINDINGS if any(f.severity >= fail_on for f in findings) else EXIT_CLEAN
