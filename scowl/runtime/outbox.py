"""Sending: a message to an idle peer leaves at once; the messages that follow it to that peer
within the same event-loop iteration leave together as one packet at the end of the iteration.
(A link is idle when nothing was sent to it yet in this iteration: request/reply with one
request outstanding pays no loop iteration of delay on either side, and bursts still coalesce.)
What a socket's reader callback sends leaves when the callback returns, and a `request` to an
idle link leaves alone: neither spends a loop iteration on a flush (a round trip with one
request outstanding takes 3 loop iterations of both ends together; raw pyzmq asyncio takes 4).

A full socket queues packets in a bounded per-socket backlog drained by an owned task;
`flush` waits (on an event, not a poll) until every backlog is handed to its socket.
"""

from __future__ import annotations

import asyncio
import collections

import zmq

from scowl import wire
from scowl.errors import ActorError
from scowl.runtime.core import ActorCore
from scowl.runtime.transport import Channel
from scowl.wire import chunks, codec

PACKET_MAX_FRAMES = 1024  # frames coalesced into one packet at most
PACKET_ALONE_BYTES = 64 * 1024  # a frame this large goes as a packet of its own (at most; see _alone_bytes)
BACKLOG_MAX = 200_000  # frames waiting on a blocked socket; past this sends are dropped and counted
ASKED_MAX = 8192  # requests remembered (seq -> peer): a reply must come from the peer asked


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
        frame: bytes | memoryview
        frames: list[bytes | memoryview]
        if isinstance(msg, wire.Batch) and msg.nbytes >= _alone_bytes():
            # a packet of its own: packed as it is encoded, in one buffer (see wire.encode_alone)
            packet, frame = wire.encode_alone(msg, self.name, to, seq, self.clock.tick, reply_to, ask)
            frames = [packet]
        else:
            frame = wire.encode_frame(msg, self.name, to, seq, self.clock.tick, reply_to, ask)
            frames = [frame]
        if chunks.needs_chunks(frame):  # too large for one frame: it crosses in pieces, put together by the receiver
            frames = [wire.encode_alone(piece, self.name, to, self._next_seq(), self.clock.tick)[0]
                      for piece in chunks.split(frame, seq, self.name, to)]
        del frame
        ch = self._links.get(to)
        rid: bytes | None = None
        if ch is None and (route := self._router_peers.get(to) or self._router_lost.get(to)) is not None:
            ch, rid = route  # a lost peer is tried again: it may have reconnected (insecure: ROUTER_HANDOVER)
        if ch is None:
            raise ActorError(f"{self.name}: no route to {to!r} (connect to it, or wait for it to connect)")
        if ask:
            self._remember_ask(seq, to)
        if self.link_filter is not None:
            delay = self.link_filter(self.name, to, self.clock.tick)
            if delay is None:
                self.stats.dropped += 1
                return seq
            if delay > 0:  # a per-link FIFO delay queue: jitter never reorders a link
                loop = asyncio.get_running_loop()
                release = max(loop.time() + delay, self._link_release.get(to, 0.0))
                self._link_release[to] = release
                queue = self._delayed.setdefault(to, collections.deque())
                if not queue:
                    loop.call_at(release, self._release_link, to)
                queue.extend((release, ch, rid, f) for f in frames)
                return seq
        alone = alone and len(frames) == 1
        for f in frames:
            self._enqueue(ch, rid, f, alone)
        return seq

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
        """One frame for a link (a memoryview: a packet already, see send)."""
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
        if type(frame) is memoryview or len(frame) >= _alone_bytes():  # a packet of its own, after what waits (order kept)
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

    def _transmit(self, ch: Channel, rid: bytes | None, frames: list[bytes] | list[bytes | memoryview], poke: bool = False) -> None:
        """Frames leave as one packet (one memoryview: a packet already, see send)."""
        if ch.closed:
            return
        first = frames[0]
        packet = first if len(frames) == 1 and type(first) is memoryview else wire.encode_packet(frames)  # type: ignore[arg-type]
        self.stats.bytes_sent += len(packet)
        peer = ch.name if rid is None else self._rid_name.get(rid) or rid.decode("utf-8", "replace")
        link = self.link_bytes.get(peer)
        if link is None:
            link = self.link_bytes[peer] = [0, 0, 0, 0]
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
            if ch.try_send(parts, poke=poke):  # poke=False: _flush pokes it, and every other transmit is followed by one
                self.stats.sent += len(frames)
                return
        except zmq.ZMQError as exc:
            if exc.errno != zmq.EHOSTUNREACH:
                raise
            self.stats.unroutable += len(frames)
            if rid is not None:  # only a ROUTER (ROUTER_MANDATORY) says a peer is unreachable
                self._route_lost(ch, rid)
            return
        self._backlog[ch] = collections.deque([(parts, len(frames))])
        self._backlog_drained.clear()
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
                    if len(parts) == 2 and isinstance(rid := parts[0], bytes):  # through the ROUTER: [routing id, packet]
                        self._route_lost(ch, rid)
                backlog.popleft()
        finally:
            if not backlog or ch.closed:
                self._drop_backlog(ch)

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
