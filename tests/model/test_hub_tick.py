"""scowl.model.hubtick: the hubs' tick in work buffers gives the reference functions'
(scowl.model.hubs, scowl.model.storage) numbers bit for bit, tick after tick, and a tick's
start computed ahead changes nothing until it is committed."""

from __future__ import annotations

import copy

import numpy as np

from scowl.model.hubs import build_hubs, hub_limits_mw, hub_setpoint_mw, settle_hubs
from scowl.model.hubtick import HubTick
from scowl.model.storage import EVFleet


def _fleet(n: int, rng: np.random.Generator) -> EVFleet:
    dep = rng.integers(0, 1381, n)
    arr = np.minimum(np.maximum(dep + rng.integers(-30, 900, n), dep + 60), 1439)
    home = rng.random(n) < 0.25
    dep, arr = np.where(home, 0, dep), np.where(home, 0, arr)
    stored = rng.choice([0.0, 8.0, 80.0], n) * (rng.random(n) < 0.1) + rng.random(n) * 80.0 * (rng.random(n) >= 0.1)
    return EVFleet(np.arange(n, dtype=np.uint32), stored.astype(np.float32), dep.astype(np.uint16), arr.astype(np.uint16),
                   80.0, 7.2, 16.0, 11.0)


def test_a_day_of_hub_ticks_matches_the_reference_bit_for_bit():
    rng = np.random.default_rng(7)
    ref = build_hubs(_fleet(20_011, rng), 4)
    work = copy.deepcopy(ref)
    dt_s, th = 300, 300 / 3600.0
    tick = HubTick(work, dt_s)
    for k in range(288):
        minute = k * 5.0 + (0.5 if k % 7 == 0 else 0.0) + (1440.0 if k == 5 else 0.0)  # fractions, a day past
        ref_before = ref.stored_kwh.copy()
        driven = ref.drive(minute, dt_s)
        plugged = ref.plugged(minute)
        dis, chg = hub_limits_mw(ref, plugged, th)
        if k % 3 == 1:  # computed ahead for another minute, dropped: no trace; then prepared and committed
            tick.prepare(minute + 400.0, th)
            w_driven, w_plugged, w_dis, w_chg = tick.prepare(minute, th)
            assert np.array_equal(work.stored_kwh, ref_before)
            tick.commit()
        else:
            w_driven, w_plugged, w_dis, w_chg = tick.start(minute, th)
        assert w_driven == driven and np.array_equal(w_plugged, plugged)
        assert np.array_equal(w_dis, dis) and np.array_equal(w_chg, chg)
        assert np.array_equal(work.stored_kwh, ref.stored_kwh)
        target = rng.normal(0.0, 1.0, 4) * max(float(dis.max()), float(chg.max()), 1e-3) * rng.choice([0.0, 0.5, 2.0])
        setpoint = hub_setpoint_mw(target, chg, dis)
        delivered = np.where(rng.random(4) < 0.1, 0.0, np.clip(setpoint, 0.0, None) * rng.uniform(0.5, 1.0, 4))
        expect = settle_hubs(ref, setpoint, delivered, chg, plugged, th)
        assert tick.settle(setpoint, delivered, chg, th) == expect
        assert np.array_equal(work.stored_kwh, ref.stored_kwh)
    assert work.stored_kwh.dtype == np.float64 and not np.shares_memory(work.stored_kwh, ref.stored_kwh)
