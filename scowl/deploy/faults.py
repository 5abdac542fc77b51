"""Network faults between hosts, as an API the run driver calls, and a runner that applies the
scenario's schedule when told the current tick.

    faults.partition(["h3"], ["h1", "h2"])    # drop h3<->h1 and h3<->h2 both ways; returns a name
    faults.heal(name)                         # or faults.heal() for every partition
    faults.set_latency("h1", "h3", 50, 10)    # +50 +-10 ms each way between h1 and h3 (0 removes)
    runner = ScheduleRunner(faults, schedule); runner.advance(tick)   # on every tick

`Faults` keeps the desired state and hands the complete state of what changed to a backend
(namespaces here: `NetnsFaults`; Emulab: the plan in scowl.deploy.plan), so overlapping
partitions and repeated calls stay consistent.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable

from scowl.deploy.description import Deployment
from scowl.deploy.schedule import HostPartition, NetworkSchedule, Pair, resolve, select_hosts
from scowl.errors import ScowlError


class FaultError(ScowlError):
    """A fault could not be applied (names the host, the command and what it said)."""


class Faults:
    """Desired fault state; subclasses apply it in `_apply_cuts` and `_apply_latency`."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self._cuts: dict[str, frozenset[Pair]] = {}
        self._latency: dict[Pair, tuple[float, float]] = {}
        self._names = itertools.count(1)
        self.events: list[dict] = []  # what was applied, when (time.time()), for the run directory

    # -- the API ---------------------------------------------------------------------------
    def partition(self, hosts_a: Iterable[str], hosts_b: Iterable[str], name: str | None = None) -> str:
        a, b = self._known(hosts_a), self._known(hosts_b)
        name = name or f"cut-{next(self._names)}"
        self._cuts[name] = frozenset(frozenset((x, y)) for x in a for y in b if x != y)
        self._log("partition", name=name, a=a, b=b)
        self._apply_cuts(self.cut_pairs())
        return name

    def heal(self, name: str | None = None) -> None:
        if name is None:
            self._cuts.clear()
        elif self._cuts.pop(name, None) is None:
            raise FaultError(f"heal: no partition named {name!r} (active: {sorted(self._cuts)})")
        self._log("heal", name=name or "*")
        self._apply_cuts(self.cut_pairs())

    def set_latency(self, host_a: str, host_b: str, ms: float, jitter_ms: float = 0.0) -> None:
        a, b = self._known([host_a, host_b])
        if a == b:
            raise FaultError(f"set_latency: {host_a!r} and {host_b!r} are the same host")
        if ms < 0 or jitter_ms < 0:
            raise FaultError(f"set_latency {host_a}<->{host_b}: expected ms >= 0 and jitter >= 0, "
                             f"found {ms}, {jitter_ms}")
        pair = frozenset((a, b))
        if ms == 0 and jitter_ms == 0:
            if self._latency.pop(pair, None) is None:
                return
        else:
            self._latency[pair] = (float(ms), float(jitter_ms))
        self._log("latency", a=a, b=b, ms=ms, jitter_ms=jitter_ms)
        self._apply_latency(a, b, float(ms), float(jitter_ms))

    def clear(self) -> None:
        """Heal everything and remove every latency."""
        if self._cuts:
            self.heal()
        for pair in list(self._latency):
            a, b = sorted(pair)
            self.set_latency(a, b, 0, 0)

    # -- state -----------------------------------------------------------------------------
    def cut_pairs(self) -> frozenset[Pair]:
        return frozenset().union(*self._cuts.values()) if self._cuts else frozenset()

    def _known(self, hosts: Iterable[str]) -> list[str]:
        hosts = [hosts] if isinstance(hosts, str) else list(hosts)
        names = self.deployment.host_names()
        for h in hosts:
            if h not in names:
                raise FaultError(f"unknown host {h!r}: expected one of {names}")
        return hosts

    def _log(self, action: str, **detail) -> None:
        self.events.append({"t": time.time(), "action": action, **detail})

    # -- backends --------------------------------------------------------------------------
    def _apply_cuts(self, pairs: frozenset[Pair]) -> None:
        raise NotImplementedError

    def _apply_latency(self, a: str, b: str, ms: float, jitter_ms: float) -> None:
        raise NotImplementedError


class RecordingFaults(Faults):
    """Applies nothing; keeps every state change (tests, dry runs)."""

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(deployment)
        self.applied: list[tuple] = []

    def _apply_cuts(self, pairs):
        self.applied.append(("cuts", sorted(tuple(sorted(p)) for p in pairs)))

    def _apply_latency(self, a, b, ms, jitter_ms):
        self.applied.append(("latency", a, b, ms, jitter_ms))


class ScheduleRunner:
    """Applies a scenario's network schedule to `faults` as ticks advance.

    `start()` sets the scenario's latency on every link between a host matching `latency_scope`
    (the scenario means tracker links: "role:tracker") and any other host; `advance(tick)` opens the
    partitions whose [start_tick, end_tick) holds `tick` and heals those that ended; `stop()`
    clears everything. Call `advance` on every tick: a partition skipped over entirely is never
    applied."""

    def __init__(self, faults: Faults, schedule: NetworkSchedule, latency_scope: str = "role:tracker") -> None:
        self.faults = faults
        self.schedule = schedule
        self.latency_scope = latency_scope
        self.partitions: list[HostPartition] = resolve(schedule, faults.deployment)
        self.active: set[str] = set()
        self.started = False
        self.tick: int | None = None

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        if self.schedule.latency_ms or self.schedule.jitter_ms:
            for a, b in self.latency_pairs():
                self.faults.set_latency(a, b, self.schedule.latency_ms, self.schedule.jitter_ms)

    def latency_pairs(self) -> list[tuple[str, str]]:
        dep = self.faults.deployment
        scoped = set(select_hosts([self.latency_scope], dep, "latency_scope")) if self.latency_scope != "*" \
            else set(dep.host_names())
        return [(a, b) for a, b in itertools.combinations(dep.host_names(), 2) if a in scoped or b in scoped]

    def advance(self, tick: int) -> list[str]:
        """Bring the faults to what `tick` demands; returns what changed, e.g. ['partition-0 on']."""
        self.start()
        self.tick = tick
        changes = []
        for hp in self.partitions:
            if hp.active(tick) and hp.name not in self.active:
                self.faults.partition(hp.side_a, hp.side_b, name=hp.name)
                self.active.add(hp.name)
                changes.append(f"{hp.name} on")
            elif not hp.active(tick) and hp.name in self.active:
                self.faults.heal(hp.name)
                self.active.discard(hp.name)
                changes.append(f"{hp.name} off")
        return changes

    def change_ticks(self) -> list[int]:
        """Every tick at which the schedule changes something, in order."""
        return sorted({t for hp in self.partitions for t in (hp.start_tick, hp.end_tick)})

    def stop(self) -> None:
        self.active.clear()
        self.faults.clear()
