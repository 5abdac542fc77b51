"""ZeroMQ sockets as Scowl uses them: options in one place, addresses, and fast send/receive.

Sockets are pyzmq sockets woven into the asyncio loop the way zmq.asyncio does it (the
socket's ZMQ_FD registered with `loop.add_reader`), but registered once per socket instead of
once per wait: sends and receives use NOBLOCK and only await when the socket would block.
Awaiting every message costs 10x in throughput, and re-arming the reader per wait cost a
third of the request/reply rate (4.0k vs 6.0k round trips/s between two processes here).

ZMQ_FD is edge-triggered and shared by both directions: it signals only that ZMQ_EVENTS
may have changed, and a send can swallow the edge that announced an incoming message.
So a waiter re-checks ZMQ_EVENTS after arming, and every send re-checks for waiting readers.

tcp sockets get heartbeats and bounded reconnects, tuned from what was measured on this
kernel under partitions (../shared/reference/network-faults.md): without them a healed
20 s partition took 9.4 s to resume (TCP RTO backoff) and a crashed peer was never noticed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import zmq

# Heartbeats notice a dead peer in ~1.5-2 s; reconnects are tried at most every second.
HEARTBEAT_IVL_MS = 500
HEARTBEAT_TIMEOUT_MS = 1500
HEARTBEAT_TTL_MS = 1500
CONNECT_TIMEOUT_MS = 1000
RECONNECT_IVL_MS = 100
RECONNECT_IVL_MAX_MS = 1000
# Deep queues: a population actor pushes batches in bursts; the mailbox gives backpressure.
HWM = 100_000
# Close never waits for unsent messages: shutdown must be prompt.
LINGER_MS = 0
# Plain ints on the hot path: ZeroMQ's constants are enums, and enum arithmetic (POLLIN & events)
# cost more than the getsockopt it tested
_EVENTS, _RCVMORE, _SRCFD = int(zmq.EVENTS), int(zmq.RCVMORE), int(zmq.SRCFD)
_POLLIN, _POLLOUT = int(zmq.POLLIN), int(zmq.POLLOUT)
_NOBLOCK, _SNDMORE = int(zmq.NOBLOCK), int(zmq.SNDMORE)
# Bounded memory: ZeroMQ drops (disconnects) a peer whose message part is larger than this
# before reading it whole; a packet never outgrows the frame limit (larger messages cross
# chunked), and the routing-id part is tiny. Applies to tcp and ipc (inproc copies nothing).
MAX_MESSAGE_PART = 64 * 1024 * 1024 + 64 * 1024  # scowl.wire.MAX_FRAME_BYTES + room for the envelope


def is_tcp(address: str) -> bool:
    return address.startswith("tcp://")


def make_socket(ctx: zmq.Context[Any], kind: int, identity: str | None = None, tcp: bool = True,
                handover: bool = True) -> zmq.Socket[bytes]:
    """A socket with Scowl's options; `tcp` adds heartbeats and bounded reconnects. `handover`
    (ROUTER): a client claiming a connected client's routing id takes its route, which only an
    insecure run allows (a secure one routes by authenticated name, scowl.security)."""
    sock: zmq.Socket[bytes] = ctx.socket(kind, socket_class=zmq.Socket)  # registered, so ctx.destroy() closes it
    sock.linger = LINGER_MS
    sock.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_PART)
    sock.sndhwm = HWM
    sock.rcvhwm = HWM
    if identity is not None and kind in (zmq.DEALER, zmq.ROUTER):
        sock.setsockopt(zmq.ROUTING_ID, identity.encode())
    if kind == zmq.ROUTER:
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)  # unroutable sends raise instead of vanishing
        sock.setsockopt(zmq.ROUTER_HANDOVER, 1 if handover else 0)  # insecure: a restarted peer with the same name takes over
    if tcp:
        sock.setsockopt(zmq.HEARTBEAT_IVL, HEARTBEAT_IVL_MS)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS)
        sock.setsockopt(zmq.HEARTBEAT_TTL, HEARTBEAT_TTL_MS)
        sock.setsockopt(zmq.CONNECT_TIMEOUT, CONNECT_TIMEOUT_MS)
        sock.setsockopt(zmq.RECONNECT_IVL, RECONNECT_IVL_MS)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, RECONNECT_IVL_MAX_MS)
    return sock


def bind(sock: zmq.Socket[bytes], address: str) -> str:
    """Bind and return the concrete address (a tcp port of `*` becomes the real port)."""
    sock.bind(address)
    if is_tcp(address) and address.endswith((":*", ":0")):
        return sock.getsockopt_string(zmq.LAST_ENDPOINT)
    return address


class Channel:
    """One socket bound into the running asyncio loop."""

    __slots__ = ("sock", "kind", "name", "on_readable", "src_fd", "_loop", "_fd", "_waiters")

    def __init__(self, sock: zmq.Socket[bytes], name: str) -> None:
        self.sock = sock
        self.kind = sock.type
        self.name = name
        self._loop = asyncio.get_running_loop()
        self._fd: int = sock.getsockopt(zmq.FD)  # type: ignore[assignment]  # FD is an int option
        self._waiters: list[asyncio.Future[None]] = []
        self.src_fd = -1  # recv_ready_user: the connection (its file descriptor) the last message came on
        # called from the reader callback, before waiters wake: a receiver that takes what the
        # socket has right there saves the loop iteration a waiting task needs to wake
        # (only from the loop's reader callback, never from a send: a reply read during the
        # send of its request would come before the request is registered as pending)
        self.on_readable: Callable[[], None] | None = None
        self._loop.add_reader(self._fd, self._readable)

    def _readable(self) -> None:
        if self.on_readable is not None and not self.sock.closed:
            self.on_readable()
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def poke(self) -> None:
        """After a send: wake waiters if the socket became ready meanwhile (lost edge)."""
        if self._waiters and self.sock.getsockopt(_EVENTS):
            self._wake()

    async def _wait(self, event: int) -> None:
        sock = self.sock
        while not (sock.getsockopt(_EVENTS) & event):  # type: ignore[operator]  # EVENTS is an int option
            fut = self._loop.create_future()
            self._waiters.append(fut)
            if sock.getsockopt(_EVENTS) & event:  # type: ignore[operator]  # it may have changed while arming
                break
            await fut

    async def wait_woken(self, checked: bool = False) -> None:
        """Until the socket is readable or its reader callback ran (which may have taken what
        was readable itself: see on_readable); the caller checks again either way. `checked`:
        the caller found the socket empty just now (recv_ready gave None, nothing ran since),
        so ZMQ_EVENTS need not be read again: whatever arrives after that read raises the edge
        the reader callback waits for."""
        sock = self.sock
        if not checked and sock.getsockopt(_EVENTS) & _POLLIN:  # type: ignore[operator]  # EVENTS is an int option
            return
        fut = self._loop.create_future()
        self._waiters.append(fut)
        if not checked and sock.getsockopt(_EVENTS) & _POLLIN:  # type: ignore[operator]  # it may have changed while arming
            return
        await fut

    async def send(self, parts: list[bytes]) -> None:
        """Send a multipart message, awaiting only when the socket would block."""
        while not self.try_send(parts):
            await self._wait(_POLLOUT)

    def try_send(self, parts: list[bytes]) -> bool:
        """Send now or return False (would block). Multipart is atomic in ZeroMQ: once the
        first part is accepted the rest are too."""
        sync = self.sock
        try:
            if len(parts) == 1:
                sync.send(parts[0], _NOBLOCK)
            else:
                sync.send(parts[0], _NOBLOCK | _SNDMORE)
                for part in parts[1:-1]:
                    sync.send(part, _SNDMORE)
                sync.send(parts[-1])
        except zmq.Again:
            return False
        if self._waiters:
            self.poke()
        return True

    def recv_ready(self) -> list[bytes] | None:
        """One multipart message if one is waiting, else None (never blocks).
        Cheaper than recv_multipart for the one- and two-part messages Scowl uses; an empty
        socket is seen in ZMQ_EVENTS, not by a raised zmq.Again (which cost more than the receive)."""
        sync = self.sock
        if not sync.getsockopt(_EVENTS) & _POLLIN:  # type: ignore[operator]  # EVENTS is an int option
            return None
        try:
            first = sync.recv(_NOBLOCK)
        except zmq.Again:
            return None
        parts = [first]
        while sync.getsockopt(_RCVMORE):
            parts.append(sync.recv())
        return parts

    def recv_ready_user(self) -> tuple[list[bytes], str | None] | None:
        """Like recv_ready, with the message's ZAP User-Id (the authenticated peer's name on
        a CURVE server socket; None where no handshake authenticated it); `src_fd` is then the
        connection it came on."""
        sync = self.sock
        if not sync.getsockopt(_EVENTS) & _POLLIN:  # type: ignore[operator]  # EVENTS is an int option
            return None
        try:
            first = sync.recv(_NOBLOCK, copy=False)
        except zmq.Again:
            return None
        user: str | None
        try:
            got = first.get("User-Id")
            user = got if isinstance(got, str) else None
        except zmq.ZMQError:
            user = None
        self.src_fd = first.get(_SRCFD)
        parts = [first.bytes]
        while sync.getsockopt(_RCVMORE):
            parts.append(sync.recv())
        return parts, user

    @property
    def closed(self) -> bool:
        return self.sock.closed

    def close(self) -> None:
        if self.sock.closed:
            return
        if not self._loop.is_closed():
            self._loop.remove_reader(self._fd)
        self._wake()
        self.sock.close(linger=LINGER_MS)
