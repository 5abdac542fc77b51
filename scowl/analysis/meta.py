"""The metadata block of a run's summary.json: what ran (scenario, seed, pacing, transport,
peers), how long it took on the wall clock, and which build of scowl ran it."""

from __future__ import annotations

from typing import Any

import numpy as np

from scowl.config import Scenario
from scowl.plan import RunPlan
from scowl.provenance import version_string


def run_meta(plan: RunPlan, scenario: Scenario, wall_seconds: float, late: dict[str, Any],
             tick_wall: list[float] | None = None) -> dict[str, Any]:
    tw = np.asarray(tick_wall or [0.0]) * 1e3
    return {
        "tick_wall_ms": {"mean": float(tw.mean()), "p95": float(np.percentile(tw, 95)), "max": float(tw.max())},
        "scenario": scenario.scenario.name,
        "source": plan.scenario_origin or scenario.source,
        "seed": scenario.seed,
        "pacing": scenario.pacing.mode,
        "transport": plan.transport,
        "security": {"mode": plan.security_mode, "guards_off": list(plan.guards_off)},
        "tick_seconds": scenario.tick_seconds,
        "start": scenario.start.isoformat(),  # local start of tick 0 (the tidy tables' time column)
        "timezone": scenario.scenario.timezone,
        "safety_threshold": scenario.scenario.safety_threshold,
        "wall_seconds": wall_seconds,
        "version": version_string(),
        "late": late,
        "partitions": [{"start_tick": p.start_tick, "end_tick": p.end_tick, "isolate": list(p.isolate), "from": list(p.from_)}
                       for p in scenario.network.partitions],
        "peers": {
            "generators": sum(len(f.rows) for f in plan.generator_fleets),
            "consumers": plan.n_consumers,
            "fixed_load_blocks": plan.n_fixed_blocks,
            "trackers": len(plan.trackers),
            "generator_fleets": len(plan.generator_fleets),
            "storage_hubs": sum(len(f.rows) for f in plan.storage_fleets),
            "storage_actors": len(plan.storage_fleets),
            "consumer_populations": len(plan.populations),
            "bootstrap": 1, "broker": 1, "metronome": 1,
        },
    }
