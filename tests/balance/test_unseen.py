"""Load the demand reports do not show (scowl.balance.unseen): what each generator carried last tick, as
its fleet measured it, beyond the region's view of it then, is counted with its load. (Whole state at
1-minute ticks, tick 1034: the trackers' view ran 34 MW above what consumers drew, and EV hubs
discharged 14 MW for load the generators had room for.)"""

from __future__ import annotations

import numpy as np

from scowl import balance, wire
from scowl.balance.unseen import net_outputs, observe, remember
from scowl.model import CONTINUOUS, FIXED, STORAGE


def _ids(lo) -> np.ndarray:
    ids = np.zeros(len(lo), dtype=wire.CONSUMER_ID_DTYPE)
    ids["hi"] = 7
    ids["lo"] = np.asarray(lo, dtype=np.uint64)
    return ids


def _status(gen_ids, output, load=None) -> balance.GenUpdate:
    n = len(gen_ids)
    return balance.GenUpdate(np.array(gen_ids), np.array(output, dtype=np.float64), np.zeros(n), np.zeros(n),
                             None if load is None else np.array(load, dtype=np.float64))


def _region() -> balance.Region:
    r = balance.Region(100, 0.1, wire.CONSUMER_ID_DTYPE)
    r.drift_bound = 0.05  # the report threshold
    return r


def _nuclear_and_hub() -> balance.Region:
    """Nuclear 10 MW (9 under the threshold) and an EV hub; ten consumers who reported 0.93 MW each:
    nine on the nuclear unit (8.37 MW), one on the hub."""
    r = _region()
    r.add_generators([1, 2], [FIXED, STORAGE], [0.0, 0.0], [10.0, 50.0], [0.0, 50.0])
    r.add_consumers(_ids(range(10)), np.full(10, 0.93, dtype=np.float32))
    balance.tracker_round(r, balance.RoundInput(0, statuses=[_status([1, 2], [10.0, 50.0])]))
    assert r.trees.load.round(5).tolist() == [8.37, 0.93]
    return r


def test_a_generator_carrying_less_than_the_reports_say_takes_the_hub_load_it_has_room_for():
    """The consumers draw 0.89 MW each, within 5 % of what they reported (none reports again): the nuclear
    unit carried 8.01 MW, not 8.37 (4.3 % less). Counted so, all ten fit under its 9 MW (8.9 MW real) and
    the hub carries none; without the telemetry the hub still carries one."""
    seen = _nuclear_and_hub()
    blind = _nuclear_and_hub()
    out = balance.tracker_round(seen, balance.RoundInput(1, statuses=[_status([1, 2], [10.0, 50.0], [9 * 0.89, 0.89])]))
    assert np.allclose(seen.drift, 0.89 / 0.93 - 1.0)
    assert seen.trees.assignment.tolist() == [0] * 10
    assert abs(out.figures["unseen_mw"] - 9.3 * (0.89 / 0.93 - 1.0)) < 1e-5
    assert out.figures["hub_load_mw"] == 0.0 and out.figures["storage_setpoint_mw"] <= 0.0
    out = balance.tracker_round(blind, balance.RoundInput(1, statuses=[_status([1, 2], [10.0, 50.0])]))
    assert blind.trees.assignment.tolist().count(1) == 1 and out.figures["storage_setpoint_mw"] > 0.0


def _gas() -> balance.Region:
    """A gas unit (ramp 100) carrying 45 consumers who reported 1 MW each: it runs at 45 / 0.9 = 50 MW."""
    r = _region()
    r.add_generators([5], [CONTINUOUS], [0.0], [100.0], [100.0])
    r.add_consumers(_ids(range(45)), np.ones(45, dtype=np.float32))
    balance.tracker_round(r, balance.RoundInput(0, statuses=[_status([5], [100.0])]))
    assert np.allclose(r.setpoint, 50.0)
    return r


def test_gas_is_dispatched_for_the_load_the_reports_do_not_show_within_the_report_threshold():
    """They drew 47.25 MW (5 % more): the unit is asked for 47.25 / 0.9 = 52.5 MW, so the load it really
    carries sits at the threshold. Drawing 54 MW is 20 % more than any report can be off by: views that
    disagree, not drift; it counts as 5 %."""
    seen, blind, far = _gas(), _gas(), _gas()
    balance.tracker_round(seen, balance.RoundInput(1, statuses=[_status([5], [100.0], [47.25])]))
    balance.tracker_round(blind, balance.RoundInput(1, statuses=[_status([5], [100.0])]))
    balance.tracker_round(far, balance.RoundInput(1, statuses=[_status([5], [100.0], [54.0])]))
    assert np.allclose(seen.setpoint, 52.5) and np.allclose(blind.setpoint, 50.0) and np.allclose(far.setpoint, 52.5)
    assert np.allclose(seen.trees.cap(0.1) - seen.trees.load, 0.0, atol=1e-9)  # no room left: it is full in truth


def test_the_drift_is_a_share_that_follows_the_load():
    """Bounded by the report threshold either way; a unit dispatched to 0 MW keeps no room for its drift (the
    consumers that drew less left it); a unit the view had nothing on has none (what it carried is views
    disagreeing, not drift)."""
    r = _nuclear_and_hub()
    r.add_generators([3], [FIXED], [0.0], [5.0], [0.0])
    remember(r, 0)
    observe(r, [_status([1, 2, 3], [10.0, 50.0, 5.0], [7.8, 1.0, 0.4])], 1)  # 6.8 % less, 7.5 % more, on nothing
    assert np.allclose(r.drift, [-0.05, 0.05, 0.0])
    assert np.allclose(net_outputs(r, np.array([0.0, 10.0, 5.0])), [0.0, 10.0 / 1.05, 5.0])


def test_telemetry_answers_only_the_last_ticks_view():
    """The load a fleet reports is of last tick: it is compared with the view at the end of last tick's
    round, and counts for nothing when there was none (a round missed, a generator joined since)."""
    r = _nuclear_and_hub()
    observe(r, [_status([1, 2], [10.0, 50.0], [8.2, 0.9])], 2)  # the last round was tick 0's
    assert r.drift.tolist() == [0.0, 0.0]
    observe(r, [_status([1, 2], [10.0, 50.0], [8.2, 0.9])], 1)
    assert np.allclose(r.drift, [8.2 / 8.37 - 1.0, 0.9 / 0.93 - 1.0])
    r.add_generators([3], [FIXED], [0.0], [5.0], [0.0])
    observe(r, [_status([1, 3], [10.0, 5.0], [8.2, 2.0])], 1)  # no status of the hub: 0; generator 3 joined since
    assert np.allclose(r.drift, [8.2 / 8.37 - 1.0, 0.0, 0.0])
    balance.tracker_round(r, balance.RoundInput(1, statuses=[_status([1, 2, 3], [10.0, 50.0, 5.0])]))
    observe(r, [_status([3], [5.0], [r.trees.load[2] * 1.01])], 2)
    assert np.allclose(r.drift, [0.0, 0.0, 0.01 if r.trees.load[2] > 0 else 0.0])
