"""Opening a gap for a whole consumer wider than every generator's gap (scowl.balance.opengap): small
consumers move off one generator into the others' gaps, and the wide one goes where they left. (ny2030
tick 199 before it: five consumers of 0.19-0.39 MW stayed on tracker-3's EV hubs beside 7.6 MW of spare
in gaps of at most 0.15 MW.)"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from scowl import balance, wire
from scowl.balance.opengap import open_gaps, place_wide
from scowl.balance.trees import STARVED, Trees
from scowl.model import CONTINUOUS, FIXED, STORAGE

THR = 0.1


def _trees() -> Trees:
    """Three 10 MW units (ceiling 9 MW and a little) holding 71, 70 and 69 homes of 0.125 MW: gaps 0.125, 0.25, 0.375 MW
    (0.75 MW in all); an EV hub (index 3), empty; a 0.6 MW consumer unplaced (index 210)."""
    assign = np.concatenate([np.full(71, 0), np.full(70, 1), np.full(69, 2), [STARVED]])
    demand = np.concatenate([np.full(210, 0.125), [0.6]]).astype(np.float32)
    return Trees([10.001, 10.001, 10.001, 10.0], demand, assign)  # (0.9 kW over each gap: EPS and float32 sums)


def _targets() -> np.ndarray:
    return np.array([True, True, True, False])


def test_small_consumers_move_into_the_other_gaps_and_the_wide_one_takes_the_gap_they_opened():
    t = _trees()
    cap = t.cap(THR)
    op = open_gaps(t, cap, np.array([210]), None, _targets())
    assert op.placed.tolist() == [210] and op.placed_on.tolist() == [2]  # the largest gap, 0.375 MW: 0.225 MW lacking
    assert op.moved.size == 2 and set(op.moved_from.tolist()) == {2}  # two homes left it
    assert set(op.moved_to.tolist()) <= {0, 1}
    assert (t.assignment[op.moved] == op.moved_to).all() and t.assignment[210] == 2
    assert (t.load <= cap + 1e-9).all()  # nobody over a ceiling
    assert t.load[:3].sum() == pytest.approx(26.25 + 0.6) and t.load[3] == 0.0
    assert t.n_unplaced == 0


def test_nothing_moves_when_the_gaps_together_are_narrower_than_the_consumer():
    t = _trees()
    before = t.assignment.copy()
    wide = np.array([210])
    op = open_gaps(t, t.cap(THR), wide, None, np.array([True, True, False, False]))  # 0.375 MW of gaps < 0.6
    assert not op.placed.size and not op.moved.size
    assert (t.assignment == before).all()


def test_frozen_consumers_stay_where_they_are():
    t = _trees()
    frozen = np.ones(t.n, dtype=bool)
    op = open_gaps(t, t.cap(THR), np.array([210]), frozen, _targets())
    assert not op.placed.size and not op.moved.size and t.assignment[210] == STARVED
    frozen[:141] = False  # those of gens 0 and 1 may move: gen 1 opens (gap 0.25; 0.125 + 0.375 elsewhere)
    op = open_gaps(t, t.cap(THR), np.array([210]), frozen, _targets())
    assert op.placed_on.tolist() == [1] and set(op.moved_from.tolist()) == {1}


def _region():
    """Two fixed 10 MW units (ceiling 9 MW and a little) holding 68 homes of 0.125 MW each (gaps 0.5 MW), an EV hub
    of 50 MW; a 0.6 MW consumer (index 136) starved."""
    r = balance.Region(1000, THR, wire.CONSUMER_ID_DTYPE)
    r.add_generators([1, 2, 3], [FIXED, FIXED, STORAGE], [0.0, 0.0, 0.0], [10.001, 10.001, 50.0], [0.0, 0.0, 50.0])
    ids = np.zeros(137, dtype=wire.CONSUMER_ID_DTYPE)
    ids["lo"] = np.arange(137)
    r.add_consumers(ids, np.concatenate([np.full(136, 0.125), [0.6]]).astype(np.float32))
    st = balance.GenUpdate(np.array([1, 2, 3]), np.array([10.001, 10.001, 50.0]), np.zeros(3), np.zeros(3))
    balance.tracker_round(r, balance.RoundInput(1, statuses=[st]))
    t = r.trees
    t.move(np.arange(137), np.concatenate([np.full(68, 0), np.full(68, 1), [STARVED]]).astype(np.int32))
    return r, 136


def test_place_wide_reports_every_move_as_the_round_result_and_never_uses_the_hub():
    r, wide = _region()
    t = r.trees
    gap = t.cap(THR)[:2] - t.load[:2]
    assert gap.max() < 0.6 <= gap.sum()
    res = balance.rebalance(t, THR)
    assert t.assignment[wide] in (STARVED, 2)  # the placement alone: no gap holds it (the hub's room may)
    t.move(np.array([wide]), np.array([STARVED], dtype=np.int32))
    res = replace(res, starved_count=t.n_unplaced, starved_mw=0.6)
    out = place_wide(r, np.array([wide]), None, res)
    assert t.assignment[wide] in (0, 1)
    moved = out.moved[out.moved != wide]
    assert moved.size == 1 and t.assignment[moved[0]] != t.assignment[wide]  # one home to the other unit
    assert (out.moved_to == t.assignment[out.moved]).all() and wide in out.restored.tolist()
    assert (t.load[:2] <= t.cap(THR)[:2] + 1e-9).all() and t.load[2] == 0.0  # nobody over a ceiling, nobody onto the hub
    assert out.starved_count == 0 and out.starved_mw == pytest.approx(0.0, abs=1e-6)
    r, wide = _region()  # the homes frozen (a population not heard this tick): none moves, it stays unplaced
    assert place_wide(r, np.array([wide]), np.ones(r.trees.n, dtype=bool), res) is res and r.trees.assignment[wide] == STARVED


def test_a_consumer_handed_out_starved_and_taken_back_in_a_hub_part_is_named_once_on_its_generator():
    """Round trip in a tick (ny2030 tick 183): our starved wide consumer goes to a peer, which puts it on its
    EV hub and offers it back in its second offer; we open a gap for it. Our round names it placed only: a
    starved word after it in the same message would be the fleet's last word, not the population's."""
    r, wide = _region()
    st = balance.GenUpdate(np.array([1, 2, 3]), np.array([10.001, 10.001, 0.0]), np.zeros(3), np.zeros(3))  # (our hub empty)
    first = balance.first_pass(r, balance.RoundInput(2, statuses=[st], peers=["g"],
                                                     offers={"g": balance.PeerOffer(0.0, 0.0, room_mw=5.0, firm_mw=5.0)}))
    assert first.handed_to["g"].tolist() == [wide]  # no gap of ours held it
    c = r.ids_of(first.handed_to["g"])
    sub, taken = balance.sub_round(r, first, (), [balance.ConsumerBatch(c, np.array([0.6], dtype=np.float32))])
    assert taken[0].tolist() == [True]  # a gap opened for it
    out = balance.wrap_up(r, sub)
    lo = np.asarray(out.ids["lo"])
    named = np.flatnonzero(lo == c["lo"][0])
    assert named.size == 1 and out.gen_ids[named[0]] in r.gen_ids[:2]
    assert out.handed == 0


def test_a_gas_unit_below_its_reach_takes_the_wide_one_and_is_asked_for_it():
    """Gas running at 50 MW (ramp 10, 100 available) carrying 44.9 MW: 0.1 MW of gap at its setpoint, 8.9 MW more
    within its ramp (the taker's reported gaps count that); a fixed unit full. Given where the fleets run (`base`),
    the 0.6 MW consumer goes on the gas unit and its setpoint rises to carry it; without, no gap opens (0.1 MW < 0.6)."""
    def region():
        r = balance.Region(1000, THR, wire.CONSUMER_ID_DTYPE)
        r.add_generators([1, 2, 3], [CONTINUOUS, FIXED, STORAGE], [0.0, 0.0, 0.0], [100.0, 10.0, 50.0], [10.0, 0.0, 50.0])
        ids = np.zeros(509, dtype=wire.CONSUMER_ID_DTYPE)
        ids["lo"] = np.arange(509)
        r.add_consumers(ids, np.concatenate([np.full(449, 0.1), np.full(59, 9.0 / 59), [0.6]]).astype(np.float32))
        r.available[:] = [100.0, 10.0, 50.0]
        r.setpoint[:] = [50.0, 0.0, 0.0]
        r.trees.apply_generator_updates(np.arange(3), np.array([50.0, 10.0, 0.0]))
        r.trees.move(np.arange(508), np.concatenate([np.full(449, 0), np.full(59, 1)]).astype(np.int32))
        return r
    r = region()
    res = balance.rebalance(r.trees, THR)
    assert r.trees.assignment[508] == STARVED
    out = place_wide(r, np.array([508]), None, res, base=np.array([50.0, 0.0, 0.0]))
    assert r.trees.assignment[508] == 0 and 508 in out.restored.tolist()
    assert r.setpoint[0] == pytest.approx(r.trees.load[0] / 0.9) and 50.0 < r.setpoint[0] <= 60.0
    assert r.trees.output[0] == r.setpoint[0] and r.trees.load[0] <= 0.9 * r.trees.output[0] + 1e-9
    r = region()
    assert place_wide(r, np.array([508]), None, res) is res and r.trees.assignment[508] == STARVED and r.setpoint[0] == 50.0
