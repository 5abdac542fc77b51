"""The partitioned day: faults on real sockets, the self-optimizing generators and consumers, conservation of
deferred energy, and identical inputs to the healthy day."""

from __future__ import annotations

import asyncio
import dataclasses

import numpy as np
import pandas as pd
import pytest

from scowl import wire
from scowl.analysis.results import load_run
from scowl.balance import response
from scowl.config import load_scenario, override
from scowl.faults import LinkFaults
from scowl.model import demand_shares
from scowl.plan import make_plan
from scowl.runtime import Actor, on


class Counter(Actor):
    def __init__(self, name, address=None):
        super().__init__(name, address)
        self.got: list[int] = []

    @on(wire.Ping)
    def on_ping(self, msg, env):
        self.got.append(msg.n)


async def test_partition_drops_at_the_link_only_during_its_ticks(zctx, tmp_path):
    scenario = override(load_scenario("configs/small.toml"), {"network.latency_ms": 0.0, "network.jitter_ms": 0.0})
    scenario = dataclasses.replace(scenario, network=dataclasses.replace(
        scenario.network, latency_ms=0.0, jitter_ms=0.0, partitions=(_partition(3, 6, ["peer:tracker-0"], ["*"]),)))
    plan = make_plan("configs/small.toml", transport="tcp")
    a = Counter("tracker-0", "tcp://127.0.0.1:*")
    b = Counter("population-0", "tcp://127.0.0.1:*")
    for x in (a, b):
        x.link_filter = LinkFaults(plan, scenario, x.name)
        await x.start(zctx)
    await b.connect("tracker-0", a.bound_address)
    await a.request("population-0", wire.Hello("tracker"), timeout=5)  # both directions carry traffic before tick 0
    for tick in range(10):
        for x in (a, b):
            x.clock.advance_to(tick)
        b.send("tracker-0", wire.Ping(tick))
        a.send("population-0", wire.Ping(tick))
        await b.flush()
        await a.flush()
        await asyncio.sleep(0.01)
    await b.request("tracker-0", wire.Hello("x"), timeout=5)  # after healing, round trips work again
    assert a.got == [0, 1, 2, 6, 7, 8, 9]
    assert b.got == [0, 1, 2, 6, 7, 8, 9]
    assert b.link_filter.dropped == 3 and a.link_filter.dropped == 3
    await a.stop()
    await b.stop()


def _partition(start, end, isolate, from_):
    from scowl.config import Partition

    return Partition(start, end, tuple(isolate), tuple(from_))


def lone_generator(scenario, load_ratio: float, ticks: int = 12, consumers: int = 200):
    """A generator that lost its tracker, with a tree of identical consumers drawing
    `load_ratio` x its output: the self-optimizing generators' rule and consumers' responses, tick by tick."""
    flex = response.Flex.of(demand_shares(scenario), scenario.tick_seconds)
    r = scenario.response
    base_kw = np.full(consumers, 2.0, np.float32)
    output_kw = float(base_kw.sum()) / load_ratio
    state = response.Deferral.new(consumers, len(flex.uses))
    warned = np.zeros(1, dtype=bool)
    self_optimizing = np.ones(consumers, dtype=bool)
    history = []
    for tick in range(ticks):
        kw = response.consume(state, flex, base_kw, tick, scenario.tick_seconds / 3600)
        load = np.array([kw.sum()], dtype=np.float64)
        blackout = bool(load[0] > output_kw)
        warn, unchoke, warned = response.sog_signals(load, np.array([output_kw]), warned, np.ones(1, bool),
                                                     r.capacity_low_threshold, r.unchoke_threshold)
        history.append((tick, load[0] / output_kw, bool(warn[0]), blackout))
        response.aimd(state, np.repeat(warn, consumers), self_optimizing, r.decrease_factor, r.increase_step)
    return history, flex, state


def test_lone_generator_warns_and_its_tree_backs_off_as_aimd_predicts():
    scenario = load_scenario("configs/small-partition.toml")
    ratio = 0.97  # past the 90 % threshold, still under output
    history, flex, state = lone_generator(scenario, ratio)
    assert history[0][2], "capacity_low must go out when the tree passes 90 % of output"
    flexible = float(flex.shares.sum() + flex.responsive)
    predicted = response.ticks_to_relief(ratio, flexible, scenario.response.decrease_factor,
                                         target=scenario.response.capacity_low_threshold)
    first_relief = next(t for t, r, _, _ in history if r <= scenario.response.capacity_low_threshold)
    assert first_relief <= predicted
    assert not any(b for *_, b in history), "the mechanism should prevent a blackout"
    assert state.events > 0 and state.deferred_kwh > 0


def test_without_flexible_demand_the_same_tree_blacks_out():
    scenario = override(load_scenario("configs/small-partition.toml"),
                        {"demand.deferrable_scale": 0.0, "scenario.demand_responsive_share": 0.0})
    history, flex, state = lone_generator(scenario, 1.02)
    assert flex.shares.sum() + flex.responsive == 0
    assert all(b for *_, b in history), "nothing can back off, so demand above output stays a blackout"
    # and with flexible demand the same overload is relieved in the predicted number of ticks
    history, flex, _ = lone_generator(load_scenario("configs/small-partition.toml"), 1.02)
    assert not history[-1][3]


def test_partitioned_day_warns_defers_and_keeps_the_books(partition_run):
    out, s = partition_run
    p = s["partition"]
    assert p["capacity_low_sent"] > 0 and p["demand_response_events"] > 0
    assert p["deferred_mwh"] > 0
    # deferred energy is conserved: consumed later or expired (unserved), nothing else
    assert p["deferred_mwh"] == pytest.approx(p["recovered_mwh"] + p["expired_mwh"], abs=1e-9, rel=1e-6)
    # a mean can exceed the 95th percentile when a few spells are long; both are within the max
    assert 0 < p["deferral_s_mean"] <= p["deferral_s_max"] and 0 < p["deferral_s_p95"] <= p["deferral_s_max"]
    assert set(p["blackouts_by_region_during"]) == {"tracker-0", "tracker-1"}
    assert p["reconverge_ticks"] is not None and p["reconverge_ticks"] >= 0
    state, _, _ = load_run(out)
    trackers = state[state["role"] == "tracker"].groupby("tick")["missing_peers"].sum()
    sched = p["schedule"][0]
    assert (trackers.loc[sched["start_tick"]:sched["end_tick"] - 1] > 0).all(), "trackers must miss their peers during the cut"
    assert (trackers.loc[: sched["start_tick"] - 1] == 0).all() and (trackers.loc[sched["end_tick"]:] == 0).all()


def test_partitioned_and_healthy_days_have_identical_inputs(small_run, partition_run):
    healthy, _, _ = load_run(small_run[0])
    cut, _, _ = load_run(partition_run[0])

    def inputs(state: pd.DataFrame) -> pd.DataFrame:
        d = state[state["role"] == "consumer"].groupby("tick")["demand_mw"].sum()
        a = state[state["role"] == "generator"].groupby("tick")["available_mw"].sum()
        return pd.DataFrame({"demand": d, "available": a})

    pd.testing.assert_frame_equal(inputs(healthy), inputs(cut))
