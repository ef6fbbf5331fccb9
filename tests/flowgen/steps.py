"""The steps: each one ordinary Python construct that carries a value on.

A step gets the builder and the expression holding the value so far, writes
what it needs (statements, imports, other modules) and returns the expression
holding the value afterwards. Every step keeps the value exactly as it was
(or, for the steps in ENCODERS, decodes it: the generator writes the literal
already encoded), so the executor's label says whether the *flow* reaches
the sink. Steps are registered by construct
name; the names are what recall is reported by."""

from __future__ import annotations

import base64
from collections.abc import Callable

from tests.flowgen.model import Builder, Module, fstring, paren

Step = Callable[[Builder, str], str]
STEPS: dict[str, Step] = {}
# Steps that change the value at run time, with the inverse the generator
# applies to the key to write the literal: the client still gets the key.
ENCODERS: dict[str, Callable[[str], str]] = {}
DECODERS: dict[str, Callable[[str], str]] = {}  # what the step does at run time, to check a chain


def step(name: str) -> Callable[[Step], Step]:
    def register(function: Step) -> Step:
        STEPS[name] = function
        return function

    return register


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


# ----------------------------------------------------------------- bindings


@step("assign")
def assign(b: Builder, e: str) -> str:
    name = b.fresh("value")
    b.emit(f"{name} = {e}")
    return name


@step("annotated-assign")
def annotated_assign(b: Builder, e: str) -> str:
    name = b.fresh("TOKEN")
    b.emit(f"{name}: str = {e}")
    return name


@step("tuple-unpack")
def tuple_unpack(b: Builder, e: str) -> str:
    name, other = b.fresh("key"), b.fresh("region")
    b.emit(f'{other}, {name} = "eu-west-1", {e}')
    return name


@step("star-unpack")
def star_unpack(b: Builder, e: str) -> str:
    name, rest = b.fresh("key"), b.fresh("rest")
    b.emit(f'{name}, *{rest} = [{e}, "eu-west-1", "v2"]')
    return name


@step("augmented-assign")
def augmented_assign(b: Builder, e: str) -> str:
    name = b.fresh("secret")
    b.emit(f'{name} = ""', f"{name} += {e}")
    return name


@step("walrus")
def walrus(b: Builder, e: str) -> str:
    name, flag = b.fresh("found"), b.fresh("have_key")
    b.emit(f"{flag} = bool({name} := {e})")
    return name


@step("global")
def global_(b: Builder, e: str) -> str:
    name, setter = b.fresh("API_TOKEN"), b.fresh("load_token")
    b.emit(f"{name} = None", f"def {setter}():", f"    global {name}", f"    {name} = {e}", f"{setter}()")
    return name


@step("with-as")
def with_as(b: Builder, e: str) -> str:
    b.need("import contextlib")
    name, holder = b.fresh("opened"), b.fresh("held")
    b.emit(f"with contextlib.nullcontext({e}) as {name}:", f"    {holder} = {name}")
    return holder


@step("match-capture")
def match_capture(b: Builder, e: str) -> str:
    name, holder = b.fresh("captured"), b.fresh("matched")
    b.emit(
        f"{holder} = None",
        f'match {{"api_key": {e}}}:',
        f'    case {{"api_key": {name}}}:',
        f"        {holder} = {name}",
    )
    return holder


# ---------------------------------------------------------------- functions


@step("function-return")
def function_return(b: Builder, e: str) -> str:
    name = b.fresh("get_api_key")
    b.emit(f"def {name}():", f"    return {e}")
    return f"{name}()"


@step("parameter")
def parameter(b: Builder, e: str) -> str:
    name = b.fresh("passthrough")
    b.emit(f"def {name}(value):", "    return value")
    return f"{name}({e})"


@step("keyword-argument")
def keyword_argument(b: Builder, e: str) -> str:
    name = b.fresh("pick")
    b.emit(f"def {name}(region, *, token):", "    return token")
    return f'{name}("eu-west-1", token={e})'


