"""Provenance recorded with results: scowl's version, the git commit of the checkout it runs
from, and the machine it runs on."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import psutil

__version__ = "0.1.0"


def git_commit(root: Path | None = None) -> str:
    """HEAD of the checkout this code runs from ("unknown" when installed or without git)."""
    root = root or Path(__file__).resolve().parents[1]  # the checkout: scowl/version.py
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if out.returncode != 0:
        return "unknown"
    return out.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def version_string() -> str:
    """scowl's version and the git commit of the checkout it runs from ("unknown" installed)."""
    return f"scowl {__version__}, commit {git_commit()}"


def machine_info() -> dict[str, Any]:
    """The machine: cores, memory, CPU, Python and platform."""
    return {
        "cores": os.cpu_count() or 1,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
