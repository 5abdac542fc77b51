"""Each tracker's expected share of a run's consumers, from its plan: the broker places
consumers in proportion to what each tracker's generators can give at tick 0 (broker.Broker's
placement), and a tracker's round costs about in proportion to the consumers it holds, so the
process layout deals trackers by it (scowl.run.layout). Computed the way the broker does, from
the planned generator ids (scowl.security.units) and the supply model: ~0.1 s at whole state."""

from __future__ import annotations

import numpy as np

from scowl.balance.sharding import bucket_of, zone_buckets
from scowl.model import SupplyModel, build_generators
from scowl.model.zones import zone_shares
from scowl.security.units import planned_units
from scowl.streams import StreamRepo


def tracker_shares(plan) -> dict[str, float]:
    """Tracker name -> its expected share of the consumers (the shares sum to 1; equal when
    the plan's generators can give nothing at tick 0)."""
    scenario = plan.scenario()
    n = len(plan.trackers)
    units = planned_units(plan, scenario, scenario.seed)
    generators = build_generators(scenario, StreamRepo(scenario.seed))
    rows = [r for r, name in enumerate(generators.name) if name in units]
    weight = SupplyModel(generators, scenario, StreamRepo(scenario.seed)).available(0)[rows]
    if scenario.trackers.assign == "zone":
        buckets = zone_buckets(generators.zone[rows], n, zone_shares())
    else:
        buckets = bucket_of([units[generators.name[r]].gen_id for r in rows], n)
    cap = np.bincount(buckets, weights=weight, minlength=n)
    share = cap / cap.sum() if cap.sum() > 0 else np.full(n, 1.0 / n)
    return {t: float(s) for t, s in zip(plan.trackers, share, strict=True)}


def plan_layout(spec: str | int | None, plan) -> list[list[str]]:
    """scowl.run.layout.parse_layout for a run's plan, the dealt layouts (auto, N) weighing
    the trackers by their expected shares of the consumers."""
    from scowl.run.layout import parse_layout

    text = "auto" if spec is None else str(spec).strip()
    dealt = text == "auto" or text.isdigit()
    return parse_layout(spec, plan, shares=tracker_shares(plan) if dealt and plan.trackers else None)
