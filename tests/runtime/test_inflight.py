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
from scowl.security import Credentials, enrol_all
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


async def test_on_a_curve_socket_a_large_message_crosses_in_small_pieces(zctx, tmp_path):
    """Under CURVE libzmq's I/O thread encrypts a message into copies of its own (and frees
    ours then), one per connection: a 3 MiB delta must reach it as pieces of at most
    SEALED_PIECE_BYTES, put together byte for byte, with the frame being cut counted in flight."""
    enrol_all(tmp_path / "keys", {"tracker-0": "tracker", "population-0": "consumer"})
    sink = zctx.socket(zmq.ROUTER)
    Credentials.load(tmp_path / "keys", "population-0").server(sink, zctx)
    address = f"ipc://{tmp_path}/sink"
    sink.bind(address)
    sender = Actor("tracker-0")
    sender.credentials = Credentials.load(tmp_path / "keys", "tracker-0")
    await sender.start(zctx)
    try:
        await sender.connect("population-0", address, handshake=False)
        assert sender._links["population-0"].sealed
        deltas = [_delta(i, rows=3 * ROWS) for i in range(2)]
        for d in deltas:
            sender.send_built("population-0", functools.partial(lambda d: d, d))
        sender.send("population-0", wire.Ping(9))
        r = chunks.Reassembler()
        got: list[wire.Message] = []
        sizes: list[int] = []
        while len(got) < 3:
            _, packet = await asyncio.wait_for(sink.recv_multipart(), 20)
            sizes.append(len(packet))
            for frame in wire.decode_packet(packet):
                env, msg = wire.decode_frame(frame, "population-0")
                if isinstance(msg, chunks.Chunk):
                    whole = r.add(env.sender, msg)
                    if whole is None:
                        continue
                    env, msg = wire.decode_frame(bytes(whole), "population-0", max_bytes=chunks.MAX_MESSAGE_BYTES)
                got.append(msg)
        assert got == [*deltas, wire.Ping(9)]
        assert len(sizes) > 2 * (3 * SIZE // outbox.SEALED_PIECE_BYTES)  # every delta in pieces
        assert max(sizes) <= outbox.SEALED_PIECE_BYTES + chunks.CHUNK_OVERHEAD
        await asyncio.wait_for(sender.flush(), 20)
        assert sender.inflight.bytes == sender.inflight.cutting == 0
        assert sender.inflight.peak <= outbox.IN_FLIGHT_MAX + outbox.SEALED_PIECE_BYTES + chunks.CHUNK_OVERHEAD
    finally:
        await sender.stop()
        sink.close(linger=0)


async def test_behind_a_link_filter_s_delay_large_messages_stay_bounded_and_in_order(slow_sink):
    """A run with network latency (ny2030: a link filter delaying every tracker's message) once
    built every large message at once and handed them all to ZeroMQ when the delay ran out."""
    sender, sink = slow_sink
    sender.link_filter = lambda _sender, _to, _tick: 0.001
    n = 2 * outbox.IN_FLIGHT_MAX // SIZE + 8
    built: list[int] = []

    def build(i: int) -> wire.TreeDelta:
        built.append(i)
        return _delta(i)

    for i in range(n):
        sender.send_built("population-0", functools.partial(build, i))
    sender.send("population-0", wire.Ping(7))
    assert built == []  # waiting out the delay unbuilt
    r = chunks.Reassembler()
    got: list[wire.Message] = []
    ahead = 0
    while len(got) < n + 1:
        got += [m for _, m in await _take(sink, r)]
        for _ in range(20):
            await asyncio.sleep(0)
        ahead = max(ahead, len(built) - sum(isinstance(m, wire.TreeDelta) for m in got))
    assert got == [_delta(i) for i in range(n)] + [wire.Ping(7)]
    assert sender.inflight.peak <= outbox.IN_FLIGHT_MAX + SIZE + 1024
    assert ahead <= outbox.IN_FLIGHT_MAX // SIZE + 1 + 6 < n
