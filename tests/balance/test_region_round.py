"""The tracker round as a pure function (scowl.balance.tracker_round), without sockets."""

from __future__ import annotations

import numpy as np
import pytest

from scowl import balance, wire
from scowl.model import CONTINUOUS, FIXED, STOCHASTIC, STORAGE


def _ids(lo) -> np.ndarray:
    ids = np.zeros(len(lo), dtype=wire.CONSUMER_ID_DTYPE)
    ids["hi"] = 7
    ids["lo"] = np.asarray(lo, dtype=np.uint64)
    return ids


def _region(n_global=100, thr=0.1):
    r = balance.Region(n_global, thr, wire.CONSUMER_ID_DTYPE)
    # gen 10: wind 0..50 MW; gen 11: gas 20..100 MW, ramp 10 MW/tick; gen 12: nuclear 30 MW
    r.add_generators([10, 11, 12], [STOCHASTIC, CONTINUOUS, FIXED], [0.0, 20.0, 0.0], [50.0, 100.0, 30.0], [50.0, 10.0, 0.0])
    return r


def _status(out, sp):
    return balance.GenUpdate(np.array([10, 11, 12]), np.asarray(out, float), np.asarray(sp, float), np.zeros(3))


def test_wire_and_balance_agree_on_no_generator():
    assert balance.NO_GENERATOR == wire.STARVED_ID


def test_round_places_everyone_it_can_and_dispatches_gas_within_its_ramp():
    r = _region()
    r.add_consumers(_ids(range(20)), np.full(20, 2.0, dtype=np.float32))  # 40 MW
    out = balance.tracker_round(r, balance.RoundInput(1, statuses=[_status([10.0, 100.0, 30.0], [50.0, 50.0, 0.0])]))
    # demand 40 MW at the 0.9 threshold needs 44.4 MW: wind 10 + nuclear 30 give 40, gas is asked
    # for 4.4 MW but cannot go below its 20 MW minimum ramping down 10 MW from 50 -> 40
    assert out.setpoint_mw.tolist() == [40.0]
    assert out.steer_gen_ids.tolist() == [11]
    assert len(out.ids) == 20 and (out.gen_ids != balance.NO_GENERATOR).all()
    cap = r.trees.cap(0.1)
    assert (r.trees.load <= cap + 1e-9).all()
    assert out.figures["starved"] == 0 and out.summary.starved_count == 0
    sent = out.sent()  # what the actor packs: the same messages, without the result's per-consumer arrays
    assert out.result.moved.size == out.figures["moved"] == 20 and sent.result.moved.size == sent.result.restored.size == 0
    assert (np.asarray(sent.ids) == np.asarray(out.ids)).all() and sent.gen_ids is out.gen_ids and sent.figures == out.figures
    assert sent.result.load is out.result.load and sent.setpoint_mw is out.setpoint_mw and sent.summary == out.summary


def test_a_gas_unit_derated_below_its_minimum_is_not_counted_at_its_minimum():
    # two gas units 20..100 MW; unit 21 is derated to 5 MW (below its 20 MW minimum). Its
    # output is 5 MW, so the other unit must carry the rest: 88 MW of demand needs 97.8 MW.
    r = balance.Region(100, 0.1, wire.CONSUMER_ID_DTYPE)
    r.add_generators([20, 21], [CONTINUOUS, CONTINUOUS], [20.0, 20.0], [100.0, 100.0], [100.0, 100.0])
    r.add_consumers(_ids(range(44)), np.full(44, 2.0, dtype=np.float32))
    st = balance.GenUpdate(np.array([20, 21]), np.array([100.0, 5.0]), np.array([50.0, 50.0]), np.zeros(2))
    out = balance.tracker_round(r, balance.RoundInput(1, statuses=[st]))
    assert out.setpoint_mw[1] == 5.0 and out.setpoint_mw[0] >= 88.0 / 0.9 - 5.0  # counted at 20 MW: 15 MW short
    assert out.summary.starved_count == 0


