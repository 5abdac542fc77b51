"""Receiving: per-socket pumps decode packets into one mailbox, handled in arrival order.

Frames from every socket land in one mailbox; one drain at a time handles them, so
per-sender ordering holds on each channel. Past MAILBOX_MAX queued frames the pumps wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

import msgspec
import zmq

from scowl import wire
from scowl.errors import ProtocolError
from scowl.runtime import timeline
from scowl.runtime.handlers import Dispatch
from scowl.runtime.transport import DEALER, ROUTER, SUB, Channel
from scowl.security import authorize, check_values
from scowl.security.zap import UNENROLLED
from scowl.wire import chunks

log = logging.getLogger("scowl.actor")

MAILBOX_MAX = 50_000  # frames decoded but not yet handled; past this the pumps wait
YIELD_EVERY = 256  # messages handled between yields to the event loop (fairness across actors)
READ_NOW_MAX = 64  # packets taken in a socket's reader callback; the rest is left to its pump


class Mailbox(Dispatch):
    async def _pump(self, ch: Channel) -> None:
        """Move packets from one socket into the mailbox and handle the mailbox, unless
        another pump or a drain task is already handling it. The socket's reader callback
        does most of this (_read_now): the pump wakes only for what that left to do, and
        sleeps only on a settled socket (see Channel)."""
        mailbox = self._mailbox
        ch.on_readable = lambda: self._on_readable(ch)
        while True:
            if mailbox and not self._busy:
                await self._drain()
                continue
            got = None if ch.settled else self._recv(ch)
            if got is None:
                await ch.wait_woken()
                continue
            self._take(ch, *got)
            if self._busy and len(mailbox) >= MAILBOX_MAX:
                self._room.clear()
                await self._room.wait()

    def _on_readable(self, ch: Channel) -> bool:
        """The socket's reader callback (see _read_now); what its handlers sent leaves when it
        returns, not a loop iteration later."""
        self._reading = True
        try:
            return self._read_now(ch)
        except Exception as exc:  # the read itself (handlers' errors are caught in Dispatch._handle)
            # escaping, it would reach the loop's handler and the rest of the socket would wait
            # for the next edge: the actor stops on purpose instead, as when an internal task dies
            if not self._stopping:
                self.crashed = exc
                log.error("%s: reading from %s failed, stopping the actor: %r", self.name, ch.name, exc)
                self._spawn(self.stop())
            return False
        finally:
            self._reading = False
            if self._outbox and not self._flush_scheduled:
                self._flush()

    def _read_now(self, ch: Channel) -> bool:
        """Take what the socket has, at most READ_NOW_MAX packets, and
        handle it right here while nothing else is being handled (replies resolve their
        requests, requests are answered: no task wakes for either). True when the pump must
        wake: messages left in the mailbox, or packets possibly left in the socket."""
        mailbox = self._mailbox
        pending = self._pending
        budget = YIELD_EVERY  # messages handled here; the rest is the pump's (fairness)
        for _ in range(READ_NOW_MAX):
            if len(mailbox) >= MAILBOX_MAX:
                return True
            got = self._recv(ch)
            if got is None:  # settled: nothing more (or a spurious zmq.Again: the pump looks again)
                return (bool(mailbox) and not self._busy) or not ch.settled
            asked = len(pending)
            self._take(ch, *got)
            if mailbox and budget > 0 and not self._busy and not self._stopping:
                budget = self._handle_now(budget)
            if asked and not pending and not mailbox:
                # the last request outstanding was answered: its asker runs before the socket is
                # read again, so its next request leaves a ZMQ_EVENTS read sooner, and that send's
                # own read (Channel.poke) is the look, not one more (see Channel.look_again)
                ch.look_again()
                return False
        return True

    def _handle_now(self, budget: int) -> int:
        """Handle the mailbox in order, at most `budget` messages, while its handlers are
        plain functions; an async handler's awaitable goes on in a drain task, which handles
        the rest after it (the actor is busy until then). Returns the budget left."""
        mailbox = self._mailbox
        while mailbox and budget > 0:
            env, msg = mailbox.popleft()
            budget -= 1
            result = self._handle(env, msg)
            if result is not None:
                self._busy = True
                self._spawn(self._drain(result))
                return 0
        return budget

    def _recv(self, ch: Channel) -> tuple[list[zmq.Frame], str | None] | None:
        """One waiting message and, on a CURVE server ROUTER, its ZAP User-Id (the name the
        key is enrolled as); None when nothing waits."""
        if ch is self._router and self._router_secure:
            got = ch.recv_ready_user()
            if got is not None and self._router_watch is not None:
                self._router_watch.delivered(ch.src_fd, got[1])
            return got
        parts = ch.recv_frames()
        return None if parts is None else (parts, None)

    def _take(self, ch: Channel, parts: list[zmq.Frame], user: str | None = None) -> None:
        """One received ZeroMQ message: who sent it, its byte counts, then its frames."""
        kind = ch.kind
        rid: bytes | None
        if kind == ROUTER and ch is self._router and self._router_secure:  # whom the ZAP authority found the key enrolled as
            rid, sender = parts[0].bytes, user or "?unauthenticated"
        elif kind == ROUTER:  # inproc (a local ROUTER too: the runtime sets the peer's name) or insecure: the routing id the peer chose
            rid = parts[0].bytes
            sender = rid.decode("utf-8", "replace")[:64]
        elif kind == SUB:  # the publisher we subscribed to ("": not named)
            rid, sender = None, self._sub_peer.get(ch, "")
        else:  # our own link: the peer we connected to (its key pinned when secure)
            rid, sender = None, ch.name
        expected_parts = 1 if kind == DEALER else 2
        if len(parts) != expected_parts:
            self._refuse(sender, rid, ch, "malformed", f"{len(parts)} message parts, expected {expected_parts}", None)
            return
        packet = parts[-1].buffer.toreadonly()  # a view of what libzmq received: not copied
        self.stats.bytes_received += len(packet)
        link = self.link_bytes.get(sender)
        if link is None:
            link = self.link_bytes[sender] = [0, 0, 0, 0]
        link[3] += len(packet)
        line = timeline.TIMELINE
        if line is None:
            self._accept_packet(packet, sender, rid, ch)
            return
        t0 = timeline.now()
        self._accept_packet(packet, sender, rid, ch)
        line.add(t0, self.name, "decode", len(packet))

    def _accept_packet(self, packet: bytes | memoryview, sender: str, rid: bytes | None, ch: Channel) -> None:
        """Validate every frame of a packet; replies resolve their futures now (a handler
        awaiting a reply must never wait behind itself), the rest go to the mailbox.
        A large packet is not copied: its large frames decode as views of it (wire.decode_frame),
        its small ones are copied out, so a small message never keeps a large packet alive."""
        views = len(packet) >= wire.VIEW_MIN_BYTES
        try:
            frames = wire.decode_packet(packet, views=views)
        except ProtocolError as exc:
            self._refuse(sender or "?", rid, ch, exc.reason, exc.detail, None)
            return
        guards = self.guards
        for frame in frames:
            if views and len(frame) < wire.VIEW_MIN_BYTES:
                frame = bytes(frame)
            try:
                env, msg = wire.decode_frame(frame, self.name)
                if isinstance(msg, wire.Chunk):  # a piece of a message too large for one frame
                    whole = self._chunks.add(sender, msg)
                    if whole is None:
                        continue
                    env, msg = wire.decode_frame(memoryview(whole).toreadonly(), self.name, max_bytes=chunks.MAX_MESSAGE_BYTES)
                    if isinstance(msg, wire.Chunk):
                        raise ProtocolError("malformed", "a chunk inside a chunked message")
            except ProtocolError as exc:
                self._refuse(sender or "?", rid, ch, exc.reason, exc.detail, frame)
                continue
            who = env.sender
            if sender.startswith(UNENROLLED) and self.roster is not None:
                if self.roster.role(who) is None:
                    # an unenrolled key let in to join (an open bootstrap): it goes by the name it
                    # will join as, which must not be anyone's already; its key is kept for the join
                    self.unenrolled_keys[who] = sender[len(UNENROLLED):]
                    sender = who
                elif self.roster.enrolled_as(sender[len(UNENROLLED):]) == who:  # its join enrolled it since it connected
                    sender = who
            if sender and who != sender:  # the envelope names someone else than the peer it came from
                if "sender" in guards:
                    taken = " (a name the run already has: duplicate name)" if sender.startswith(UNENROLLED) else ""
                    self._refuse(sender, rid, ch, "spoofed", f"envelope says {who[:64]!r}, the connection is {sender!r}{taken}", frame,
                                 who if taken else "")
                    continue
            elif rid is not None:
                self._learn_route(who, ch, rid)
            if "values" in guards and (why := check_values(msg)) is not None:
                self._reject(who, "invalid_value", why)
                continue
            if self.roster is not None and "roles" in guards:
                refused = authorize(env.type, msg, who, self.roster)
                if refused is not None:
                    self._reject(who, refused[0], refused[1])
                    continue
            if env.reply_to and "replies" in guards:
                asked = self._asked.get(env.reply_to)
                if asked != who and not (asked is None and 0 < env.reply_to <= self._asked_floor):
                    self._reject(who, "reply_mismatch", f"a reply to request {env.reply_to}, which "
                                 + (f"went to {asked!r}" if asked else "was never asked"))
                    continue
            self.stats.received += 1
            link = self.link_bytes.get(sender)
            if link is not None:
                link[2] += 1
            if env.reply_to and env.reply_to in self._pending:
                self._resolve(env, msg)
            else:
                self._mailbox.append((env, msg))

    def _refuse(self, sender: str, rid: bytes | None, ch: Channel, reason: str, detail: str, frame: bytes | memoryview | None,
                reply_as: str = "") -> None:
        """Count a frame we could not accept and, when it came to our ROUTER, say why with a
        typed `reject`: as the reply to the request (reply_to = its seq, so the asker's request
        ends at once) when its envelope can be read and it asked; otherwise at most once per
        sender and reason, with reply_to 0. Never in answer to a reject: two peers must not
        reject each other forever."""
        self._reject(sender, reason, detail)
        if ch.kind != ROUTER or rid is None:
            return
        seq, ask, msg_type = _peek(frame)
        if msg_type == wire.Reject.TYPE or (sender.startswith(UNENROLLED) and msg_type != wire.Join.TYPE):
            return  # (an unenrolled key is told nothing but why its `join` failed)
        if not (ask and seq > 0):
            key = ("reject-sent", sender, reason)
            if key in self._logged:
                return
            self._logged.add(key)
            seq = 0
        reply = wire.encode_frame(wire.Reject(reason, detail[:500], msg_type), self.name, reply_as or sender, self._next_seq(),
                                  self.clock.tick, seq)
        self._enqueue(ch, rid, reply)

    async def _drain(self, first: Awaitable[None] | None = None) -> None:
        """The mailbox: handle messages one at a time, in arrival order; async handlers are
        awaited before the next message, and other pumps only queue meanwhile. `first`: an
        async handler's awaitable that started in the reader callback (_handle_now)."""
        mailbox = self._mailbox
        self._busy = True
        n = 0
        try:
            if first is not None:
                await first
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


def _peek(frame: bytes | memoryview | None) -> tuple[int, bool, str]:
    """(seq, ask, type) of a frame that failed to decode, as far as they can be read; (0,
    False, "") when they cannot. Only ever called on frames already refused."""
    if frame is None or len(frame) > wire.MAX_FRAME_BYTES:
        return 0, False, ""
    try:
        env = msgspec.msgpack.decode(frame)
    except Exception:
        return 0, False, ""
    if not isinstance(env, list) or len(env) < 8:
        return 0, False, ""
    seq = env[4] if type(env[4]) is int else 0
    msg_type = env[1][:64] if isinstance(env[1], str) else ""
    return seq, env[7] is True, msg_type
