"""The healthy day over real in-process sockets: invariants on every tick, determinism,
and the summary's answers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from summaries import strip_wall  # tests/fixtures/summaries.py

from scowl.analysis.results import SUPPLY_ROLES, load_run
from scowl.run import run_scenario


def per_tick(state: pd.DataFrame, role: str | tuple[str, ...], cols: list[str]) -> pd.DataFrame:
    return state[state["role"].isin([role] if isinstance(role, str) else role)].groupby("tick")[cols].sum()


def test_invariants_hold_on_every_tick(small_run):
    out, summary = small_run
    state, finals, _ = load_run(out)
    pop = per_tick(state, "consumer", ["consumers", "served", "assigned", "starved", "choked", "served_mw", "consumed_mw"])
    gen = per_tick(state, SUPPLY_ROLES, ["tree_members", "delivered_mw", "output_mw", "overloaded_not_blacked"])
    assert len(pop) == summary["ticks"] == 36
    # every consumer is served, starved or in a blacked-out tree, and the counts add up
    assert (pop["served"] + pop["starved"] + pop["choked"] == pop["consumers"]).all()
    # no consumer is served by two generators: the generators' own copies of their trees hold
    # exactly the consumers the populations say are on a generator, once each
    assert (gen["tree_members"] == pop["assigned"]).all()
    # served energy never exceeds generated energy (they are equal: both sides count it)
    assert (pop["served_mw"] <= gen["delivered_mw"] + 1e-6).all()
    np.testing.assert_allclose(pop["served_mw"], gen["delivered_mw"], rtol=1e-9)
    # a generator serves no more than its output unless it is recorded as blacked out
    assert (gen["overloaded_not_blacked"] == 0).all()
    assert (gen["delivered_mw"] <= gen["output_mw"] + 1e-6).all()


def test_summary_answers_the_questions(small_run):
    out, s = small_run
    assert s["peers"]["generators"] > 0 and s["peers"]["consumers"] > 3000 and s["peers"]["trackers"] == 2
    r = s["rebalance"]
    assert r["rounds"] == 2 * s["ticks"] and r["rate_hz_mean"] > 0 and r["rate_hz_p5"] <= r["rate_hz_mean"]
    assert r["peers_rebalanced"] > 0
    e = s["energy_mwh"]
    assert e["served"] <= e["demanded"] and e["generated"] == pytest.approx(e["served"])
    assert e["unserved"] == pytest.approx(e["demanded"] - e["served"])
    st = s["starvation"]
    assert st["mean_starved_s"] <= st["max_starved_s"] <= s["ticks"] * s["tick_seconds"]
    assert set(s["peak_memory_mb"]) >= {"tracker-0", "tracker-1", "fleet-0", "population-0"}
    for f in ("state.parquet", "finals.json", "summary.json", "plan.json", "trace-run.log"):
        assert (out / f).exists()




def test_same_config_and_seed_give_the_same_day(small_run, tmp_path):
    _, first = small_run
    again = run_scenario("configs/small.toml", str(tmp_path / "again"), show_progress=False)
    assert strip_wall(again) == strip_wall(first)


def test_one_process_per_actor_over_tcp_gives_the_same_day(small_run, tcp_small_run):
    _, first = small_run
    out, multi = tcp_small_run  # run_scenario(small.toml, processes=True, transport="tcp", layout="actor")
    assert multi["transport"] == "tcp"
    assert strip_wall(multi) == strip_wall(first)  # WALL_FIELDS drops the transport: the figures of the day must match
    finals = json.loads((out / "finals.json").read_text())
    pids = {round(f["cpu_user_s"], 6) for f in finals.values()}
    assert len(pids) > 1, "every actor should have had its own process"
