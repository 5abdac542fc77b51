"""Actors over real ZeroMQ sockets, the same tests over inproc, ipc and tcp."""

from __future__ import annotations

import asyncio

import msgspec
import numpy as np
import pytest

from scowl import wire
from scowl.actors.demo import Echo
from scowl.errors import ActorError, RequestTimeout
from scowl.runtime import Actor, RemoteError, on


class Recorder(Actor):
    """Records what it handles; raises on Ping payload b'boom'."""

    role = "recorder"

    def __init__(self, name, address=None):
        super().__init__(name, address)
        self.seen: list[tuple[str, int, int]] = []  # (sender, seq, n)
        self.got = asyncio.Event()
        self.expect = 0

    @on(wire.Ping)
    def on_ping(self, msg, env):
        if msg.payload == b"boom":
            raise ValueError("boom on purpose")
        if msg.payload == b"oom":
            raise MemoryError("Unable to allocate on purpose")
        self.seen.append((env.sender, env.seq, msg.n))
        if len(self.seen) >= self.expect:
            self.got.set()
        return wire.Pong(msg.n) if env.ask else None

    @on(wire.Pong)
    async def on_pong(self, msg, env):
        await asyncio.sleep(0)  # an async handler
        self.seen.append((env.sender, env.seq, msg.n))
        if len(self.seen) >= self.expect:
            self.got.set()


async def started(actor, ctx):
    await actor.start(ctx)
    return actor


@pytest.fixture
async def pair(zctx, address_factory):
    server = await started(Recorder("server", address_factory("server")), zctx)
    client = await started(Recorder("client"), zctx)
    await client.connect("server", server.bound_address)
    yield client, server
    await client.stop()
    await server.stop()


async def test_delivery_and_per_sender_order(zctx, address_factory):
    server = await started(Recorder("server", address_factory("server")), zctx)
    clients = [await started(Actor(f"c{i}"), zctx) for i in range(3)]
    for c in clients:
        await c.connect("server", server.bound_address)
    n = 2000
    server.expect = 3 * n
    for i in range(n):
        for c in clients:
            c.send("server", wire.Ping(i))
    await asyncio.wait_for(server.got.wait(), 10)
    for c in clients:
        mine = [(seq, k) for sender, seq, k in server.seen if sender == c.name]
        assert [k for _, k in mine] == list(range(n)), f"{c.name}: lost or reordered"
        assert [s for s, _ in mine] == sorted(s for s, _ in mine)
    for a in [*clients, server]:
        await a.stop()


async def test_request_reply_and_pipelining(pair):
    client, server = pair
    reply = await client.request("server", wire.Ping(41))
    assert reply == wire.Pong(41)
    replies = await asyncio.gather(*(client.ask("server", wire.Ping(i)) for i in range(500)))
    assert [r.n for r in replies] == list(range(500))


async def test_server_can_send_back_to_a_peer_that_connected(pair):
    client, server = pair
    client.expect = 1
    assert "client" in server.peers()
    server.send("client", wire.Pong(7))  # over the ROUTER, by the peer's name
    await asyncio.wait_for(client.got.wait(), 5)
    assert client.seen[-1][2] == 7


async def test_handler_failure_is_contained_and_reported(pair):
    client, server = pair
    with pytest.raises(RemoteError, match="boom on purpose"):
        await client.request("server", wire.Ping(1, b"boom"))
    client.send("server", wire.Ping(2, b"boom"))  # one-way: counted, nobody to tell
    assert await client.request("server", wire.Ping(3)) == wire.Pong(3)
    assert server.stats.failed == 2
    assert server.stats.handled >= 2


async def test_a_handler_out_of_memory_stops_its_actor_as_crashed(pair):
    """(review5 F5) an actor whose handler ran out of memory is half-updated: it stops, as a crash (its node exits 1
    and says so), rather than count it as one bad message and go on."""
    client, server = pair
    with pytest.raises(RemoteError, match="MemoryError"):
        await client.request("server", wire.Ping(1, b"oom"))
    await asyncio.wait_for(server.stopped.wait(), 5)
    assert isinstance(server.crashed, MemoryError)


async def test_unhandled_type_gets_a_failure_not_silence(pair):
    client, server = pair
    with pytest.raises(RemoteError, match="no handler"):
        await client.request("server", wire.ValuesBatch.pack(ids=np.zeros(1, wire.CONSUMER_ID_DTYPE), values=[1]))
    assert server.stats.unhandled == 1


async def test_batches_count_logical_messages(zctx, address_factory):
    echo = await started(Echo("echo", address_factory("echo")), zctx)
    client = await started(Actor("client"), zctx)
    await client.connect("echo", echo.bound_address)
    ids = np.zeros(100_000, dtype=wire.CONSUMER_ID_DTYPE)
    ids["lo"] = np.arange(100_000)
    for _ in range(5):
        client.send("echo", wire.ValuesBatch.pack(ids=ids, values=np.ones(100_000)))
    stats = await client.request("echo", wire.StatsRequest())
    assert stats.logical == 500_000
    await client.stop()
    await echo.stop()


