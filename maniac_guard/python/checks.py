"""The rule checks MG201–MG208, on the values `fold.py` resolves. One method
per place a key can go: the SDK's key and headers, an HTTP request's
headers, an environment lookup's default, an environment write, and a key
assembled from pieces anywhere."""

from __future__ import annotations

import ast
import dataclasses

from maniac_guard.findings import mask
from maniac_guard.keyshape import looks_like_key
from maniac_guard.python.fold import Folded, Folder
from maniac_guard.python.issues import (
    DROP_GETENV_DEFAULT,
    DROP_OR_FALLBACK,
    HEADER_TO_API_KEY,
    REMOVE_STATEMENT,
    REPLACE_WITH_GETENV,
    Located,
    PyIssue,
    short,
)
from maniac_guard.python.resolve import Call, getenv_parts, positional
from maniac_guard.python.values import (
    ENV_NAME,
    PLACEHOLDER,
    REAL,
    classify,
    header_credential,
    is_key_header,
    is_maniac_env_name,
    is_maniac_url,
)
from maniac_guard.python.wrappers import Wrappers

GETENV = frozenset({"os.getenv", "os.environ.get"})
ENV_SETTERS = frozenset({"os.environ.setdefault", "os.putenv"})
ENV_UPDATE = "os.environ.update"
PARTIAL = frozenset({"functools.partial"})
LEGACY_KEY_FIELDS = ("apiKey", "api_key")


