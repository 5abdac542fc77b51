"""Who holds a handed-over consumer (scowl.balance.handed): the taker decides, the giver follows its
answer (review R1). A tracker `a` short of supply hands starved (and served) consumers to `b`."""

from __future__ import annotations

import numpy as np
import pytest

from scowl import balance, wire
from scowl.balance import ANSWER_WINDOW, Answer
from scowl.balance.handed import Handed, HandedOut
from scowl.balance.intake import report_demand
from scowl.model import CONTINUOUS, FIXED, STOCHASTIC


def _ids(lo) -> np.ndarray:
    ids = np.zeros(len(lo), dtype=wire.CONSUMER_ID_DTYPE)
    ids["hi"] = 7
    ids["lo"] = np.asarray(lo, dtype=np.uint64)
    return ids


def _region() -> balance.Region:
    r = balance.Region(100, 0.1, wire.CONSUMER_ID_DTYPE)
    # wind 0..50 MW, gas 20..100 MW ramping 10 MW a tick, nuclear 30 MW
    r.add_generators([10, 11, 12], [STOCHASTIC, CONTINUOUS, FIXED], [0.0, 20.0, 0.0], [50.0, 100.0, 30.0], [50.0, 10.0, 0.0])
    return r


def _status() -> balance.GenUpdate:  # no wind; gas at 60 MW
    return balance.GenUpdate(np.array([10, 11, 12]), np.array([0.0, 100.0, 30.0]), np.array([60.0, 60.0, 0.0]), np.zeros(3))


def _handed_over(n: int = 50, room_mw: float = 30.0):
    """Tick 1: `a` (2n MW of load, 90 MW it can carry) hands its starved to `b`, which advertised room
    (and, when `a` is short of its own reach next tick too, served consumers)."""
    a = _region()
    a.add_consumers(_ids(range(n)), np.full(n, 2.0, dtype=np.float32))
    b = _region()
    b.add_consumers(_ids(range(n, n + 36)), np.full(36, 2.0, dtype=np.float32))
    offer = {"b": balance.PeerOffer(0.0, 0.0, room_mw=room_mw)}
    fa = balance.first_pass(a, balance.RoundInput(1, statuses=[_status()], offers=offer, peers=["b"]))
    fb = balance.first_pass(b, balance.RoundInput(1, statuses=[_status()], peers=["a"]))
    ho = fa.handovers["b"]
    k = ho.ids.size - fa.later["b"]
    assert k >= 5
    return a, b, fa, fb, ho, k


def _held(region: balance.Region, ids: np.ndarray) -> set[int]:
    return set(region.where_are(ids)[0]["lo"].tolist())


def _words(*outs: tuple[str, balance.RoundOutput]) -> dict[int, tuple[str, int]]:
    """What a population ends with after the trackers' Assigns of one tick: every handed part
    first, then each Assign's own words (the order of actors/assign_inbox), sender order reversed
    on purpose (the rule must not depend on it)."""
    final: dict[int, tuple[str, int]] = {}
    ordered = sorted(outs, reverse=True)
    for part in ("handed", "own"):
        for name, out in ordered:
            k = out.ids.size - out.handed
            sl = slice(k, None) if part == "handed" else slice(0, k)
            for i, g in zip(out.ids["lo"][sl].tolist(), out.gen_ids[sl].tolist()):
                final[int(i)] = (name, int(g))
    return final


