"""A tracker's registration rules when fleets restart: the same fleet may register its own
generators again (it restarted), nobody else may register them, and a restarted fleet may
not come back with other generators (both refused as not_owner, scowl.security.policy.generator_claim). Handlers called directly on a real Tracker."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from scowl import wire
from scowl.actors.tracker import Tracker
from scowl.errors import Refused
from scowl.plan import make_plan
from scowl.runtime import Actor, RemoteError, on


def _planned(tracker: Tracker, fleet: str = "fleet-0", n: int = 2) -> list[int]:
    """The first `n` ids the bootstrap gives the plan's `fleet` (scowl.security.units)."""
    from scowl.security.attacks import fleet_generator_ids

    return fleet_generator_ids(tracker.plan, fleet, n)


def _tracker() -> Tracker:
    plan = make_plan("configs/small.toml")
    return Tracker(plan.trackers[0], plan, plan.scenario(), None)


def _register(tracker: Tracker, sender: str, ids: list[int]):
    n = len(ids)
    msg = wire.GeneratorsRegister.pack(gen_ids=np.array(ids, dtype=np.int32), nameplate_mw=np.full(n, 10.0), min_mw=np.zeros(n),
                                       ramp_mw=np.full(n, 1.0), kind=np.zeros(n, dtype=np.uint8), type_code=np.zeros(n, dtype=np.uint8))
    env = wire.Envelope(1, msg.TYPE, sender, tracker.name, 1, 0, 0, True, msgspec.Raw(b""))
    return tracker.on_generators(msg, env)


def test_a_fleet_registering_its_own_generators_again_is_a_rejoin():
    tracker = _tracker()
    a, b = _planned(tracker)
    assert _register(tracker, "fleet-0", [a, b]) == wire.Registered(True)
    assert _register(tracker, "fleet-0", [b, a]) == wire.Registered(True, "rejoined")
    tracker._apply_registrations()  # what the first tick does
    assert sorted(tracker.region.gen_index) == sorted([a, b]), "a rejoin must not add the generators twice"


def test_another_fleet_registering_known_generators_is_refused():
    tracker = _tracker()  # two joiners (fleets the plan does not name): the first to register an id owns it
    _register(tracker, "fleet-x", [11, 12])
    with pytest.raises(Refused, match=r"not_owner: generators \[12\] are 'fleet-x''s, registered here by 'fleet-y'"):
        _register(tracker, "fleet-y", [12, 13])  # the runtime counts it as rejected:not_owner from fleet-y


def test_a_restarted_fleet_with_other_generators_is_refused():
    tracker = _tracker()
    a, b = _planned(tracker)
    _register(tracker, "fleet-0", [a, b])
    with pytest.raises(Refused, match="not_owner: 'fleet-0' registered again with other generators .* ids the bootstrap gave it"):
        _register(tracker, "fleet-0", [a, 15])


class _Strict(Actor):
    @on(wire.Ping)
    def on_ping(self, msg: wire.Ping, env: wire.Envelope):
        raise Refused("not_owner", f"ping {msg.n} is not {env.sender}'s")


async def test_a_handler_that_refuses_rejects_per_reason_and_sender_not_a_failure(zctx):
    strict, asker = _Strict("strict", "inproc://strict-refuses"), Actor("asker", "inproc://asker-refused")
    await strict.start(zctx)
    await asker.start(zctx)
    try:
        await asker.connect("strict", "inproc://strict-refuses")
        with pytest.raises(RemoteError, match="Reject:not_owner"):  # the asker hears why at once
            await asker.request("strict", wire.Ping(7), timeout=5)
    finally:
        await asker.stop()
        await strict.stop()
    assert strict.stats.rejected[("asker", "not_owner")] == 1 and strict.stats.failed == 0
    assert strict.rejection_figures() == {"rejected:not_owner": 1.0, "rejected_from:asker": 1.0}


def test_a_planned_fleets_new_generators_mid_day_are_refused_and_without_the_roles_guard_taken():
    from scowl.security import GUARDS

    tracker = _tracker()
    _register(tracker, "fleet-0", _planned(tracker))
    tracker.tick_now = 0  # the day started (what on_tick sets)
    with pytest.raises(Refused, match="not_owner: 'storage-0' registers 1 generators after the day started"):
        _register(tracker, "storage-0", _planned(tracker, "storage-0", 1))  # its own planned hub, but too late
    with pytest.raises(Refused, match=r"not_owner: 'storage-0' registers generators the plan does not give it: \[99\]"):
        _register(tracker, "storage-0", [99])
    tracker.guards = GUARDS - {"roles"}  # the guard this rule belongs to, off: the fake generator is taken
    assert _register(tracker, "storage-0", [99]) == wire.Registered(True)
    assert "storage-0" in tracker._pending_gens  # in the next round's trees


def test_a_planned_fleets_generators_are_its_own_even_when_a_liar_registers_them_first():
    """Before tick 0 nobody holds anything yet: the plan says whose the ids are (the bootstrap
    draws them from the seed and the unit names, scowl.security.units), not who came first."""
    from scowl.security.attacks import fleet_generator_ids

    tracker = _tracker()
    ids = fleet_generator_ids(tracker.plan, "fleet-0", 3)
    for liar in ("storage-0", "fleet-x"):  # a planned fleet and a joiner, both before fleet-0
        with pytest.raises(Refused, match=r"not_owner: generators .* are planned for 'fleet-0', registered here by"):
            _register(tracker, liar, ids[:2])
    with pytest.raises(Refused, match="not_owner: 'fleet-0' registers generators the plan does not give it"):
        _register(tracker, "fleet-0", [*ids, 99])  # and a planned fleet registers no extra ones
    assert _register(tracker, "fleet-0", ids) == wire.Registered(True)
    assert _register(tracker, "fleet-x", [99]) == wire.Registered(True, "pending: counted from the tick whose `joined` lists you")
