"""Links: DEALER links to peers, the PUB socket, subscriptions, probes and subscriber sync."""

from __future__ import annotations

import asyncio

import zmq
import zmq.asyncio

from scowl import wire
from scowl.errors import ActorError, RequestTimeout
from scowl.runtime import local
from scowl.runtime.mailbox import Mailbox
from scowl.runtime.transport import Channel, bind, is_tcp, make_socket
from scowl.security.watch import ConnectionWatch


class Links(Mailbox):
    def _context(self) -> zmq.asyncio.Context:
        if self._ctx is None:
            raise ActorError(f"{self.name}: not started (no ZeroMQ context yet)")
        return self._ctx

    async def connect(self, peer: str, address: str, *, handshake: bool = True, timeout: float = 10.0) -> None:
        """Open a DEALER link to `peer` at `address`; with `handshake`, return only once a
        Hello/Welcome round trip proved the link carries traffic both ways."""
        if peer in self._links:
            return
        address = self._open_link(peer, address)
        if handshake:
            try:
                await self.request(peer, wire.Hello(self.role, self.bound_address or ""), timeout=timeout)
            except RequestTimeout:
                raise ActorError(f"{self.name}: no answer from {peer} at {address} within {timeout} s "
                                 "(is it running, and is the address right?)") from None

    def _open_link(self, peer: str, address: str) -> str:
        """Open the DEALER of a link to `peer` (not yet linked) and start its pump; returns the
        address it connected to (the peer's local one when it is an actor of this process)."""
        ctx = self._context()
        here = local.find(ctx, peer, address)
        if here is not None:  # an actor of this process: its local ROUTER, our name as routing id (scowl.runtime.local)
            sock = make_socket(ctx, zmq.DEALER, identity=self.name, tcp=False)
            address = here
            local.linked(ctx, peer, self)
        else:
            secure = self._secure(address)
            sock = make_socket(ctx, zmq.DEALER, identity=None if secure else self.name, tcp=is_tcp(address))
            if self.credentials is not None and secure:  # only the holder of peer's enrolled key answers; our key names us
                self.credentials.client(sock, peer)
        sock.connect(address)
        ch = Channel(sock, peer, leaves=not address.startswith("inproc://"))
        self._links[peer] = ch
        self._start_pump(ch)
        return address

    def local_peer_offered(self, peer: str, bound: str) -> None:
        """`peer`, an actor of this process we link to locally, offered its local endpoint again
        (scowl.runtime.local.offer: it was stopped and started again here, its main ROUTER at
        `bound`). libzmq's inproc never reconnects a DEALER to a ROUTER bound anew (ipc and tcp
        do), so our link would stay dead: open it again now, before anything more is sent on
        it; what was queued on the old link is dropped (as `relink` does)."""
        old = self._links.get(peer)
        if self._stopping or old is None or old.sock.closed:
            return
        del self._links[peer]
        self._outbox = {k: v for k, v in self._outbox.items() if k[0] is not old}
        self._drop_backlog(old)
        # closed now, not in a task `stop` could cancel first: the pump is cancelled before the
        # socket closes, so it wakes to its cancellation, never to a closed socket
        task = self._pumps.pop(old, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        old.close()
        self._open_link(peer, bound)
        if self._mailbox and not self._busy:  # the cancelled pump may have been the one draining
            self._spawn(self._drain())

    async def relink(self, peer: str, address: str) -> bool:
        """`peer` came back at a new address (it restarted): close our link to the old one
        (what was queued for it is dropped) and open one to the new address. No handshake:
        sends queue until it connects, and the mailbox is never held up. False (and nothing
        done) when we had no link to it."""
        old = self._links.pop(peer, None)
        if old is None:
            return False
        await self._close_channel(old)
        await self.connect(peer, address, handshake=False)
        return True

    async def resubscribe(self, old: str, new: str) -> bool:
        """A publisher moved from `old` to `new`: subscribe there to the same types. False
        (and nothing done) when we were not subscribed at `old`."""
        for ch in self._subs:
            if ch.name == f"sub:{old}":
                self._subs.remove(ch)
                types = self._sub_types.pop(old)
                publisher = self._sub_peer.pop(ch, "")
                await self._close_channel(ch)
                await self.subscribe(new, types, publisher)
                return True
        return False

    def _start_pump(self, ch: Channel) -> None:
        task = self._spawn(self._pump(ch))
        self._pumps[ch] = task
        task.add_done_callback(lambda _t, ch=ch: self._pumps.pop(ch, None))  # type: ignore[misc]

    async def _close_channel(self, ch: Channel) -> None:
        """Stop a channel's pump, then close its socket (a pump on a closed socket would die
        and stop the actor). Messages it had queued in the mailbox are still handled."""
        self._outbox = {k: v for k, v in self._outbox.items() if k[0] is not ch}
        self._drop_backlog(ch)
        task = self._pumps.pop(ch, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        ch.close()
        if self._mailbox and not self._busy:  # the cancelled pump may have been the one draining
            await self._drain()

    def probe(self, peer: str) -> None:
        """A liveness probe: ask `peer` for a Welcome nobody waits for. When the peer's
        connection is gone (it died, or tcp heartbeats gave up on it) the send fails as it is
        flushed (ROUTER_MANDATORY) and `has_route(peer)` turns False."""
        if self.has_route(peer):
            self.send(peer, wire.Hello(self.role, self.bound_address or ""), ask=True)

    def has_route(self, peer: str) -> bool:
        return peer in self._links or peer in self._router_peers

    def peers(self) -> list[str]:
        """Names this actor can send to (its links and the peers that connected to it)."""
        return sorted(set(self._links) | set(self._router_peers))

    def _watch(self, sock: zmq.Socket[bytes], *, drops: bool) -> ConnectionWatch:
        """Count what libzmq refuses at this CURVE server socket before a frame reaches us."""
        authority = self.credentials.authority if self.credentials is not None else None
        name = self.name
        watch = ConnectionWatch(sock, self._reject, drops=drops, got_in_since=None if authority is None else
                                lambda peer, since: authority.got_in_since(name, peer, since))
        monitor = Channel(watch.monitor, "monitor")
        self._watches.append((watch, monitor))

        async def pump() -> None:
            while True:
                parts = monitor.recv_ready()
                if parts is None:
                    await monitor.wait_woken()
                else:
                    watch.on_event(parts)

        self._spawn(pump())
        return watch

    async def bind_pub(self, address: str) -> str:
        sock = make_socket(self._context(), zmq.PUB, tcp=is_tcp(address))
        if self.credentials is not None and self._secure(address):
            self.credentials.server(sock, self._context())
        bound = bind(sock, address)
        self._pub = Channel(sock, "pub")
        if self.credentials is not None and self._secure(address):
            self._watch(sock, drops=False)
        return bound

    async def subscribe(self, address: str, types: tuple[type[wire.Message], ...] = (), publisher: str = "") -> None:
        """Subscribe to a publisher; `types` filters by message type (empty: everything).
        Sync probes are always received, so the publisher can count us in. `publisher` names
        the peer that publishes there: what comes must be from it (over tcp/ipc with keys its
        key is pinned, and the name is required)."""
        sock = make_socket(self._context(), zmq.SUB, tcp=is_tcp(address))
        if self.credentials is not None and self._secure(address):
            if not publisher:
                sock.close(linger=0)
                raise ActorError(f"{self.name}: subscribing to {address} needs the publisher's name (its key is pinned)")
            self.credentials.client(sock, publisher)
        topics = [t.TYPE.encode() for t in types] or [b""]
        if types:
            topics.append(wire.SyncProbe.TYPE.encode())
        for t in topics:
            sock.setsockopt(zmq.SUBSCRIBE, t)
        sock.connect(address)
        ch = Channel(sock, f"sub:{address}")
        if publisher:
            self._sub_peer[ch] = publisher
        self._subs.append(ch)
        self._sub_types[address] = types
        self._start_pump(ch)

    async def await_subscribers(self, names: set[str] | list[str], timeout: float = 10.0) -> None:
        """Publish sync probes until each named subscriber has acknowledged one (via a
        direct message), so nothing published afterwards is lost to a slow joiner."""
        expected = set(names)
        token = self._next_seq()
        self._sync_acks[token] = set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        wait = 0.002
        try:
            while not expected <= self._sync_acks[token]:
                if loop.time() > deadline:
                    missing = sorted(expected - self._sync_acks[token])
                    raise ActorError(f"{self.name}: subscribers {missing[:10]} did not acknowledge within {timeout} s")
                self.publish(wire.SyncProbe(token))
                self._sync_event.clear()
                try:
                    await asyncio.wait_for(self._sync_event.wait(), wait)
                except TimeoutError:
                    wait = min(wait * 2, 0.1)
        finally:
            del self._sync_acks[token]