@step("default-param")
def default_param(b: Builder, e: str) -> str:
    name = b.fresh("resolve_key")
    b.emit(f"def {name}(key={e}):", "    return key")
    return f"{name}()"


@step("args-splat")
def args_splat(b: Builder, e: str) -> str:
    name = b.fresh("first")
    b.emit(f"def {name}(*values):", "    return values[0]")
    return f"{name}({e})"


@step("kwargs-splat")
def kwargs_splat(b: Builder, e: str) -> str:
    name = b.fresh("from_options")
    b.emit(f"def {name}(**options):", '    return options["api_key"]')
    return f"{name}(api_key={e})"


@step("lambda")
def lambda_(b: Builder, e: str) -> str:
    name = b.fresh("key_of")
    b.emit(f"{name} = lambda: {e}")
    return f"{name}()"


@step("closure")
def closure(b: Builder, e: str) -> str:
    outer, inner = b.fresh("make_getter"), b.fresh("getter")
    b.emit(
        f"def {outer}():",
        f"    captured = {e}",
        f"    def {inner}():",
        "        return captured",
        f"    return {inner}",
    )
    return f"{outer}()()"


@step("nonlocal")
def nonlocal_(b: Builder, e: str) -> str:
    name = b.fresh("load")
    b.emit(
        f"def {name}():",
        "    found = None",
        "    def fill():",
        "        nonlocal found",
        f"        found = {e}",
        "    fill()",
        "    return found",
    )
    return f"{name}()"


@step("decorator-wraps")
def decorator_wraps(b: Builder, e: str) -> str:
    b.need("import functools")
    deco, name = b.fresh("logged"), b.fresh("api_key")
    b.emit(
        f"def {deco}(function):",
        "    @functools.wraps(function)",
        "    def wrapper(*args, **kwargs):",
        "        return function(*args, **kwargs)",
        "    return wrapper",
        f"@{deco}",
        f"def {name}():",
        f"    return {e}",
    )
    return f"{name}()"


@step("lru-cache")
def lru_cache(b: Builder, e: str) -> str:
    b.need("import functools")
    name = b.fresh("cached_key")
    b.emit("@functools.lru_cache(maxsize=None)", f"def {name}():", f"    return {e}")
    return f"{name}()"


@step("kwonly-default")
def kwonly_default(b: Builder, e: str) -> str:
    name = b.fresh("connect_args")
    b.emit(f"def {name}(*, token={e}):", "    return token")
    return f"{name}()"


@step("tuple-return")
def tuple_return(b: Builder, e: str) -> str:
    name, region, key = b.fresh("load_pair"), b.fresh("region"), b.fresh("pair_key")
    b.emit(f"def {name}():", f'    return "eu-west-1", {e}', f"{region}, {key} = {name}()")
    return key


@step("chained-assign")
def chained_assign(b: Builder, e: str) -> str:
    first, second = b.fresh("DEFAULT_KEY"), b.fresh("active_key")
    b.emit(f"{first} = {second} = {e}")
    return second


@step("try-except")
def try_except(b: Builder, e: str) -> str:
    name = b.fresh("loaded")
    b.emit("try:", f"    {name} = {e}", "except Exception:", f"    {name} = None")
    return name


@step("while-loop")
def while_loop(b: Builder, e: str) -> str:
    name = b.fresh("attempt")
    b.emit(f"{name} = None", f"while {name} is None:", f"    {name} = {e}")
    return name


@step("map-call")
def map_call(b: Builder, e: str) -> str:
    return f"list(map(str.strip, [{e}]))[0]"


# ------------------------------------------------------------------ classes


@step("class-attr")
def class_attr(b: Builder, e: str) -> str:
    name = b.fresh("Settings")
    b.emit(f"class {name}:", f"    API_KEY = {e}")
    return f"{name}.API_KEY"


@step("inherited-class-attr")
def inherited_class_attr(b: Builder, e: str) -> str:
    base, child = b.fresh("BaseConfig"), b.fresh("ProdConfig")
    b.emit(f"class {base}:", f"    API_KEY = {e}", f"class {child}({base}):", '    REGION = "eu-west-1"')
    return f"{child}.API_KEY"


