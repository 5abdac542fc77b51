"""Lifecycle: start (bind, pump, `on_start`), stop (idempotent; cancels owned tasks and
timers, fails open requests, closes every socket), the hooks, and timers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import zmq
import zmq.asyncio

from scowl.errors import ActorError
from scowl.runtime import local
from scowl.runtime.links import Links
from scowl.runtime.transport import Channel, bind, is_tcp, make_socket

log = logging.getLogger("scowl.actor")


class Lifecycle(Links):
    async def start(self, ctx: zmq.asyncio.Context) -> None:
        """Bind, start the mailbox, then run `on_start` (where links are usually made)."""
        self._ctx = ctx
        if self.address is not None:
            self._router_secure = self._secure(self.address)
            sock = make_socket(ctx, zmq.ROUTER, identity=self.name, tcp=is_tcp(self.address), handover=not self._router_secure)
            if self.credentials is not None and self._router_secure:
                self.credentials.server(sock, ctx)
            try:
                self.bound_address = bind(sock, self.address)
            except zmq.ZMQError as exc:
                sock.close(linger=0)
                raise ActorError(f"{self.name}: cannot bind {self.address}: {exc}") from None
            self._router = Channel(sock, "router", leaves=not self.bound_address.startswith("inproc://"))
            if self.credentials is not None and self._router_secure:
                self._router_watch = self._watch(sock, drops=True)
            self._start_pump(self._router)
            if local.wanted(self.bound_address):
                self._bind_local(ctx)
        await self.on_start()
        self.started.set()

    def _bind_local(self, ctx: zmq.asyncio.Context) -> None:
        """A second ROUTER, on inproc only, for the actors of this process (scowl.runtime.local):
        no keys (inproc runs no handshake). A routing id is the name the runtime gave the actor
        that connected, as good as its key: a second connection under it takes the route (an
        actor of this process restarted under the same name), as its key would on the CURVE ROUTER."""
        sock = make_socket(ctx, zmq.ROUTER, identity=self.name, tcp=False, handover=True)
        sock.bind(local.address_of(self.name))
        self._local = Channel(sock, "local")
        self._start_pump(self._local)
        assert self.bound_address is not None  # (wanted)
        local.offer(ctx, self.name, self.bound_address)

    async def stop(self) -> None:
        """Stop on purpose: `on_stop`, cancel tasks and timers, close every socket. Idempotent."""
        if self._stopping:
            await self.stopped.wait()
            return
        self._stopping = True
        try:
            await self.on_stop()
        except Exception:
            log.exception("%s: on_stop raised", self.name)
        for handle in self._timers:
            handle.cancel()
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ActorError(f"{self.name} stopped before the reply came"))
        self._pending.clear()
        self._timeouts.close()
        for watch, monitor in self._watches:
            watch.close()
            monitor.close()
        if self._local is not None and self._ctx is not None:
            local.withdraw(self._ctx, self.name)
            # unbound now: a closed socket lets go of its inproc name only once libzmq's reaper
            # thread gets to it, and an actor started again at once in this process binds it anew
            self._local.sock.unbind(local.address_of(self.name))
        for ch in [self._router, self._local, self._pub, *self._links.values(), *self._subs]:
            if ch is not None:
                ch.close()
        self.stopped.set()

    async def on_start(self) -> None:
        """Hook: make links, subscribe, start timers."""

    async def on_stop(self) -> None:
        """Hook: flush state before the sockets close."""

    def call_later(self, seconds: float, fn: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        handle = asyncio.get_running_loop().call_later(seconds, fn, *args)
        self._timers.append(handle)
        return handle
