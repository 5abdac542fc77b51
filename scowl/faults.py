"""Network faults of a scenario applied where messages leave an actor: partitions drop
messages at the link, latency holds them in a per-link delay queue (FIFO, so jitter never
reorders a link). Faults are never faked inside the grid model: the peers only see what
the network lets through, and must notice on their own (missed heartbeats).

The metronome is exempt: it is the experiment's clock, not a grid peer. Multi-host runs on
network namespaces inject the same schedule in the kernel instead (plan.transport_faults)."""

from __future__ import annotations

from scowl.config import Scenario
from scowl.plan import RunPlan, role_of
from scowl.streams import StreamRepo

EXEMPT = frozenset({"metronome"})


class LinkFaults:
    """`faults(sender, recipient, tick)` -> None (drop), 0.0 (send now) or a delay in seconds."""

    def __init__(self, plan: RunPlan, scenario: Scenario, owner: str) -> None:
        self.plan = plan
        self.partitions = scenario.network.partitions
        self.latency_s = scenario.network.latency_ms / 1e3
        self.jitter_s = scenario.network.jitter_ms / 1e3
        self._rng = StreamRepo(scenario.seed).generator(f"faults/{owner}", "jitter")
        self._match: dict[tuple[str, str], bool] = {}
        self.dropped = 0

    def matches(self, selector: str, name: str) -> bool:
        key = (selector, name)
        hit = self._match.get(key)
        if hit is None:
            kind, _, value = selector.partition(":")
            if selector == "*":
                hit = True
            elif kind == "role":
                hit = _role(self.plan, name) == value
            elif kind == "host":
                hit = self.plan.hosts.get(name, "local") == value
            elif kind == "region":
                hit = name in self.plan.trackers and self.plan.trackers.index(name) == int(value)
            else:  # peer
                hit = name == value
            self._match[key] = hit
        return hit

    def _side(self, selectors, name: str) -> bool:
        return any(self.matches(s, name) for s in selectors)

    def cut(self, a: str, b: str, tick: int) -> bool:
        """Is the link between a and b cut at this tick?"""
        for p in self.partitions:
            if p.start_tick <= tick < p.end_tick:
                a_in, b_in = self._side(p.isolate, a), self._side(p.isolate, b)
                if a_in != b_in and (self._side(p.from_, b) if a_in else self._side(p.from_, a)):
                    return True
        return False

    def __call__(self, sender: str, recipient: str, tick: int) -> float | None:
        if sender in EXEMPT or recipient in EXEMPT:
            return 0.0
        if self.partitions and self.cut(sender, recipient, tick):
            self.dropped += 1
            return None
        if self.latency_s > 0 and (sender in self.plan.trackers or recipient in self.plan.trackers):
            return self.latency_s + (float(self._rng.uniform(-1, 1)) * self.jitter_s if self.jitter_s else 0.0)
        return 0.0


def _role(plan: RunPlan, name: str) -> str:
    try:
        return role_of(plan, name)
    except ValueError:
        return ""
