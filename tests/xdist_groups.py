"""Make `--dist loadgroup` group again under pytest 9.2.

pytest-xdist (3.8) groups the tests marked `xdist_group` by adding
`@<group>` to each test's node id on the workers (`item._nodeid`); pytest
9.2 builds `nodeid` from `item._id` instead, so that write is lost, and every
test became its own unit: a module's expensive fixture was built once per
worker, and tests sharing one pre-commit home ran on both. This plugin makes
the same suffix through `_id` when xdist's did not take, so the scheduler
sees the groups (tests/test_xdist_groups.py checks it does).
"""

from __future__ import annotations

import pytest


class GroupNodeIds:
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if not getattr(config.option, "loadgroup", False):
            return  # not an xdist worker of a loadgroup run
        for item in items:
            names = sorted(
                {
                    str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                    for m in item.iter_markers("xdist_group")
                }
            )
            if not names or "@" in item.nodeid:
                continue  # no group, or xdist's own suffix took
            from _pytest.nodeid import NodeId

            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(names)}")  # type: ignore[attr-defined]


def register(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("xdist-group-node-ids"):
        config.pluginmanager.register(GroupNodeIds(), "xdist-group-node-ids")
