"""What libzmq refuses before any frame reaches the runtime, counted from a CURVE server
socket's monitor events. libzmq 4.3 says no more than these, so this is what can be counted:

    no_curve   a client without CURVE (a plain socket) at a CURVE server: its handshake fails on
               the mechanism (ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH). It has no key, hence no
               name: its sender is "?plain".
    handshake  any other handshake that failed: a protocol error (malformed or undecryptable
               handshake commands), or the client hanging up mid-handshake (EVENT_HANDSHAKE_FAILED_
               NO_DETAIL: what a plain socket does when it is the first to see the mechanisms
               differ, about as often as not; or a client that does not trust our key): sender
               "?handshake".
    dropped    a connection libzmq closed under a live peer (ROUTER sockets only): what it does to
               a frame over ZMQ_MAXMSGSIZE (the 400 MB frame: dropped before it is read whole), to
               a stream it cannot decode, and to a client silent past HEARTBEAT_TIMEOUT (stalled,
               or a cut link). libzmq reports all that only as EVENT_DISCONNECTED, the same event
               as a peer hanging up or dying, so what is counted is what tells them apart: the
               connection closed before it delivered a single message (a Scowl peer always says
               Hello first; sender "?connection"), or its peer completed a new handshake with us
               within GRACE_S after the close (a client cut off reconnects at once; one that hung
               up or died does not; sender: the peer's name). Counted too, wrongly: a peer that
               restarts within GRACE_S (a scowl-node takes longer here), or that opened a second
               connection just before its first closed.

An unenrolled key (EVENT_HANDSHAKE_FAILED_AUTH) is counted by the ZAP authority under its key
(zap.py), not here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import zmq
from zmq.utils.monitor import parse_monitor_message

EVENTS = (zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
          | zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
# a cut client is back within this (reconnect in 0.1 s; 1.4 s was seen at load 12 after a 400 MB frame),
# and a closed connection's last messages have been read by then
GRACE_S = 3.0
EARLY_S = 0.5  # the reconnect's handshake may be seen before the close's event is read: by this much at most

Count = Callable[[str, str, str], None]  # (sender, reason, detail)


class _Conn:
    __slots__ = ("first", "peer")

    def __init__(self) -> None:
        self.first: float | None = None  # when its first message came (monotonic)
        self.peer: str | None = None  # the authenticated peer it carried (ZAP User-Id)


class ConnectionWatch:
    """The monitor of one server socket (a ROUTER: every count; a PUB: handshakes only)."""

    def __init__(self, sock: zmq.Socket[bytes], count: Count, *, drops: bool,
                 got_in_since: Callable[[str, float], bool] | None = None) -> None:
        self.count = count
        self.drops = drops
        self.got_in_since = got_in_since  # (peer, since): a handshake of that peer at our servers after since
        address = f"inproc://monitor.s-{sock.FD}-{id(sock):x}"
        sock.monitor(address, EVENTS)
        self.monitor: zmq.Socket[bytes] = sock.context.socket(zmq.PAIR, socket_class=zmq.Socket)  # a plain socket,
        self.monitor.connect(address)  # even in an asyncio context: the runtime reads it without awaiting
        self._sock = sock
        self._conns: dict[int, _Conn] = {}  # fd -> the connection accepted on it
        self._closing: dict[int, _Conn] = {}  # closed, its last messages may still be read
        self._failed = 0  # handshakes failed whose connection's close is still to come
        self._timers: list[asyncio.TimerHandle] = []

    def delivered(self, fd: int, peer: str | None) -> None:
        """A message came from `peer` on the connection on `fd` (its SRCFD)."""
        conn = self._conns.get(fd) or self._closing.get(fd)
        if conn is None:  # read before its EVENT_ACCEPTED was
            conn = self._conns[fd] = _Conn()
        if conn.first is None:
            conn.first, conn.peer = time.monotonic(), peer

    def on_event(self, parts: list[bytes]) -> None:
        ev = parse_monitor_message(parts)
        event, value = ev["event"], ev["value"]
        if event == zmq.EVENT_ACCEPTED:  # (its first messages may have been read before this event)
            self._conns.setdefault(value, _Conn())
        elif event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
            self._failed += 1
            if value == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
                self.count("?plain", "no_curve", "a client without CURVE at a CURVE server: handshake refused")
            else:
                self.count("?handshake", "handshake", f"handshake protocol error {value:#x} (libzmq ZMQ_PROTOCOL_ERROR_*)")
        elif event == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            self._failed += 1
            self.count("?handshake", "handshake", f"the client hung up mid-handshake (errno {value}): a plain socket, "
                       "or a client that does not trust our key")
        elif event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            self._failed += 1  # ZAP counted the unenrolled key
        elif event == zmq.EVENT_DISCONNECTED:
            conn = self._conns.pop(value, None)
            if conn is None:
                return
            if conn.first is None and self._failed:  # the close of a failed handshake (counted above, or by ZAP)
                self._failed -= 1
                return
            if self.drops:
                self._closing[value] = conn
                self._timers.append(asyncio.get_running_loop().call_later(GRACE_S, self._closed, value, conn,
                                                                          time.monotonic()))

    def _closed(self, fd: int, conn: _Conn, closed_at: float) -> None:
        if self._closing.get(fd) is conn:
            del self._closing[fd]
        if conn.first is None:
            self.count("?connection", "dropped", "a connection closed before it delivered any message: a frame over "
                       "ZMQ_MAXMSGSIZE, an undecodable stream or missed heartbeats (libzmq reports only the disconnect)")
        elif conn.peer is not None and self.got_in_since is not None and \
                self.got_in_since(conn.peer, max(conn.first, closed_at - EARLY_S)):
            self.count(conn.peer, "dropped", "its connection was closed under it and it reconnected at once: a frame "
                       "over ZMQ_MAXMSGSIZE, an undecodable stream or missed heartbeats (libzmq reports only the disconnect)")

    def close(self) -> None:
        for handle in self._timers:
            handle.cancel()
        if not self._sock.closed:
            try:
                self._sock.disable_monitor()
            except zmq.ZMQError:
                pass
        self.monitor.close(linger=0)
