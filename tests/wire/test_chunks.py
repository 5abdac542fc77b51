"""Messages larger than the frame limit cross in chunks and are put together again, over real
sockets (a tiny frame limit makes a 50,000-row batch need dozens); forged chunk sequences are
rejected and counted, never crash the receiver."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from scowl import wire
from scowl.errors import ProtocolError
from scowl.runtime import Actor, on
from scowl.wire import chunks, codec

TINY = 16 * 1024


@pytest.fixture
def tiny_frames(monkeypatch):
    monkeypatch.setattr(codec, "MAX_FRAME_BYTES", TINY)


def _report(n: int, tick: int = 3) -> wire.DemandReport:
    ids = np.zeros(n, dtype=wire.CONSUMER_ID_DTYPE)
    ids["hi"] = 7
    ids["lo"] = np.arange(n, dtype=np.uint64) * 3
    return wire.DemandReport.pack(tick=tick, ids=ids, demand_mw=np.linspace(0, 1, n, dtype=np.float32))


# ---------------------------------------------------------------- pure


def test_split_and_put_together(tiny_frames):
    frame = wire.encode_frame(_report(20_000), "population-0", "tracker-0", 41)
    assert len(frame) > TINY
    pieces = chunks.split(frame, 41, "population-0", "tracker-0")
    assert len(pieces) > 20
    r = chunks.Reassembler()
    out = None
    for i, piece in enumerate(pieces):
        f = wire.encode_frame(piece, "population-0", "tracker-0", 100 + i)
        assert len(wire.encode_packet([f])) <= TINY  # each piece fits a frame, packed alone
        _, msg = wire.decode_frame(f, "tracker-0")
        out = r.add("population-0", msg)
        assert (out is None) == (i < len(pieces) - 1)
    assert bytes(out) == frame and len(r) == 0
    env, msg = wire.decode_frame(out, "tracker-0", max_bytes=chunks.MAX_MESSAGE_BYTES)
    assert env.seq == 41 and msg == _report(20_000)


def _pieces(n=20_000):
    frame = wire.encode_frame(_report(n), "a", "b", 9)
    return [wire.decode_frame(wire.encode_frame(p, "a", "b", 1), "b")[1] for p in chunks.split(frame, 9, "a", "b")]


@pytest.mark.parametrize("forge", ["skip", "no_first", "restart", "size_lie", "too_big", "other_whole", "one_piece"])
def test_forged_sequences_are_malformed(tiny_frames, forge):
    pieces = _pieces()
    r = chunks.Reassembler(max_bytes=10 * 1024 * 1024)
    p0 = pieces[0]
    if forge == "skip":
        seq = [p0, pieces[2]]
    elif forge == "no_first":
        seq = [pieces[1]]
    elif forge == "restart":
        seq = [p0, pieces[1], p0]
    elif forge == "size_lie":  # announces fewer bytes than the pieces bring
        seq = [wire.Chunk(p.whole, p.index, p.count, 100, p.data) for p in pieces[:1]] + [pieces[1]]
    elif forge == "too_big":
        seq = [wire.Chunk(p0.whole, 0, p0.count, 11 * 1024 * 1024, p0.data)]
    elif forge == "other_whole":
        seq = [p0, wire.Chunk(p0.whole + 1, 1, p0.count, p0.size, pieces[1].data)]
    else:
        seq = [wire.Chunk(p0.whole, 0, 1, len(p0.data), p0.data)]
    with pytest.raises(ProtocolError) as err:
        for p in seq:
            r.add("a", p)
    assert err.value.reason == "malformed"
    assert len(r) == 0  # the assembly is dropped: a forger cannot pin memory
    for p in pieces:  # and the sender's next honest message goes through
        out = r.add("a", p)
    assert out is not None


# ---------------------------------------------------------------- over sockets


class Sink(Actor):
    role = "sink"

    def __init__(self, name, address=None):
        super().__init__(name, address)
        self.reports: list[tuple[wire.Envelope, wire.DemandReport]] = []
        self.got = asyncio.Event()

    @on(wire.DemandReport)
    def on_report(self, msg, env):
        self.reports.append((env, msg))
        self.got.set()
        if env.ask:  # a chunked request is answered like any other, with a chunked reply
            return msg


async def test_a_batch_over_the_frame_limit_crosses_whole(tiny_frames, zctx, address_factory):
    sink = Sink("tracker-0", address_factory("sink"))
    await sink.start(zctx)
    pop = Sink("population-0")
    await pop.start(zctx)
    await pop.connect("tracker-0", sink.bound_address)
    try:
        big = _report(50_000)
        assert len(wire.encode_frame(big, "population-0", "tracker-0", 1)) > 50 * TINY
        pop.send("tracker-0", wire.Ping(1))  # small messages around it keep their order
        pop.send("tracker-0", big)
        pop.send("tracker-0", _report(10, tick=4))
        while len(sink.reports) < 2:
            sink.got.clear()
            await asyncio.wait_for(sink.got.wait(), 20)
        (env, got), (_, after) = sink.reports
        assert env.sender == "population-0" and got == big and after.tick == 4
        echoed = await pop.request("tracker-0", big, timeout=20)
        assert echoed == big
        assert sink.stats.rejected_total == pop.stats.rejected_total == 0
        # a forged piece is rejected and counted; the link goes on
        pop.send("tracker-0", wire.Chunk(5, 3, 9, 1000, b"x" * 10))
        small = _report(5, tick=9)
        pop.send("tracker-0", small)
        while sink.reports[-1][1] != small:
            sink.got.clear()
            await asyncio.wait_for(sink.got.wait(), 20)
        assert sink.stats.rejected[("population-0", "malformed")] == 1
    finally:
        await pop.stop()
        await sink.stop()


async def test_a_delayed_link_keeps_the_order_of_pieces_and_messages(tiny_frames, zctx, address_factory):
    """An emulated link latency (link_filter) delays every frame of a link by the same time:
    they leave in the order they were sent, pieces of chunked messages included (equal-time
    timers of asyncio do not keep their order; the link's own queue does)."""
    sink = Sink("tracker-0", address_factory("sink"))
    await sink.start(zctx)
    pop = Sink("population-0")
    await pop.start(zctx)
    await pop.connect("tracker-0", sink.bound_address)
    pop.link_filter = lambda sender, to, tick: 0.002
    try:
        sent = [_report(n, tick=t) for t, n in enumerate([3_000, 5, 4_000, 2_000, 7, 5_000])]
        for msg in sent:
            pop.send("tracker-0", msg)
        while len(sink.reports) < len(sent):
            sink.got.clear()
            await asyncio.wait_for(sink.got.wait(), 20)
        assert [m for _, m in sink.reports] == sent
        assert sink.stats.rejected_total == 0
    finally:
        await pop.stop()
        await sink.stop()
