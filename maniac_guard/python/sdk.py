"""The Maniac SDK's client classes, as every Python rule, the screen and
`policy --infer` recognise them (one definition)."""

from __future__ import annotations

SDK_MODULE = "maniac"
# `Maniac(api_key=None, *, base_url=None, ...)` and `AsyncManiac(...)`: the
# same signature. A qualified name maniac.….Maniac ends with the class's own
# name, which the source spells out (an import, an attribute, `import *`).
SDK_CLASSES = frozenset({"Maniac", "AsyncManiac", "ManiacClient"})
# `functools.partial(Maniac, …)` makes a client maker.
PARTIAL = frozenset({"functools.partial"})


def sdk_class(qualified_name: str) -> str | None:
    """`Maniac` for `maniac.Maniac`, `maniac._client.Maniac`...; None for anything else."""
    head, _, last = qualified_name.rpartition(".")
    if last in SDK_CLASSES and (head == SDK_MODULE or head.startswith(SDK_MODULE + ".")):
        return last
    return None
