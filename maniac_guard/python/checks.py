"""The rule checks MG201–MG208, on the values `fold.py` resolves. One method
per place a key can go: the SDK's key and headers, an HTTP request's
headers, an environment lookup's default, an environment write, and a key
assembled from pieces anywhere."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import TYPE_CHECKING

from maniac_guard.findings import mask
from maniac_guard.keyshape import looks_like_key
from maniac_guard.python.domain import ClassV, DictV, Frame, SeqV, Step, Text, Values
from maniac_guard.python.flow import Flow
from maniac_guard.python.fold import Folded, Values2Folded, cli_keys, sdk_base, sdk_value
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
from maniac_guard.python.modules import ModuleInfo, Project
from maniac_guard.python.resolve import Call, Resolver, getenv_parts, positional
from maniac_guard.python.sdk import PARTIAL
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
from maniac_guard.python.wrappers import ForeignSink, ForeignWrappers
from maniac_guard.records import dataclass, field

GETENV = frozenset({"os.getenv", "os.environ.get"})
ENV_SETTERS = frozenset({"os.environ.setdefault", "os.putenv"})
ENV_UPDATE = "os.environ.update"
SUBPROCESS = ("subprocess.", "asyncio.create_subprocess_")
CLI = "the maniac CLI's --api-key"
LEGACY_KEY_FIELDS = ("apiKey", "api_key")

if TYPE_CHECKING:
    from maniac_guard.sources import ProjectReader


@dataclass
class SdkArguments:
    keys: list[Folded] = field(default_factory=list)
    headers: list[tuple[str, list[Folded]]] = field(default_factory=list)  # default_headers in the call
    unpacked: list[tuple[str, list[Folded]]] = field(default_factory=list)  # from `**…` or partial


class Checker(Resolver):
    def __init__(
        self, tree: ast.Module, text: str, in_test: bool, path: str = "", reader: ProjectReader | None = None
    ) -> None:
        super().__init__(tree, text)
        self.in_test = in_test
        self.issues: list[PyIssue] = []
        self._reported: set[Located] = set()
        self.module = ModuleInfo(path, tree, text, self)
        self.project = Project(self.module, reader)
        self.flow = Flow(self.project)
        self.reach = Values2Folded(self.flow, self.module)

    def _add(self, issue: PyIssue) -> None:
        if issue.node in self._reported:
            return
        self._reported.add(issue.node)
        self.issues.append(issue)

    def fold(self, expr: ast.expr) -> Folded | None:
        return self.reach.fold(expr)

    def options(self, expr: ast.expr) -> list[Folded]:
        return self.reach.options(expr)

    def sdk_of(self, func: ast.expr, qnames: frozenset[str] | None = None) -> str | None:
        """The SDK class a call's function is: by name (resolve.py), or as a
        value (an alias, a subclass, `functools.partial` of it)."""
        found = super().sdk_of(func, qnames)
        if found is not None:
            return found
        return sdk_value(self.flow, self.reach.callee(func))

    def _partial_sdk(self, call: Call) -> str | None:
        """`functools.partial(Maniac, …)`: the SDK class it binds arguments to."""
        if not call.qnames & PARTIAL:
            return None
        given = positional(call.node)
        if not given:
            return None
        return self.sdk_of(given[0])

    def run(self) -> None:
        # The environment's defaults first: a literal that is one is reported as such.
        for call in self.calls:
            if call.qnames & GETENV:
                self._check_getenv(call.node)
        for left, fallback in self.or_fallbacks:
            lookups = [self._env_lookups(expr) for expr in left]
            first = lookups[0]
            if first is not None and all(lookups):
                name_expr, _ = getenv_parts(first)
                # The fix drops `or <fallback>`: the fixer finds the `or` by its right side.
                self._check_getenv_default(first, name_expr, fallback, DROP_OR_FALLBACK, fallback, "`or` fallback")
        for call in self.calls:
            if call.qnames & GETENV:
                continue
            sdk = self.sdk_of(call.node.func, call.qnames)
            partial_sdk = None if sdk is not None else self._partial_sdk(call)
            if sdk is not None or partial_sdk is not None:
                self._check_sdk_call(call.node, sdk or partial_sdk or "", partial=partial_sdk is not None)
            elif self._super_sdk(call.node) is not None:
                self._check_sdk_call(call.node, self._super_sdk(call.node) or "")
            elif call.qnames & ENV_SETTERS:
                self._check_env_setter(call, "os.putenv" if "os.putenv" in call.qnames else "os.environ.setdefault")
            elif isinstance(call.node.func, ast.Attribute) and call.node.func.attr == "setenv":
                self._check_env_setter(call, "monkeypatch.setenv")
            elif any(q.startswith(SUBPROCESS) for q in call.qnames):
                self._check_subprocess(call.node)
            elif ENV_UPDATE in call.qnames:
                self._check_env_update(call)
            elif any(k.arg == "headers" for k in call.node.keywords):
                self._check_http_call(call.node)
        for sink in ForeignWrappers(self.flow, self.module, self._foreign_sdk).sinks():
            self._check_foreign_sink(sink)
        for assign in self.env_assigns:
            name = self.fold(assign.target.slice)
            self._check_env_write(
                name.value if name else None,
                self.options(assign.value),
                assign.statement,
                "os.environ[...] =",
                sink=assign.target,
            )
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
        self, call: ast.Call, partial: bool, frame: Frame | None = None, mod: ModuleInfo | None = None
    ) -> SdkArguments:
        """The values of the key, of `default_headers`, and of headers unpacked
        from `**…` (`mod`: the module the call is in, when not the analyzed one)."""
        found = SdkArguments()
        reach = self.reach
        where = mod or self.module

        def evaluate(expr: ast.expr) -> Values:
            return self.flow.eval(expr, where, frame)

        for keyword in call.keywords:
            if keyword.arg == "api_key":
                found.keys += reach.strings(evaluate(keyword.value))
            elif keyword.arg == "default_headers":
                headers = self._headers(evaluate(keyword.value))
                (found.unpacked if partial else found.headers).extend(headers)
            elif keyword.arg is None:  # Maniac(**{"api_key": …}), or a name bound to such a dict
                for key, values in reach.entries(evaluate(keyword.value)) or []:
                    if key == "api_key":
                        found.keys += reach.strings(values)
                    elif key == "default_headers":
                        found.unpacked += self._headers(values)
        given = positional(call)[1 if partial else 0 :]
        if given:
            values = evaluate(given[0])
            found.keys += reach.strings(values)
            for key, inner in reach.entries(values) or []:  # Maniac({"apiKey": ...}) from older releases
                if key in LEGACY_KEY_FIELDS:
                    found.keys += reach.strings(inner)
                elif key in ("defaultHeaders", "default_headers"):
                    found.headers += self._headers(inner)
        return found

    def _headers(self, values: Values) -> list[tuple[str, list[Folded]]]:
        return [(name, self.reach.strings(inner)) for name, inner in self.reach.entries(values) or []]

    def _check_sdk_call(self, call: ast.Call, sdk: str, partial: bool = False) -> None:
        arguments = self._sdk_arguments(call, partial)
        for folded in arguments.keys:
            self._judge_sdk_value(folded, call, sdk)
        for frame in self._wrapper_frames(call):
            for folded in self._sdk_arguments(call, partial, frame).keys:
                if folded.via is not None:
                    self._judge_sdk_value(folded, call, sdk)
        for header, values in arguments.headers:
            self._check_header(header, values, call, f"{sdk}(default_headers=…)", sdk_call=True)
        for header, values in arguments.unpacked:  # no fix: the header is not in the call to move
            self._check_header(header, values, call, f"{sdk}(**…)", sdk_call=False)

    def _foreign_sdk(self, call: Call, mod: ModuleInfo, frame: Frame | None) -> tuple[str, bool] | None:
        """(SDK class, bound by partial?) when `call`, in another module, makes the SDK's client."""
        func = call.node.func
        sdk = mod.resolver.sdk_of(func, call.qnames) or sdk_value(self.flow, self.flow.eval(func, mod, frame))
        if sdk is not None:
            return sdk, False
        given = positional(call.node)
        if call.qnames & PARTIAL and given:
            bound = mod.resolver.sdk_of(given[0]) or sdk_value(self.flow, self.flow.eval(given[0], mod, frame))
            return None if bound is None else (bound, True)
        if isinstance(func, ast.Attribute) and func.attr == "__init__" and isinstance(func.value, ast.Call):
            maker = func.value.func
            owner = mod.owner(call.node)
            cls = mod.enclosing_class(owner) if owner is not None else None
            if isinstance(maker, ast.Name) and maker.id == "super" and cls is not None:
                base = sdk_base(self.flow, ClassV(cls, mod))
                return None if base is None else (base, False)
        return None

    def _check_foreign_sink(self, sink: ForeignSink) -> None:
        """A key this module passes to a wrapper of another module: only what
        went in through the wrapper's call here (the rest is that module's)."""
        args = self.flow.args(sink.entry, self.module, None)
        passed = _sites((*args.pos, *(values for _, values in args.kw)))
        for folded in self._sdk_arguments(sink.call, sink.partial, sink.frame, sink.mod).keys:
            if folded.via is not None and folded.site in passed:
                self._judge_sdk_value(folded, sink.entry, sink.sdk, (sink.call, sink.mod))

    def _wrapper_frames(self, call: ast.Call) -> list[Frame]:
        exprs = [k.value for k in call.keywords if k.arg in ("api_key", None)] + positional(call)[:2]
        frames: list[Frame] = []
        for expr in exprs:
            frames += self.reach.frames(expr)
        return frames

    def _judge_sdk_value(
        self, folded: Folded, call: ast.Call, sdk_name: str, sink: tuple[ast.Call, ModuleInfo] | None = None
    ) -> None:
        """`call`: where the value is used in this module (the SDK call, or the
        call of a wrapper of another module whose SDK call is `sink`)."""
        sdk = sdk_name if sdk_name == CLI else f"{sdk_name}()"  # the CLI's name carries its own words
        kind = classify(folded.value, self.in_test)
        secret = env_name = None
        via = folded.via
        if kind == REAL:
            secret = folded.value
            if via is not None:
                rule, message = "MG202", f"credential {mask(secret)} is passed to {via}() and on to {sdk}"
            elif folded.compound:
                rule, message = "MG203", f"credential {mask(secret)} is built from pieces and passed to {sdk}"
            elif folded.through_name:
                rule = "MG202"
                message = f"credential {mask(secret)} is assigned here and passed to {sdk} through a name"
            else:
                rule, message = "MG201", f"hardcoded credential {mask(secret)} passed to {sdk}"
        elif kind == ENV_NAME:
            env_name = folded.value.strip()
            rule = "MG207"
            message = (
                f"{sdk} gets the name {env_name!r} as its API key, not the variable's value; "
                f'use os.getenv("{env_name}") or leave api_key out'
            )
        elif kind == PLACEHOLDER and not self.in_test:
            rule = "MG208"
            message = f"placeholder {short(folded.value)} passed to {sdk} as the API key; read MANIAC_API_KEY instead"
        else:
            return  # Empty strings, and placeholders in test code: nothing to say.
        through = folded.through_name or via is not None
        self._issue(
            rule,
            message,
            folded,
            secret,
            (REPLACE_WITH_GETENV, folded.site, "safe"),
            call if through else None,
            env_name,
            call if sink is None else sink[0],
            None if sink is None else sink[1],
        )

    def _issue(
        self,
        rule: str,
        message: str,
        folded: Folded,
        secret: str | None,
        fix: tuple[str | None, Located | None, str | None],
        call_site: Located | None,
        env_name: str | None = None,
        sink: Located | None = None,
        sink_mod: ModuleInfo | None = None,
    ) -> None:
        """One issue at the literal, with its flow (the literal, its steps, the sink)."""
        if folded.path is not None:
            fix = (None, None, None)  # the literal is in another file: no edit here
        flow: list[Step] = list(folded.steps)
        if sink is not None:
            at_sink = self.flow.step(sink, sink_mod or self.module, "sink")
            if flow and flow[-1][:2] == at_sink[:2]:
                flow.pop()  # built on the sink's own line: one step there
            flow.append(at_sink)
        issue = PyIssue(rule, message, folded.site, secret, *fix, call_site, env_name)
        issue.path = folded.path
        issue.flow = tuple(flow) if len({s[:2] for s in flow}) > 1 else ()
        issue.raw = folded.raw
        self._add(issue)

    # ---- headers ----------------------------------------------------------

    def _check_header(
        self,
        header: str,
        values: list[Folded],
        call: ast.Call,
        where: str,
        sdk_call: bool,
        force: bool = True,
    ) -> None:
        if not is_key_header(header):
            return
        for folded in values:
            credential = header_credential(folded.value)
            if classify(credential, self.in_test) != REAL:
                continue
            if not force and not looks_like_key(credential):
                continue
            folded = self.reach.narrow(folded, credential)  # reported at the literal itself
            message = f"credential {mask(credential)} in the {header} header of {where}"
            fix: tuple[str | None, Located | None, str | None] = (None, None, None)
            if sdk_call and not folded.through_name:
                fix = (HEADER_TO_API_KEY, call, "unsafe")
            self._issue("MG206", message, folded, credential, fix, call if folded.through_name else None, sink=call)

    def _check_http_call(self, call: ast.Call) -> None:
        to_maniac = False
        headers = [k.value for k in call.keywords if k.arg == "headers"]
        targets = [*call.args, *(k.value for k in call.keywords if k.arg in ("url", "base_url"))]
        for target in targets:
            if any(is_maniac_url(f.value) for f in self.options(target)):
                to_maniac = True
        for expr in headers:
            # A request to another host may carry another service's token;
            # only an mk- key is ours to report there.
            where = "a request to the Maniac API" if to_maniac else "a request"
            for header, values in self._headers(self.reach.eval(expr)):
                self._check_header(header, values, call, where, False, force=to_maniac)

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
            self._issue(
                "MG205",
                message,
                folded,
                value,
                (fix_kind, fix_node, "safe"),
                call if folded.through_name else None,
                sink=call,
            )

    def _check_env_write(
        self,
        name: str | None,
        values: list[Folded],
        statement: Located | None,
        how: str,
        single: bool = True,
        sink: Located | None = None,
    ) -> None:
        for folded in values:
            value = folded.value
            if classify(value, self.in_test) != REAL:
                continue
            if not looks_like_key(value) and not (name is not None and is_maniac_env_name(name)):
                continue
            message = f"credential {mask(value)} written into the environment ({how} {name or '…'})"
            removable = statement is not None and single and not folded.through_name
            call_site = statement if folded.through_name else None
            fix: tuple[str | None, Located | None, str | None] = (None, None, None)
            if removable:
                fix = (REMOVE_STATEMENT, statement, "unsafe")
            self._issue("MG204", message, folded, value, fix, call_site, sink=sink or statement)

    def _check_env_setter(self, call: Call, how: str) -> None:
        given = positional(call.node)
        if len(given) < 2:
            return
        name = self.fold(given[0])
        self._check_env_write(name.value if name else None, self.options(given[1]), call.statement, how, sink=call.node)

    def _check_env_update(self, call: Call) -> None:
        pairs: list[tuple[str, list[Folded]]] = []
        for arg in positional(call.node):
            pairs += self._headers(self.reach.eval(arg))
        pairs += [(k.arg, self.options(k.value)) for k in call.node.keywords if k.arg is not None]
        for name, values in pairs:
            self._check_env_write(
                name, values, call.statement, "os.environ.update", single=len(pairs) == 1, sink=call.node
            )

    # ---- another process -------------------------------------------------

    def _check_subprocess(self, call: ast.Call) -> None:
        """A child's environment (`env={"MANIAC_API_KEY": …}`), and the SDK's
        CLI given `--api-key` in its argument list."""
        for keyword in call.keywords:
            if keyword.arg == "env":
                for name, values in self._headers(self.reach.eval(keyword.value)):
                    self._check_env_write(name, values, None, "a subprocess's env:", single=False, sink=call)
        argv = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "args"), None)
        if argv is None:
            return
        for value in self.reach.eval(argv):
            if isinstance(value, SeqV) and value.elts is not None:
                for folded in cli_keys(self.reach, value.elts):
                    self._judge_sdk_value(folded, call, CLI)

    def _super_sdk(self, call: ast.Call) -> str | None:
        """`super().__init__(…)` in a subclass of the SDK's client: that class."""
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr == "__init__" and isinstance(func.value, ast.Call)):
            return None
        maker = func.value.func
        if not (isinstance(maker, ast.Name) and maker.id == "super"):
            return None
        owner = self.module.owner(call)
        cls = self.module.enclosing_class(owner) if owner is not None else None
        return None if cls is None else sdk_base(self.flow, ClassV(cls, self.module))

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
            self._add(PyIssue("MG203", message, node, folded.value, REPLACE_WITH_GETENV, node, "safe"))


def _sites(groups: Iterable[Values], depth: int = 3) -> set[ast.expr]:
    """Where the strings among these values were written (the pieces of built ones too)."""
    found: set[ast.expr] = set()
    for values in groups:
        for value in values:
            if isinstance(value, Text):
                stack = [value]
                while stack and len(found) < 256:
                    text = stack.pop()
                    found.add(text.site)
                    stack += text.parts
            elif depth and isinstance(value, DictV):
                found |= _sites((v for _, v in value.items), depth - 1)
            elif depth and isinstance(value, SeqV):
                found |= _sites((*(value.elts or ()), value.more), depth - 1)
    return found