def test_short_region_starves_the_rest_and_hands_them_to_a_peer_with_room():
    r = _region()
    r.add_consumers(_ids(range(60)), np.full(60, 2.0, dtype=np.float32))  # 120 MW
    st = _status([0.0, 100.0, 30.0], [50.0, 50.0, 0.0])
    out = balance.tracker_round(r, balance.RoundInput(1, statuses=[st], peers=["t1"]))
    # gas ramps to 60, plus nuclear 30: 90 MW of output, 81 MW under the threshold -> 40 consumers
    assert out.setpoint_mw.tolist() == [60.0]
    assert out.summary.starved_count == 20
    assert out.handovers["t1"].ids.size == 0  # no offer yet
    out = balance.tracker_round(r, balance.RoundInput(2, statuses=[_status([0.0, 100.0, 30.0], [60.0, 60.0, 0.0])],
                                                      offers={"t1": balance.PeerOffer(headroom_mw=0.0, starved_mw=0.0, room_mw=11.0)}, peers=["t1"]))
    handed = out.handovers["t1"]
    assert handed.ids.size == 4  # gas ramps to 70 -> 4 more placed (72 MW); 9.9 MW offered -> 4 of the 16 left
    assert set(handed.ids["lo"].tolist()) <= set(range(60))
    sent = dict(zip(out.ids["lo"].tolist(), out.gen_ids.tolist()))
    assert all(sent[int(i)] == balance.NO_GENERATOR for i in handed.ids["lo"])
    # released consumers are no longer ours; nobody is lost
    held, _, _ = r.where_are(_ids(range(60)))
    assert held.size == 56


def test_handed_in_consumers_are_placed_or_kept_and_reported():
    r = _region()
    st = _status([50.0, 100.0, 30.0], [50.0, 50.0, 0.0])
    balance.tracker_round(r, balance.RoundInput(0, statuses=[st]))
    ho = balance.ConsumerBatch(_ids([70, 71]), np.array([1.0, 500.0], dtype=np.float32))
    out = balance.tracker_round(r, balance.RoundInput(1, statuses=[st], handovers=[ho]))
    sent = dict(zip(out.ids["lo"].tolist(), out.gen_ids.tolist()))
    assert sent[70] != balance.NO_GENERATOR and sent[71] == balance.NO_GENERATOR
    assert out.figures["handed_in_accepted"] == 1 and out.figures["handed_in_declined"] == 1


def test_storage_discharges_only_for_what_gas_cannot_cover():
    r = balance.Region(10, 0.1, wire.CONSUMER_ID_DTYPE)
    r.add_generators([1, 2], [CONTINUOUS, STORAGE], [10.0, 0.0], [100.0, 50.0], [10.0, 50.0])
    r.add_consumers(_ids(range(10)), np.full(10, 9.0, dtype=np.float32))  # 90 MW: needs 100 MW
    st = balance.GenUpdate(np.array([1, 2]), np.array([100.0, 50.0]), np.array([50.0, 0.0]), np.array([0.0, 20.0]))
    out = balance.tracker_round(r, balance.RoundInput(1, statuses=[st]))
    assert out.setpoint_mw.tolist() == pytest.approx([60.0, 40.0])


def test_warm_start_the_first_round_dispatches_gas_at_any_level():
    """Tick 0 measures the day, not a cold start: the units were running before it began."""
    r = _region()
    r.add_consumers(_ids(range(60)), np.full(60, 2.0, dtype=np.float32))  # 120 MW: needs 133.3 MW
    out = balance.tracker_round(r, balance.RoundInput(0, statuses=[_status([10.0, 100.0, 30.0], [50.0, 50.0, 0.0])]))
    assert out.setpoint_mw[0] >= 93.33333  # not 60 (50 + a 10 MW ramp): no ramp before the day
    assert out.summary.starved_count == 0
    # tick 1: 50 MW more wind, so gas is asked for 43.3 MW
    out = balance.tracker_round(r, balance.RoundInput(1, statuses=[_status([60.0, 100.0, 30.0], [93.3, 93.3, 0.0])]))
    assert out.setpoint_mw.tolist() == pytest.approx([83.3])  # from tick 1 on, 10 MW a tick: down to 83.3, not 43.3


