"""The fault-matrix harness (faults.py) sits beside its tests; importlib mode does not put
this folder on sys.path, so it is put here."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
