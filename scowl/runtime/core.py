"""The state every actor layer shares, and the tasks it owns.

The Actor is assembled from one layer per concept, each a class in its own module that
builds on the ones below it:

    core        this module: the shared state, sequence numbers, owned tasks, rejections
    outbox      sending: per-peer packets flushed once per loop iteration, backlog, publish
    requests    request/reply: futures keyed by sequence number, RemoteError
    handlers    the handler table (`@on`), dispatch of one message, failure containment
    mailbox     receiving: per-socket pumps into one mailbox handled in arrival order
    links       DEALER links, subscriptions, liveness probes, subscriber sync
    lifecycle   start, stop, hooks and timers
    actor       the Actor itself, with the built-in handlers (Hello, SyncProbe, Stats, Stop)
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import zmq.asyncio

from scowl import wire
from scowl.runtime.clock import SimClock
from scowl.runtime.inflight import InFlight
from scowl.runtime.stats import ActorStats
from scowl.runtime.timeouts import Timeouts
from scowl.runtime.transport import Channel
from scowl.security import GUARDS, Credentials, Roster, needs_keys
from scowl.security.watch import ConnectionWatch
from scowl.wire import chunks

log = logging.getLogger("scowl.actor")

#: a handler: called as handler(msg, env); may return a reply, an awaitable of one, or None
Handler = Callable[[Any, wire.Envelope], Any]


class Later:
    """A message on a socket's backlog made packet by packet when its turn comes and the bytes
    in flight allow (scowl.runtime.outbox.send_built): `packets` builds and encodes as it goes."""

    __slots__ = ("rid", "to", "packets")

    def __init__(self, rid: bytes | None, to: str, packets: Iterator[bytes | memoryview]) -> None:
        self.rid = rid
        self.to = to
        self.packets = packets


#: a queued send on a blocked socket: the parts and how many frames they carry; or a Later
Queued = tuple[list[bytes | memoryview], int] | Later


class ActorCore:
    """Shared state of an actor; the layers above add behaviour, not state."""

    role = "actor"
    _handler_names: dict[str, str] = {}

    def __init__(self, name: str, address: str | None = None, *, clock: SimClock | None = None) -> None:
        self.name = name
        self.address = address  # where our ROUTER binds (None: no inbound socket)
        self.bound_address: str | None = None
        self.clock = clock or SimClock()
        self.stats = ActorStats()
        self.link_filter: Callable[[str, str, int], float | None] | None = None  # fault injection hook
        self._handlers: dict[str, Handler] = {t: getattr(self, m) for t, m in self._handler_names.items()}
        self._ctx: zmq.asyncio.Context | None = None
        self._router: Channel | None = None
        self._local: Channel | None = None  # the ROUTER for actors of this process (scowl.runtime.local)
        self._pub: Channel | None = None
        self._links: dict[str, Channel] = {}
        # Routes through our ROUTERs, by peer name: the authenticated peer (ZAP User-Id) when the
        # ROUTER is a CURVE server, else the routing id the peer chose (inproc, insecure, local).
        self._router_peers: dict[str, tuple[Channel, bytes]] = {}  # name -> (ROUTER, routing id) of its live connection
        self._router_lost: dict[str, tuple[Channel, bytes]] = {}  # connected and dropped (a cut link): sends count as unroutable
        self._rid_name: dict[bytes, str] = {}
        self._router_secure = False
        self._sub_peer: dict[Channel, str] = {}  # SUB channel -> the publisher (its key pinned when secure)
        self._asked: dict[int, str] = {}  # recent requests, seq -> the peer asked (its reply must come from it)
        self._asked_floor = 0  # requests at or below this seq are forgotten (their late replies pass)
        self.credentials: Credentials | None = None  # CURVE keys on tcp/ipc sockets; None: no keys
        self.roster: Roster | None = None  # who is who, for the authorization table; None: no roles checked
        self.unenrolled_keys: dict[str, str] = {}  # open server: name an unenrolled key goes by -> its Z85 key
        self.guards: frozenset[str] = GUARDS  # scowl.security.GUARDS; tests switch one off to show what it stops
        self._subs: list[Channel] = []
        self._watches: list[tuple[ConnectionWatch, Channel]] = []  # CURVE servers' monitors (scowl.security.watch)
        self._router_watch: ConnectionWatch | None = None
        self._pumps: dict[Channel, asyncio.Task[None]] = {}
        self._sub_types: dict[str, tuple[type[wire.Message], ...]] = {}  # publisher address -> types subscribed
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: list[asyncio.TimerHandle] = []
        self._pending: dict[int, asyncio.Future[wire.Message]] = {}
        self._timeouts = Timeouts()  # request() deadlines, on one timer
        self._backlog: dict[Channel, collections.deque[Queued]] = {}
        self._backlog_drained = asyncio.Event()  # set whenever no socket has a backlog
        self._backlog_drained.set()
        self.inflight = InFlight()  # large packets handed to ZeroMQ not yet written out (send_built)
        self._outbox: dict[tuple[Channel, bytes | None], list[bytes]] = {}
        self._chunks = chunks.Reassembler()  # messages arriving in pieces (scowl.wire.chunks), one per sender
        self._flush_scheduled = False
        self._reading = False  # in a socket's reader callback (Mailbox._on_readable): it flushes on return
        self._busy = False
        self._mailbox: collections.deque[tuple[wire.Envelope, wire.Message]] = collections.deque()
        self._room = asyncio.Event()
        self._room.set()
        self._seq = 0
        self._logged: set[tuple[str, ...]] = set()
        self._sync_acks: dict[int, set[str]] = {}
        self._sync_event = asyncio.Event()
        self.started = asyncio.Event()
        self.stopped = asyncio.Event()
        self._stopping = False
        self.crashed: BaseException | None = None
        self._link_release: dict[str, float] = {}
        self._delayed: dict[str, collections.deque[tuple[float, Channel, bytes | None, bytes | memoryview | Later]]] = {}  # link_filter's queues
        self.link_bytes: dict[str, list[int]] = {}  # peer -> [messages out, bytes out, messages in, bytes in]

    async def stop(self) -> None:
        """Stop the actor (lifecycle.py implements it)."""
        raise NotImplementedError

    def _secure(self, address: str) -> bool:
        """CURVE on this socket: the actor has keys and the address crosses a wire (tcp, ipc)."""
        return self.credentials is not None and needs_keys(address)

    def _learn_route(self, name: str, ch: Channel, rid: bytes) -> None:
        """`name` spoke on connection `rid` of our ROUTER `ch`: replies and sends to it go there.
        A newer connection takes the route only when it carries the same name, and on a secure
        ROUTER the name is the authenticated key's (ZAP): a restarted peer gets its route back,
        nobody else can take it (what ROUTER_HANDOVER did for any client claiming the name)."""
        route = (ch, rid)
        if self._router_peers.get(name) != route:
            self._router_peers[name] = route
            self._rid_name[rid] = name
            self._router_lost.pop(name, None)

    def _route_lost(self, ch: Channel, rid: bytes) -> None:
        """The connection `rid` of ROUTER `ch` is gone: its peer is lost until it speaks again."""
        name = self._rid_name.get(rid, rid.decode("utf-8", "replace"))
        route = (ch, rid)
        if self._router_peers.get(name) == route:
            del self._router_peers[name]
            self._router_lost[name] = route

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coro` as a task this actor owns: kept until done, cancelled by `stop`."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        """An internal task (a pump, a timer, a boot sequence) died: the actor would be deaf
        or half-started, so it stops on purpose and says why, rather than limp on."""
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and not self._stopping:
            self.crashed = task.exception()
            log.error("%s: internal task died, stopping the actor: %r", self.name, self.crashed)
            self._spawn(self.stop())

    def _reject(self, sender: str, reason: str, detail: str) -> None:
        self.stats.rejected[(sender, reason)] += 1
        key = ("reject", sender, reason)
        if key not in self._logged:
            self._logged.add(key)
            log.warning("%s: rejected a frame from %s: %s (%s); further ones counted, not logged",
                        self.name, sender, reason, detail[:200])

    def _drop_backlog(self, ch: Channel) -> None:
        self._backlog.pop(ch, None)
        if not self._backlog:
            self._backlog_drained.set()
