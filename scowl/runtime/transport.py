"""ZeroMQ sockets as Scowl uses them: options in one place, addresses, and fast send/receive.

Sockets are pyzmq sockets woven into the asyncio loop the way zmq.asyncio does it (the
socket's ZMQ_FD registered with `loop.add_reader`), but registered once per socket instead of
once per wait: sends and receives use NOBLOCK and only await when the socket would block.
Awaiting every message costs 10x in throughput, and re-arming the reader per wait cost a
third of the request/reply rate (4.0k vs 6.0k round trips/s between two processes here).

ZMQ_FD is edge-triggered and shared by both directions: it signals only that ZMQ_EVENTS
may have changed, and any call on the socket (a send, a receive) can swallow the edge that
announced an incoming message. So a reader sleeps only when the last call on its socket was
a ZMQ_EVENTS read that found nothing (the channel is `settled`), and sends are followed by
one such read before the loop sleeps when a reader waits.

tcp sockets get heartbeats and bounded reconnects, tuned from what was measured on this
kernel under partitions (../shared/reference/network-faults.md): without them a healed
20 s partition took 9.4 s to resume (TCP RTO backoff) and a crashed peer was never noticed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np
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
_EVENTS, _SRCFD = int(zmq.EVENTS), int(zmq.SRCFD)
_POLLIN, _POLLOUT = int(zmq.POLLIN), int(zmq.POLLOUT)
_NOBLOCK, _SNDMORE = int(zmq.NOBLOCK), int(zmq.SNDMORE)
ROUTER, DEALER, SUB = int(zmq.ROUTER), int(zmq.DEALER), int(zmq.SUB)
# pyzmq's Socket.send is a Python wrapper (routing_id and group, for draft sockets) around the
# backend's: calling the backend's saves about 1 us per message part, a third of a small send
_send: Callable[..., Any] = zmq.backend.Socket.send
# Bounded memory: ZeroMQ drops (disconnects) a peer whose message part is larger than this
# before reading it whole; a packet never outgrows the frame limit (larger messages cross
# chunked), and the routing-id part is tiny. Applies to tcp and ipc (inproc copies nothing).
MAX_MESSAGE_PART = 64 * 1024 * 1024 + 64 * 1024  # scowl.wire.MAX_FRAME_BYTES + room for the envelope
# A part at least this large goes to libzmq without a copy (copy=False): a chunk piece, a
# whole-state tree delta. Smaller parts are copied: pyzmq frees a zero-copy part only when its
# garbage-collector thread gets the GIL after libzmq is done with it, and over a day that kept
# more memory than the copy, which libzmq's I/O thread frees once written (scowl bench day
# --scale 0.25 --processes, parts up to ~11 MB: summed peak RSS 1,533-1,538 MB copied against
# 1,578-1,592 MB zero-copy from 256 KiB; one 95 MB chunked report: sender +381 MB copied,
# +286 MB zero-copy). The threshold lies between the two measurements, not measured at 8.9 M.
ZERO_COPY_BYTES = 32 * 1024 * 1024


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
    """One socket bound into the running asyncio loop.

    `settled`: the last call on the socket was a ZMQ_EVENTS read that found nothing to
    receive, so a reader may sleep without reading ZMQ_EVENTS again (its edge is still to
    come). Every other call on the socket (send, receive) may have taken the edge that
    announced an incoming message, and unsettles it. Reading ZMQ_EVENTS costs a system call
    (libzmq polls its mailbox), as much as a whole send + receive of a small message here:
    the latency path reads it once per wake-up and once per send, where it read it four
    times per message before."""

    __slots__ = ("sock", "kind", "name", "leaves", "sealed", "on_readable", "src_fd", "settled", "signalled", "_loop", "_fd",
                 "_readers", "_writers")

    def __init__(self, sock: zmq.Socket[bytes], name: str, leaves: bool = False) -> None:
        self.sock = sock
        self.kind = int(sock.type)
        self.name = name
        # what is sent here leaves the process (tcp, ipc): libzmq lets go of a packet once it
        # is written to the kernel (scowl.runtime.inflight); inproc hands the buffer to the receiver
        self.leaves = leaves
        # CURVE on this socket: libzmq's I/O thread encrypts each message into copies of its own
        # (and frees ours then), one message per connection at a time (see scowl.runtime.outbox)
        self.sealed = leaves and sock.getsockopt(zmq.MECHANISM) == zmq.CURVE
        self._loop = asyncio.get_running_loop()
        self._fd: int = sock.getsockopt(zmq.FD)  # type: ignore[assignment]  # FD is an int option
        self._readers: list[asyncio.Future[None]] = []  # wait_woken
        self._writers: list[asyncio.Future[None]] = []  # send on a full socket
        self.src_fd = -1  # recv_ready_user: the connection (its file descriptor) the last message came on
        self.settled = False
        # in the loop's reader callback, before its first receive: ZMQ_FD signalled, so libzmq
        # has a command for the socket (nearly always: messages to read); that receive goes
        # straight to libzmq, which processes the command as a ZMQ_EVENTS read would
        self.signalled = False
        # called from the reader callback: a receiver that takes what the socket has right
        # there saves the loop iteration a waiting task needs to wake; it returns whether the
        # readers (the pump) must wake after all (only from the loop's reader callback, never
        # from a send: a reply read during the send of its request would come before the
        # request is registered as pending)
        self.on_readable: Callable[[], bool] | None = None
        self._loop.add_reader(self._fd, self._readable)

    def _readable(self) -> None:
        self.signalled = True
        self._read()
        self.signalled = False

    def _read(self) -> None:
        if self._writers:
            self._wake(self._writers)
        if self.on_readable is not None:
            if self.sock.closed or not self.on_readable():
                return
        if self._readers:
            self._wake(self._readers)
        elif not self._writers and not self.sock.closed:
            # nobody takes the edge (a PUB socket, a pump that is busy): read ZMQ_EVENTS, which
            # clears it, or ZMQ_FD stays readable and the loop calls this again at once, forever
            self.events()

    @staticmethod
    def _wake(waiters: list[asyncio.Future[None]]) -> None:
        woken = waiters[:]
        waiters.clear()
        for fut in woken:
            if not fut.done():
                fut.set_result(None)

    def events(self) -> int:
        """ZMQ_EVENTS (POLLIN | POLLOUT), noting whether the socket is settled."""
        ev: int = self.sock.getsockopt(_EVENTS)  # type: ignore[assignment]  # EVENTS is an int option
        self.settled = not ev & _POLLIN
        return ev

    def poke(self) -> None:
        """After sends, before the loop sleeps: a send may have taken the edge of an incoming
        message; readers waiting are woken if one is there."""
        if self._readers and not self.settled and self.events() & _POLLIN:
            self._wake(self._readers)

    def look_again(self) -> None:
        """Run the reader callback again once the callbacks and tasks already due have run,
        unless a call on the socket settled it before (a send's poke); a socket left unsettled
        is never left unread."""
        self._loop.call_soon(self._look)

    def _look(self) -> None:
        if not self.settled and not self.sock.closed:
            self._read()

    async def wait_woken(self) -> None:
        """Until the socket may be readable, or its reader callback asked for the readers
        (see on_readable); the caller checks again either way."""
        if not self.settled and self.events() & _POLLIN:
            return
        fut = self._loop.create_future()
        self._readers.append(fut)
        await fut

    async def send(self, parts: list[bytes | memoryview] | list[Any]) -> None:
        """Send a multipart message, awaiting only when the socket would block."""
        while not self.try_send(parts):
            while not self.events() & _POLLOUT:
                if self._readers and not self.settled:
                    self._wake(self._readers)  # the read took an edge: the readers read
                fut = self._loop.create_future()
                self._writers.append(fut)
                await fut

    def try_send(self, parts: list[bytes | memoryview] | list[Any], poke: bool = True) -> bool:
        """Send now or return False (would block). Multipart is atomic in ZeroMQ: once the
        first part is accepted the rest are too. `poke=False`: the caller pokes the channel
        before the loop sleeps (the outbox does, once per iteration). A last part of
        ZERO_COPY_BYTES or more is not copied: libzmq sends from it (pyzmq holds it until
        libzmq is done), so the caller must not change it; so is a numpy array (a packet counted
        in flight until libzmq lets go of it: scowl.runtime.inflight)."""
        sync = self.sock
        self.settled = False
        last = parts[-1]
        copy = len(last) < ZERO_COPY_BYTES and type(last) is not np.ndarray
        try:
            if len(parts) == 1:
                if copy:
                    _send(sync, last, _NOBLOCK)
                else:
                    _send(sync, last, _NOBLOCK, False)
            else:
                _send(sync, parts[0], _NOBLOCK | _SNDMORE)
                for part in parts[1:-1]:
                    _send(sync, part, _SNDMORE)
                if copy:
                    _send(sync, last)
                else:
                    _send(sync, last, 0, False)
        except zmq.Again:
            return False
        if poke and self._readers:
            self.poke()
        return True

    def recv_frames(self) -> list[zmq.Frame] | None:
        """One multipart message if one is waiting, else None (never blocks), its parts
        not copied (zmq.Frame: `.buffer` is a view of the bytes libzmq received). An empty
        socket is seen in ZMQ_EVENTS, not by a raised zmq.Again (which cost more than the
        receive); a part's `more` replaces a ZMQ_RCVMORE read. The first receive after ZMQ_FD
        signalled reads no ZMQ_EVENTS (see `signalled`): pyzmq's option read costs more than
        the receive (an enum lookup per call), and the receive processes libzmq's commands itself."""
        sync = self.sock
        if self.signalled:
            self.signalled = False
            self.settled = False
            try:
                frame = sync.recv(_NOBLOCK, copy=False)
            except zmq.Again:  # the command was not a message (a connection's, a peer's): read as usual
                return self.recv_frames()
        else:
            if not self.events() & _POLLIN:
                return None
            try:
                frame = sync.recv(_NOBLOCK, copy=False)
            except zmq.Again:
                return None
        parts = [frame]
        while frame.more:
            frame = sync.recv(copy=False)
            parts.append(frame)
        return parts

    def recv_ready(self) -> list[bytes] | None:
        """One multipart message if one is waiting, else None (never blocks), as bytes."""
        frames = self.recv_frames()
        return None if frames is None else [f.bytes for f in frames]

    def recv_ready_user(self) -> tuple[list[zmq.Frame], str | None] | None:
        """Like recv_frames, with the message's ZAP User-Id (the authenticated peer's name on
        a CURVE server socket; None where no handshake authenticated it); `src_fd` is then the
        connection it came on."""
        frames = self.recv_frames()
        if frames is None:
            return None
        first = frames[0]
        user: str | None
        try:
            got = first.get("User-Id")
            user = got if isinstance(got, str) else None
        except zmq.ZMQError:
            user = None
        self.src_fd = first.get(_SRCFD)
        return frames, user

    @property
    def closed(self) -> bool:
        return self.sock.closed

    def close(self) -> None:
        if self.sock.closed:
            return
        if not self._loop.is_closed():
            self._loop.remove_reader(self._fd)
        self._wake(self._readers)
        self._wake(self._writers)
        self.sock.close(linger=LINGER_MS)
