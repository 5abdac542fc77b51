"""Local links (scowl.runtime.local): actors of one ZeroMQ context (one process) talk over
inproc without CURVE, still checked and counted like any link; a peer of another context
(another process) crosses the CURVE ROUTER as before and can neither reach the local path nor
take a local peer's name or route."""

from __future__ import annotations

import asyncio
import threading

import pytest
import zmq
import zmq.asyncio

from scowl import wire
from scowl.plan import make_plan
from scowl.runtime import Actor, local
from scowl.security import Credentials, Roster, enrol_all
from scowl.security.attacks import Attacker

HELLO = wire.Hello("consumer")


@pytest.fixture
def keys(tmp_path):
    names = {"tracker-0": "tracker", "population-0": "consumer", "population-1": "consumer", "mallory": "consumer",
             "broker": "broker", "bootstrap": "bootstrap", "metronome": "metronome"}
    enrol_all(tmp_path / "keys", names)
    return tmp_path / "keys"


@pytest.fixture
def plan(keys):
    plan = make_plan("configs/small.toml", transport="tcp")
    plan.keys_dir = str(keys)
    return plan


def _equip(actor: Actor, plan) -> Actor:
    actor.credentials = Credentials.load(plan.keys_dir, actor.name)
    actor.roster = Roster(plan, actor.credentials.enrolment)
    return actor


def _endpoint(actor: Actor, peer: str) -> str:
    return actor._links[peer].sock.getsockopt_string(zmq.LAST_ENDPOINT)


async def test_actors_of_one_context_link_over_inproc_checked_and_counted(zctx, plan):
    tracker = _equip(Actor("tracker-0", "tcp://127.0.0.1:0"), plan)
    pop = _equip(Actor("population-0"), plan)
    await tracker.start(zctx)
    await pop.start(zctx)
    try:
        assert local.find(zctx, "tracker-0", "tcp://127.0.0.1:1") is None  # another address: not this actor
        await pop.connect("tracker-0", tracker.bound_address)
        assert _endpoint(pop, "tracker-0") == "inproc://scowl-local/tracker-0"
        assert pop._links["tracker-0"].sock.mechanism == zmq.NULL  # no keys on the local link
        assert await pop.request("tracker-0", HELLO) == wire.Welcome("actor")
        ch, rid = tracker._router_peers["population-0"]
        assert ch is tracker._local and rid == b"population-0"
        assert tracker.link_bytes["population-0"][2] == 2 and pop.link_bytes["tracker-0"][0] == 2  # Hellos in, out
        # the envelope must still name the connection's routing id (the runtime's name for the peer)
        raw = zctx.socket(zmq.DEALER, socket_class=zmq.Socket)
        raw.linger = 0
        raw.routing_id = b"population-9"
        raw.connect(local.address_of("tracker-0"))
        raw.send(wire.encode_packet([wire.encode_frame(HELLO, "population-0", "tracker-0", 1, 0, 0, True)]))
        reject = wire.decode_frame(wire.decode_packet(await asyncio.to_thread(raw.recv))[0])[1]
        raw.close()
        assert isinstance(reject, wire.Reject) and reject.reason == "spoofed"
        assert tracker.stats.rejected[("population-9", "spoofed")] == 1
        assert tracker._router_peers["population-0"] == (tracker._local, b"population-0")
    finally:
        await pop.stop()
        await tracker.stop()
    assert local.find(zctx, "tracker-0", tracker.bound_address) is None  # withdrawn when it stopped


async def test_a_peer_of_another_process_crosses_curve_and_cannot_claim_a_local_name(zctx, plan):
    tracker = _equip(Actor("tracker-0", "tcp://127.0.0.1:0"), plan)
    pop = _equip(Actor("population-0"), plan)
    other = zmq.asyncio.Context()  # another process's context
    remote = _equip(Actor("population-1"), plan)
    await tracker.start(zctx)
    await pop.start(zctx)
    await remote.start(other)
    try:
        await pop.connect("tracker-0", tracker.bound_address)
        assert local.find(other, "tracker-0", tracker.bound_address) is None
        await remote.connect("tracker-0", tracker.bound_address)
        assert _endpoint(remote, "tracker-0") == tracker.bound_address
        assert remote._links["tracker-0"].sock.mechanism == zmq.CURVE
        assert tracker._router_peers["population-1"][0] is tracker._router  # the CURVE ROUTER, by its key
        # the local address means nothing in another context: there it is another endpoint
        impostor = other.socket(zmq.ROUTER, socket_class=zmq.Socket)
        impostor.linger = 0
        impostor.bind(local.address_of("tracker-0"))
        raw = other.socket(zmq.DEALER, socket_class=zmq.Socket)
        raw.linger = 0
        raw.routing_id = b"population-0"
        raw.connect(local.address_of("tracker-0"))
        raw.send(wire.encode_packet([wire.encode_frame(HELLO, "population-0", "tracker-0", 1, 0, 0, True)]))
        got = await asyncio.to_thread(impostor.recv_multipart)
        raw.close()
        impostor.close()
        assert got[0] == b"population-0"  # it went to the impostor of that context, not to tracker-0
        # an enrolled key of another process claiming population-0 on the CURVE ROUTER: refused
        received = tracker.stats.received
        mallory = Attacker(plan, "mallory", enrolled=True)
        mallory.directory["tracker-0"] = tracker.bound_address
        thread = threading.Thread(target=lambda: (mallory.send("tracker-0", HELLO, claim="population-0", routing_id="population-0"),
                                                  mallory.settle(5), mallory.close()))
        thread.start()
        await asyncio.to_thread(thread.join)
        assert tracker.stats.rejected[("mallory", "spoofed")] == 1
        assert tracker.stats.received == received + 1  # mallory's own Ping (settle), nothing in population-0's name
        assert tracker._router_peers["population-0"] == (tracker._local, b"population-0")
        assert await pop.request("tracker-0", HELLO) == wire.Welcome("actor")
    finally:
        await remote.stop()
        await pop.stop()
        await tracker.stop()
        from scowl.security.zap import stop_authority

        stop_authority(other)
        other.destroy(linger=0)


async def test_a_local_peer_reaches_an_actor_restarted_in_its_process(zctx, tmp_path):
    """libzmq's inproc never reconnects a DEALER to a ROUTER bound again at the same address
    (ipc and tcp do): an actor stopped and started again in this process re-offers its local
    endpoint, and the local peers linked to it open their link again (review4 R4)."""
    address = f"ipc://{tmp_path}/tracker-0.ipc"
    first = Actor("tracker-0", address)
    pop = Actor("population-0")
    await first.start(zctx)
    await pop.start(zctx)
    second = None
    try:
        await pop.connect("tracker-0", first.bound_address)
        assert _endpoint(pop, "tracker-0") == local.address_of("tracker-0")
        assert await pop.request("tracker-0", HELLO) == wire.Welcome("actor")
        await first.stop()
        second = Actor("tracker-0", address)
        await second.start(zctx)
        assert second.bound_address == first.bound_address
        assert await pop.request("tracker-0", HELLO, timeout=5) == wire.Welcome("actor"), "the restarted actor is reached"
        assert _endpoint(pop, "tracker-0") == local.address_of("tracker-0"), "still over the local link"
        assert second.link_bytes["population-0"][2] == 1
    finally:
        await pop.stop()
        if second is not None:
            await second.stop()