def test_resync_is_the_truth_and_updates_loads():
    r = _region()
    r.add_consumers(_ids(range(4)), np.full(4, 1.0, dtype=np.float32))
    balance.tracker_round(r, balance.RoundInput(0, statuses=[_status([50.0, 100.0, 30.0], [50.0, 50.0, 0.0])]))
    r.resync(_ids([0, 1]), np.array([2.0, 2.0], dtype=np.float32), np.array([12, wire.STARVED_ID], dtype=np.int32))
    _, demand, gen = r.where_are(_ids([0, 1]))
    assert gen.tolist() == [12, balance.NO_GENERATOR] and demand.tolist() == [2.0, 2.0]
    balance.check_invariants(r.trees, rebalanced=False)  # loads, index and queue in step


def test_consumers_of_a_population_not_heard_from_stay_where_they_are():
    # a population cut off follows no Assign: its consumers keep drawing where they are, so the
    # round must shed others (who hear it) off an overloaded generator, not move them on paper
    r = balance.Region(100, 0.1, wire.CONSUMER_ID_DTYPE)
    r.add_generators([20, 21], [FIXED, FIXED], [0.0, 0.0], [20.0, 20.0], [0.0, 0.0])
    cut = _ids([0])
    cut["hi"] = 8
    r.add_consumers(cut, np.array([5.0], dtype=np.float32))
    r.add_consumers(_ids(range(1, 5)), np.full(4, 1.0, dtype=np.float32))
    st = balance.GenUpdate(np.array([20, 21]), np.array([10.0, 0.0]), np.zeros(2), np.zeros(2))
    balance.tracker_round(r, balance.RoundInput(1, statuses=[st]))
    assert (r.trees.assignment[:5] == 0).all()  # all on generator 20 (9 MW of its 9 MW ceiling)
    # generator 20 falls to 8 MW (ceiling 7.2), generator 21 comes up with room for 5 MW
    st = balance.GenUpdate(np.array([20, 21]), np.array([8.0, 10.0]), np.zeros(2), np.zeros(2))
    out = balance.tracker_round(r, balance.RoundInput(2, statuses=[st], unheard=[8]))
    assert 0 not in out.ids["lo"].tolist() and r.trees.assignment[0] == 0  # the cut consumer did not move
    assert r.trees.load[0] <= r.trees.cap(0.1)[0] + 1e-9  # others left generator 20 instead
    assert out.summary.starved_count == 0 and r.trees.frozen is None


def _short_region():
    """60 x 2 MW on gas 60 MW + nuclear 30 MW: 16 starved after tick 2's round, and short next tick."""
    r = _region()
    r.add_consumers(_ids(range(60)), np.full(60, 2.0, dtype=np.float32))
    balance.tracker_round(r, balance.RoundInput(1, statuses=[_status([0.0, 100.0, 30.0], [50.0, 50.0, 0.0])], peers=["t1", "t2"]))
    return r


def test_starved_load_goes_to_peers_generators_first_and_only_then_to_a_peers_ev_hubs():
    """Storage is the last resort, but reachable from every region (review F2): a peer's hubs
    take what no peer's generators can."""
    hubs = balance.PeerOffer(0.0, 0.0, storage_room_mw=100.0)

    def handed(room_mw):
        out = balance.tracker_round(_short_region(), balance.RoundInput(
            2, statuses=[_status([0.0, 100.0, 30.0], [60.0, 60.0, 0.0])], peers=["t1", "t2"],
            offers={"t1": balance.PeerOffer(0.0, 0.0, room_mw=room_mw, firm_mw=room_mw), "t2": hubs}))  # gas ramp room
        assert out.figures["starved"] == 0  # none left starved here
        # (starved handed now, served handed for the next round) by peer
        return {p: (out.handovers[p].ids.size - out.later[p], out.later[p]) for p in ("t1", "t2")}
    # t1's generators have more room than the region is short: 27 MW -> 13 starved consumers; t2's
    # hubs the other 3 starved, and 10 served ones the region cannot carry next tick
    assert handed(30.0) == {"t1": (13, 0), "t2": (3, 10)}
    # generators' room covers it all: the hubs get nothing
    assert handed(100.0) == {"t1": (16, 10), "t2": (0, 0)}