def test_a_handover_that_never_reached_the_taker_comes_back_to_the_giver_nobody_loses_it():
    """R1, orphan shape: the taker never got the Handover (its summaries of ticks 1 and 2 do not
    list it in `took`); the giver named them as handed (starved, with it), and takes them back
    once the summary of tick 2 (after the taker's last chance) says so."""
    a, b, fa, fb, ho, k = _handed_over()
    starved = ho.ids[:k]
    out_b = balance.finish_round(b, fb, [])  # a's Handover(1) missed b's sub-round
    out_a = balance.finish_round(a, fa, [])
    final = _words(("a", out_a), ("b", out_b))
    assert all(final[int(i)] == ("a", balance.NO_GENERATOR) for i in starved["lo"])  # in a's Assign: starved, a's
    assert _held(b, starved) == set()
    balance.finish_round(a, balance.first_pass(a, balance.RoundInput(2, statuses=[_status()], answers=[Answer("b", 1, [])], peers=["b"])), [])
    assert _held(a, starved) == set()  # b may still take it in its sub-round of tick 2
    first3 = balance.first_pass(a, balance.RoundInput(3, statuses=[_status()], answers=[Answer("b", 2, [])], peers=["b"]))
    out_a2 = balance.finish_round(a, first3, [])
    assert _held(a, starved) == set(starved["lo"].tolist())  # a holds every one again
    assert out_a2.handed == 0 and set(starved["lo"].tolist()) <= set(out_a2.ids["lo"].tolist())  # and says where each is
    assert a.handed_out.returned >= k and a.handed_out.pending == {}


def test_a_handover_the_taker_took_is_the_takers_whatever_the_order_of_the_assigns():
    """R1, double-held shape: the taker took them (its Assign names them, placed); the giver's
    Assign names them too, as handed: the taker's word wins in either sender order, and the
    giver never takes them back, even when the summary that said so first is lost (review3 R1:
    the next one repeats it)."""
    a, b, fa, fb, ho, k = _handed_over()
    starved = ho.ids[:k]
    out_b = balance.finish_round(b, fb, [balance.ConsumerBatch(starved, ho.demand_mw[:k])])
    out_a = balance.finish_round(a, fa, [])
    for final in (_words(("a", out_a), ("b", out_b)), _words(("z", out_a), ("b", out_b))):
        assert all(final[int(i)][0] == "b" and final[int(i)][1] != balance.NO_GENERATOR for i in starved["lo"])
    assert _held(b, starved) == set(starved["lo"].tolist())
    balance.first_pass(a, balance.RoundInput(2, statuses=[_status()], answers=[], peers=["b"]))  # b's summary of 1 lost
    assert _held(a, starved) == set()
    balance.first_pass(a, balance.RoundInput(3, statuses=[_status()], answers=[Answer("b", 2, [1])], peers=["b"]))
    assert _held(a, starved) == set() and a.handed_out.confirmed >= k and "b" not in a.handed_out.pending


def test_served_handed_over_leave_the_giver_only_when_the_taker_says_it_took_them():
    a, b, fa, fb, ho, k = _handed_over(60, 100.0)
    served = ho.ids[k:]
    assert served.size  # a is short next tick too: it hands served consumers (they stay on its generators this tick)
    balance.finish_round(a, fa, [])
    assert _held(a, served) == set(served["lo"].tolist())
    # not taken (b's summary of 2 does not list tick 1): a keeps them for good
    a2 = balance.first_pass(a, balance.RoundInput(2, statuses=[_status()], answers=[Answer("b", 1, [])], peers=["b"]))
    a3 = balance.first_pass(a, balance.RoundInput(3, statuses=[_status()], answers=[Answer("b", 2, [])], peers=["b"]))
    assert _held(a, served) == set(served["lo"].tolist()) and not a2.released and not a3.released and a.handed_out.pending == {}
    # taken: released at a's next round, the fleets told (released_ids)
    a, b, fa, fb, ho, k = _handed_over(60, 100.0)
    balance.finish_round(a, fa, [])
    a2 = balance.first_pass(a, balance.RoundInput(2, statuses=[_status()], answers=[Answer("b", 1, [1])], peers=["b"]))
    assert _held(a, served) == set() and set(np.concatenate(a2.released)["lo"].tolist()) == set(served["lo"].tolist())


def test_a_taker_gone_or_no_answer_within_the_window_gives_the_handed_back_to_the_giver():
    """No summary at all: the giver waits (they may be placed at b). The taker left the grid, or
    only a summary from after the window came (every one of the window lost): back to the giver."""
    for gone, late in ((("b",), None), ((), 2 + ANSWER_WINDOW)):
        a, b, fa, fb, ho, k = _handed_over(60, 100.0)
        assert ho.ids.size > k
        balance.finish_round(a, fa, [])
        for t in range(2, 6):
            balance.first_pass(a, balance.RoundInput(t, statuses=[_status()], answers=[], peers=["b"]))
        assert _held(a, ho.ids[:k]) == set()  # waiting for b's word
        said = [Answer("b", late, [])] if late else []
        balance.first_pass(a, balance.RoundInput(6, statuses=[_status()], answers=said, gone=gone, peers=["b"]))
        assert _held(a, ho.ids) == set(ho.ids["lo"].tolist())  # the starved back, the served never left
        assert a.handed_out.pending == {} and a.handed_out.unanswered == (ho.ids.size if late else 0)


