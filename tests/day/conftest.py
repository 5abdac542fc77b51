"""Runs shared by the day tests (small configs, in-process, lockstep), made once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from shared_runs import CUT_HEARTBEAT_S  # tests/fixtures/shared_runs.py

from scowl.config import load_scenario, override
from scowl.run import run_scenario
from scowl.sweep import scenario_toml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def long_small(tmp_path) -> Path:
    """small.toml with 150 one-minute ticks: long enough for a peer to come and go mid-day (the open-grid tests)."""
    config = tmp_path / "small-long.toml"
    config.write_text(scenario_toml(override(load_scenario(str(ROOT / "configs/small.toml")),
                                             {"scenario.ticks": 150, "scenario.tick_seconds": 60})))
    return config


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("small")
    return out, run_scenario("configs/small.toml", str(out), show_progress=False)


@pytest.fixture(scope="session")
def partition_run(tmp_path_factory):
    """small-partition.toml as shipped but for the heartbeat timeout (CUT_HEARTBEAT_S: the same figures, less waiting)."""
    d = tmp_path_factory.mktemp("small-partition")
    config, out = d / "small-partition.toml", d / "run"
    config.write_text(scenario_toml(override(load_scenario(str(ROOT / "configs/small-partition.toml")),
                                             {"response.heartbeat_timeout_s": CUT_HEARTBEAT_S})))
    return out, run_scenario(str(config), str(out), show_progress=False)
