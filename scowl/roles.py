"""Which actors each role runs, built from a run plan; shared by `scowl run` (every role in
one process) and `scowl-node --role ROLE` (one role per process)."""

from __future__ import annotations

from scowl import balance, wire
from scowl.actors.bootstrap import Bootstrap
from scowl.actors.consumer import Population
from scowl.actors.generator import GeneratorFleet
from scowl.actors.metronome import Metronome
from scowl.actors.storage import StorageFleet
from scowl.actors.tracker import Tracker
from scowl.broker.broker import Broker
from scowl.config import Scenario
from scowl.errors import ActorError
from scowl.limits import memory_limits
from scowl.plan import RunPlan, bind_address
from scowl.runtime import Actor
from scowl.security import equip

ROLE_ORDER = ("bootstrap", "broker", "metronome", "tracker", "generator", "storage", "consumer")


def _bind(plan: RunPlan, name: str) -> str:
    return bind_address(plan, name)


def build_actors(role: str, plan: RunPlan, scenario: Scenario, names: set[str] | None = None, progress=None) -> list[Actor]:
    """The actors of `role` in this plan (only `names`, when given), with their identities
    (scowl.security.equip: keys when the plan has them, the roster, the guards)."""
    actors = _build(role, plan, scenario, names, progress)
    equip(actors, plan)
    return actors


def _build(role: str, plan: RunPlan, scenario: Scenario, names: set[str] | None, progress) -> list[Actor]:
    def wanted(name: str) -> bool:
        return names is None or name in names

    if role == "bootstrap":
        return [Bootstrap("bootstrap", plan.bootstrap, scenario.seed, plan=plan, scenario=scenario)]
    if role == "broker":
        return [Broker("broker", plan.broker, plan)]
    if role == "metronome":
        return [Metronome("metronome", plan.metronome, plan, scenario.ticks, scenario.tick_seconds,
                          scenario.pacing.mode, scenario.pacing.factor, progress=progress,
                          liveness_s=scenario.response.heartbeat_timeout_s / 4, tick_deadline_s=plan.tick_deadline_s,
                          death_grace_s=scenario.response.death_grace_s)]
    if role == "tracker":
        return [_tracker(t, plan, scenario) for t in plan.trackers if wanted(t)]
    if role == "generator":
        return [GeneratorFleet(f.name, plan, scenario, _bind(plan, f.name), f) for f in plan.generator_fleets if wanted(f.name)]
    if role == "storage":
        return [StorageFleet(f.name, plan, scenario, _bind(plan, f.name), f) for f in plan.storage_fleets if wanted(f.name)]
    if role == "consumer":
        return [Population(p.name, plan, scenario, _bind(plan, p.name), p) for p in plan.populations if wanted(p.name)]
    raise ValueError(f"role {role!r} has no actors in a run plan (roles: {', '.join(ROLE_ORDER)})")



def _tracker(name: str, plan: RunPlan, scenario: Scenario) -> Tracker:
    """A tracker; ActorError naming what it reserves and why it cannot, not numpy's word about
    the last array that did not fit: its region makes room for every consumer of the run up
    front (scowl.balance.Region), resident only as its consumers fill it, but all of it counts
    against an address-space cap or a kernel that does not overcommit."""
    try:
        return Tracker(name, plan, scenario, _bind(plan, name))
    except MemoryError as exc:
        need = balance.Region.up_front_bytes(plan.n_global, wire.CONSUMER_ID_DTYPE)
        cause = memory_limits() or "the machine is out of memory"
        raise ActorError(f"{name} cannot reserve its region's up-front arrays: {plan.n_global:,} consumers x "
                         f"{need // max(plan.n_global, 1)} B = {need / 2**20:,.0f} MiB of address space (resident only "
                         f"as its consumers fill it): {cause}. Raise the cap (ulimit -v) or let the kernel overcommit "
                         f"(vm.overcommit_memory = 0 or 1). ({type(exc).__name__}: {exc})") from exc