@step("instance-attr")
def instance_attr(b: Builder, e: str) -> str:
    name = b.fresh("Config")
    b.emit(f"class {name}:", "    def __init__(self):", f"        self.api_key = {e}")
    return f"{name}().api_key"


@step("init-param")
def init_param(b: Builder, e: str) -> str:
    name = b.fresh("Credentials")
    b.emit(f"class {name}:", "    def __init__(self, key):", "        self.key = key")
    return f"{name}({e}).key"


@step("property")
def property_(b: Builder, e: str) -> str:
    name = b.fresh("Account")
    b.emit(f"class {name}:", "    @property", "    def api_key(self):", f"        return {e}")
    return f"{name}().api_key"


@step("method")
def method(b: Builder, e: str) -> str:
    name = b.fresh("Vault")
    b.emit(f"class {name}:", "    def read(self, value):", "        return value")
    return f"{name}().read({e})"


@step("staticmethod")
def staticmethod_(b: Builder, e: str) -> str:
    name = b.fresh("Keys")
    b.emit(f"class {name}:", "    @staticmethod", "    def current():", f"        return {e}")
    return f"{name}.current()"


@step("classmethod")
def classmethod_(b: Builder, e: str) -> str:
    name = b.fresh("Env")
    b.emit(
        f"class {name}:",
        f"    KEY = {e}",
        "    @classmethod",
        "    def key(cls):",
        "        return cls.KEY",
    )
    return f"{name}.key()"


@step("dataclass-field")
def dataclass_field(b: Builder, e: str) -> str:
    b.need("import dataclasses")
    name = b.fresh("ClientConfig")
    b.emit("@dataclasses.dataclass", f"class {name}:", '    region: str = "eu-west-1"', f"    api_key: str = {e}")
    return f"{name}().api_key"


@step("namedtuple-field")
def namedtuple_field(b: Builder, e: str) -> str:
    b.need("import typing")
    name = b.fresh("Auth")
    b.emit(f"class {name}(typing.NamedTuple):", "    api_key: str", '    region: str = "eu-west-1"')
    return f"{name}({e}).api_key"


@step("enum-member")
def enum_member(b: Builder, e: str) -> str:
    b.need("import enum")
    name = b.fresh("Secret")
    b.emit(f"class {name}(enum.Enum):", f"    MANIAC = {e}", '    REGION = "eu-west-1"')
    return f"{name}.MANIAC.value"


@step("getattr-default")
def getattr_default(b: Builder, e: str) -> str:
    name = b.fresh("Overrides")
    b.emit(f"class {name}:", "    pass")
    return f'getattr({name}, "api_key", {e})'


@step("dataclass-field-default")
def dataclass_field_default(b: Builder, e: str) -> str:
    b.need("import dataclasses")
    name = b.fresh("Options")
    b.emit("@dataclasses.dataclass", f"class {name}:", f"    token: str = dataclasses.field(default={e})")
    return f"{name}().token"


@step("pydantic-field")
def pydantic_field(b: Builder, e: str) -> str:
    b.need("import pydantic")
    name = b.fresh("AppSettings")
    b.emit(f"class {name}(pydantic.BaseModel):", f"    maniac_api_key: str = {e}")
    return f"{name}().maniac_api_key"


# --------------------------------------------------------------- containers


@step("dict-literal")
def dict_literal(b: Builder, e: str) -> str:
    name = b.fresh("CONFIG")
    b.emit(f'{name} = {{"region": "eu-west-1", "api_key": {e}}}')
    return f'{name}["api_key"]'


@step("nested-dict")
def nested_dict(b: Builder, e: str) -> str:
    name = b.fresh("SETTINGS")
    b.emit(f'{name} = {{"maniac": {{"key": {e}}}, "debug": False}}')
    return f'{name}["maniac"]["key"]'


@step("dict-get")
def dict_get(b: Builder, e: str) -> str:
    name = b.fresh("options")
    b.emit(f'{name} = {{"api_key": {e}}}')
    return f'{name}.get("api_key")'


