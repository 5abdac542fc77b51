"""Large messages with bounded bytes in flight (Outbox.send_built, chunked pieces): over a real
ipc socket to a receiver that reads only when the test says so (receive high-water mark 1),
the sender builds its next large message only once ZeroMQ has written out what it holds, so it
never runs far ahead of the receiver, and the receiver still gets every message, piece and the
small messages around them, in the order sent."""

from __future__ import annotations

import asyncio
import functools

import numpy as np
import pytest
import zmq

from scowl import wire
from scowl.runtime import Actor, outbox
from scowl.wire import chunks, codec

ROWS = 128 * 1024  # a tree delta of 1 MiB (compact: 8 bytes a row)
SIZE = ROWS * 8


def _delta(i: int, rows: int = ROWS) -> wire.TreeDelta:
    lo = np.arange(i, i + rows, dtype=np.uint32)
    return wire.TreeDelta.pack_compact(hi=7, lo=lo, gen_ids=np.full(rows, i, dtype=np.int32), tick=i)


@pytest.fixture
async def slow_sink(zctx, tmp_path):
    """A raw ROUTER that holds one message in its queue at most: libzmq stops reading the
    connection until the test takes it (so the sender's bytes stay in the sender)."""
    sink = zctx.socket(zmq.ROUTER)
    sink.rcvhwm = 1
    sink.setsockopt(zmq.RCVBUF, 64 * 1024)
    address = f"ipc://{tmp_path}/sink"
    sink.bind(address)
    sender = Actor("tracker-0")
    await sender.start(zctx)
    await sender.connect("population-0", address, handshake=False)
    assert sender._links["population-0"].leaves
    yield sender, sink
    await sender.stop()
    sink.close(linger=0)


async def _take(sink, reassembler: chunks.Reassembler) -> list[tuple[wire.Envelope, wire.Message]]:
    """One packet from the sink, decoded (chunk pieces put together as an actor does)."""
    _, packet = await asyncio.wait_for(sink.recv_multipart(), 20)
    out = []
    for frame in wire.decode_packet(packet):
        env, msg = wire.decode_frame(frame, "population-0")
        if isinstance(msg, chunks.Chunk):
            whole = reassembler.add(env.sender, msg)
            if whole is None:
                continue
            env, msg = wire.decode_frame(bytes(whole), "population-0", max_bytes=chunks.MAX_MESSAGE_BYTES)
        out.append((env, msg))
    return out


async def test_a_slow_receiver_gets_every_large_message_in_order_while_the_sender_holds_a_bounded_few(slow_sink):
    sender, sink = slow_sink
    n = 3 * outbox.IN_FLIGHT_MAX // SIZE + 8  # three times the bound, and more
    built: list[int] = []

    def build(i: int) -> wire.TreeDelta:
        built.append(i)
        return _delta(i)

    sender.send("population-0", wire.Ping(1))  # small messages before, between and after keep their places
    for i in range(n):
        sender.send_built("population-0", functools.partial(build, i))
        if i == n // 2:
            sender.send("population-0", wire.Ping(2))
    sender.send("population-0", wire.Ping(3))
    assert 0 < len(built) <= outbox.IN_FLIGHT_MAX // SIZE + 1  # built at once while there is room, the rest waits its turn
    got: list[wire.Message] = []
    r = chunks.Reassembler()
    ahead = 0
    while len(got) < n + 3:
        got += [m for _, m in await _take(sink, r)]
        for _ in range(20):  # the sender gets every chance to run ahead
            await asyncio.sleep(0)
        ahead = max(ahead, len(built) - sum(isinstance(m, wire.TreeDelta) for m in got))
    expect = [wire.Ping(1)] + [_delta(i) for i in range(n // 2 + 1)] + [wire.Ping(2)] + [_delta(i) for i in range(n // 2 + 1, n)] + [wire.Ping(3)]
    assert got == expect
    assert built == list(range(n))
    # what the sender held handed to ZeroMQ: the bound and the one packet past it
    assert sender.inflight.packets == n
    assert outbox.IN_FLIGHT_MAX - SIZE < sender.inflight.peak <= outbox.IN_FLIGHT_MAX + SIZE + 1024
    # built ahead of what was read: what the sender holds, plus what libzmq's pipes and the
    # kernel's socket buffers hold between the two (a few); an unbounded sender is n ahead at once
    assert ahead <= outbox.IN_FLIGHT_MAX // SIZE + 1 + 6 < n
    await asyncio.wait_for(sender.flush(), 20)
    assert sender.inflight.bytes == 0 and sender.stats.dropped == sender.stats.failed == 0


async def test_a_chunked_message_crosses_piece_by_piece_within_the_bound(slow_sink, monkeypatch):
    sender, sink = slow_sink
    monkeypatch.setattr(codec, "MAX_FRAME_BYTES", 256 * 1024)  # a 4 MiB delta crosses in ~16 pieces
    big = _delta(5, rows=4 * ROWS)
    sender.send("population-0", big)
    sender.send("population-0", wire.Ping(4))
    r = chunks.Reassembler()
    got: list[tuple[wire.Envelope, wire.Message]] = []
    while len(got) < 2:
        got += await _take(sink, r)
    (env, msg), (_, after) = got
    assert msg == big and after == wire.Ping(4) and env.sender == "tracker-0"
    assert sender.inflight.packets > 10
    assert sender.inflight.peak <= outbox.IN_FLIGHT_MAX + 256 * 1024
