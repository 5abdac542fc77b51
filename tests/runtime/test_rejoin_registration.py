"""A tracker's registration rules when fleets restart: the same fleet may register its own
generators again (it restarted), nobody else may register them, and a restarted fleet may
not come back with other generators. Handlers called directly on a real Tracker."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from scowl import wire
from scowl.actors.tracker import Tracker
from scowl.plan import make_plan


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
    with pytest.raises(ValueError, match=r"registered twice: \[12\] \(by fleet-1"):
        _register(tracker, "fleet-1", [12, 13])


def test_a_restarted_fleet_with_other_generators_is_refused():
    tracker = _tracker()
    _register(tracker, "fleet-0", [11, 12])
    with pytest.raises(ValueError, match="fleet-0 registered again with other generators .* ids the bootstrap gave it"):
        _register(tracker, "fleet-0", [11, 15])
