"""What every grid actor shares: joining the run (broker directory, metronome), ticks, and
gathering one message per expected sender per tick before acting on it."""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import defaultdict
from collections.abc import Iterable

from scowl import wire
from scowl.config import Scenario
from scowl.plan import RunPlan
from scowl.runtime import Actor, on

log = logging.getLogger("scowl.peer")


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Gather:
    """Collects one message per expected sender for each tick; complete when all are in.
    Results come back ordered by sender name, so what is done with them is deterministic
    whatever order the network delivered them in."""

    def __init__(self, expected: Iterable[str], what: str) -> None:
        self.expected = frozenset(expected)
        self.what = what
        self._boxes: dict[int, dict[str, object]] = defaultdict(dict)

    def add(self, tick: int, sender: str, msg: object) -> None:
        if sender not in self.expected:
            raise ValueError(f"{self.what} from unexpected sender {sender!r}")
        box = self._boxes[tick]
        if sender in box:
            raise ValueError(f"second {self.what} from {sender} for tick {tick}")
        box[sender] = msg

    def complete(self, tick: int) -> bool:
        return len(self._boxes.get(tick, ())) == len(self.expected)

    def take(self, tick: int) -> list:
        box = self._boxes.pop(tick, {})
        return [box[s] for s in sorted(box)]

    def missing(self, tick: int) -> list[str]:
        return sorted(self.expected - set(self._boxes.get(tick, {})))


class GridPeer(Actor):
    """A grid actor: registers with the broker, links to the metronome, follows its ticks.
    Subclasses implement `setup()` (links, registration) and `on_tick(tick)`."""

    def __init__(self, name: str, plan: RunPlan, scenario: Scenario, address: str | None) -> None:
        super().__init__(name, address)
        self.plan = plan
        self.scenario = scenario
        self.clock.tick_seconds = scenario.tick_seconds
        self.pub_address = ""
        self.directory: dict[str, tuple[str, str, str]] = {}  # name -> (role, address, pub address)
        self.boot: asyncio.Task | None = None

    async def on_start(self) -> None:
        await self.connect("broker", self.plan.broker)
        await self.connect("metronome", self.plan.metronome)
        await self.subscribe(self.plan.metronome_pub, (wire.Tick,))
        self.boot = self._spawn(self._boot())

    async def _boot(self) -> None:
        try:
            await self.prepare()
            reply = await self.request("broker", wire.PeerRegister(self.name, self.role, self.bound_address or "", self.pub_address), timeout=60)
            if not reply.ok:
                raise RuntimeError(f"broker refused {self.name}: {reply.detail}")
            await self.setup()
            await self.request("metronome", wire.Ready(self.name, self.role), timeout=600)
        except Exception:
            log.exception("%s: failed to join the run", self.name)
            raise

    async def prepare(self) -> None:
        """Hook: bind extra sockets (e.g. a PUB) before registering in the directory."""

    async def setup(self) -> None:
        """Hook: links and registrations with other actors."""

    async def lookup(self, role: str = "") -> dict[str, tuple[str, str, str]]:
        """The broker's directory (answered once every actor of the plan has registered)."""
        d = await self.request("broker", wire.DirectoryQuery(role), timeout=600)
        found = {n: (r, a, p) for n, r, a, p in zip(d.names, d.roles, d.addresses, d.pub_addresses)}
        self.directory.update(found)
        return found

    @on(wire.Tick)
    def _on_tick_msg(self, msg: wire.Tick, env: wire.Envelope):
        self.clock.advance_to(msg.tick)
        return self.on_tick(msg.tick)

    def on_tick(self, tick: int):
        """Hook: the metronome started `tick`."""

    def done(self, tick: int, figures: dict[str, float]) -> None:
        figures = {k: float(v) for k, v in figures.items()}
        figures["rss_peak_mb"] = peak_rss_mb()
        self.send("metronome", wire.TickDone(tick, self.role, figures))

    @on(wire.FinalQuery)
    def _on_final_query(self, msg: wire.FinalQuery, env: wire.Envelope):
        final = {k: float(v) for k, v in self.final_figures().items()}
        final["rss_peak_mb"] = peak_rss_mb()
        return wire.FinalFigures(self.role, final)

    def final_figures(self) -> dict[str, float]:
        """Hook: whole-run figures the metronome collects when the run ends."""
        return {}
