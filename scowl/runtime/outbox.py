"""Sending: a message to an idle peer leaves at once; the messages that follow it to that peer
within the same event-loop iteration leave together as one packet at the end of the iteration.
(A link is idle when nothing was sent to it yet in this iteration: request/reply with one
request outstanding pays no loop iteration of delay on either side, and bursts still coalesce.)
What a socket's reader callback sends leaves when the callback returns, and a `request` to an
idle link leaves alone: neither spends a loop iteration on a flush (a round trip with one
request outstanding takes 3 loop iterations of both ends together; raw pyzmq asyncio takes 4).

A full socket queues packets in a bounded per-socket backlog drained by an owned task;
`flush` waits (on an event, not a poll) until every backlog is handed to its socket.

Large messages with bounded bytes in flight (`send_built`, and the pieces of a chunked message):
on a socket whose bytes leave the process, such a message is built, encoded and handed to
ZeroMQ only when this actor holds at most IN_FLIGHT_MAX bytes that ZeroMQ has not yet written
out (scowl.runtime.inflight): at once when there is room (a round of an ordinary tick leaves
inside its handler, as `send` sends), else in turn on the socket's backlog, so a tracker's
tick-0 round (60 MB of Assigns and tree deltas for 2.6 M consumers) is never held whole. Nothing
is dropped: what is sent after such a message on the same socket waits behind it. A link filter's
delay (network latency) holds such a message unbuilt, then it takes its turn the same way. On a
CURVE socket it crosses in chunk pieces of at most SEALED_PIECE_BYTES (see there).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Iterator

import zmq

from scowl import wire
from scowl.errors import ActorError
from scowl.runtime.core import ActorCore, Later, Queued
from scowl.runtime.inflight import Pieces
from scowl.runtime.transport import Channel
from scowl.wire import chunks, codec

log = logging.getLogger("scowl.actor")

PACKET_MAX_FRAMES = 1024  # frames coalesced into one packet at most
PACKET_ALONE_BYTES = 64 * 1024  # a frame this large goes as a packet of its own (at most; see _alone_bytes)
BACKLOG_MAX = 200_000  # frames waiting on a blocked socket; past this sends are dropped and counted
ASKED_MAX = 8192  # requests remembered (seq -> peer): a reply must come from the peer asked
#: bytes of large packets (send_built, chunk pieces) an actor holds handed to ZeroMQ and not yet
#: written out, past which it builds no next one (it holds at most this + one packet)
IN_FLIGHT_MAX = 4 * 1024 * 1024
#: on a CURVE socket a large message sent with bounded bytes in flight crosses as chunk pieces of
#: at most this many bytes: libzmq's I/O thread encrypts a message into copies of its own (~4x it
#: while encrypting, 1x until written), one per connection, and frees ours then, so what it holds
#: past IN_FLIGHT_MAX is one piece per connection, not one whole message (a 5 MB Assign)
SEALED_PIECE_BYTES = 256 * 1024


def _alone_bytes() -> int:
    """Frames at least this large go as packets of their own; smaller ones coalesce, at most
    PACKET_MAX_FRAMES to a packet, so a packet never outgrows the frame limit."""
    return min(PACKET_ALONE_BYTES, codec.MAX_FRAME_BYTES // (2 * PACKET_MAX_FRAMES))


class Outbox(ActorCore):
    def send(self, to: str, msg: wire.Message, *, reply_to: int = 0, ask: bool = False, alone: bool = False) -> int:
        """Send a message to a peer; never blocks. Messages to one peer within one event-loop
        iteration leave together as one packet; a full socket queues them in a bounded
        backlog. Returns the sequence number. ActorError when there is no route to `to`.
        `alone`: to an idle link, the message leaves without opening a packet for what
        follows it in this iteration (the caller awaits right after, as `request` does: no
        flush to schedule, so no loop iteration spent on one)."""
        seq = self._next_seq()
        ch, rid = self._route(to)
        self._send_as(to, msg, seq, ch, rid, reply_to, ask, alone)
        if ask:  # (after: nothing is read before this returns, and the send is on the latency path)
            self._remember_ask(seq, to)
        return seq

    def send_built(self, to: str, build: Callable[[], wire.Message]) -> int:
        """Send the message `build()` makes (a large one: a round's Assign, a tree delta). On a
        socket whose bytes leave the process it is built now, and sent as `send` does, while
        this actor holds at most IN_FLIGHT_MAX bytes of large packets ZeroMQ has not written
        out yet and nothing waits on that socket; else it waits its turn on the socket's
        backlog and is built when that comes and the bytes in flight allow (inproc: built and
        sent at once). A link filter decides once, now: dropped, sent as above, or delayed (the
        message waits in the link's delay queue unbuilt, then takes its turn on the socket as
        above). Its envelope's sequence number and tick are taken now; it reaches `to` after
        what was sent to it before and before what is sent after. Returns the sequence number.
        ActorError when there is no route to `to`."""
        seq = self._next_seq()
        ch, rid = self._route(to)
        if not ch.leaves:
            return self._send_as(to, build(), seq, ch, rid)
        delay = 0.0
        if self.link_filter is not None:
            if (filtered := self.link_filter(self.name, to, self.clock.tick)) is None:
                self.stats.dropped += 1
                return seq
            delay = filtered
        most = SEALED_PIECE_BYTES if ch.sealed else None
        if delay == 0 and ch not in self._backlog and self.inflight.room(IN_FLIGHT_MAX):
            return self._send_as(to, build(), seq, ch, rid, held=True, most=most)
        later = Later(rid, to, self._built(build, to, seq, self.clock.tick, most))
        if delay == 0:
            self._defer(ch, rid, later)
        else:
            self._delay(to, delay, [(ch, rid, later)])
        return seq

    def _send_as(self, to: str, msg: wire.Message, seq: int, ch: Channel, rid: bytes | None,
                 reply_to: int = 0, ask: bool = False, alone: bool = False, held: bool = False,
                 most: int | None = None) -> int:
        """`send`, its sequence number and route taken. `held`: a packet of its own is counted
        in flight (scowl.runtime.inflight) until ZeroMQ lets go of it (send_built: the link
        filter has had its say). `most`: a frame over this many bytes crosses in pieces of at
        most that (else only one over the frame limit)."""
        item, frame = self._encode(msg, to, seq, self.clock.tick, reply_to, ask)
        del msg
        if not chunks.needs_chunks(frame, most):
            del frame
            if held and type(item) is memoryview:
                item = self.inflight.hold(item)  # type: ignore[assignment]
            return self._route_frames(to, seq, ch, rid, [item], alone, filtered=held)
        del item
        # too large for one frame (or for `most`): it crosses in pieces, put together by the receiver
        pieces = chunks.split(frame, seq, self.name, to, most)
        del frame  # (the pieces are views of it)
        seqs = [self._next_seq() for _ in pieces]
        if held or (ch.leaves and self.link_filter is None):  # each piece encoded when the bytes in flight allow
            self._defer(ch, rid, Later(rid, to, Pieces(pieces, self.name, to, seqs, self.clock.tick, self.inflight)))
            return seq
        return self._route_frames(to, seq, ch, rid, list(Pieces(pieces, self.name, to, seqs, self.clock.tick)), alone)

    def _encode(self, msg: wire.Message, to: str, seq: int, tick: int, reply_to: int = 0,
                ask: bool = False) -> tuple[bytes | memoryview, bytes | memoryview]:
        """(what the outbox takes, the frame): a large batch as a packet of its own, packed as
        it is encoded, in one buffer (see wire.encode_alone); anything else as its frame."""
        if isinstance(msg, wire.Batch) and msg.nbytes >= _alone_bytes():
            return wire.encode_alone(msg, self.name, to, seq, tick, reply_to, ask)
        frame = wire.encode_frame(msg, self.name, to, seq, tick, reply_to, ask)
        return frame, frame

    def _built(self, build: Callable[[], wire.Message], to: str, seq: int, tick: int,
               most: int | None = None) -> Iterator[bytes | memoryview]:
        """The packets of a deferred message, each made when the drain asks for it (a small
        one as a packet of its one frame; a chunked one piece by piece)."""
        item, frame = self._encode(build(), to, seq, tick)
        if not chunks.needs_chunks(frame, most):
            del frame
            yield item if type(item) is memoryview else wire.encode_packet([item])
            return
        del item
        pieces = chunks.split(frame, seq, self.name, to, most)
        del frame
        yield from Pieces(pieces, self.name, to, [self._next_seq() for _ in pieces], tick, self.inflight)

    def _route(self, to: str) -> tuple[Channel, bytes | None]:
        """The socket (and routing id, through a ROUTER) a message to `to` leaves on."""
        ch = self._links.get(to)
        rid: bytes | None = None
        if ch is None and (route := self._router_peers.get(to) or self._router_lost.get(to)) is not None:
            ch, rid = route  # a lost peer is tried again: it may have reconnected (insecure: ROUTER_HANDOVER)
        if ch is None:
            raise ActorError(f"{self.name}: no route to {to!r} (connect to it, or wait for it to connect)")
        return ch, rid

    def _route_frames(self, to: str, seq: int, ch: Channel, rid: bytes | None, frames: list[bytes | memoryview], alone: bool,
                      filtered: bool = False) -> int:
        """A message's frames to their link: through the link filter (unless `filtered`), then the outbox."""
        if self.link_filter is not None and not filtered:
            delay = self.link_filter(self.name, to, self.clock.tick)
            if delay is None:
                self.stats.dropped += 1
                return seq
            if delay > 0:
                self._delay(to, delay, [(ch, rid, f) for f in frames])
                return seq
        alone = alone and len(frames) == 1
        for f in frames:
            self._enqueue(ch, rid, f, alone)
        return seq

    def _delay(self, to: str, delay: float, items: list[tuple[Channel, bytes | None, bytes | memoryview | Later]]) -> None:
        """Into the link's FIFO delay queue (the link filter's): jitter never reorders a link."""
        loop = asyncio.get_running_loop()
        release = max(loop.time() + delay, self._link_release.get(to, 0.0))
        self._link_release[to] = release
        queue = self._delayed.setdefault(to, collections.deque())
        if not queue:
            loop.call_at(release, self._release_link, to)
        queue.extend((release, ch, rid, f) for ch, rid, f in items)

    def _release_link(self, to: str) -> None:
        """The delayed frames to `to` that are due leave, in the order they were sent. One
        timer per link at a time: timers due at the same moment need not run in the order they
        were set (asyncio's heap is not stable), which put a chunked message's pieces out of order."""
        queue = self._delayed.get(to)
        if not queue:
            return
        due = queue[0][0]
        while queue and queue[0][0] <= due:
            _, ch, rid, f = queue.popleft()
            if isinstance(f, Later):  # a send_built message: built in its turn on the socket
                self._defer(ch, rid, f)
            else:
                self._enqueue(ch, rid, f)
        if queue:
            asyncio.get_running_loop().call_at(queue[0][0], self._release_link, to)
        else:
            del self._delayed[to]

    def _remember_ask(self, seq: int, to: str) -> None:
        asked = self._asked
        asked[seq] = to
        if len(asked) > ASKED_MAX:
            self._asked_floor = next(iter(asked))
            del asked[self._asked_floor]

    def _enqueue(self, ch: Channel, rid: bytes | None, frame: bytes | memoryview, alone: bool = False) -> None:
        """One frame for a link (a memoryview, or a numpy view held in flight: a packet already, see send)."""
        key = (ch, rid)
        out = self._outbox.get(key)
        if out is None:
            if alone:
                self._transmit(ch, rid, [frame], poke=True)
                return
            # an idle link: the frame leaves now; an (empty) outbox entry marks the link busy
            # for the rest of this iteration, so what follows coalesces until the flush (in a
            # socket's reader callback: until the callback returns, see Mailbox._on_readable)
            self._outbox[key] = []
            if not self._flush_scheduled and not self._reading:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)
            self._transmit(ch, rid, [frame])
            return
        if type(frame) is not bytes or len(frame) >= _alone_bytes():  # a packet of its own, after what waits (order kept)
            if out:
                self._outbox[key] = []
                self._transmit(ch, rid, out)
            self._transmit(ch, rid, [frame])
            return
        out.append(frame)  # bytes: a memoryview went alone above
        if len(out) >= PACKET_MAX_FRAMES:
            self._outbox[key] = []
            self._transmit(ch, rid, out)

    def _flush(self) -> None:
        """What waits in the outbox leaves; then every channel sent to in this iteration is
        poked (once, not once per send: see Channel.poke)."""
        self._flush_scheduled = False
        outbox, self._outbox = self._outbox, {}
        for (ch, rid), frames in outbox.items():
            if frames:
                self._transmit(ch, rid, frames)
            ch.poke()

    def _count(self, ch: Channel, rid: bytes | None, frames: int, nbytes: int) -> None:
        self.stats.bytes_sent += nbytes
        peer = ch.name if rid is None else self._rid_name.get(rid) or rid.decode("utf-8", "replace")
        link = self.link_bytes.get(peer)
        if link is None:
            link = self.link_bytes[peer] = [0, 0, 0, 0]
        link[0] += frames
        link[1] += nbytes

    def _transmit(self, ch: Channel, rid: bytes | None, frames: list[bytes] | list[bytes | memoryview], poke: bool = False) -> None:
        """Frames leave as one packet (one memoryview or held numpy view: a packet already, see send)."""
        if ch.closed:
            return
        first = frames[0]
        packet = first if len(frames) == 1 and type(first) is not bytes else wire.encode_packet(frames)  # type: ignore[arg-type]
        parts = [packet] if rid is None else [rid, packet]
        backlog = self._backlog.get(ch)
        if backlog is not None:
            self._count(ch, rid, len(frames), len(packet))
            if len(backlog) >= BACKLOG_MAX:
                self.stats.dropped += len(frames)
                return
            backlog.append((parts, len(frames)))
            return
        try:
            sent = ch.try_send(parts, poke=poke)  # poke=False: _flush pokes it, and every other transmit is followed by one
        except zmq.ZMQError as exc:
            self._count(ch, rid, len(frames), len(packet))
            if exc.errno != zmq.EHOSTUNREACH:
                raise
            self.stats.unroutable += len(frames)
            if rid is not None:  # only a ROUTER (ROUTER_MANDATORY) says a peer is unreachable
                self._route_lost(ch, rid)
            return
        self._count(ch, rid, len(frames), len(packet))  # (counted after the send: it is on the latency path)
        if sent:
            self.stats.sent += len(frames)
            return
        self._queue(ch, (parts, len(frames)))

    def _queue(self, ch: Channel, item: Queued) -> None:
        """`item` after what waits on `ch`; the first starts the socket's backlog and its drain."""
        backlog = self._backlog.get(ch)
        if backlog is not None:
            backlog.append(item)
            return
        self._backlog[ch] = collections.deque([item])
        self._backlog_drained.clear()
        self._spawn(self._drain_backlog(ch))

    def _defer(self, ch: Channel, rid: bytes | None, later: Later) -> None:
        """A message made packet by packet as the bytes in flight allow, in turn on its socket."""
        key = (ch, rid)
        out = self._outbox.get(key)
        if out:  # what was sent to this peer before, in this iteration, leaves first
            self._outbox[key] = []
            self._transmit(ch, rid, out)
        self._queue(ch, later)

    async def _drain_backlog(self, ch: Channel) -> None:
        backlog = self._backlog[ch]
        begun: Later | None = None  # the message whose packets are being made (its next piece waits for packets only)
        try:
            while backlog and not ch.closed:
                head = backlog[0]
                if not isinstance(head, Later):
                    parts, n = head
                    if not await self._send_queued(ch, parts, n):
                        break
                    backlog.popleft()
                    continue
                # a message whose frame is built (being cut) waits for the packets alone
                await self.inflight.wait_room(IN_FLIGHT_MAX, pieces=head is begun or isinstance(head.packets, Pieces))
                if ch.closed:
                    break
                packet = self._next_packet(head)
                if packet is None:
                    backlog.popleft()
                    begun = None
                    continue
                begun = head
                self._count(ch, head.rid, 1, len(packet))
                held: bytes | memoryview = self.inflight.hold(packet) if len(packet) >= _alone_bytes() else packet  # type: ignore[assignment]
                del packet
                parts = [held] if head.rid is None else [head.rid, held]
                del held  # (counted in flight until libzmq lets go of it: no reference of ours may keep it)
                if not await self._send_queued(ch, parts, 1):
                    break
                del parts
        finally:
            if not backlog or ch.closed:
                self._drop_backlog(ch)

    def _next_packet(self, later: Later) -> bytes | memoryview | None:
        """The next packet of a deferred message (built now); None when it has no more."""
        try:
            return next(later.packets, None)
        except Exception:
            self.stats.failed += 1
            log.exception("%s: building a message for %s failed; it is not sent", self.name, later.to)
            return None

    async def _send_queued(self, ch: Channel, parts: list[bytes | memoryview], n: int) -> bool:
        """Send one queued packet (n frames), awaiting room on the socket; False when the
        socket was closed under us (relink): what was queued is dropped."""
        try:
            await ch.send(parts)
            self.stats.sent += n
        except zmq.ZMQError as exc:
            if ch.closed:
                return False
            if exc.errno != zmq.EHOSTUNREACH:
                raise
            self.stats.unroutable += n
            if len(parts) == 2 and isinstance(rid := parts[0], bytes):  # through the ROUTER: [routing id, packet]
                self._route_lost(ch, rid)
        return True

    async def flush(self) -> None:
        """Wait until every message sent so far has been handed to its socket."""
        if self._outbox:
            self._flush()
        while self._backlog:
            await self._backlog_drained.wait()

    def publish(self, msg: wire.Message) -> None:
        """Broadcast on our PUB socket (bind_pub first). PUB drops at its high-water mark."""
        if self._pub is None:
            raise ActorError(f"{self.name}: publish before bind_pub")
        frame = wire.encode_frame(msg, self.name, wire.BROADCAST, self._next_seq(), self.clock.tick)
        if self._pub.try_send([msg.TYPE.encode(), wire.encode_packet([frame])]):
            self.stats.published += 1
        else:
            self.stats.dropped += 1