def test_starved_go_to_a_peers_firm_room_then_to_ev_hubs_and_only_then_to_the_rest_of_its_room():
    """A taker cannot return in the tick the handed starved it cannot place, so they go first where
    the room will still be there: a peer's firm room (its gas can ramp into it), then EV hubs; the rest
    of a peer's room rests on wind, sun and demand that can move within the tick (ny2030 tick 200: a
    peer's room fell 5.4 -> 0 MW and 2 handed consumers starved beside 171 MW of hub room). Served
    load, which moves next tick and comes back if not taken, still counts on all of the room."""
    def handed(firm_mw, hub_mw=100.0):
        out = balance.tracker_round(_short_region(), balance.RoundInput(
            2, statuses=[_status([0.0, 100.0, 30.0], [60.0, 60.0, 0.0])], peers=["t1", "t2"],
            offers={"t1": balance.PeerOffer(0.0, 0.0, room_mw=100.0, firm_mw=firm_mw),
                    "t2": balance.PeerOffer(0.0, 0.0, storage_room_mw=hub_mw)}))
        assert out.figures["starved"] == 0
        return {p: (out.handovers[p].ids.size - out.later[p], out.later[p]) for p in ("t1", "t2")}
    assert handed(100.0) == {"t1": (16, 10), "t2": (0, 0)}  # all firm: as gas room always was
    assert handed(0.0) == {"t1": (0, 10), "t2": (16, 0)}  # none firm: the starved to the hubs, served to t1
    assert handed(10.0) == {"t1": (4, 10), "t2": (12, 0)}  # 0.9 x 10 MW firm: 4 x 2 MW; the hubs the rest
    assert handed(0.0, hub_mw=0.0) == {"t1": (16, 10), "t2": (0, 0)}  # no hubs: the rest of t1's room after all


def _hub_region():
    """20 x 2 MW on nuclear 30 MW (27 MW under the threshold) and an EV hub: 7 consumers on the hub."""
    r = balance.Region(100, 0.1, wire.CONSUMER_ID_DTYPE)
    r.add_generators([1, 2], [FIXED, STORAGE], [0.0, 0.0], [30.0, 50.0], [0.0, 50.0])
    r.add_consumers(_ids(range(20)), np.full(20, 2.0, dtype=np.float32))
    st = balance.GenUpdate(np.array([1, 2]), np.array([30.0, 50.0]), np.array([0.0, 0.0]), np.array([0.0, 0.0]))
    balance.tracker_round(r, balance.RoundInput(1, statuses=[st], peers=["t1", "t2"]))
    assert r.trees.load.tolist() == [26.0, 14.0]
    return r, st


def test_what_our_own_ev_hubs_carry_is_offered_to_peers_generators_now_and_stays_on_the_hubs_until_taken():
    """Our hubs are the last resort too: the consumers they carry go in the hub part of the
    handovers, up to twice each peer's advertised room (its advert is a tick old; it places only
    what fits: scowl.balance.regionround.sub_round), never as starved and never for the next round
    only. Without a peer's answer they stay on the hub, served (not starved as handed consumers a
    taker declined were: 14,470 on the whole state at 1-minute ticks)."""
    r, st = _hub_region()
    on_hub = set(np.flatnonzero(r.trees.assignment[:20] == 1).tolist())
    out = balance.tracker_round(r, balance.RoundInput(2, statuses=[st], peers=["t1", "t2"], offers={
        "t1": balance.PeerOffer(0.0, 0.0, room_mw=30.0, firm_mw=10.0), "t2": balance.PeerOffer(0.0, 0.0, room_mw=40.0)}))
    handed = {p: h for p, h in out.handovers.items() if h.ids.size}
    assert all(out.hub[p] == h.ids.size and out.later[p] == 0 for p, h in handed.items())  # all of it the hub part
    assert set(np.concatenate([h.ids["lo"] for h in handed.values()]).tolist()) == on_hub  # the hub's 7
    assert r.trees.load.tolist() == [26.0, 14.0] and out.figures["starved"] == 0 and out.handed == 0
    assert out.figures["hub_offered"] == 7 and out.figures["hub_moved"] == 0
    # a peer with 3 MW of room is offered 6 MW: 3 of the hub's 2 MW consumers
    r, st = _hub_region()
    out = balance.tracker_round(r, balance.RoundInput(2, statuses=[st], peers=["t1"], offers={"t1": balance.PeerOffer(0.0, 0.0, room_mw=3.0)}))
    assert out.handovers["t1"].ids.size == out.hub["t1"] == 3 and set(out.handovers["t1"].ids["lo"].tolist()) <= on_hub


