"""A population's Assign inbox (scowl.actors.assign_inbox): the trackers' continuous rounds'
Assigns (real time) are followed right after the tick round they came after, in arrival order."""

from __future__ import annotations

from types import SimpleNamespace

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
