"""The Actor: a mailbox, a handler table keyed by message type, lifecycle hooks, timers.

An actor owns one ROUTER socket bound at its address (peers' DEALERs connect to it, with
the peer's name as routing id), one DEALER link per peer it connected to, and optionally a
PUB socket and SUB subscriptions. Frames from every socket are decoded by per-socket pumps
into one mailbox; one processor task handles them in arrival order, so per-sender ordering
holds on each channel. A handler that raises is contained per message: counted, reported to
`on_failure` (and to the asker as a Failure reply) and the actor keeps serving.

Handlers are methods decorated with `@on(MessageType)`, called as `handler(msg, env)`; they
may be plain or async. A returned Message is sent back to the sender as the reply.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import zmq
import zmq.asyncio

from scowl import wire
from scowl.errors import ActorError, ProtocolError, RequestTimeout, ScowlError
from scowl.runtime.clock import SimClock
from scowl.runtime.transport import Channel, bind, is_tcp, make_socket

log = logging.getLogger("scowl.actor")

MAILBOX_MAX = 50_000  # frames decoded but not yet handled; past this the pumps wait
PACKET_MAX_FRAMES = 1024  # frames coalesced into one packet at most
PACKET_ALONE_BYTES = 64 * 1024  # a frame this large flushes its packet at once
BACKLOG_MAX = 200_000  # frames waiting on a blocked socket; past this sends are dropped and counted
YIELD_EVERY = 256  # messages handled between yields to the event loop (fairness across actors)


class RemoteError(ScowlError):
    """The peer's handler raised while answering our request."""

    def __init__(self, peer: str, error: str, detail: str) -> None:
        self.peer, self.error, self.detail = peer, error, detail
        super().__init__(f"{peer}: {error}: {detail}")


def on(*message_types: type[wire.Message]):
    """Mark a method as the handler of these message types."""

    def mark(fn):
        fn._scowl_handles = tuple(t.TYPE for t in message_types)
        return fn

    return mark


@dataclass
class ActorStats:
    received: int = 0  # frames accepted
    logical: int = 0  # logical messages accepted (a batch counts its rows)
    handled: int = 0
    failed: int = 0  # handlers that raised
    sent: int = 0
    published: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    unroutable: int = 0  # sends to a peer that is gone
    dropped: int = 0  # sends dropped by backpressure or by an injected fault
    unhandled: int = 0  # valid messages with no handler on this actor
    rejected: collections.Counter = field(default_factory=collections.Counter)  # (sender, reason) -> n

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("received", "logical", "handled", "failed", "sent", "published",
                                           "unroutable", "dropped", "unhandled", "bytes_sent", "bytes_received")}
        d["rejected"] = self.rejected_total
        by_reason = collections.Counter()
        for (_, reason), n in self.rejected.items():
            by_reason[reason] += n
        d["rejected_by_reason"] = dict(sorted(by_reason.items()))
        return d


