"""Runs shared by the day tests (small configs, in-process, lockstep), made once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    out = tmp_path_factory.mktemp("small-partition")
    return out, run_scenario("configs/small-partition.toml", str(out), show_progress=False)
