from __future__ import annotations

import sys
from pathlib import Path

# Let tests import `tests.helpers` whatever the rootdir mode.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