class Keeper(Actor):
    """Keeps the reports it handles."""

    role = "keeper"

    def __init__(self, name, address=None):
        super().__init__(name, address)
        self.reports: list[wire.DemandReport] = []

    @on(wire.DemandReport)
    def on_report(self, msg, env):
        self.reports.append(msg)
        return wire.Pong(len(msg)) if env.ask else None


async def test_a_large_batch_crosses_without_copies_and_a_forged_one_is_counted(zctx, address_factory):
    """A 200,000-row report leaves packed in one buffer (no body or frame copies) and arrives
    as views of what libzmq received; a forged large frame (its row count lies) is rejected
    as invalid and counted, and the link goes on."""
    keeper = await started(Keeper("tracker", address_factory("keeper")), zctx)
    client = await started(Actor("population"), zctx)
    await client.connect("tracker", keeper.bound_address)
    try:
        n = 200_000
        ids = np.zeros(n, dtype=wire.CONSUMER_ID_DTYPE)
        ids["lo"] = np.arange(n)
        mw = np.random.default_rng(1).random(n, dtype=np.float32)
        report = wire.DemandReport.pack(tick=1, ids=ids, demand_mw=mw, copy=False)
        assert (await client.request("tracker", report)).n == n
        (got,) = keeper.reports
        assert got == report and type(got.ids) is memoryview and got.ids.readonly  # views, equal to what was sent
        lying = wire.encode_packet([msgspec.msgpack.encode([1, "demand-report", "population", "tracker", 99, 0, 0, False,
                                                            [1, n + 1, report.ids, report.demand_mw]])])
        assert client._links["tracker"].try_send([lying])
        assert (await client.request("tracker", wire.DemandReport.pack(tick=2, ids=ids[:5], demand_mw=mw[:5]))).n == 5
        assert keeper.stats.rejected[("population", "invalid")] == 1 and len(keeper.reports) == 2
    finally:
        await client.stop()
        await keeper.stop()


async def test_broadcast_reaches_every_subscriber_after_sync(zctx, address_factory):
    pub = await started(Recorder("pub", address_factory("pub")), zctx)
    pub_address = await pub.bind_pub(address_factory("pubsock").replace("server", "pub"))
    subs = [await started(Recorder(f"s{i}"), zctx) for i in range(4)]
    for s in subs:
        await s.connect("pub", pub.bound_address)
        await s.subscribe(pub_address, (wire.Pong,))
        s.expect = 50
    await pub.await_subscribers({s.name for s in subs}, timeout=10)
    for i in range(50):
        pub.publish(wire.Pong(i))
    for s in subs:
        await asyncio.wait_for(s.got.wait(), 5)
        assert [n for _, _, n in s.seen] == list(range(50)), "a subscriber lost broadcasts"
    for a in [*subs, pub]:
        await a.stop()


async def test_a_publisher_does_not_spin_its_loop(zctx, address_factory):
    """Nobody reads a PUB socket, yet libzmq queues commands for it as subscribers read (its
    ZMQ_FD turns readable): unless they are processed the loop runs the socket's reader
    callback without pause until the next publish (~170 k times in 20 publishes before)."""
    pub = await started(Recorder("pub", address_factory("pub")), zctx)
    pub_address = await pub.bind_pub(address_factory("pubsock").replace("server", "pub"))
    subs = [await started(Recorder(f"s{i}"), zctx) for i in range(3)]
    for s in subs:
        await s.connect("pub", pub.bound_address)
        await s.subscribe(pub_address, (wire.Pong,))
        s.expect = 20
    await pub.await_subscribers({s.name for s in subs}, timeout=10)
    ch, loop, calls = pub._pub, asyncio.get_running_loop(), 0

    def counted() -> None:
        nonlocal calls
        calls += 1
        ch._readable()

    loop.remove_reader(ch._fd)
    loop.add_reader(ch._fd, counted)
    for i in range(20):
        pub.publish(wire.Pong(i))
        await asyncio.sleep(0.01)
    for s in subs:
        await asyncio.wait_for(s.got.wait(), 5)
    await asyncio.sleep(0.05)
    assert calls < 50, f"the PUB socket's reader callback ran {calls} times for 20 publishes"
    for a in [*subs, pub]:
        await a.stop()


async def test_no_route_and_timeouts_are_clear(zctx, address_factory):
    a = await started(Actor("a"), zctx)
    with pytest.raises(ActorError, match="no route to 'ghost'"):
        a.send("ghost", wire.Ping(1))
    silent = await started(Actor("silent", address_factory("silent")), zctx)
    await a.connect("silent", silent.bound_address)
    silent._handlers["ping"] = lambda msg, env: None  # answers nothing
    with pytest.raises(RequestTimeout):
        await a.request("silent", wire.Ping(1), timeout=0.2)
    await a.stop()
    await silent.stop()


