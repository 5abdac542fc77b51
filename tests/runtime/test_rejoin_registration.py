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
    assert _register(tracker, "fleet-0", [11, 12]) == wire.Registered(True)
    assert _register(tracker, "fleet-0", [12, 11]) == wire.Registered(True, "rejoined")
    tracker._apply_registrations()  # what the first tick does
    assert sorted(tracker.region.gen_index) == [11, 12], "a rejoin must not add the generators twice"


def test_another_fleet_registering_known_generators_is_refused():
    tracker = _tracker()
    _register(tracker, "fleet-0", [11, 12])
    with pytest.raises(Refused, match=r"not_owner: generators \[12\] are 'fleet-0''s, registered here by 'fleet-1'"):
        _register(tracker, "fleet-1", [12, 13])  # the runtime counts it as rejected:not_owner from fleet-1


def test_a_restarted_fleet_with_other_generators_is_refused():
    tracker = _tracker()
    _register(tracker, "fleet-0", [11, 12])
    with pytest.raises(Refused, match="not_owner: 'fleet-0' registered again with other generators .* ids the bootstrap gave it"):
        _register(tracker, "fleet-0", [11, 15])


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
    _register(tracker, "fleet-0", [11, 12])
    tracker.tick_now = 0  # the day started (what on_tick sets)
    with pytest.raises(Refused, match="not_owner: 'storage-0' registers 1 generators after the day started"):
        _register(tracker, "storage-0", [99])
    tracker.guards = GUARDS - {"roles"}  # the guard this rule belongs to, off: the fake generator is taken
    assert _register(tracker, "storage-0", [99]) == wire.Registered(True)
    assert "storage-0" in tracker._pending_gens  # in the next round's trees
