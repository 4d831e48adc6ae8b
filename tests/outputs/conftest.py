"""The output tests reuse the process tests' hand-built reference (tests/process/process_cases.py)."""

from __future__ import annotations

import sys
from pathlib import Path

PROCESS_TESTS = str(Path(__file__).parents[1] / "process")
if PROCESS_TESTS not in sys.path:
    sys.path.append(PROCESS_TESTS)
