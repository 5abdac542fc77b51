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


def _report(n):
    ids = np.zeros(n, dtype=wire.CONSUMER_ID_DTYPE)
    ids["hi"], ids["lo"] = 5, np.arange(n)
    return wire.DemandReport.pack(tick=2, ids=ids, demand_mw=np.linspace(0, 1, n, dtype=np.float32))


@pytest.mark.parametrize("msg", [wire.Ping(3, b""), wire.Ping(3, b"x" * 300), wire.Ping(3, b"x" * 70_000), _report(10_000)])
def test_a_packet_of_one_frame_is_built_in_one_buffer_with_the_same_bytes(msg):
    packet, inner = wire.encode_alone(msg, "a", "b", 7, tick=4, reply_to=2, ask=True)
    assert bytes(packet) == wire.encode_packet([frame(msg, seq=7, tick=4, reply_to=2, ask=True)])
    assert bytes(inner) == frame(msg, seq=7, tick=4, reply_to=2, ask=True) and inner.obj is packet.obj  # one buffer


def test_a_large_frame_decodes_as_views_of_the_received_bytes():
    msg = _report(20_000)  # 400 kB of columns
    received = memoryview(wire.encode_packet([frame(msg)])).toreadonly()  # as the mailbox gets it from libzmq
    (big,) = wire.decode_packet(received, views=True)
    _, out = wire.decode_frame(big, "b")
    assert out == msg and type(out) is wire.DemandReport
    ids = out.column("ids")
    assert np.shares_memory(ids, np.frombuffer(received, dtype=np.uint8)) and not ids.flags.writeable  # not copied
    _, copied = wire.decode_frame(bytes(big), "b")  # bytes in: bytes out, as before
    assert type(copied.ids) is bytes and copied == msg
    assert type(wire.decode_frame(frame(_report(10)), "b")[1].ids) is bytes  # small frames: copied


def test_a_large_frame_with_a_lying_row_count_is_invalid_as_views_too():
    good = _report(20_000)
    lying = msgspec.msgpack.encode([1, "demand-report", "a", "b", 1, 0, 0, False, [2, 20_001, good.ids, good.demand_mw]])
    assert len(lying) >= wire.VIEW_MIN_BYTES
    with pytest.raises(ProtocolError) as info:
        wire.decode_frame(memoryview(lying).toreadonly(), "b")
    assert info.value.reason == "invalid"


def test_pack_without_a_copy_holds_read_only_views_and_encodes_the_same():
    ids = np.zeros(1000, dtype=wire.CONSUMER_ID_DTYPE)
    ids["lo"] = np.arange(1000)
    mw = np.ones(1000, dtype=np.float32)
    views = wire.DemandReport.pack(tick=1, ids=ids, demand_mw=mw, copy=False)
    assert np.shares_memory(views.column("ids"), ids) and not views.column("demand_mw").flags.writeable
    assert views == wire.DemandReport.pack(tick=1, ids=ids, demand_mw=mw)
    assert frame(views) == frame(wire.DemandReport.pack(tick=1, ids=ids, demand_mw=mw))


@pytest.mark.parametrize("n", [0, 10, 20_000])
def test_a_compact_demand_report_gives_the_same_ids_in_a_quarter_of_the_bytes(n):
    full = _report(n)
    compact = wire.DemandReport.pack_compact(hi=5, lo=np.arange(n), tick=2, demand_mw=full.column("demand_mw"), copy=False)
    assert compact.compact == (n > 0) and compact.n == n
    assert np.array_equal(compact.column("ids"), full.column("ids")) and not compact.column("ids").flags.writeable
    assert len(compact.lo) == 4 * n and len(frame(compact)) <= len(frame(full)) - 11 * n
    received = memoryview(wire.encode_packet([frame(compact)])).toreadonly()
    (one,) = wire.decode_packet(received, views=True)
    _, out = wire.decode_frame(one, "b")  # (views when large)
    assert out == compact and np.array_equal(out.column("ids"), full.column("ids"))