@step("dict-get-default")
def dict_get_default(b: Builder, e: str) -> str:
    name = b.fresh("overrides")
    b.emit(f"{name} = {{}}")
    return f'{name}.get("api_key", {e})'


@step("dict-call")
def dict_call(b: Builder, e: str) -> str:
    name = b.fresh("params")
    b.emit(f'{name} = dict(region="eu-west-1", api_key={e})')
    return f'{name}["api_key"]'


@step("dict-merge")
def dict_merge(b: Builder, e: str) -> str:
    base, merged = b.fresh("defaults"), b.fresh("merged")
    b.emit(f'{base} = {{"api_key": {e}}}', f'{merged} = {{**{base}, "timeout": 30}}')
    return f'{merged}["api_key"]'


@step("dict-update")
def dict_update(b: Builder, e: str) -> str:
    name = b.fresh("conf")
    b.emit(f'{name} = {{"timeout": 30}}', f"{name}.update(api_key={e})")
    return f'{name}["api_key"]'


@step("dict-setitem")
def dict_setitem(b: Builder, e: str) -> str:
    name = b.fresh("store")
    b.emit(f"{name} = {{}}", f'{name}["api_key"] = {e}')
    return f'{name}["api_key"]'


@step("dict-setdefault")
def dict_setdefault(b: Builder, e: str) -> str:
    name = b.fresh("cache")
    b.emit(f"{name} = {{}}")
    return f'{name}.setdefault("api_key", {e})'


@step("dict-pop-default")
def dict_pop_default(b: Builder, e: str) -> str:
    name = b.fresh("pending")
    b.emit(f"{name} = {{}}")
    return f'{name}.pop("api_key", {e})'


@step("list-index")
def list_index(b: Builder, e: str) -> str:
    name = b.fresh("KEYS")
    b.emit(f"{name} = [{e}]")
    return f"{name}[0]"


@step("tuple-index")
def tuple_index(b: Builder, e: str) -> str:
    name = b.fresh("PAIR")
    b.emit(f'{name} = ("eu-west-1", {e})')
    return f"{name}[1]"


@step("list-append")
def list_append(b: Builder, e: str) -> str:
    name = b.fresh("collected")
    b.emit(f"{name} = []", f"{name}.append({e})")
    return f"{name}[-1]"


# -------------------------------------------------------------- environment


@step("getenv-or")
def getenv_or(b: Builder, e: str) -> str:
    b.need("import os")
    return f'os.getenv("APP_ORACLE_UNSET_TOKEN") or {paren(e)}'


@step("getenv-default")
def getenv_default(b: Builder, e: str) -> str:
    b.need("import os")
    return f'os.environ.get("APP_ORACLE_UNSET_TOKEN", {e})'


# ------------------------------------------------------------- conditionals


@step("conditional-expr")
def conditional_expr(b: Builder, e: str) -> str:
    b.need("import os")
    return f'({e} if os.getenv("APP_ORACLE_OFFLINE") is None else None)'


@step("if-statement")
def if_statement(b: Builder, e: str) -> str:
    b.need("import os")
    name = b.fresh("chosen")
    b.emit('if os.getenv("APP_ORACLE_OFFLINE"):', f"    {name} = None", "else:", f"    {name} = {e}")
    return name


@step("and-or")
def and_or(b: Builder, e: str) -> str:
    name = b.fresh("enabled")
    b.emit(f"{name} = True")
    return f"({name} and {paren(e)} or None)"


@step("or-fallback")
def or_fallback(b: Builder, e: str) -> str:
    name = b.fresh("configured")
    b.emit(f"{name} = None")
    return f"{name} or {paren(e)}"


# ------------------------------------------------------------------ strings


# Steps meant to keep the value can still change one that an encoding step
# produced (`.replace(" ", "")` of "Bearer KEY"): `decodes` checks them too.
DECODERS["strip"] = str.strip
DECODERS["replace"] = lambda value: value.replace(" ", "")
DECODERS["removeprefix"] = lambda value: value.removeprefix("Bearer ")


