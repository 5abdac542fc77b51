"""Runs shared by the evaluation tests, made once per session and kept tiny: the small day cut to
18 ticks (its first ticks of demand above supply are 15-17), the same day with the trackers cut off
for ticks 12-15, a two-scale sweep of 3 ticks (3,600 and 36,000 consumers), and a hand-made partition-size sweep."""

from __future__ import annotations

import json

import pytest

from scowl.config import load_scenario, override
from scowl.run import run_scenario
from scowl.sweep import scenario_toml, sweep

TICKS = 18
TARGET_HZ = 20.0  # 3 ticks of rounds are too few to fit a round cost that a default (2x measured) target can trust
PARTITION = {"start_tick": 12, "end_tick": 16, "isolate": ["role:tracker"], "from": ["*"]}


def _run(tmp_path_factory, name: str, config: str, changes: dict):
    d = tmp_path_factory.mktemp(name)
    cfg = d / f"{name}.toml"
    cfg.write_text(scenario_toml(override(load_scenario(config), changes)))
    out = d / "run"
    run_scenario(str(cfg), str(out), show_progress=False)
    return out


@pytest.fixture(scope="session")
def healthy_run(tmp_path_factory):
    return _run(tmp_path_factory, "healthy", "configs/small.toml", {"scenario.ticks": TICKS})


@pytest.fixture(scope="session")
def partition_run(tmp_path_factory):
    return _run(tmp_path_factory, "partitioned", "configs/small-partition.toml",
                {"scenario.ticks": TICKS, "network.partitions": [PARTITION]})


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "sweep"
    meta = sweep("configs/small.toml", out, scales=(0.0004, 0.004), trackers=(1,), ticks=3, processes=False,
                 target_hz=TARGET_HZ, target_scale=None, confirm=True, say=lambda s: None)
    return out, meta


PARTITION_SWEEP = {
    "kind": "partition_sweep", "config": "configs/small-partition.toml", "seed": 7,
    "command": "scowl partition-sweep configs/small-partition.toml --out DIR",
    "points": [
        {"peers_per_partition": 100, "partitions": 36, "blackout_events": 9, "blackout_generator_ticks": 30,
         "capacity_low": 40, "deferred_mwh": 2.5, "unserved_mwh": 4.0, "run_dir": "runs/p100"},
        {"peers_per_partition": 1000, "partitions": 4, "blackout_events": 0, "blackout_generator_ticks": 0,
         "capacity_low": 12, "deferred_mwh": 1.1, "unserved_mwh": 1.0, "run_dir": "runs/p1000"},
        {"peers_per_partition": 3600, "partitions": 1, "blackout_events": 0, "blackout_generator_ticks": 0,
         "capacity_low": 3, "deferred_mwh": 0.2, "unserved_mwh": 0.5, "run_dir": "runs/p3600"},
    ],
    "smallest_without_blackout": 1000,
    "definition": "the fewest peers per partition whose partitioned day had no blackout",
}


@pytest.fixture(scope="session")
def run_factory(tmp_path_factory):
    """make(name, config, {dotted key: value}) -> a run directory of that scenario, in-process."""
    return lambda name, config, changes: _run(tmp_path_factory, name, config, changes)


@pytest.fixture(scope="session")
def partition_window():
    return PARTITION


@pytest.fixture(scope="session")
def partition_sweep_data():
    return PARTITION_SWEEP


@pytest.fixture(scope="session")
def partition_sweep_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("psweep")
    (d / "partition_sweep.json").write_text(json.dumps(PARTITION_SWEEP))
    return d
