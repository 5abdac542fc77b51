"""A Node is one OS process hosting any number of actors on one ZeroMQ context.

`Node.run()` installs uvloop when available, starts the actors in order, and serves until
every actor stopped, `stop()` is called, or SIGINT/SIGTERM arrives; then it stops each
actor, closes every socket (linger 0) and terminates the context with a deadline, so a
shutdown never hangs."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import zmq
import zmq.asyncio

from scowl.runtime import timeline
from scowl.runtime.actor import Actor

log = logging.getLogger("scowl.node")

TERM_DEADLINE_S = 2.0


class LoopLag:
    """How late the event loop runs timers: the lag every actor in this process suffers.
    A timer asked for every `interval` s records how much later than asked it fired."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.samples = 0
        self.total = 0.0
        self.max = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t0 = loop.time()
            await asyncio.sleep(self.interval)
            lag = max(0.0, loop.time() - t0 - self.interval)
            self.samples += 1
            self.total += lag
            self.max = max(self.max, lag)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def figures(self) -> dict[str, float]:
        return {"loop_lag_ms_mean": 1e3 * self.total / max(1, self.samples), "loop_lag_ms_max": 1e3 * self.max}


LOOP_LAG = LoopLag()  # one per process: started by the first Node that serves


def install_uvloop() -> bool:
    """Use uvloop's event loop when it is installed (it is a dependency; Windows lacks it)."""
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


class Node:
    def __init__(self, name: str = "node", ctx: zmq.asyncio.Context | None = None) -> None:
        self.name = name
        self.actors: list[Actor] = []
        self._ctx = ctx
        self._own_ctx = ctx is None
        self._stop: asyncio.Event | None = None  # made inside the loop
        self.signalled: int | None = None
        self.on_started: Callable[[], Awaitable[Any]] | None = None  # run once every actor has started

    @property
    def ctx(self) -> zmq.asyncio.Context:
        if self._ctx is None:
            from scowl.limits import sockets_allowed

            self._ctx = zmq.asyncio.Context()
            self._ctx.set(zmq.MAX_SOCKETS, sockets_allowed())  # ZeroMQ's default 1023 is too few for 50 trackers
        return self._ctx

    def add(self, actor: Actor) -> Actor:
        self.actors.append(actor)
        return actor

    async def start(self) -> None:
        """Start every actor in the order added (binders first is the caller's choice)."""
        self._stop = asyncio.Event()
        for actor in self.actors:
            await actor.start(self.ctx)

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    async def serve(self) -> None:
        """Start, then wait until stop(), a signal, or every actor has stopped; then shut down."""
        loop = asyncio.get_running_loop()
        installed = []
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, self._on_signal, sig)
                    installed.append(sig)
                except (NotImplementedError, RuntimeError):
                    pass
        if LOOP_LAG._task is None or LOOP_LAG._task.done():
            LOOP_LAG.start()
        try:
            await self.start()
            if self.on_started is not None:
                self._hook = asyncio.ensure_future(self.on_started())
            all_stopped = asyncio.ensure_future(asyncio.gather(*(a.stopped.wait() for a in self.actors)))
            assert self._stop is not None  # made by start()
            stop_wait = asyncio.ensure_future(self._stop.wait())
            either: set[asyncio.Future[Any]] = {all_stopped, stop_wait}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            all_stopped.cancel()
            stop_wait.cancel()
            await asyncio.gather(all_stopped, stop_wait, return_exceptions=True)
        finally:
            await self.shutdown()
            for sig in installed:
                loop.remove_signal_handler(sig)

    def _on_signal(self, sig: int) -> None:
        log.info("%s: %s received, shutting down", self.name, signal.Signals(sig).name)
        self.signalled = sig
        self.stop()

    async def shutdown(self) -> None:
        if timeline.TIMELINE is not None:
            timeline.TIMELINE.snapshot()
        for actor in reversed(self.actors):
            try:
                await asyncio.wait_for(actor.stop(), TERM_DEADLINE_S)
            except TimeoutError:
                log.error("%s: actor %s did not stop within %s s", self.name, actor.name, TERM_DEADLINE_S)
        if self._own_ctx and self._ctx is not None:
            self._ctx.destroy(linger=0)  # closes anything still open; never blocks

    def run(self) -> int:
        """Run in this process until stopped; returns 128+signal when a signal stopped it."""
        install_uvloop()
        asyncio.run(self.serve())
        return 128 + self.signalled if self.signalled else 0
