"""What the parts of the value flow (calls.py, objects.py, frames.py) ask of
the evaluator (flow.py), as a protocol, so that they depend on it only
through this."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from maniac_guard.python.domain import Frame, Step, Values
    from maniac_guard.python.modules import ModuleInfo, Project
    from maniac_guard.python.scopes import Binding


class Evaluator(Protocol):
    project: Project
    members: set[tuple[ModuleInfo, str]]

    def eval(self, expr: ast.expr, mod: ModuleInfo, frame: Frame | None = None) -> Values: ...

    def frame_for(self, node: ast.AST, mod: ModuleInfo, frame: Frame | None) -> Frame | None: ...

    def step(self, node: ast.AST, mod: ModuleInfo, label: str) -> Step: ...

    def iterate(self, values: Values) -> Values: ...

    def item(self, values: Values, index: Values | int) -> Values: ...

    def binding(self, binding: Binding, mod: ModuleInfo, frame: Frame | None) -> Values: ...

    def binding_of_target(self, target: ast.Name, mod: ModuleInfo) -> Values: ...