def test_generator_room_a_shortfall_claims_is_left_to_it_and_the_starved_go_to_ev_hubs():
    """When the regions' shortfalls claim all the generator room peers advertised, starved
    consumers handed against it would find it full (served load moving there next tick) and
    starve a tick more at the peer: they go to a peer's EV hubs now, and the generator room
    takes served load for the next round (ny2030: starved ticks 44 -> 3)."""
    hubs = balance.PeerOffer(0.0, 0.0, storage_room_mw=100.0)
    out = balance.tracker_round(_short_region(), balance.RoundInput(
        2, statuses=[_status([0.0, 100.0, 30.0], [60.0, 60.0, 0.0])], peers=["t1", "t2"],
        offers={"t1": balance.PeerOffer(0.0, 0.0, room_mw=11.0), "t2": hubs}))
    sent = dict(zip(out.ids["lo"].tolist(), out.gen_ids.tolist()))
    starved_to = {p: sum(sent.get(int(i)) == balance.NO_GENERATOR for i in out.handovers[p].ids["lo"]) for p in ("t1", "t2")}
    assert starved_to == {"t1": 0, "t2": 16}  # every starved consumer to the hubs, now
    assert out.later == {"t1": 4, "t2": 6}  # t1's 9.9 MW of generator room: 4 served, next round; the hubs 6 more
    assert out.figures["starved"] == 0
    # a peer short too: its shortfall counts against the generator room as well
    out = balance.tracker_round(_short_region(), balance.RoundInput(
        2, statuses=[_status([0.0, 100.0, 30.0], [60.0, 60.0, 0.0])], peers=["t1", "t2"],
        offers={"t1": balance.PeerOffer(0.0, 0.0, room_mw=60.0), "t2": balance.PeerOffer(0.0, 0.0, short_mw=50.0, storage_room_mw=100.0)}))
    assert out.handovers["t1"].ids.size == out.later["t1"] > 0 and out.handovers["t2"].ids.size - out.later["t2"] == 16


def test_served_consumers_promised_to_a_region_leave_its_advertised_room():
    """Served consumers a peer handed us this tick for our next round (`coming`) fill our room
    then: the room we advertise leaves them out, or peers would hand us starved consumers against
    it and those would find it full."""
    def advert(coming):
        r = balance.Region(10, 0.1, wire.CONSUMER_ID_DTYPE)
        r.add_generators([1, 2], [CONTINUOUS, STORAGE], [10.0, 0.0], [100.0, 50.0], [10.0, 50.0])
        r.add_consumers(_ids(range(5)), np.full(5, 9.0, dtype=np.float32))  # 45 MW
        st = balance.GenUpdate(np.array([1, 2]), np.array([100.0, 30.0]), np.array([50.0, 0.0]), np.array([0.0, 20.0]))
        out = balance.tracker_round(r, balance.RoundInput(1, statuses=[st]), coming=coming)
        return out.room_mw, out.short_mw, out.storage_room_mw
    # gas reaches 60 MW next tick: 0.9 x 60 - 45 = 9 MW of room; the hubs' 30 MW: 27 MW more
    assert advert([]) == pytest.approx((9.0, 0.0, 27.0))
    four = balance.ConsumerBatch(_ids([7, 8]), np.array([1.5, 2.5], dtype=np.float32))
    assert advert([four]) == pytest.approx((5.0, 0.0, 27.0))
    twelve = balance.ConsumerBatch(_ids([7, 8, 9]), np.array([4.0, 4.0, 4.0], dtype=np.float32))
    assert advert([twelve]) == pytest.approx((0.0, 3.0, 24.0))  # short 3 MW: the hubs cover it, 24 MW left on them