@step("strip")
def strip(b: Builder, e: str) -> str:
    return f"{paren(e)}.strip()"


@step("replace")
def replace(b: Builder, e: str) -> str:
    return f'{paren(e)}.replace(" ", "")'


@step("removeprefix")
def removeprefix(b: Builder, e: str) -> str:
    return f'{paren(e)}.removeprefix("Bearer ")'


@step("str-call")
def str_call(b: Builder, e: str) -> str:
    return f"str({e})"


@step("encode-decode")
def encode_decode(b: Builder, e: str) -> str:
    return f'{paren(e)}.encode("utf-8").decode("utf-8")'


@step("fstring")
def fstring_(b: Builder, e: str) -> str:
    return fstring("{}", e)


@step("format")
def format_(b: Builder, e: str) -> str:
    return f'"{{}}".format({e})'


@step("percent")
def percent(b: Builder, e: str) -> str:
    return f'"%s" % ({e},)'


@step("join")
def join(b: Builder, e: str) -> str:
    return f'"".join([{e}])'


@step("concat-empty")
def concat_empty(b: Builder, e: str) -> str:
    name = b.fresh("PREFIX")
    b.emit(f'{name} = ""')
    return f"{name} + {paren(e)}"


# Steps that decode: the literal is written encoded (`ENCODERS`), the client
# gets the key.


def _decoder(name: str, encode: Callable[[str], str], decode: Callable[[str], str]) -> Callable[[Step], Step]:
    ENCODERS[name], DECODERS[name] = encode, decode
    return step(name)


def decodes(steps: tuple[str, ...] | list[str], literal: str, key: str) -> bool:
    """Whether the chain turns `literal` into `key` (spaces added by one
    encoder are removed by `replace-spaces` too, so the order matters)."""
    value = literal
    try:
        for name in steps:
            value = DECODERS.get(name, str)(value)
    except ValueError:
        return False
    return value == key


@_decoder("strip-padding", lambda value: f"  {value} ", str.strip)
def strip_padding(b: Builder, e: str) -> str:
    return f"{paren(e)}.strip()"


@_decoder("removeprefix-bearer", lambda value: f"Bearer {value}", lambda value: value.removeprefix("Bearer "))
def removeprefix_bearer(b: Builder, e: str) -> str:
    return f'{paren(e)}.removeprefix("Bearer ")'


@_decoder(
    "replace-spaces",
    lambda value: " ".join(value[i : i + 8] for i in range(0, len(value), 8)),
    lambda value: value.replace(" ", ""),
)
def replace_spaces(b: Builder, e: str) -> str:
    return f'{paren(e)}.replace(" ", "")'


@_decoder("reverse-slice", lambda value: value[::-1], lambda value: value[::-1])
def reverse_slice(b: Builder, e: str) -> str:
    return f"{paren(e)}[::-1]"


@_decoder(
    "base64-decode",
    lambda value: base64.b64encode(value.encode()).decode(),
    lambda value: base64.b64decode(value).decode(),
)
def base64_decode(b: Builder, e: str) -> str:
    b.need("import base64")
    return f"base64.b64decode({e}).decode()"


@_decoder("bytes-fromhex", lambda value: value.encode().hex(), lambda value: bytes.fromhex(value).decode())
def bytes_fromhex(b: Builder, e: str) -> str:
    return f"bytes.fromhex({e}).decode()"


# -------------------------------------------------------------------- loops


@step("loop-variable")
def loop_variable(b: Builder, e: str) -> str:
    name, var = b.fresh("selected"), b.fresh("candidate")
    b.emit(f"{name} = None", f"for {var} in [{e}]:", f"    {name} = {var}")
    return name


@step("dict-items-loop")
def dict_items_loop(b: Builder, e: str) -> str:
    name = b.fresh("picked")
    b.emit(
        f"{name} = None",
        f'for field, setting in {{"region": "eu-west-1", "api_key": {e}}}.items():',
        '    if field == "api_key":',
        f"        {name} = setting",
    )
    return name