def test_a_pure_round_without_answers_takes_every_handover_as_taken():
    a, b, fa, fb, ho, k = _handed_over()
    balance.finish_round(a, fa, [])
    balance.first_pass(a, balance.RoundInput(2, statuses=[_status()], peers=["b"]))
    assert _held(a, ho.ids) == set()


def test_reports_for_handed_consumers_awaiting_the_answer_are_kept_with_them_not_unknown():
    """While the giver waits for the taker's answer its population, told by the giver's handed
    word that they stay with it, reports them to the giver: their demand is kept for when they
    come back, not counted as consumers nobody holds."""
    a, b, fa, fb, ho, k = _handed_over()
    balance.finish_round(a, fa, [])
    one = ho.ids[:1]
    report = balance.ConsumerBatch(one, np.array([0.5], dtype=np.float32))
    balance.first_pass(a, balance.RoundInput(2, statuses=[_status()], reports=[report], answers=[Answer("b", 1, [])], peers=["b"]))
    assert a.unknown_ids == 0 and _held(a, one) == set()  # still waiting
    balance.first_pass(a, balance.RoundInput(3, statuses=[_status()], answers=[Answer("b", 2, [])], peers=["b"]))
    assert _held(a, one) == {int(one["lo"][0])} and a.where_are(one)[1][0] == np.float32(0.5)


def test_a_handover_the_taker_got_a_tick_late_is_taken_then_and_confirmed():
    """Real time: a's Handover of tick 1 reaches b after b's sub-round of 1; b takes it in its
    sub-round of 2 and its summary of 2 says so (took [1]); a, which waited, does not take them back."""
    a, b, fa, fb, ho, k = _handed_over()
    starved = ho.ids[:k]
    balance.finish_round(b, fb, [])
    balance.finish_round(a, fa, [])
    balance.finish_round(a, balance.first_pass(a, balance.RoundInput(2, statuses=[_status()], answers=[Answer("b", 1, [])], peers=["b"])), [])
    fb2 = balance.first_pass(b, balance.RoundInput(2, statuses=[_status()], peers=["a"]))
    out_b2 = balance.finish_round(b, fb2, [balance.ConsumerBatch(starved, ho.demand_mw[:k])])
    assert set(starved["lo"].tolist()) <= set(out_b2.ids["lo"].tolist()) and _held(b, starved) == set(starved["lo"].tolist())
    balance.first_pass(a, balance.RoundInput(3, statuses=[_status()], answers=[Answer("b", 2, [1])], peers=["b"]))
    assert _held(a, starved) == set() and a.handed_out.returned == 0 and a.handed_out.pending == {}


def test_served_consumers_pending_the_takers_answer_are_neither_shed_nor_handed_again():
    """Review3 R5: while `a` waits for b's answer about served consumers it handed (b may take them
    a tick late), a's next round must not shed them and hand them as starved to a third tracker x:
    then b takes them too. (a's nuclear unit trips at tick 2; x advertises room.)"""
    a, b, fa, fb, ho, k = _handed_over(60, 100.0)
    served = ho.ids[k:]
    assert served.size
    balance.finish_round(a, fa, [])
    trip = balance.GenUpdate(np.array([10, 11, 12]), np.array([0.0, 30.0, 0.0]), np.array([30.0, 30.0, 0.0]), np.zeros(3))
    offers = {"b": balance.PeerOffer(0.0, 0.0, room_mw=0.0), "x": balance.PeerOffer(0.0, 0.0, room_mw=200.0)}
    f2 = balance.first_pass(a, balance.RoundInput(2, statuses=[trip], answers=[Answer("b", 1, [])], offers=offers, peers=["b", "x"]))
    assert f2.res.newly_starved.size  # a is short: it sheds and hands out others
    out2 = balance.finish_round(a, f2, [])
    to_x = f2.handovers["x"].ids["lo"].tolist()
    assert not set(to_x) & set(served["lo"].tolist())
    assert not set(out2.ids["lo"].tolist()) & set(served["lo"].tolist())  # not moved either
    assert _held(a, served) == set(served["lo"].tolist())  # still on a's generators until b answers
    balance.first_pass(a, balance.RoundInput(3, statuses=[trip], answers=[Answer("b", 2, [1])], peers=["b", "x"]))
    assert _held(a, served) == set()


