"""A day with the zone transfer limits on ([trackers] transfer_limits = true), assigned by zone
and by hash, checked from its state log alone: no tracker's placements ever put an interface
over its share of the limit (scowl.balance.limits.limit_shares), the sum over trackers stays
within the limit, and by hash the limits bind (placements refused, an interface at its limit)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from scowl.balance.limits import interfaces, limit_shares, zone_owners
from scowl.config import load_scenario, override
from scowl.run import run_scenario
from scowl.sweep import scenario_toml

SCALE = 0.01
TRACKERS = 4


@pytest.mark.parametrize("assign", ["zone", "hash"])
def test_a_day_keeps_every_interface_within_its_limit(tmp_path, assign):
    sc = override(load_scenario("configs/ny2030.toml"), {
        "scenario.scale": SCALE, "scenario.start": "09:00", "scenario.ticks": 12,
        "trackers.assign": assign, "trackers.transfer_limits": True, "trackers.count": TRACKERS})
    cfg = tmp_path / "zone.toml"
    cfg.write_text(scenario_toml(sc))
    out = tmp_path / "run"
    run_scenario(str(cfg), str(out), show_progress=False)
    t = pd.read_parquet(out / "tables" / "tracker.parquet")
    whole = interfaces(SCALE)
    owner = zone_owners(TRACKERS) if assign == "zone" else None
    bound = []
    for k in range(TRACKERS):  # each tracker within its share (limit_shares: by zone, the trackers that can send)
        mine = interfaces(SCALE * limit_shares(whole.cross, owner, k, TRACKERS))
        rows = t[t["actor"] == f"tracker-{k}"]
        for i in range(len(mine.names)):
            col = f"flow_{mine.slug(i)}_mw"
            assert (rows[col] <= mine.limit_mw[i] + 1e-6).all(), f"{mine.names[i]}: tracker-{k} above its share of the limit"
            if mine.limit_mw[i] > 0 and np.isclose(rows[col].max(), mine.limit_mw[i], rtol=0.02):
                bound.append((k, mine.names[i]))
    for i in range(len(whole.names)):
        assert (t.groupby("tick")[f"flow_{whole.slug(i)}_mw"].sum() <= whole.limit_mw[i] + 1e-6).all()
    if assign == "hash":  # any tracker may send across any cut, with 1/4 of each limit: they bind this morning
        assert t["consumers_limit_refused"].sum() > 0
        assert bound, "no interface reached its limit"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["energy_mwh"]["demanded"] > 0