def test_a_region_advertises_its_ev_hubs_room_apart_from_its_generators_room():
    r = balance.Region(10, 0.1, wire.CONSUMER_ID_DTYPE)
    r.add_generators([1, 2], [CONTINUOUS, STORAGE], [10.0, 0.0], [100.0, 50.0], [10.0, 50.0])
    r.add_consumers(_ids(range(5)), np.full(5, 9.0, dtype=np.float32))  # 45 MW
    st = balance.GenUpdate(np.array([1, 2]), np.array([100.0, 30.0]), np.array([50.0, 0.0]), np.array([0.0, 20.0]))
    out = balance.tracker_round(r, balance.RoundInput(1, statuses=[st]))
    # gas reaches 60 MW next tick: 0.9 x 60 - 45 = 9 MW of room; the hubs' 30 MW discharge: 27 MW more, last
    assert out.setpoint_mw.tolist() == [50.0, 0.0]
    assert out.room_mw == pytest.approx(9.0) and out.short_mw == 0.0
    assert out.storage_room_mw == pytest.approx(27.0) and out.figures["storage_room_mw"] == out.storage_room_mw


def test_ev_hubs_charge_on_spare_gas_only_while_nobody_starves_or_runs_short():
    def round_with(offers):
        r = balance.Region(10, 0.1, wire.CONSUMER_ID_DTYPE)
        r.add_generators([1, 2], [CONTINUOUS, STORAGE], [10.0, 0.0], [100.0, 50.0], [10.0, 50.0])
        r.add_consumers(_ids(range(5)), np.full(5, 9.0, dtype=np.float32))  # 45 MW: needs 50 MW
        st = balance.GenUpdate(np.array([1, 2]), np.array([100.0, 30.0]), np.array([50.0, 0.0]), np.array([0.0, 6.0]))
        first = balance.tracker_round(r, balance.RoundInput(1, statuses=[st], offers=offers))
        assert first.setpoint_mw.tolist() == pytest.approx([50.0, 0.0])  # joiners unplaced at the start: no charge
        return balance.tracker_round(r, balance.RoundInput(2, statuses=[st], offers=offers))
    # 6 MW of charge is load too: gas asked for (45 + 6) / 0.9 = 56.7 MW (within its 10 MW ramp)
    out = round_with({})
    assert out.setpoint_mw.tolist() == pytest.approx([51.0 / 0.9, -6.0])
    assert out.summary.starved_count == 0
    # a peer starving: the gas is theirs to ask for, the hubs do not charge (before review F2 they never did)
    out = round_with({"t1": balance.PeerOffer(0.0, starved_mw=3.0)})
    assert out.setpoint_mw.tolist() == pytest.approx([50.0, 0.0])


def test_starved_handed_to_a_peer_are_placed_on_its_ramped_gas_in_the_same_tick():
    """The sub-round: a region at its limit hands its starved to a peer that advertised room;
    the peer places them in the same tick, ramping its gas for them (never below the setpoints
    its first pass set, so nobody it placed is shed); the giver's Assign names them last, as handed."""
    a = _region()
    a.add_consumers(_ids(range(50)), np.full(50, 2.0, dtype=np.float32))  # 100 MW; gas can reach 70 + 30 nuclear
    b = _region()
    b.add_consumers(_ids(range(50, 86)), np.full(36, 2.0, dtype=np.float32))  # 72 MW: gas 50 + nuclear 30, full
    st = _status([0.0, 100.0, 30.0], [60.0, 60.0, 0.0])
    offer = {"b": balance.PeerOffer(headroom_mw=0.0, starved_mw=0.0, room_mw=30.0)}
    first_a = balance.first_pass(a, balance.RoundInput(1, statuses=[st], offers=offer, peers=["b"]))
    first_b = balance.first_pass(b, balance.RoundInput(1, statuses=[st], peers=["a"]))
    gas_b = b.setpoint[1]
    handed = first_a.handovers["b"]
    k = handed.ids.size - first_a.later["b"]
    assert k >= 5  # a's gas ramps to 70: 100 MW of output, 90 MW under the threshold; the rest is starved, handed to b
    assert gas_b < 60.0  # b's first pass: 72 MW needs ~80 MW of output, so its gas ramps down
    out_b = balance.finish_round(b, first_b, [balance.ConsumerBatch(handed.ids[:k], handed.demand_mw[:k])])
    out_a = balance.finish_round(a, first_a, [])
    sent_b = dict(zip(out_b.ids["lo"].tolist(), out_b.gen_ids.tolist()))
    assert all(sent_b[int(i)] != balance.NO_GENERATOR for i in handed.ids["lo"][:k])  # placed this tick
    assert 60.0 < b.setpoint[1] <= 70.0  # ramped for them from where its fleet runs (60), within its 10 MW ramp
    assert out_b.summary.starved_count == 0 and out_b.result.shed == 0
    tail = out_a.ids["lo"][out_a.ids.size - out_a.handed:]
    assert out_a.handed == k and tail.tolist() == handed.ids["lo"][:k].tolist()  # last, as handed (b's word beats it)
    assert (out_a.gen_ids[out_a.ids.size - k:] == balance.NO_GENERATOR).all()
    assert not np.isin(out_a.ids["lo"][: out_a.ids.size - k], tail).any()  # named once
    balance.check_invariants(b.trees, rebalanced=False)


