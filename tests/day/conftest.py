"""Runs shared by the day tests (small configs, in-process, lockstep), made once per session."""

from __future__ import annotations

import pytest

from scowl.run import run_scenario


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("small")
    return out, run_scenario("configs/small.toml", str(out), show_progress=False)


@pytest.fixture(scope="session")
def partition_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("small-partition")
    return out, run_scenario("configs/small-partition.toml", str(out), show_progress=False)
