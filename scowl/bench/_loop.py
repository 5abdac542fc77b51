"""Event-loop iterations per request/reply round trip: the latency path's cost in wake-ups,
which a busy machine does not change (rates do)."""

from __future__ import annotations

import asyncio

import zmq.asyncio

from scowl import wire
from scowl.actors.demo import Echo
from scowl.runtime import Actor


class CountingLoop(asyncio.SelectorEventLoop):
    """The standard selector loop, counting its iterations."""

    iterations = 0

    def _run_once(self) -> None:
        self.iterations += 1
        super()._run_once()  # type: ignore[misc]


async def _iterations(loop: CountingLoop, count: int) -> dict:
    """Loop iterations per round trip with one request outstanding, actor and raw pyzmq asyncio
    DEALER/ROUTER, both ends in this loop: the latency path's cost in wake-ups, which a busy
    machine does not change (rates do)."""
    ctx = zmq.asyncio.Context()
    echo = Echo("echo", "inproc://bench-iterations")
    sender = Actor("bench")
    dealer = ctx.socket(zmq.DEALER)
    router = ctx.socket(zmq.ROUTER)
    task = None
    try:
        await echo.start(ctx)
        await sender.start(ctx)
        assert echo.bound_address is not None
        await sender.connect("echo", echo.bound_address)
        router.bind("inproc://bench-iterations-raw")
        dealer.connect("inproc://bench-iterations-raw")

        async def raw_echo() -> None:
            while True:
                await router.send_multipart(await router.recv_multipart())

        task = asyncio.ensure_future(raw_echo())
        payload = wire.encode_packet([wire.encode_frame(wire.Ping(1, b""), "bench", "echo", 1, ask=True)])
        for i in range(50):  # warm
            await sender.request("echo", wire.Ping(i, b""))
            await dealer.send(payload)
            await dealer.recv()
        n0 = loop.iterations
        for i in range(count):
            await sender.request("echo", wire.Ping(i, b""))
        actor = (loop.iterations - n0) / count
        n0 = loop.iterations
        for _ in range(count):
            await dealer.send(payload)
            await dealer.recv()
        return {"loop_iterations_per_round_trip": actor, "raw_loop_iterations_per_round_trip": (loop.iterations - n0) / count}
    finally:
        if task is not None:
            task.cancel()
        await sender.stop()
        await echo.stop()
        ctx.destroy(linger=0)


def loop_iterations(count: int = 1000) -> dict:
    loop = CountingLoop()
    try:
        return loop.run_until_complete(_iterations(loop, count))
    finally:
        loop.close()
