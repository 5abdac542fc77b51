"""Bounded memory at the socket: a message part larger than the frame limit is dropped by
ZeroMQ (ZMQ_MAXMSGSIZE) before it is read whole, and the actor goes on serving."""

from __future__ import annotations

import asyncio
import resource

import pytest
import zmq
import zmq.asyncio
from zmq.utils.monitor import parse_monitor_message as recv_monitor_message

from scowl import wire
from scowl.actors.demo import Echo
from scowl.actors.peer import EARLY_WINDOW_TICKS, Gather, TooEarly
from scowl.runtime import Actor
from scowl.runtime.transport import MAX_MESSAGE_PART, make_socket


def test_the_socket_limit_admits_every_legal_packet():
    assert wire.MAX_FRAME_BYTES < MAX_MESSAGE_PART <= wire.MAX_FRAME_BYTES + 1024 * 1024
    ctx = zmq.Context()
    try:
        for kind in (zmq.ROUTER, zmq.DEALER, zmq.SUB, zmq.PUB):
            sock = make_socket(ctx, kind)
            assert sock.getsockopt(zmq.MAXMSGSIZE) == MAX_MESSAGE_PART
            sock.close(linger=0)
    finally:
        ctx.term()


async def test_an_oversized_message_is_dropped_unread_and_the_actor_serves_on(zctx):
    echo = Echo("echo", "tcp://127.0.0.1:*")
    await echo.start(zctx)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    raw = zctx.socket(zmq.DEALER)
    raw.linger = 0
    raw.setsockopt(zmq.ROUTING_ID, b"attacker")
    monitor = raw.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)
    raw.connect(echo.bound_address)
    big = bytes(200 * 1024 * 1024)  # 200 MB: over the limit
    await raw.send(big, copy=False)
    del big
    events = []
    async with asyncio.timeout(30):  # the receiver drops the connection as soon as the size is announced
        while zmq.EVENT_DISCONNECTED not in events:
            events.append(recv_monitor_message(await monitor.recv_multipart())["event"])  # type: ignore[arg-type]
    client = Actor("client")
    await client.start(zctx)
    await client.connect("echo", echo.bound_address)  # a Hello/Welcome round trip
    for n in range(3):
        reply = await client.request("echo", wire.Ping(n), timeout=10)
        assert isinstance(reply, wire.Pong) and reply.n == n
    assert echo.stats.bytes_received < 1024 * 1024, "the 200 MB part was never read"
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mb < 250, f"peak memory grew {grown_mb:.0f} MB"  # the sender's own 200 MB copy, not a second one
    raw.disable_monitor()
    monitor.close(linger=0)
    raw.close(linger=0)
    await client.stop()
    await echo.stop()


def test_messages_for_ticks_beyond_the_window_are_refused():
    clock = {"tick": 3}
    g = Gather(["a", "b"], "demand-report")
    g.now = lambda: clock["tick"]
    g.add(3 + EARLY_WINDOW_TICKS, "a", "ok: at the edge of the window")
    with pytest.raises(TooEarly, match="more than 16 ticks ahead of tick 3"):
        g.add(4 + EARLY_WINDOW_TICKS, "a", "one too far")
    for t in range(10_000, 10_100):  # a flood of far-future messages holds nothing
        with pytest.raises(TooEarly):
            g.add(t, "b", "x")
    assert sum(len(b) for b in g._boxes.values()) == 1
    clock["tick"] = 4
    g.add(4 + EARLY_WINDOW_TICKS, "a", "in the window now")