def test_a_handover_naming_consumers_outside_the_state_or_twice_is_refused():
    assert balance.handover_problem(_ids([1, 2, 99]), 100) is None
    assert balance.handover_problem(_ids([]), 100) is None
    assert "outside [0, 100)" in balance.handover_problem(_ids([1, 100]), 100)
    assert "named twice" in balance.handover_problem(_ids([5, 1, 5]), 100)


def test_a_consumer_handed_to_us_that_we_hold_already_is_not_added_twice():
    r = _region()
    r.add_consumers(_ids(range(20)), np.full(20, 2.0, dtype=np.float32))
    st = [_status([10.0, 100.0, 30.0], [50.0, 50.0, 0.0])]
    balance.tracker_round(r, balance.RoundInput(1, statuses=st))
    n, load = r.trees.n, float(r.trees.load.sum())
    again = balance.ConsumerBatch(_ids([3, 40]), np.array([2.0, 1.0], dtype=np.float32))  # 3 is ours already, 40 is new
    balance.tracker_round(r, balance.RoundInput(2, statuses=st, handovers=[again]))
    assert r.trees.n == n + 1 and r.handed_in_held == 1
    assert float(r.trees.load.sum()) == pytest.approx(load + 1.0)


def test_a_region_that_lost_the_room_it_advertised_keeps_that_much_of_peers_generator_room_in_reserve():
    """Adverts are a tick old, and what took our room since (weather, demand) takes the peers' too:
    a region whose advertised spare (room - short) shrank by L MW hands starved consumers to a
    peer's generators only beyond L of that peer's share, and the rest to the EV hubs, which do not
    vanish (ny2030: the last 3 ticks of starvation, 1.77 MWh, -> 1 tick, 0.03 MWh)."""
    hubs = balance.PeerOffer(0.0, 0.0, storage_room_mw=100.0)

    def starved_to(advertised_spare_mw):
        r = _short_region()
        r.advert_spare_mw = advertised_spare_mw  # what its last round told the peers
        out = balance.tracker_round(r, balance.RoundInput(
            2, statuses=[_status([0.0, 100.0, 30.0], [60.0, 60.0, 0.0])], peers=["t1", "t2"],
            offers={"t1": balance.PeerOffer(0.0, 0.0, room_mw=60.0, firm_mw=60.0), "t2": hubs}))
        assert out.figures["starved"] == 0
        return {p: out.handovers[p].ids.size - out.later[p] for p in ("t1", "t2")}
    # the region is 20 MW short at tick 2; t1's share of its advert: 0.9 x 60 = 54 MW
    assert starved_to(float("-inf")) == starved_to(-20.0) == {"t1": 16, "t2": 0}  # no advert / as short as it said
    for advertised, lost in ((10.0, 30.0), (30.0, 50.0)):
        got = starved_to(advertised)
        assert got["t1"] + got["t2"] == 16 and got["t1"] * 2.0 <= 54.0 - lost and got["t2"] > 0