def test_reports_of_pending_starved_are_kept_with_them_and_the_index_follows_the_pending():
    """`absorb`: a report's consumers still pending (handed, not answered) keep their new demand with
    the handover they are in, whichever; the rest of the report is returned; a handover added or
    settled since is seen by the next report (the sorted index is rebuilt when the pending change)."""
    out = HandedOut()
    first = Handed(1, _ids([40, 10, 30]), np.array([1.0, 1.0, 1.0], dtype=np.float32), np.zeros(0, dtype=np.int64))
    out.add("b", first)
    out.add("c", Handed(1, _ids([20, 50]), np.array([2.0, 2.0], dtype=np.float32), np.zeros(0, dtype=np.int64)))
    rest = out.absorb(_ids([5, 30, 50, 10, 99]), np.array([0.5, 3.0, 4.0, 5.0, 0.5], dtype=np.float32))
    assert rest is not None and rest.tolist() == [True, False, False, False, True]
    assert first.starved_demand.tolist() == [1.0, 5.0, 3.0] and out.pending["c"][0].starved_demand.tolist() == [2.0, 4.0]
    assert out.absorb(_ids([1, 2]), np.array([1.0, 1.0], dtype=np.float32)) is None  # none of them pending
    out.add("b", Handed(2, _ids([1]), np.array([1.0], dtype=np.float32), np.zeros(0, dtype=np.int64)))
    assert out.absorb(_ids([1, 2]), np.array([6.0, 1.0], dtype=np.float32)).tolist() == [False, True]
    out.settle([Answer("b", 2, [1, 2]), Answer("c", 2, [1])])  # all taken: nothing pending
    assert out.absorb(_ids([1, 30]), np.array([7.0, 7.0], dtype=np.float32)) is None


def test_a_report_as_global_indices_alone_acts_as_the_16_byte_ids():
    """A compact demand report reaches the round as its low words (uint32 global indices, no
    16-byte ids built): the same demand kept with the pending starved, the same loads, the
    same count of consumers nobody holds; an index outside the state is refused as before."""
    ends = []
    for as_lo in (False, True):
        a, b, fa, fb, ho, k = _handed_over()
        balance.finish_round(a, fa, [])
        ids = np.concatenate([ho.ids[:2], _ids([0, 1, 99])])  # two pending starved, two of a's own (or handed), one held by nobody
        demand = np.array([0.5, 0.25, 3.0, 1.5, 2.0], dtype=np.float32)
        report = balance.ConsumerBatch(ids["lo"].astype(np.uint32) if as_lo else ids, demand)
        balance.first_pass(a, balance.RoundInput(2, statuses=[_status()], reports=[report], answers=[Answer("b", 1, [])], peers=["b"]))
        held = a.where_are(_ids(range(100)))
        pending = [h.starved_demand.tolist() for hs in a.handed_out.pending.values() for h in hs]
        ends.append((a.unknown_ids, held[0]["lo"].tolist(), held[1].tolist(), held[2].tolist(), pending, a.trees.load.tolist()))
        bad = balance.ConsumerBatch(np.array([3, 100], dtype=np.uint32) if as_lo else _ids([3, 100]), np.ones(2, dtype=np.float32))
        with pytest.raises(ValueError, match=r"outside \[0, 100\)"):
            report_demand(a, bad)
    assert ends[0][0] == 1 and ends[0][4] != []  # (the case covers an unknown consumer and pending starved)
    assert ends[1] == ends[0]
