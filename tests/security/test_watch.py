"""What libzmq refuses before a frame reaches the runtime is counted per reason (scowl.security.
watch), over real tcp sockets: a plain socket at a CURVE server (no_curve or handshake), an enrolled peer's
frame over the size limit (dropped: its connection cut under it, and it came straight back), and
a peer that talks and hangs up is not counted."""

from __future__ import annotations

import asyncio

import zmq

from scowl import wire
from scowl.runtime import Actor
from scowl.runtime.transport import MAX_MESSAGE_PART
from scowl.security import Credentials, Enrolment, Roster, enrol_all, load_keypair, watch


def _server(keys) -> Actor:
    actor = Actor("tracker-0", "tcp://127.0.0.1:0")
    actor.credentials = Credentials.load(keys, "tracker-0")
    actor.roster = Roster(None, actor.credentials.enrolment)
    return actor


def _client(keys, address: str, name: str | None) -> zmq.Socket:
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    if name is not None:
        mine = load_keypair(keys, name)
        sock.curve_publickey, sock.curve_secretkey = mine.public, mine.secret
        sock.curve_serverkey = Enrolment.load(keys).public_key("tracker-0")
    sock.connect(address)
    return sock


async def _settle(actor: Actor, reasons: set[str], timeout_s: float = 10.0) -> dict[str, float]:
    """The actor's rejection figures once every reason in `reasons` shows (or the time is up)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        figures = actor.rejection_figures()
        if all(f"rejected:{r}" in figures for r in reasons):
            break
        await asyncio.sleep(0.1)
    return actor.rejection_figures()


async def test_a_plain_socket_and_an_oversized_frame_are_counted_and_a_peer_hanging_up_is_not(zctx, tmp_path):
    keys = tmp_path / "keys"
    enrol_all(keys, {"tracker-0": "tracker", "population-0": "consumer", "mallory": "consumer"})
    server = _server(keys)
    await server.start(zctx)
    try:
        plain = _client(keys, server.bound_address, None)
        plain.send(wire.encode_packet([wire.encode_frame(wire.Ping(1), "population-0", "tracker-0", 1, 0, 0, True)]))
        honest = _client(keys, server.bound_address, "population-0")
        honest.send(wire.encode_packet([wire.encode_frame(wire.Ping(1), "population-0", "tracker-0", 1, 0, 0, True)]))
        assert await asyncio.to_thread(honest.poll, 5000), "the enrolled peer got no Pong"
        honest.close()
        huge = _client(keys, server.bound_address, "mallory")  # an enrolled peer: a word, a huge frame, a word
        huge.send(wire.encode_packet([wire.encode_frame(wire.Ping(1), "mallory", "tracker-0", 1, 0, 0, True)]))
        assert await asyncio.to_thread(huge.poll, 5000)
        huge.recv()
        huge.send(b"\0" * (MAX_MESSAGE_PART + 1), copy=False)
        huge.send(wire.encode_packet([wire.encode_frame(wire.Ping(2), "mallory", "tracker-0", 2, 0, 0, True)]))
        assert await asyncio.to_thread(huge.poll, 5000), "mallory's connection did not come back"
        figures = await _settle(server, {"dropped"})
        plain.close()
        huge.close()
        await asyncio.sleep(watch.GRACE_S + 0.5)  # every close seen, and the grace of the last one over
        figures = server.rejection_figures()
    finally:
        await server.stop()
    # every attempt is counted (a refused client reconnects and is refused again): on the mechanism
    # (no_curve) when we see it first, as a hang-up mid-handshake when the client does
    plain = figures.get("rejected:no_curve", 0) + figures.get("rejected:handshake", 0)
    assert plain >= 1 and figures.get("rejected_from:?plain", 0) + figures.get("rejected_from:?handshake", 0) == plain, figures
    assert figures.get("rejected:dropped") == figures.get("rejected_from:mallory") == 1, figures  # cut, and back at once
    assert "rejected_from:population-0" not in figures and server.stats.received >= 1  # it talked, then hung up: no rejection
    assert set(figures) <= {"rejected:no_curve", "rejected:handshake", "rejected:dropped", "rejected_from:?plain",
                            "rejected_from:?handshake", "rejected_from:mallory"}, figures
