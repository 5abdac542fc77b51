"""A population's Assign inbox (scowl.actors.assign_inbox): the trackers' continuous rounds'
Assigns (real time) are followed right after the tick round they came after, in arrival order."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from scowl import wire
from scowl.actors.assign_inbox import AssignInbox


def _a(sender: str, tick: int, seq: int = 0):
    return (sender, SimpleNamespace(tick=tick, seq=seq, name=f"{sender}@{tick}.{seq}"))


def test_a_late_population_follows_each_trackers_word_in_the_order_it_was_said():
    inbox = AssignInbox(["t0", "t1"])
    for a in (_a("t1", 1), _a("t1", 1, 1), _a("t0", 1), _a("t1", 1, 2), _a("t0", 2), _a("t1", 2), _a("t0", 2, 1)):
        inbox.add(a[1].tick, a[0], a)
    # the population missed tick 1 (it was late) and follows ticks 1 and 2 at once
    got = [m.name for _, m in inbox.take(2)]
    assert got == ["t0@1.0", "t1@1.0", "t1@1.1", "t1@1.2", "t0@2.0", "t1@2.0", "t0@2.1"]
    assert inbox.interim_applied == 3


def test_continuous_rounds_after_the_tick_followed_wait_for_the_next_one():
    inbox = AssignInbox(["t0"])
    inbox.add(3, "t0", _a("t0", 3))
    assert [m.name for _, m in inbox.take(3)] == ["t0@3.0"]
    inbox.add(3, "t0", _a("t0", 3, 1))  # made after tick 3's round, came after the population followed it
    inbox.add(4, "t0", _a("t0", 4))
    assert [m.name for _, m in inbox.take(4)] == ["t0@3.1", "t0@4.0"]


def _ids(lo) -> np.ndarray:
    ids = np.zeros(len(lo), dtype=wire.CONSUMER_ID_DTYPE)
    ids["lo"] = lo
    return ids


@pytest.mark.parametrize("giver,taker", [("t0", "t1"), ("t1", "t0")])
def test_a_consumer_handed_over_is_the_takers_whatever_the_sender_order(giver, taker):
    """Review R1: the giver's Assign names the starved consumers it handed out last (`handed`); the
    taker's Assign of the same tick names those it took. The taker's word is followed last, so it
    wins in either sender order; one the taker did not take stays starved with the giver."""
    inbox = AssignInbox(["t0", "t1"])
    g = wire.Assign.pack(tick=5, ids=_ids([1, 2, 3, 4]), gen_ids=np.array([9, wire.STARVED_ID, wire.STARVED_ID, wire.STARVED_ID], dtype=np.int32),
                         handed=3)  # 2, 3, 4 handed out; 2 and 3 taken (placed, kept starved), 4 not taken
    t = wire.Assign.pack(tick=5, ids=_ids([2, 3, 7]), gen_ids=np.array([8, wire.STARVED_ID, 8], dtype=np.int32))
    for sender, msg in ((giver, g), (taker, t)):
        inbox.add(5, sender, (sender, msg))
    final = {}
    for sender, lo, _, gens in inbox.words(5):
        for i, gen in zip(lo.tolist(), gens.tolist()):
            final[i] = (sender, gen)
    assert final == {1: (giver, 9), 2: (taker, 8), 3: (taker, wire.STARVED_ID), 4: (giver, wire.STARVED_ID), 7: (taker, 8)}


def test_a_handed_part_that_comes_after_its_tick_was_followed_is_dropped():
    """Review3 R2: the giver's Assign of tick 5 misses the population's deadline, so tick 5 is
    followed with the taker's word alone; its handed part, arriving with tick 6, must not undo it."""
    inbox = AssignInbox(["t0", "t1"])
    taker = wire.Assign.pack(tick=5, ids=_ids([2]), gen_ids=np.array([8], dtype=np.int32))
    inbox.add(5, "t0", ("t0", taker))
    assert [(s, lo.tolist()) for s, lo, _, _ in inbox.words(5)] == [("t0", [2])]
    giver = wire.Assign.pack(tick=5, ids=_ids([1, 2]), gen_ids=np.array([9, wire.STARVED_ID], dtype=np.int32), handed=1)
    inbox.add(5, "t1", ("t1", giver))
    for s in ("t0", "t1"):
        inbox.add(6, s, (s, wire.Assign.pack(tick=6, ids=_ids([]), gen_ids=np.zeros(0, dtype=np.int32))))
    got = [(s, lo.tolist()) for s, lo, _, _ in inbox.words(6) if len(lo)]
    assert got == [("t1", [1])] and inbox.late_handed == 1  # its own word stands; the late handed word is dropped


def test_a_compact_assign_gives_the_same_words_as_its_16_byte_form():
    """Trackers send Assigns with compact ids (wire.CompactIds); the inbox gives their low words
    and one high word, handed part first, as for the 16-byte form."""
    ids = _ids([4, 5, 6])
    ids["hi"] = 3
    gens = np.array([9, wire.STARVED_ID, 8], dtype=np.int32)
    got = {}
    for form in ("compact", "full"):
        pack = wire.Assign.pack_ids if form == "compact" else wire.Assign.pack
        msg = pack(tick=5, ids=ids, gen_ids=gens, handed=1)
        assert msg.compact == (form == "compact")
        inbox = AssignInbox(["t0"])
        inbox.add(5, "t0", ("t0", msg))
        got[form] = [(s, lo.tolist(), np.broadcast_to(hi, lo.shape).tolist(), g.tolist()) for s, lo, hi, g in inbox.words(5)]
    assert got["compact"] == got["full"] == [("t0", [6], [3], [8]), ("t0", [4, 5], [3, 3], [9, wire.STARVED_ID])]
