"""Untrusted bytes never crash an actor: 10,000+ random, truncated and mutated frames at a
live actor; it stays up, answers a valid message, and its rejection counters add up."""

from __future__ import annotations

import asyncio
import collections

import msgspec
import numpy as np
import zmq
import zmq.asyncio

from scowl import wire
from scowl.actors.demo import Echo
from scowl.errors import ProtocolError


def expected_outcome(packet: bytes, recipient: str, sender: str) -> collections.Counter:
    """What the actor must count for one packet: accepted frames and rejections by reason."""
    out = collections.Counter()
    try:
        frames = wire.decode_packet(packet)
    except ProtocolError as exc:
        out[exc.reason] += 1
        return out
    for frame in frames:
        try:
            env, _ = wire.decode_frame(frame, recipient)
        except ProtocolError as exc:
            out[exc.reason] += 1
            continue
        if env.sender != sender:
            out["spoofed"] += 1
        elif env.reply_to:  # a reply, and the echo asked nobody anything
            out["reply_mismatch"] += 1
        else:
            out["accepted"] += 1
    return out


def fuzz_packets(rng: np.random.Generator, n: int) -> list[bytes]:
    good = [wire.encode_packet([wire.encode_frame(wire.Ping(i, b"p" * (i % 7)), "fuzzer", "echo", i + 1)]) for i in range(50)]
    raw = msgspec.msgpack.encode
    crafted = [
        wire.encode_packet([raw([wire.PROTOCOL_VERSION + 1, "ping", "fuzzer", "echo", 1, 0, 0, False, [1, b""]])]),
        wire.encode_packet([raw([wire.PROTOCOL_VERSION, "no-such-type", "fuzzer", "echo", 1, 0, 0, False, [1, b""]])]),
        wire.encode_packet([raw([wire.PROTOCOL_VERSION, "ping", "fuzzer", "echo", 1, 0, 0, False, ["x", 1]])]),
        wire.encode_packet([wire.encode_frame(wire.Ping(1), "someone-else", "echo", 1)]),
        wire.encode_packet([wire.encode_frame(wire.Ping(1), "fuzzer", "not-echo", 1)]),
        wire.encode_packet([b"", b"\xff" * 3, wire.encode_frame(wire.Ping(9), "fuzzer", "echo", 9)]),
    ]
    packets = []
    for i in range(n):
        kind = i % 4
        base = good[rng.integers(len(good))]
        if kind == 0:
            packets.append(rng.bytes(int(rng.integers(0, 200))))
        elif kind == 1:
            packets.append(base[: int(rng.integers(0, len(base)))])
        elif kind == 2:
            buf = bytearray(base)
            for _ in range(int(rng.integers(1, 4))):
                buf[int(rng.integers(len(buf)))] = int(rng.integers(256))
            packets.append(bytes(buf))
        else:
            packets.append(crafted[i % len(crafted)])
    packets.append(b"\x00" * (wire.MAX_FRAME_BYTES + 1))
    return packets


async def test_actor_survives_fuzz_and_counts_every_rejection(zctx):
    echo = Echo("echo", "inproc://fuzz-echo")
    await echo.start(zctx)
    fuzzer = zctx.socket(zmq.DEALER)
    fuzzer.setsockopt(zmq.ROUTING_ID, b"fuzzer")
    fuzzer.sndhwm = 0
    fuzzer.connect("inproc://fuzz-echo")
    rng = np.random.default_rng(20261121)
    packets = fuzz_packets(rng, 10_000)
    expected = collections.Counter()
    for p in packets:
        expected += expected_outcome(p, "echo", "fuzzer")
        await fuzzer.send(p)
    # a valid request after the storm: answered means the actor is alive and has caught up
    await fuzzer.send(wire.encode_packet([wire.encode_frame(wire.StatsRequest(), "fuzzer", "echo", 10**9, ask=True)]))
    # before it, the typed rejects: one per refused request whose envelope could be read, and
    # at most one per reason for the rest
    rejects, uncorrelated, stats = collections.Counter(), collections.Counter(), None
    while stats is None:
        for frame in wire.decode_packet(await asyncio.wait_for(fuzzer.recv(), 20)):
            env, msg = wire.decode_frame(frame, "fuzzer")
            if isinstance(msg, wire.Reject):
                rejects[msg.reason] += 1
                uncorrelated[msg.reason] += env.reply_to == 0
            else:
                stats = msg
    assert isinstance(stats, wire.StatsReply)
    assert set(rejects) <= set(wire.REJECT_REASONS) and all(n <= 1 for n in uncorrelated.values()), (rejects, uncorrelated)

    rejected = collections.Counter()
    for (sender, reason), n in echo.stats.rejected.items():
        assert sender == "fuzzer"
        rejected[reason] += n
    expected_rejected = {k: v for k, v in expected.items() if k != "accepted"}
    assert dict(rejected) == expected_rejected
    assert echo.stats.received == expected["accepted"] + 1
    assert echo.stats.rejected_total + expected["accepted"] >= len(packets)  # every packet is accounted for
    for reason in ("malformed", "version", "unknown_type", "invalid", "misaddressed", "spoofed", "oversized", "reply_mismatch"):
        assert rejected[reason] > 0, f"the fuzz never exercised {reason}"
        if reason in wire.REJECT_REASONS:  # the decoder's reasons get a typed reply; the guards' are counted only
            assert rejects[reason] > 0, f"no reject reply said {reason}"
            assert rejects[reason] <= rejected[reason]
    fuzzer.close(linger=0)
    await echo.stop()