class ReplyThenPing(Actor):
    """Answers a Ping request, then sends the asker a Ping of its own: the reply leaves at
    once (an idle link), the Ping at the end of the same reader callback, in a second packet
    the asker finds without a second wake-up (one ZeroMQ command announced both)."""

    @on(wire.Ping)
    def on_ping(self, msg, env):
        if env.ask:
            self.reply(env, wire.Pong(msg.n))
            self.send(env.sender, wire.Ping(msg.n + 1000))


async def test_what_follows_the_last_reply_is_read_though_the_asker_sends_nothing(zctx, address_factory):
    """The reply to the last request outstanding lets its asker run before the socket is read
    again (Mailbox._read_now); the socket is read then even when the asker sends nothing (a
    send would have looked at it), so the Ping behind the reply is not left waiting for a
    wake-up that never comes."""
    server = await started(ReplyThenPing("server", address_factory("server")), zctx)
    client = await started(Recorder("client"), zctx)
    await client.connect("server", server.bound_address)
    for n in range(20):
        client.expect = n + 1
        assert await client.request("server", wire.Ping(n)) == wire.Pong(n)
        await asyncio.wait_for(client.got.wait(), 5)  # nothing sent meanwhile
        client.got.clear()
    assert [k for _, _, k in client.seen] == [n + 1000 for n in range(20)]
    await client.stop()
    await server.stop()


async def test_request_timeouts_of_different_lengths_each_fire_on_time(zctx, address_factory):
    """Deadlines share one timer (scowl.runtime.timeouts): a shorter request made after a
    longer one times out first, and answered requests between them do not time out."""
    a = await started(Actor("a"), zctx)
    silent = await started(Actor("silent", address_factory("silent")), zctx)
    await a.connect("silent", silent.bound_address)
    echo = await started(Echo("echo", address_factory("echo")), zctx)
    await a.connect("echo", echo.bound_address)
    silent._handlers["ping"] = lambda msg, env: None  # answers nothing
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    slow = asyncio.ensure_future(a.request("silent", wire.Ping(1), timeout=0.6))
    await asyncio.sleep(0)
    fast = asyncio.ensure_future(a.request("silent", wire.Ping(2), timeout=0.2))
    for i in range(50):
        assert await a.request("echo", wire.Ping(i), timeout=0.3) == wire.Pong(i)
    with pytest.raises(RequestTimeout, match="within 0.2 s"):
        await fast
    assert 0.19 <= loop.time() - t0 < 0.5
    assert not slow.done()
    with pytest.raises(RequestTimeout, match="within 0.6 s"):
        await slow
    assert 0.59 <= loop.time() - t0 < 1.0
    assert len(a._timeouts) == 0
    await asyncio.sleep(0.4)  # the answered requests' 0.3 s deadlines passed: nothing fails late
    for actor in (a, silent, echo):
        await actor.stop()


async def test_answered_requests_do_not_pile_up_behind_an_open_one(zctx, address_factory):
    """While one request waits for its reply, thousands of answered ones leave the
    deadline heap: it is rebuilt when they are most of it (bounded memory)."""
    a = await started(Actor("a"), zctx)
    silent = await started(Actor("silent", address_factory("silent")), zctx)
    echo = await started(Echo("echo", address_factory("echo")), zctx)
    await a.connect("silent", silent.bound_address)
    await a.connect("echo", echo.bound_address)
    silent._handlers["ping"] = lambda msg, env: None
    waiting = asyncio.ensure_future(a.request("silent", wire.Ping(0), timeout=30))
    await asyncio.sleep(0)
    for i in range(2000):
        await a.request("echo", wire.Ping(i), timeout=60)
    assert len(a._timeouts) <= 2 * 1 + 64 + 1
    waiting.cancel()
    for actor in (a, silent, echo):
        await actor.stop()


async def test_stop_is_prompt_and_closes_every_socket(pair):
    client, server = pair
    pending = client.ask("server", wire.Ping(1))
    await asyncio.wait_for(asyncio.gather(client.stop(), server.stop()), 2)
    for actor in (client, server):
        assert all(ch.closed for ch in [actor._router, *actor._links.values()] if ch is not None)
    assert pending.done()


async def test_an_unexpected_error_while_reading_stops_the_actor_rather_than_limp_on(pair):
    """Review R7: an exception out of the socket read itself (not a handler's: those are contained)
    in the reader callback stopped the loop's callback and left the rest of the socket for the next
    edge. Like a dead internal task, it now stops the actor on purpose and says why (`crashed`)."""
    client, server = pair
    real_recv = server._recv

    def broken(ch):
        server._recv = real_recv
        raise RuntimeError("read failed on purpose")

    server._recv = broken
    client.send("server", wire.Ping(1))
    for _ in range(300):  # (at most 3 s; it stops within a loop iteration or two)
        if server.crashed is not None:
            break
        await asyncio.sleep(0.01)
    assert isinstance(server.crashed, RuntimeError) and "on purpose" in str(server.crashed)
