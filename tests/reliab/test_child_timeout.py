"""A sweep's child `scowl run` that outlives its timeout is stopped (its whole process group),
and the sweep point says so instead of waiting forever."""

from __future__ import annotations

import time
from pathlib import Path

from scowl.sweep.points import run_point


def test_a_child_run_past_its_timeout_is_stopped_and_said(tmp_path):
    cfg = tmp_path / "long.toml"
    cfg.write_text(Path("configs/small.toml").read_text().replace("ticks = 36", "ticks = 100000"))
    t = time.monotonic()
    sampled = run_point(cfg, tmp_path / "run", timeout_s=4.0)
    assert time.monotonic() - t < 90
    assert sampled["returncode"] != 0
    assert "stopped after 4 s (the child's timeout)" in sampled["error"]