class Actor:
    """Base class of every peer. Subclasses set `role`, add `@on(...)` handlers and may
    override `on_start`, `on_stop` and `on_failure`."""

    role = "actor"
    _handler_names: dict[str, str] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._collect_handlers()

    @classmethod
    def _collect_handlers(cls) -> None:
        table: dict[str, str] = {}
        for klass in reversed(cls.__mro__):  # base handlers first, overridden by subclasses
            for attr, fn in vars(klass).items():
                for type_name in getattr(fn, "_scowl_handles", ()):
                    table[type_name] = attr
        cls._handler_names = table

    def __init__(self, name: str, address: str | None = None, *, clock: SimClock | None = None) -> None:
        self.name = name
        self.address = address  # where our ROUTER binds (None: no inbound socket)
        self.bound_address: str | None = None
        self.clock = clock or SimClock()
        self.stats = ActorStats()
        self.link_filter: Callable[[str, str, int], float | None] | None = None  # fault injection hook
        self._handlers: dict[str, Callable] = {t: getattr(self, m) for t, m in self._handler_names.items()}
        self._ctx: zmq.asyncio.Context | None = None
        self._router: Channel | None = None
        self._pub: Channel | None = None
        self._links: dict[str, Channel] = {}
        self._router_peers: set[bytes] = set()
        self._router_lost: set[bytes] = set()  # peers that were connected and dropped (a cut link): sends count as unroutable
        self._subs: list[Channel] = []
        self._pumps: dict[Channel, asyncio.Task] = {}
        self._sub_types: dict[str, tuple[type[wire.Message], ...]] = {}  # publisher address -> types subscribed
        self._tasks: set[asyncio.Task] = set()
        self._timers: list[asyncio.TimerHandle] = []
        self._pending: dict[int, asyncio.Future] = {}
        self._backlog: dict[Channel, collections.deque] = {}
        self._outbox: dict[tuple[Channel, bytes | None], list[bytes]] = {}
        self._flush_scheduled = False
        self._busy = False
        self._mailbox: collections.deque = collections.deque()
        self._room = asyncio.Event()
        self._room.set()
        self._seq = 0
        self._logged: set = set()
        self._sync_acks: dict[int, set[str]] = {}
        self._sync_event = asyncio.Event()
        self.started = asyncio.Event()
        self.stopped = asyncio.Event()
        self._stopping = False
        self.crashed: BaseException | None = None
        self._link_release: dict[str, float] = {}
        self.link_bytes: dict[str, list[int]] = {}  # peer -> [messages out, bytes out, messages in, bytes in]

    # ------------------------------------------------------------------ lifecycle

    async def start(self, ctx: zmq.asyncio.Context) -> None:
        """Bind, start the mailbox, then run `on_start` (where links are usually made)."""
        self._ctx = ctx
        if self.address is not None:
            sock = make_socket(ctx, zmq.ROUTER, identity=self.name, tcp=is_tcp(self.address))
            try:
                self.bound_address = bind(sock, self.address)
            except zmq.ZMQError as exc:
                sock.close(linger=0)
                raise ActorError(f"{self.name}: cannot bind {self.address}: {exc}") from None
            self._router = Channel(sock, "router")
            self._start_pump(self._router)
        await self.on_start()
        self.started.set()

    async def stop(self) -> None:
        """Stop on purpose: `on_stop`, cancel tasks and timers, close every socket. Idempotent."""
        if self._stopping:
            await self.stopped.wait()
            return
        self._stopping = True
        try:
            await self.on_stop()
        except Exception:  # noqa: BLE001 - stopping must finish whatever on_stop does
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
        for ch in [self._router, self._pub, *self._links.values(), *self._subs]:
            if ch is not None:
                ch.close()
        self.stopped.set()

    async def on_start(self) -> None:
        """Hook: make links, subscribe, start timers."""

    async def on_stop(self) -> None:
        """Hook: flush state before the sockets close."""

    def on_failure(self, env: wire.Envelope, msg: wire.Message, exc: BaseException) -> None:
        """Hook: a handler raised. Default: log it once per (type, error) and go on serving."""
        key = ("failure", env.type, type(exc).__name__)
        if key not in self._logged:
            self._logged.add(key)
            log.error("%s: handler for %s from %s raised %s: %s (further ones counted, not logged)",
                      self.name, env.type, env.sender, type(exc).__name__, exc)

    def on_unhandled(self, msg: wire.Message, env: wire.Envelope):
        """The one fallback for valid messages this actor has no handler for: log who sent what."""
        self.stats.unhandled += 1
        key = ("unhandled", env.sender, env.type)
        if key not in self._logged:
            self._logged.add(key)
            log.warning("%s: no handler for %s from %s", self.name, env.type, env.sender)
        if env.ask:
            return wire.Failure("Unhandled", f"{self.name} has no handler for {env.type}")
        return None

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        """An internal task (a pump, a timer, a boot sequence) died: the actor would be deaf
        or half-started, so it stops on purpose and says why, rather than limp on."""
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and not self._stopping:
            self.crashed = task.exception()
            log.error("%s: internal task died, stopping the actor: %r", self.name, self.crashed)
            asyncio.ensure_future(self.stop())

    # ------------------------------------------------------------------ links

    async def connect(self, peer: str, address: str, *, handshake: bool = True, timeout: float = 10.0) -> None:
        """Open a DEALER link to `peer` at `address`; with `handshake`, return only once a
        Hello/Welcome round trip proved the link carries traffic both ways."""
        if peer in self._links:
            return
        sock = make_socket(self._ctx, zmq.DEALER, identity=self.name, tcp=is_tcp(address))
        sock.connect(address)
        ch = Channel(sock, peer)
        self._links[peer] = ch
        self._start_pump(ch)
        if handshake:
            try:
                await self.request(peer, wire.Hello(self.role, self.bound_address or ""), timeout=timeout)
            except RequestTimeout:
                raise ActorError(f"{self.name}: no answer from {peer} at {address} within {timeout} s "
                                 "(is it running, and is the address right?)") from None

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
                await self._close_channel(ch)
                await self.subscribe(new, types)
                return True
        return False

    def _start_pump(self, ch: Channel) -> None:
        task = self._spawn(self._pump(ch))
        self._pumps[ch] = task
        task.add_done_callback(lambda _t, ch=ch: self._pumps.pop(ch, None))

    async def _close_channel(self, ch: Channel) -> None:
        """Stop a channel's pump, then close its socket (a pump on a closed socket would die
        and stop the actor). Messages it had queued in the mailbox are still handled."""
        self._outbox = {k: v for k, v in self._outbox.items() if k[0] is not ch}
        self._backlog.pop(ch, None)
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
        return peer in self._links or peer.encode() in self._router_peers

    def peers(self) -> list[str]:
        """Names this actor can send to (its links and the peers that connected to it)."""
        return sorted(set(self._links) | {p.decode("utf-8", "replace") for p in self._router_peers})

    async def bind_pub(self, address: str) -> str:
        sock = make_socket(self._ctx, zmq.PUB, tcp=is_tcp(address))
        bound = bind(sock, address)
        self._pub = Channel(sock, "pub")
        return bound

    async def subscribe(self, address: str, types: tuple[type[wire.Message], ...] = ()) -> None:
        """Subscribe to a publisher; `types` filters by message type (empty: everything).
        Sync probes are always received, so the publisher can count us in."""
        sock = make_socket(self._ctx, zmq.SUB, tcp=is_tcp(address))
        topics = [t.TYPE.encode() for t in types] or [b""]
        if types:
            topics.append(wire.SyncProbe.TYPE.encode())
        for t in topics:
            sock.setsockopt(zmq.SUBSCRIBE, t)
        sock.connect(address)
        ch = Channel(sock, f"sub:{address}")
        self._subs.append(ch)
        self._sub_types[address] = types
        self._start_pump(ch)

    async def await_subscribers(self, names: set[str] | list[str], timeout: float = 10.0) -> None:
        """Publish sync probes until each named subscriber has acknowledged one (via a
        direct message), so nothing published afterwards is lost to a slow joiner."""
        expected = set(names)
        self._seq += 1
        token = self._seq
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

    # ------------------------------------------------------------------ sending

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def send(self, to: str, msg: wire.Message, *, reply_to: int = 0, ask: bool = False) -> int:
        """Send a message to a peer; never blocks. Messages to one peer within one event-loop
        iteration leave together as one packet; a full socket queues them in a bounded
        backlog. Returns the sequence number. ActorError when there is no route to `to`."""
        seq = self._next_seq()
        frame = wire.encode_frame(msg, self.name, to, seq, self.clock.tick, reply_to, ask)
        ch = self._links.get(to)
        if ch is not None:
            rid = None
        elif self._router is not None and ((rid := to.encode()) in self._router_peers or rid in self._router_lost):
            ch = self._router  # a lost peer is tried again: it may have reconnected (ROUTER_HANDOVER)
        else:
            raise ActorError(f"{self.name}: no route to {to!r} (connect to it, or wait for it to connect)")
        if self.link_filter is not None:
            delay = self.link_filter(self.name, to, self.clock.tick)
            if delay is None:
                self.stats.dropped += 1
                return seq
            if delay > 0:  # a per-link FIFO delay queue: jitter never reorders a link
                loop = asyncio.get_running_loop()
                release = max(loop.time() + delay, self._link_release.get(to, 0.0))
                self._link_release[to] = release
                loop.call_at(release, self._enqueue, ch, rid, frame)
                return seq
        self._enqueue(ch, rid, frame)
        return seq

    def _enqueue(self, ch: Channel, rid: bytes | None, frame: bytes) -> None:
        key = (ch, rid)
        out = self._outbox.get(key)
        if out is None:
            self._outbox[key] = out = []
            if not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)
        out.append(frame)
        if len(out) >= PACKET_MAX_FRAMES or len(frame) >= PACKET_ALONE_BYTES:
            del self._outbox[key]
            self._transmit(ch, rid, out)

    def _flush(self) -> None:
        self._flush_scheduled = False
        outbox, self._outbox = self._outbox, {}
        for (ch, rid), frames in outbox.items():
            self._transmit(ch, rid, frames)

    def _transmit(self, ch: Channel, rid: bytes | None, frames: list[bytes]) -> None:
        if ch.closed:
            return
        packet = wire.encode_packet(frames)
        self.stats.bytes_sent += len(packet)
        link = self.link_bytes.get(ch.name if rid is None else rid.decode("utf-8", "replace"))
        if link is None:
            link = self.link_bytes[ch.name if rid is None else rid.decode("utf-8", "replace")] = [0, 0, 0, 0]
        link[0] += len(frames)
        link[1] += len(packet)
        parts = [packet] if rid is None else [rid, packet]
        backlog = self._backlog.get(ch)
        if backlog is not None:
            if len(backlog) >= BACKLOG_MAX:
                self.stats.dropped += len(frames)
                return
            backlog.append((parts, len(frames)))
            return
        try:
            if ch.try_send(parts):
                self.stats.sent += len(frames)
                return
        except zmq.ZMQError as exc:
            if exc.errno != zmq.EHOSTUNREACH:
                raise
            self.stats.unroutable += len(frames)
            self._router_peers.discard(rid)
            self._router_lost.add(rid)
            return
        self._backlog[ch] = collections.deque([(parts, len(frames))])
        self._spawn(self._drain_backlog(ch))

    async def _drain_backlog(self, ch: Channel) -> None:
        backlog = self._backlog[ch]
        try:
            while backlog and not ch.closed:
                parts, n = backlog[0]
                try:
                    await ch.send(parts)
                    self.stats.sent += n
                except zmq.ZMQError as exc:
                    if ch.closed:  # the link was closed under us (relink): what was queued is dropped
                        break
                    if exc.errno != zmq.EHOSTUNREACH:
                        raise
                    self.stats.unroutable += n
                    if len(parts) == 2:  # through the ROUTER: [routing id, packet]
                        self._router_peers.discard(parts[0])
                        self._router_lost.add(parts[0])
                backlog.popleft()
        finally:
            if not backlog or ch.closed:
                self._backlog.pop(ch, None)

    async def flush(self) -> None:
        """Wait until every message sent so far has been handed to its socket."""
        if self._outbox:
            self._flush()
        while self._backlog:
            await asyncio.sleep(0.001)

    def reply(self, env: wire.Envelope, msg: wire.Message) -> None:
        self.send(env.sender, msg, reply_to=env.seq)

    def ask(self, to: str, msg: wire.Message) -> asyncio.Future:
        """Send a request and return the future of its reply (pipelining: many may be open)."""
        fut = asyncio.get_running_loop().create_future()
        seq = self.send(to, msg, ask=True)
        self._pending[seq] = fut
        return fut

    async def request(self, to: str, msg: wire.Message, timeout: float = 10.0) -> wire.Message:
        """Send a request and await its reply; RequestTimeout after `timeout` seconds."""
        fut = asyncio.get_running_loop().create_future()
        seq = self.send(to, msg, ask=True)
        self._pending[seq] = fut
        try:
            async with asyncio.timeout(timeout):
                return await fut
        except TimeoutError:
            raise RequestTimeout(f"{self.name}: {msg.TYPE} to {to} got no reply within {timeout} s") from None
        finally:
            self._pending.pop(seq, None)

    def publish(self, msg: wire.Message) -> None:
        """Broadcast on our PUB socket (bind_pub first). PUB drops at its high-water mark."""
        if self._pub is None:
            raise ActorError(f"{self.name}: publish before bind_pub")
        frame = wire.encode_frame(msg, self.name, wire.BROADCAST, self._next_seq(), self.clock.tick)
        if self._pub.try_send([msg.TYPE.encode(), wire.encode_packet([frame])]):
            self.stats.published += 1
        else:
            self.stats.dropped += 1

    # ------------------------------------------------------------------ timers

    def call_later(self, seconds: float, fn: Callable, *args) -> asyncio.TimerHandle:
        handle = asyncio.get_running_loop().call_later(seconds, fn, *args)
        self._timers.append(handle)
        return handle

    def call_every(self, seconds: float, fn: Callable) -> asyncio.Task:
        """Run `fn()` (plain or async) every `seconds` of wall time until the actor stops."""

        async def loop():
            while True:
                await asyncio.sleep(seconds)
                try:
                    result = fn()
                    if inspect.isawaitable(result):
                        await result
                except Exception as exc:  # noqa: BLE001 - a timer failure is contained like a handler's
                    self.stats.failed += 1
                    log.error("%s: timer %s raised %s: %s", self.name, getattr(fn, "__name__", fn), type(exc).__name__, exc)

        return self._spawn(loop())

    # ------------------------------------------------------------------ receiving

    def _reject(self, sender: str, reason: str, detail: str) -> None:
        self.stats.rejected[(sender, reason)] += 1
        key = ("reject", sender, reason)
        if key not in self._logged:
            self._logged.add(key)
            log.warning("%s: rejected a frame from %s: %s (%s); further ones counted, not logged",
                        self.name, sender, reason, detail[:200])

    async def _pump(self, ch: Channel) -> None:
        """Move packets from one socket into the mailbox, awaiting only when the socket is
        empty, and handle the mailbox inline unless another pump is already handling it."""
        kind = ch.kind
        mailbox = self._mailbox
        expected_parts = 1 if kind == zmq.DEALER else 2
        while True:
            parts = ch.recv_ready()
            if parts is None:
                await ch.wait_readable()
                continue
            if kind == zmq.ROUTER:
                rid = parts[0]
                sender = rid.decode("utf-8", "replace")[:64]
            else:
                rid, sender = None, ch.name
            if len(parts) != expected_parts:
                self._reject(sender, "malformed", f"{len(parts)} message parts, expected {expected_parts}")
                continue
            self.stats.bytes_received += len(parts[-1])
            link = self.link_bytes.get(sender)
            if link is None:
                link = self.link_bytes[sender] = [0, 0, 0, 0]
            link[3] += len(parts[-1])
            self._accept_packet(parts[-1], sender, rid, kind)
            if not mailbox:
                continue
            if not self._busy:
                await self._drain()
            elif len(mailbox) >= MAILBOX_MAX:
                self._room.clear()
                await self._room.wait()

    def _accept_packet(self, packet: bytes, sender: str, rid: bytes | None, kind: int) -> None:
        """Validate every frame of a packet; replies resolve their futures now (a handler
        awaiting a reply must never wait behind itself), the rest go to the mailbox."""
        try:
            frames = wire.decode_packet(packet)
        except ProtocolError as exc:
            self._reject(sender, exc.reason, exc.detail)
            return
        for frame in frames:
            try:
                env, msg = wire.decode_frame(frame, self.name)
            except ProtocolError as exc:
                self._reject(sender, exc.reason, exc.detail)
                continue
            if kind != zmq.SUB and env.sender != sender:
                self._reject(sender, "spoofed", f"envelope says {env.sender[:64]!r}")
                continue
            if rid is not None and rid not in self._router_peers:
                self._router_peers.add(rid)
            self.stats.received += 1
            link = self.link_bytes.get(sender)
            if link is not None:
                link[2] += 1
            if env.reply_to and env.reply_to in self._pending:
                self._resolve(env, msg)
            else:
                self._mailbox.append((env, msg))

    def _resolve(self, env: wire.Envelope, msg: wire.Message) -> None:
        self.stats.logical += 1
        self.stats.handled += 1
        fut = self._pending.pop(env.reply_to)
        if not fut.done():
            if isinstance(msg, wire.Failure):
                fut.set_exception(RemoteError(env.sender, msg.error, msg.detail))
            else:
                fut.set_result(msg)

    async def _drain(self) -> None:
        """The mailbox: handle messages one at a time, in arrival order; async handlers are
        awaited before the next message, and other pumps only queue meanwhile."""
        mailbox = self._mailbox
        self._busy = True
        n = 0
        try:
            while mailbox:
                env, msg = mailbox.popleft()
                result = self._handle(env, msg)
                if result is not None:
                    await result
                n += 1
                if n % YIELD_EVERY == 0:
                    self._room.set()
                    await asyncio.sleep(0)
        finally:
            self._busy = False
            self._room.set()

    def _handle(self, env: wire.Envelope, msg: wire.Message):
        """Dispatch one message; returns an awaitable only when the handler is async."""
        if isinstance(msg, wire.Batch):
            self.stats.logical += msg.n
        else:
            self.stats.logical += 1
        handler = self._handlers.get(env.type, self.on_unhandled)
        try:
            result = handler(msg, env)
        except Exception as exc:  # noqa: BLE001 - contained per message by design
            self._failed(env, msg, exc)
            return None
        if result is None:
            self.stats.handled += 1
            return None
        if inspect.isawaitable(result):
            return self._finish_async(env, msg, result)
        self.stats.handled += 1
        self._answer(env, result)
        return None

    async def _finish_async(self, env, msg, awaitable) -> None:
        try:
            result = await awaitable
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            self._failed(env, msg, exc)
            return
        self.stats.handled += 1
        if result is not None:
            self._answer(env, result)

    def _answer(self, env: wire.Envelope, result: wire.Message) -> None:
        try:
            self.reply(env, result)
        except ActorError as exc:
            self.stats.unroutable += 1
            log.warning("%s: cannot reply to %s: %s", self.name, env.sender, exc)

    def _failed(self, env: wire.Envelope, msg: wire.Message, exc: Exception) -> None:
        self.stats.failed += 1
        try:
            self.on_failure(env, msg, exc)
        except Exception:  # noqa: BLE001 - a failing failure hook must not kill the mailbox
            log.exception("%s: on_failure raised", self.name)
        if env.ask:
            self._answer(env, wire.Failure(type(exc).__name__, str(exc)[:500]))

    # ------------------------------------------------------------------ built-in handlers

    @on(wire.Hello)
    def _on_hello(self, msg: wire.Hello, env: wire.Envelope):
        return wire.Welcome(self.role)

    @on(wire.Welcome)
    def _on_late_welcome(self, msg: wire.Welcome, env: wire.Envelope):
        """A Welcome nobody waits for: the answer to a liveness probe (`probe`), or to a
        handshake that had already timed out. Hearing it is all it says."""

    @on(wire.SyncProbe)
    def _on_sync_probe(self, msg: wire.SyncProbe, env: wire.Envelope):
        if self.has_route(env.sender):
            self.send(env.sender, wire.SyncAck(msg.token))

    @on(wire.SyncAck)
    def _on_sync_ack(self, msg: wire.SyncAck, env: wire.Envelope):
        acks = self._sync_acks.get(msg.token)
        if acks is not None:
            acks.add(env.sender)
            self._sync_event.set()

    @on(wire.StatsRequest)
    def _on_stats(self, msg: wire.StatsRequest, env: wire.Envelope):
        s = self.stats
        return wire.StatsReply(s.received, s.logical, s.rejected_total, s.failed)

    @on(wire.Stop)
    def _on_stop(self, msg: wire.Stop, env: wire.Envelope):
        log.info("%s: stop requested by %s (%s)", self.name, env.sender, msg.reason)
        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.stop()))


Actor._collect_handlers()  # the base class's own built-in handlers
