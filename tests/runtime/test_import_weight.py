"""A scowl-node process carries only what its role needs: the analysis stack (pandas, pyarrow,
matplotlib, ~60 MB resident) stays out of every role's import path, since a whole-state run has
13 such processes and their summed peak memory is a target (issue 15)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pandas", "pyarrow", "matplotlib", "scipy")
ROLES = ("scowl.node_cli", "scowl.roles", "scowl.actors.tracker", "scowl.actors.consumer", "scowl.actors.generator",
         "scowl.actors.storage", "scowl.actors.metronome", "scowl.actors.bootstrap", "scowl.broker")


def test_roles_do_not_import_the_analysis_stack():
    code = f"import sys\nfor m in {ROLES!r}: __import__(m)\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported by a role's modules: {out.stdout.strip()}"
