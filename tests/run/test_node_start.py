"""A scowl-node that dies before it is READY: the error says where its reason is (review5 F3: a node
whose actor fails while being built, e.g. a MemoryError, writes no trace log; its traceback is on its stderr)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scowl.errors import ScowlError
from scowl.run.processes import await_ready


def _dies(tmp_path, write_trace: bool) -> str:
    code = "import sys; sys.stderr.write('MemoryError: Unable to allocate\\n'); sys.exit(1)"
    if write_trace:
        (tmp_path / "trace-tracker-0.log").write_text("tracker-0: ...\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)  # (as spawn_node: its own process group)
    with pytest.raises(ScowlError) as err:
        await_ready(proc, tmp_path / "plan.json", "tracker-0", timeout=30)
    return str(err.value)


def test_a_node_dead_before_its_trace_log_points_at_its_stderr_not_at_a_missing_file(tmp_path):
    msg = _dies(tmp_path, write_trace=False)
    assert msg.startswith("tracker-0 did not start (exit code 1)")
    assert "trace-tracker-0.log" not in msg and "its error is in its stderr" in msg


def test_a_node_that_wrote_its_trace_log_points_at_it(tmp_path):
    assert f"see {tmp_path / 'trace-tracker-0.log'}" in _dies(tmp_path, write_trace=True)