@pytest.mark.parametrize("body", [
    [2, 2, b"", b"\0" * 8, 5, b"\0" * 4],  # lo: 4 bytes for 2 ids
    [2, 1, b"\0" * 16, b"\0" * 4, 5, b"\0" * 4],  # both forms
    [2, 1, b"", b"\0" * 4],  # neither form
    [2, 1, b"", b"\0" * 4, -1, b"\0" * 4],  # hi not a uint64
])
def test_a_compact_report_that_does_not_add_up_is_invalid(body):
    with pytest.raises(ProtocolError) as info:
        wire.decode_frame(msgspec.msgpack.encode([1, "demand-report", "a", "b", 1, 0, 0, False, body]), "b")
    assert info.value.reason == "invalid"


def test_compact_ids_are_global_indices_below_2_to_the_32():
    with pytest.raises(ValueError, match="outside"):
        wire.DemandReport.pack_compact(hi=5, lo=[2**32], tick=1, demand_mw=[1.0])


def test_an_assign_crosses_compact_when_its_ids_share_a_high_word_and_as_16_bytes_when_not():
    ids = np.zeros(4, dtype=wire.CONSUMER_ID_DTYPE)
    ids["hi"], ids["lo"] = 7, [3, 1, 2**32 - 1, 0]
    gens = np.array([1, 2, wire.STARVED_ID, 4], dtype=np.int32)
    compact = wire.Assign.pack_ids(tick=3, ids=ids, gen_ids=gens, handed=1, seq=2)
    assert compact.compact and len(compact.lo) == 16 and compact.ids == b""
    _, out = wire.decode_frame(frame(compact), "b")
    assert out == compact and np.array_equal(out.column("ids"), ids) and (out.handed, out.seq) == (1, 2)
    mixed = ids.copy()
    mixed["hi"][1] = 8  # two populations' high words (ids no population owns): the 16-byte form
    wide = ids.copy()
    wide["lo"][0] = 2**32  # not a global index below 2^32: the 16-byte form
    for other in (mixed, wide):
        full = wire.Assign.pack_ids(tick=3, ids=other, gen_ids=gens)
        assert not full.compact and np.array_equal(full.column("ids"), other)
    assert not wire.Assign.pack_ids(tick=3, ids=ids[:0], gen_ids=gens[:0]).compact


@pytest.mark.parametrize("body", [
    [2, 2, b"", b"\0" * 8, 0, 0, 5, b"\0" * 4],  # lo: 4 bytes for 2 ids
    [2, 1, b"\0" * 16, b"\0" * 4, 0, 0, 5, b"\0" * 4],  # both forms
    [2, 1, b"", b"\0" * 4],  # neither form
    [2, 1, b"", b"\0" * 4, 0, 0, -1, b"\0" * 4],  # hi not a uint64
    [2, 2, b"", b"\0" * 4, 0, 0, 5, b"\0" * 8],  # gen_ids: 4 bytes for 2 ids
])
def test_a_compact_assign_that_does_not_add_up_is_invalid(body):
    with pytest.raises(ProtocolError) as info:
        wire.decode_frame(msgspec.msgpack.encode([1, "assign", "a", "b", 1, 0, 0, False, body]), "b")
    assert info.value.reason == "invalid"


def test_a_tree_delta_crosses_compact_like_an_assign_and_a_malformed_one_is_invalid():
    ids = np.zeros(3, dtype=wire.CONSUMER_ID_DTYPE)
    ids["hi"], ids["lo"] = 9, [5, 0, 2**32 - 1]
    gens = np.array([1, wire.STARVED_ID, 4], dtype=np.int32)
    compact = wire.TreeDelta.pack_ids(tick=4, ids=ids, gen_ids=gens)
    assert compact.compact and len(compact.lo) == 12 and compact.ids == b""
    _, out = wire.decode_frame(frame(compact), "b")
    assert out == compact and np.array_equal(out.column("ids"), ids) and np.array_equal(out.column("gen_ids"), gens)
    ids["hi"][0] = 8  # two high words: the 16-byte form, as before
    assert not wire.TreeDelta.pack_ids(tick=4, ids=ids, gen_ids=gens).compact
    with pytest.raises(ProtocolError) as info:  # both forms
        wire.decode_frame(msgspec.msgpack.encode([1, "tree-delta", "a", "b", 1, 0, 0, False, [4, 1, b"\0" * 16, b"\0" * 4, 5, b"\0" * 4]]), "b")
    assert info.value.reason == "invalid"
