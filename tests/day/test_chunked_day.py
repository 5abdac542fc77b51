"""No scale is refused by frame size: a day whose batches are larger than the frame limit runs
to the same books, its big batches crossing in chunks (scowl.wire.chunks).

Fast: the small day with a 16 KiB frame limit (its tick-0 reports, assignments and tree deltas
are several times that) equals the day with the 64 MiB limit. Slow: 5 million consumers in one
population reporting to one tracker, ~100 MB per report and per assignment against 64 MiB."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from scowl.config import load_scenario, override
from scowl.model import consumer_counts
from scowl.run import run_scenario
from scowl.sweep import scenario_toml
from scowl.wire import codec

BOOKS = ("energy_mwh", "starvation", "blackouts")


def _rejected(finals: dict) -> dict[str, float]:
    return {name: f.get("msg_rejected", 0.0) for name, f in finals.items() if f.get("msg_rejected", 0.0)}


def test_the_small_day_with_a_tiny_frame_limit_has_the_same_books(tmp_path, monkeypatch):
    # lockstep with a heartbeat no stage outlasts: at the default 2 s a loaded machine lets a
    # population's wait for its (many-piece) Assign expire, and the degraded rule changes the day
    day = override(load_scenario("configs/small.toml"), {"response.heartbeat_timeout_s": 120.0})
    cfg = tmp_path / "small-patient.toml"
    cfg.write_text(scenario_toml(day))
    normal = run_scenario(str(cfg), str(tmp_path / "normal"), show_progress=False)
    monkeypatch.setattr(codec, "MAX_FRAME_BYTES", 16 * 1024)
    chunked = run_scenario(str(cfg), str(tmp_path / "tiny"), show_progress=False)
    for key in BOOKS:
        assert chunked[key] == normal[key], key
    finals = json.loads((tmp_path / "tiny" / "finals.json").read_text())
    assert _rejected(finals) == {}
    # the tracker really got more than a frame's worth from the population in one tick
    tracker_in = max(v for f in finals.values() for k, v in f.items() if k == "link_in_bytes:population-0")
    assert tracker_in > 16 * 1024


@pytest.mark.slow
def test_five_million_consumers_between_one_population_and_one_tracker(tmp_path):
    base = load_scenario("configs/ny2030.toml")
    scale = 5_050_000 / sum(consumer_counts(override(base, {"scenario.scale": 1.0})))
    # a tiny report threshold: at tick 1 (tick 0's demand came with the registrations) every
    # consumer whose demand moved reports it, > 64 MiB in one batch
    day = override(base, {"scenario.scale": scale, "scenario.ticks": 2, "trackers.count": 1,
                          "trackers.report_threshold": 1e-6, "response.heartbeat_timeout_s": 600.0})
    cfg = tmp_path / "five-million.toml"
    cfg.write_text(scenario_toml(day))
    summary = run_scenario(str(cfg), str(tmp_path / "run"), populations=1, show_progress=False)
    assert summary["peers"]["consumers"] >= 5_000_000
    assert summary["peers"]["trackers"] == summary["peers"]["consumer_populations"] == 1
    finals = json.loads((tmp_path / "run" / "finals.json").read_text())
    assert _rejected(finals) == {}  # nothing was refused: before chunks, the 100 MB report was `oversized`
    state = pd.read_parquet(tmp_path / "run" / "state.parquet")
    pop = state[state["role"] == "consumer"].set_index("tick")
    tr = state[state["role"] == "tracker"].set_index("tick")
    gen = state[state["role"] == "generator"].groupby("tick")["tree_members"].sum()
    n = pop["consumers"]
    # tick 0: every consumer registered with its demand (nothing left to report) and was placed or
    # starved by an Assign larger than a frame; tick 1: the consumers reported in one batch larger than a frame
    assert pop.loc[0, "reports"] == 0 and n.loc[0] >= 5_000_000
    assert pop.loc[1, "reports"] * 20 > codec.MAX_FRAME_BYTES and pop.loc[1, "reports"] > 0.95 * summary["peers"]["consumers"]
    assert (tr["consumers"] == n).all()
    assert (pop["served"] + pop["starved"] + pop["choked"] == n).all()
    # the fleet's own copy of the trees (from tree deltas larger than a frame) matches the assignments
    assert (gen.loc[pop.index] == pop["assigned"]).all()
    assert pop["assigned"].min() > 0.9 * n.min()
