"""Peers that start late or restart mid-run, over real processes and tcp: they join without
manual steps, and a late start changes nothing in the lockstep day."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

from scowl.plan import make_plan
from scowl.run import process_names, start_node, stop_nodes


def _healthy_day():
    """tests/day/test_healthy_day.py (its strip_wall says which summary fields are wall time)."""
    spec = importlib.util.spec_from_file_location("healthy_day", Path(__file__).with_name("test_healthy_day.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


strip_wall = _healthy_day().strip_wall

LATE = "fleet-0"


def _plan(config: str, out: Path):
    out.mkdir(parents=True, exist_ok=True)
    plan = make_plan(config, transport="tcp", out_dir=str(out.resolve()))
    plan.save(out / "plan.json")
    return plan


def test_a_generator_fleet_started_late_joins_and_the_day_is_unchanged(small_run, tmp_path):
    _, first = small_run
    out = tmp_path / "late"
    plan = _plan("configs/small.toml", out)
    procs = {}
    try:
        for name in process_names(plan):
            if name != LATE:
                procs[name] = start_node(plan, out / "plan.json", name)
        # every other peer is up and waits for the fleet (the broker's directory is not
        # complete without it); the fleet comes seconds later
        time.sleep(3)  # the lateness under test, not a wait for readiness
        assert all(p.poll() is None for p in procs.values()), {n: p.poll() for n, p in procs.items()}
        assert not (out / "summary.json").exists()
        procs[LATE] = start_node(plan, out / "plan.json", LATE)
        assert procs["metronome"].wait(120) == 0
        for name in plan.names():  # the metronome stops the peers (bootstrap and broker serve on)
            assert procs[name].wait(30) == 0, f"{name} exited with {procs[name].returncode}"
    finally:
        stop_nodes(procs.values())
    late = json.loads((out / "summary.json").read_text())
    assert late["ticks"] == first["ticks"]
    assert strip_wall(late) == strip_wall(first)
