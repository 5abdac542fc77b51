"""The wire protocol: every message round-trips, and every kind of bad frame is rejected
with its own reason and nothing but ProtocolError."""

import msgspec
import numpy as np
import pytest

from scowl import wire
from scowl.errors import ProtocolError


def frame(msg, sender="a", recipient="b", seq=1, **kw):
    return wire.encode_frame(msg, sender, recipient, seq, **kw)


@pytest.mark.parametrize("msg", [wire.Ping(3, b"xy"), wire.Pong(4), wire.Hello("tracker", "tcp://x:1"),
                                 wire.Failure("ValueError", "bad"), wire.StatsRequest(), wire.Stop("done")])
def test_round_trip_keeps_type_and_envelope(msg):
    env, out = wire.decode_frame(frame(msg, seq=7, tick=12, reply_to=3, ask=True), "b")
    assert out == msg and type(out) is type(msg)
    assert (env.v, env.type, env.sender, env.recipient, env.seq, env.tick, env.reply_to, env.ask) == (
        wire.PROTOCOL_VERSION, msg.TYPE, "a", "b", 7, 12, 3, True)


def test_batch_carries_each_consumer_id_and_value():
    ids = np.zeros(5, dtype=wire.CONSUMER_ID_DTYPE)
    ids["hi"], ids["lo"] = 2**63 + 1, np.arange(5)
    batch = wire.ValuesBatch.pack(ids=ids, values=[0.5, 1, 2, 3, 4])
    _, out = wire.decode_frame(frame(batch), "b")
    assert len(out) == 5
    assert out.column("ids")["hi"].tolist() == [2**63 + 1] * 5 and out.column("ids")["lo"].tolist() == list(range(5))
    assert out.column("values").tolist() == [0.5, 1, 2, 3, 4]


def reason_of(data, recipient="b"):
    with pytest.raises(ProtocolError) as info:
        wire.decode_frame(data, recipient)
    return info.value.reason


def test_each_rejection_has_its_reason():
    good = frame(wire.Ping(1))
    assert reason_of(good[:-2]) == "malformed"
    assert reason_of(b"\xc1garbage") == "malformed"
    assert reason_of(msgspec.msgpack.encode([2, "ping", "a", "b", 1, 0, 0, False, [1, b""]])) == "version"
    assert reason_of(msgspec.msgpack.encode([1, "nope", "a", "b", 1, 0, 0, False, [1, b""]])) == "unknown_type"
    assert reason_of(msgspec.msgpack.encode([1, "ping", "a", "b", 1, 0, 0, False, ["one", b""]])) == "invalid"
    assert reason_of(good, recipient="c") == "misaddressed"
    assert reason_of(b"\x00" * (wire.MAX_FRAME_BYTES + 1)) == "oversized"


def test_batch_with_a_lying_row_count_is_invalid():
    good = wire.ValuesBatch.pack(ids=np.zeros(3, dtype=wire.CONSUMER_ID_DTYPE), values=[1, 2, 3])
    lying = msgspec.msgpack.encode([1, "values-batch", "a", "b", 1, 0, 0, False, [4, good.ids, good.values]])
    assert reason_of(lying) == "invalid"


def test_packets_split_into_frames_and_reject_garbage():
    frames = [frame(wire.Ping(i)) for i in range(3)]
    assert wire.decode_packet(wire.encode_packet(frames)) == frames
    with pytest.raises(ProtocolError) as info:
        wire.decode_packet(b"\x93\x01\x02")
    assert info.value.reason == "malformed"


def test_registering_a_type_twice_fails_loudly():
    with pytest.raises(ValueError, match="registered twice"):
        wire.message("ping")(type("Other", (wire.Message,), {}))
