"""A zone-assigned day with the zone transfer limits on ([trackers] assign = "zone",
transfer_limits = true), checked from its state log alone: no tracker's placements ever put an
interface over its share of the limit, the sum over trackers stays within the limit, and the
limits bind (placements refused, an interface at its limit)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from scowl.balance.limits import interfaces
from scowl.config import load_scenario, override
from scowl.run import run_scenario
from scowl.sweep import scenario_toml

SCALE = 0.01
TRACKERS = 4


def test_a_zone_day_keeps_every_interface_within_its_limit(tmp_path):
    sc = override(load_scenario("configs/ny2030.toml"), {
        "scenario.scale": SCALE, "scenario.start": "09:00", "scenario.ticks": 12,
        "trackers.assign": "zone", "trackers.transfer_limits": True, "trackers.count": TRACKERS})
    cfg = tmp_path / "zone.toml"
    cfg.write_text(scenario_toml(sc))
    out = tmp_path / "run"
    run_scenario(str(cfg), str(out), show_progress=False)
    t = pd.read_parquet(out / "tables" / "tracker.parquet")
    ifs = interfaces(SCALE / TRACKERS)
    for i in range(len(ifs.names)):
        col = f"flow_{ifs.slug(i)}_mw"
        assert (t[col] <= ifs.limit_mw[i] + 1e-6).all(), f"{ifs.names[i]}: a tracker above its share of the limit"
        assert (t.groupby("tick")[col].sum() <= ifs.limit_mw[i] * TRACKERS + 1e-6).all()
    assert t["consumers_limit_refused"].sum() > 0  # the limits bind on this day
    bound = [i for i in range(len(ifs.names)) if np.isclose(t[f"flow_{ifs.slug(i)}_mw"].max(), ifs.limit_mw[i], rtol=0.02)]
    assert bound, "no interface reached its limit"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["energy_mwh"]["demanded"] > 0