@step("list-comprehension")
def list_comprehension(b: Builder, e: str) -> str:
    name = b.fresh("cleaned")
    b.emit(f"{name} = [item for item in [{e}] if item]")
    return f"{name}[0]"


@step("dict-comprehension")
def dict_comprehension(b: Builder, e: str) -> str:
    name = b.fresh("table")
    b.emit(f'{name} = {{name: value for name, value in [("api_key", {e})]}}')
    return f'{name}["api_key"]'


@step("generator-next")
def generator_next(b: Builder, e: str) -> str:
    return f"next(item for item in [{e}] if item)"


# -------------------------------------------------------------- argparse


@step("argparse-default")
def argparse_default(b: Builder, e: str) -> str:
    b.need("import argparse")
    parser, args = b.fresh("parser"), b.fresh("args")
    b.emit(
        f"{parser} = argparse.ArgumentParser()",
        f'{parser}.add_argument("--api-key", default={e})',
        f"{args} = {parser}.parse_args()",
    )
    return f"{args}.api_key"


# ------------------------------------------------------------------ modules
# A module step moves everything written so far into another module of the
# program, binds the value there, and imports it into a fresh main module.


@step("module-import")
def module_import(b: Builder, e: str) -> str:
    module, name = b.fresh("settings"), b.fresh("API_KEY")
    b.cut(f"{module}.py").body.append(f"{name} = {e}")
    b.need(f"from {module} import {name}")
    return name


@step("module-attribute")
def module_attribute(b: Builder, e: str) -> str:
    module, name = b.fresh("config"), b.fresh("API_KEY")
    b.cut(f"{module}.py").body.append(f"{name} = {e}")
    b.need(f"import {module}")
    return f"{module}.{name}"


@step("module-alias")
def module_alias(b: Builder, e: str) -> str:
    module, name, alias = b.fresh("secrets_store"), b.fresh("KEY"), b.fresh("store")
    b.cut(f"{module}.py").body.append(f"{name} = {e}")
    b.need(f"import {module} as {alias}")
    return f"{alias}.{name}"


@step("star-import")
def star_import(b: Builder, e: str) -> str:
    module, name = b.fresh("constants"), b.fresh("MANIAC_TOKEN")
    b.cut(f"{module}.py").body.append(f"{name} = {e}")
    b.need(f"from {module} import *")
    return name


@step("star-import-all")
def star_import_all(b: Builder, e: str) -> str:
    module, name = b.fresh("exports"), b.fresh("SERVICE_KEY")
    moved = b.cut(f"{module}.py")
    moved.body.extend([f"{name} = {e}", f'__all__ = ["{name}"]'])
    b.need(f"from {module} import *")
    return name


@step("package-reexport")
def package_reexport(b: Builder, e: str) -> str:
    package, name = b.fresh("app"), b.fresh("API_KEY")
    b.cut(f"{package}/_secrets.py").body.append(f"{name} = {e}")
    b.modules[f"{package}/__init__.py"] = Module(f"{package}/__init__.py", [], [f"from ._secrets import {name}"])
    b.need(f"from {package} import {name}")
    return name


@step("package-relative-star")
def package_relative_star(b: Builder, e: str) -> str:
    package, name = b.fresh("core"), b.fresh("TOKEN")
    b.cut(f"{package}/settings.py").body.append(f"{name} = {e}")
    b.modules[f"{package}/__init__.py"] = Module(f"{package}/__init__.py", [], ["from .settings import *"])
    b.need(f"from {package} import {name}")
    return name


@step("importlib")
def importlib_(b: Builder, e: str) -> str:
    module, name, handle = b.fresh("plugin_conf"), b.fresh("KEY"), b.fresh("loaded")
    b.cut(f"{module}.py").body.append(f"{name} = {e}")
    b.need("import importlib")
    b.emit(f'{handle} = importlib.import_module("{module}")')
    return f"{handle}.{name}"


MODULE_STEPS = frozenset(
    {
        "module-import",
        "module-attribute",
        "module-alias",
        "star-import",
        "star-import-all",
        "package-reexport",
        "package-relative-star",
        "importlib",
    }
)
