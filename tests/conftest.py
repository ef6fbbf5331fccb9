from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Let tests import `tests.helpers` whatever the rootdir mode.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@pytest.fixture(autouse=True, scope="session")
def _own_cache_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Scans in tests (and the console scripts they start) keep their caches
    in a folder of this session, not the user's."""
    previous = os.environ.get("MANIAC_GUARD_CACHE_DIR")
    os.environ["MANIAC_GUARD_CACHE_DIR"] = str(tmp_path_factory.mktemp("maniac-guard-cache"))
    yield
    if previous is None:
        del os.environ["MANIAC_GUARD_CACHE_DIR"]
    else:
        os.environ["MANIAC_GUARD_CACHE_DIR"] = previous