class Checker(Folder):
    def __init__(self, tree: ast.Module, text: str, in_test: bool) -> None:
        super().__init__(tree, text)
        self.in_test = in_test
        self.issues: list[PyIssue] = []
        self._reported: set[Located] = set()
        self.wrappers = Wrappers(self)  # its index of calls is built on first use

    def _add(self, issue: PyIssue) -> None:
        if issue.node in self._reported:
            return
        self._reported.add(issue.node)
        self.issues.append(issue)

    def _partial_sdk(self, call: Call) -> str | None:
        """`functools.partial(Maniac, …)`: the SDK class it binds arguments to."""
        if not call.qnames & PARTIAL:
            return None
        given = positional(call.node)
        if not given:
            return None
        return self.sdk_of(given[0])

    def run(self) -> None:
        for call in self.calls:
            sdk = self.sdk_of(call.node.func, call.qnames)
            partial_sdk = None if sdk is not None else self._partial_sdk(call)
            if sdk is not None or partial_sdk is not None:
                self._check_sdk_call(call.node, sdk or partial_sdk or "", partial=partial_sdk is not None)
            elif call.qnames & GETENV:
                self._check_getenv(call.node)
            elif call.qnames & ENV_SETTERS:
                self._check_env_setter(call)
            elif ENV_UPDATE in call.qnames:
                self._check_env_update(call)
            elif any(k.arg == "headers" for k in call.node.keywords):
                self._check_http_call(call.node)
        for assign in self.env_assigns:
            name = self.fold(assign.target.slice)
            self._check_env_write(
                name.value if name else None,
                assign.value,
                assign.statement,
                "os.environ[...] =",
            )
        for left, fallback in self.or_fallbacks:
            lookups = [self._env_lookups(expr) for expr in left]
            first = lookups[0]
            if first is not None and all(lookups):
                name_expr, _ = getenv_parts(first)
                # The fix drops `or <fallback>`: the fixer finds the `or` by its right side.
                self._check_getenv_default(first, name_expr, fallback, DROP_OR_FALLBACK, fallback, "`or` fallback")
        self._check_pieces()

    def _env_lookups(self, expr: ast.expr) -> ast.Call | None:
        """The first getenv call of `os.getenv(A)` or `os.getenv(A) or
        os.environ.get(B) or …`, None if anything else is in it."""
        if isinstance(expr, ast.Call):
            return expr if self.qnames(expr.func) & GETENV else None
        if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or):
            lookups = [self._env_lookups(value) for value in expr.values]
            return lookups[0] if all(lookups) else None
        return None

    # ---- the SDK ----------------------------------------------------------

    def _sdk_arguments(
        self, call: ast.Call, partial: bool
    ) -> tuple[list[ast.expr], set[int], list[ast.expr], list[ast.expr]]:
        """Key expressions (with the ids of those from a dict bound to a name),
        default_headers expressions, and headers unpacked from `**…`."""
        keys: list[ast.expr] = []
        via_name: set[int] = set()
        headers: list[ast.expr] = []
        unpacked: list[ast.expr] = []
        for keyword in call.keywords:
            if keyword.arg == "api_key":
                keys.append(keyword.value)
            elif keyword.arg == "default_headers":
                (unpacked if partial else headers).append(keyword.value)
            elif keyword.arg is None:  # Maniac(**{"api_key": …}), or a name bound to such a dict
                for key, value in self.dict_items(keyword.value) or []:
                    if key == "api_key":
                        keys.append(value)
                        if not isinstance(keyword.value, (ast.Dict, ast.Call)):
                            via_name.add(id(value))
                    elif key == "default_headers":
                        unpacked.append(value)
        given = positional(call)[1 if partial else 0 :]
        if given:
            first = given[0]
            legacy = self.dict_items(first)
            if legacy is None:
                keys.append(first)
            else:  # Maniac({"apiKey": ...}) from older releases
                keys += [value for key, value in legacy if key in LEGACY_KEY_FIELDS]
                headers += [v for k, v in legacy if k in ("defaultHeaders", "default_headers")]
        return keys, via_name, headers, unpacked

    def _check_sdk_call(self, call: ast.Call, sdk: str, partial: bool = False) -> None:
        keys, via_name, headers, unpacked = self._sdk_arguments(call, partial)
        for expr in keys:
            for folded in self.options(expr):
                if id(expr) in via_name and not folded.through_name:
                    folded = dataclasses.replace(folded, through_name=True)
                self._judge_sdk_value(folded, call, sdk)
            for argument, wrapper in self.wrappers.arguments_for(expr):
                for folded in self.options(argument):
                    self._judge_sdk_value(
                        dataclasses.replace(folded, through_name=True),
                        call,
                        sdk,
                        via=wrapper,
                    )
        for expr in headers:
            self._check_headers(expr, call, f"{sdk}(default_headers=…)", sdk_call=True)
        for expr in unpacked:  # no fix: the header is not in the call to move
            self._check_headers(expr, call, f"{sdk}(**…)", sdk_call=False)

    def _judge_sdk_value(self, folded: Folded, call: ast.Call, sdk: str, via: str | None = None) -> None:
        kind = classify(folded.value, self.in_test)
        secret = env_name = None
        if kind == REAL:
            secret = folded.value
            if via is not None:
                rule, message = "MG202", f"credential {mask(secret)} is passed to {via}() and on to {sdk}()"
            elif folded.compound:
                rule, message = "MG203", f"credential {mask(secret)} is built from pieces and passed to {sdk}()"
            elif folded.through_name:
                rule = "MG202"
                message = f"credential {mask(secret)} is assigned here and passed to {sdk}() through a name"
            else:
                rule, message = "MG201", f"hardcoded credential {mask(secret)} passed to {sdk}()"
        elif kind == ENV_NAME:
            env_name = folded.value.strip()
            rule = "MG207"
            message = (
                f"{sdk}() gets the name {env_name!r} as its API key, not the variable's value; "
                f'use os.getenv("{env_name}") or leave api_key out'
            )
        elif kind == PLACEHOLDER and not self.in_test:
            rule = "MG208"
            message = f"placeholder {short(folded.value)} passed to {sdk}() as the API key; read MANIAC_API_KEY instead"
        else:
            return  # Empty strings, and placeholders in test code: nothing to say.
        site = folded.site
        call_site = call if folded.through_name else None
        self._add(PyIssue(rule, message, site, secret, REPLACE_WITH_GETENV, site, "safe", call_site, env_name))

    # ---- headers ----------------------------------------------------------

    def _check_headers(
        self,
        expr: ast.expr,
        call: ast.Call,
        where: str,
        sdk_call: bool,
        force: bool = True,
    ) -> None:
        for header, value_expr in self.dict_items(expr) or []:
            if not is_key_header(header):
                continue
            for folded in self.options(value_expr):
                credential = header_credential(folded.value)
                if classify(credential, self.in_test) != REAL:
                    continue
                if not force and not looks_like_key(credential):
                    continue
                message = f"credential {mask(credential)} in the {header} header of {where}"
                fix: tuple[str | None, Located | None, str | None] = (
                    None,
                    None,
                    None,
                )
                if sdk_call and not folded.through_name:
                    fix = (HEADER_TO_API_KEY, call, "unsafe")
                self._add(
                    PyIssue(
                        "MG206",
                        message,
                        folded.site,
                        credential,
                        *fix,
                        call if folded.through_name else None,
                    )
                )

    def _check_http_call(self, call: ast.Call) -> None:
        to_maniac = False
        headers = [k.value for k in call.keywords if k.arg == "headers"]
        targets = [*call.args, *(k.value for k in call.keywords if k.arg in ("url", "base_url"))]
        for target in targets:
            folded = self.fold(target)
            if folded is not None and is_maniac_url(folded.value):
                to_maniac = True
        for expr in headers:
            # A request to another host may carry another service's token;
            # only an mk- key is ours to report there.
            self._check_headers(
                expr,
                call,
                "a request to the Maniac API" if to_maniac else "a request",
                False,
                force=to_maniac,
            )

    # ---- the environment --------------------------------------------------

    def _check_getenv(self, call: ast.Call) -> None:
        name_expr, default = getenv_parts(call)
        if default is not None:
            self._check_getenv_default(call, name_expr, default, DROP_GETENV_DEFAULT, call, "default")

    def _check_getenv_default(
        self,
        call: ast.Call,
        name_expr: ast.expr | None,
        default: ast.expr,
        fix_kind: str,
        fix_node: Located,
        role: str,
    ) -> None:
        """A credential used when the variable is unset: the call's default,
        or the right side of `os.getenv(…) or <fallback>`."""
        name = self.fold(name_expr) if name_expr is not None else None
        for folded in self.options(default):
            value = folded.value
            if classify(value, self.in_test) != REAL:
                continue
            if not looks_like_key(value) and not (name is not None and is_maniac_env_name(name.value)):
                continue
            shown = name.value if name is not None else "the variable"
            message = f"credential {mask(value)} is the {role} of {shown}: the key ships with the code when the variable is unset"
            self._add(
                PyIssue(
                    "MG205",
                    message,
                    folded.site,
                    value,
                    fix_kind,
                    fix_node,
                    "safe",
                    call if folded.through_name else None,
                )
            )

    def _check_env_write(
        self,
        name: str | None,
        value_expr: ast.expr,
        statement: Located | None,
        how: str,
        single: bool = True,
    ) -> None:
        for folded in self.options(value_expr):
            value = folded.value
            if classify(value, self.in_test) != REAL:
                continue
            if not looks_like_key(value) and not (name is not None and is_maniac_env_name(name)):
                continue
            message = f"credential {mask(value)} written into the environment ({how} {name or '…'})"
            removable = statement is not None and single and not folded.through_name
            call_site = statement if folded.through_name else None
            if removable:
                issue = PyIssue(
                    "MG204",
                    message,
                    folded.site,
                    value,
                    REMOVE_STATEMENT,
                    statement,
                    "unsafe",
                    call_site,
                )
            else:
                issue = PyIssue("MG204", message, folded.site, value, None, None, None, call_site)
            self._add(issue)

    def _check_env_setter(self, call: Call) -> None:
        given = positional(call.node)
        if len(given) < 2:
            return
        name = self.fold(given[0])
        how = "os.putenv" if "os.putenv" in call.qnames else "os.environ.setdefault"
        self._check_env_write(name.value if name else None, given[1], call.statement, how)

    def _check_env_update(self, call: Call) -> None:
        pairs: list[tuple[str, ast.expr]] = []
        for arg in positional(call.node):
            pairs += self.dict_items(arg) or []
        pairs += [(k.arg, k.value) for k in call.node.keywords if k.arg is not None]
        for name, value in pairs:
            self._check_env_write(name, value, call.statement, "os.environ.update", single=len(pairs) == 1)

    # ---- pieces -----------------------------------------------------------

    def _check_pieces(self) -> None:
        """MG203 anywhere: an mk- key assembled from constants, used or not."""
        parents = dict(self.compounds)
        seen: set[ast.expr] = set()
        for node, parent in self.compounds:
            ancestor = parent
            while ancestor is not None and ancestor not in seen and ancestor not in self._reported:
                ancestor = parents.get(ancestor)
            if ancestor is not None or node in self._reported:
                continue
            folded = self.fold(node)
            if folded is None or not looks_like_key(folded.value):
                continue
            seen.add(node)
            if not folded.compound:
                continue
            message = f"Maniac API key {mask(folded.value)} assembled from pieces"
            self._add(
                PyIssue(
                    "MG203",
                    message,
                    node,
                    folded.value,
                    REPLACE_WITH_GETENV,
                    node,
                    "safe",
                )
            )
