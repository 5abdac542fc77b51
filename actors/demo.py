"""A role-less demo pair that proves the runtime end to end: `Echo` answers and counts,
`Pinger` sends. The messaging benchmark and the runtime tests use them."""

from __future__ import annotations

from scowl import wire
from scowl.runtime import Actor, on


class Echo(Actor):
    """Answers Ping with Pong, counts one-way pings and batch rows, and reports its counts."""

    role = "echo"

    def __init__(self, name: str, address: str | None, **kw) -> None:
        super().__init__(name, address, **kw)
        self.pings = 0
        self.rows = 0
        self.last_seq: dict[str, int] = {}
        self.out_of_order = 0

    @on(wire.Ping)
    def on_ping(self, msg: wire.Ping, env: wire.Envelope):
        self.pings += 1
        if env.seq <= self.last_seq.get(env.sender, 0):
            self.out_of_order += 1
        self.last_seq[env.sender] = env.seq
        if env.ask:
            return wire.Pong(msg.n)
        return None

    @on(wire.ValuesBatch)
    def on_batch(self, msg: wire.ValuesBatch, env: wire.Envelope):
        self.rows += msg.n
        return None

    @on(wire.StatsRequest)
    def on_stats(self, msg: wire.StatsRequest, env: wire.Envelope):
        s = self.stats
        return wire.StatsReply(self.pings, self.rows, s.rejected_total, s.failed)


class Pinger(Actor):
    """Connects to an Echo, sends `count` pings (one way), then checks the echo saw them all."""

    role = "ping"

    def __init__(self, name: str, target: str, target_address: str, count: int = 1000, **kw) -> None:
        super().__init__(name, None, **kw)
        self.target, self.target_address, self.count = target, target_address, count
        self.result: wire.StatsReply | None = None

    async def on_start(self) -> None:
        await self.connect(self.target, self.target_address)
        self._spawn(self._run())  # owned: cancelled if the actor stops first

    async def _run(self) -> None:
        for i in range(self.count):
            self.send(self.target, wire.Ping(i))
        await self.flush()
        self.result = await self.request(self.target, wire.StatsRequest(), reply=wire.StatsReply)
        await self.stop()


class PrintingPinger(Pinger):
    """The `scowl-node --role ping` actor: prints what the echo counted, then stops."""

    async def _run(self) -> None:
        await super()._run()
        r = self.result
        assert r is not None  # set by the parent's _run
        print(f"sent {self.count} pings; echo counted {r.received} pings, {r.rejected} rejected frames", flush=True)


def _peer(spec: str, default_name: str) -> tuple[str, str]:
    name, sep, address = spec.partition("=")
    return (name, address) if sep and "://" not in name else (default_name, spec)


def build_echo_node(args):
    from scowl.runtime import Node

    node = Node("echo")
    echo = Echo(args.name or "echo", args.bind)
    if getattr(args, "keys", None):
        from scowl.security import Credentials

        echo.credentials = Credentials.load(args.keys, echo.name)
    node.add(echo)
    return node


def build_ping_node(args):
    from scowl.errors import ScowlError
    from scowl.runtime import Node

    if not args.connect:
        raise ScowlError("role ping needs --connect ADDRESS of an echo node")
    target, address = _peer(args.connect[0], "echo")
    node = Node("ping")
    node.add(PrintingPinger(args.name or "ping", target, address, count=args.count))
    return node
