"""Where the benchmarks find the real-world data: ``$NEWSALERT_SHARED``, else ``../shared``
beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

SHARED = Path(os.environ.get("NEWSALERT_SHARED") or Path(__file__).resolve().parents[2] / "shared")
