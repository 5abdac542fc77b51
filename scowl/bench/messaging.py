"""Actor messaging throughput: one-way, request/reply, batches, against raw pyzmq.

Over inproc both actors share this process (one core); over tcp the echo actor runs in a
child `scowl-node --role echo` process, as on a real deployment."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import zmq
import zmq.asyncio

from scowl import wire
from scowl.actors.demo import Echo
from scowl.runtime import Actor, install_uvloop
from scowl.security import Credentials, enrol_all

BATCH_ROWS = 100_000


def add_arguments(parser) -> None:
    parser.add_argument("--messages", type=int, default=300_000, help="one-way messages per measurement")
    parser.add_argument("--requests", type=int, default=20_000, help="request/reply round trips per measurement")
    parser.add_argument("--window", type=int, default=256, help="requests in flight when pipelining")
    parser.add_argument("--batches", type=int, default=100, help=f"batches of {BATCH_ROWS:,} logical messages")
    parser.add_argument("--transports", default="inproc,tcp,tcp+curve",
                        help="comma-separated: inproc, tcp (no keys), tcp+curve (CURVE keys, ZAP, every guard: what a run uses)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds per transport; each figure is the median (default 1)")


@contextlib.contextmanager
def echo_process(keys_dir: str | None = None):
    """A child `scowl-node --role echo` on a free tcp port (with CURVE keys from `keys_dir`);
    yields its address once READY."""
    keys = ["--keys", keys_dir] if keys_dir else []
    proc = subprocess.Popen([sys.executable, "-m", "scowl.node_cli", "--role", "echo", "--bind", "tcp://127.0.0.1:0", *keys],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None  # stdout=PIPE
    try:
        line = proc.stdout.readline().split()
        if len(line) < 3 or line[0] != "READY":
            raise RuntimeError(f"echo node did not start: {line!r}")
        yield line[2]
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _actor_figures(address: str, args, ctx, local_echo: bool, raw_address: str | None = None,
                         keys_dir: str | None = None) -> dict:
    echo = None
    if local_echo:
        echo = Echo("echo", address)
        await echo.start(ctx)
        assert echo.bound_address is not None
        address = echo.bound_address
    sender = Actor("bench")
    if keys_dir:  # the bench's key, and the echo's key pinned: the same security a run has
        sender.credentials = Credentials.load(keys_dir, "bench")
    await sender.start(ctx)
    await sender.connect("echo", address)
    out = {}
    try:
        before = await sender.request("echo", wire.StatsRequest(), reply=wire.StatsReply)
        n = args.messages
        t0 = time.perf_counter()
        for i in range(n):
            sender.send("echo", wire.Ping(i))
            if i % 4096 == 0:
                await asyncio.sleep(0)  # let the flush run, as a real actor's loop would
        await sender.flush()
        after = await sender.request("echo", wire.StatsRequest(), timeout=120, reply=wire.StatsReply)
        dt = time.perf_counter() - t0
        assert after.received - before.received == n, f"echo counted {after.received - before.received} of {n}"
        out["one_way_per_s"] = n / dt

        out.update(await _one_outstanding_paired(sender, ctx, raw_address, args.requests // 4))

        m = args.requests
        t0 = time.perf_counter()
        inflight: set = set()
        for i in range(m):
            inflight.add(sender.ask("echo", wire.Ping(i)))
            if len(inflight) >= args.window:
                _, inflight = await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.gather(*inflight)
        out["request_reply_pipelined_per_s"] = m / (time.perf_counter() - t0)

        ids = np.zeros(BATCH_ROWS, dtype=wire.CONSUMER_ID_DTYPE)
        ids["lo"] = np.arange(BATCH_ROWS)
        values = np.random.default_rng(0).random(BATCH_ROWS, dtype=np.float32)
        batch = wire.ValuesBatch.pack(ids=ids, values=values)
        t0 = time.perf_counter()
        for _ in range(args.batches):
            sender.send("echo", batch)
            await asyncio.sleep(0)
        await sender.flush()
        after2 = await sender.request("echo", wire.StatsRequest(), timeout=120, reply=wire.StatsReply)
        dt = time.perf_counter() - t0
        assert after2.logical - after.logical == args.batches * BATCH_ROWS
        out["batched_logical_per_s"] = args.batches * BATCH_ROWS / dt
        out["batch_frame_bytes"] = len(wire.encode_frame(batch, "bench", "echo", 1))
    finally:
        await sender.stop()
        if echo is not None:
            await echo.stop()
    return out


_RAW_PULL = """
import sys, zmq
ctx = zmq.Context(); pull = ctx.socket(zmq.PULL); pull.rcvhwm = 0
port = pull.bind_to_random_port('tcp://127.0.0.1')
done = ctx.socket(zmq.PUSH); done.connect(sys.argv[1])
done.send_string(str(port))
while True:
    n = int(pull.recv_string())
    if n == 0: break
    for _ in range(n): pull.recv()
    done.send(b'ok')
"""


_RAW_ROUTER = """
import asyncio, sys, zmq, zmq.asyncio
try:
    import uvloop
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
except ImportError:
    pass
async def main():
    ctx = zmq.asyncio.Context()
    router = ctx.socket(zmq.ROUTER)
    print(router.bind_to_random_port('tcp://127.0.0.1'), flush=True)
    while True:
        parts = await router.recv_multipart()
        if parts[-1] == b'stop':
            break
        await router.send_multipart(parts)
    ctx.destroy(linger=0)
asyncio.run(main())
"""


@contextlib.contextmanager
def raw_router_process():
    """A child process running a raw pyzmq asyncio ROUTER echo on tcp; yields its address."""
    proc = subprocess.Popen([sys.executable, "-c", _RAW_ROUTER], stdout=subprocess.PIPE, text=True)
    try:
        yield f"tcp://127.0.0.1:{int(proc.stdout.readline())}"
    finally:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _one_outstanding_paired(sender: Actor, ctx, raw_address: str | None, count: int, slices: int = 10) -> dict:
    """Request/reply with one request outstanding: the actor against raw pyzmq asyncio DEALER ->
    ROUTER echo (same loop, same payload size; over tcp the ROUTER is a child process, as the
    echo actor is; else an inproc ROUTER in this loop), in alternating slices so that both see
    the same machine load; the ratio is raw time / actor time over the same round trips."""
    payload = wire.encode_packet([wire.encode_frame(wire.Ping(1, b""), "bench", "echo", 1, ask=True)])
    dealer = ctx.socket(zmq.DEALER)
    dealer.linger = 0
    echo_task = None
    router = None
    if raw_address is None:
        router = ctx.socket(zmq.ROUTER)
        router.linger = 0
        router.bind("inproc://raw-rr")

        async def echo() -> None:
            while True:
                await router.send_multipart(await router.recv_multipart())

        echo_task = asyncio.ensure_future(echo())
        dealer.connect("inproc://raw-rr")
    else:
        dealer.connect(raw_address)
    try:
        for i in range(100):  # connected and warm, both
            await dealer.send(payload)
            await dealer.recv()
            await sender.request("echo", wire.Ping(i, b""))
        per = max(1, count // slices)
        t_actor = t_raw = 0.0
        for _ in range(slices):
            t0 = time.perf_counter()
            for i in range(per):
                await sender.request("echo", wire.Ping(i, b""))
            t1 = time.perf_counter()
            for _ in range(per):
                await dealer.send(payload)
                await dealer.recv()
            t_actor += t1 - t0
            t_raw += time.perf_counter() - t1
        if raw_address is not None:
            await dealer.send(b"stop")
        return {"request_reply_one_outstanding_per_s": per * slices / t_actor,
                "raw_request_reply_one_outstanding_per_s": per * slices / t_raw,
                "one_outstanding_ratio_to_raw": t_raw / t_actor}
    finally:
        if echo_task is not None:
            echo_task.cancel()
        dealer.close(linger=0)
        if router is not None:
            router.close(linger=0)


def _raw_figures(transport: str, n: int, batches: int) -> dict:
    """Raw pyzmq PUSH/PULL: single messages the size of a Ping frame, and the batch frame."""
    small = wire.encode_packet([wire.encode_frame(wire.Ping(1), "bench", "echo", 1)])
    big = os.urandom(BATCH_ROWS * 20)
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.sndhwm = 0
    out = {}
    try:
        if transport == "inproc":
            pull = ctx.socket(zmq.PULL)
            pull.rcvhwm = 0
            pull.bind("inproc://raw-bench")
            push.connect("inproc://raw-bench")

            def measure(payload, count):
                t0 = time.perf_counter()
                for _ in range(count):
                    push.send(payload)
                    pull.recv()
                return count / (time.perf_counter() - t0)
        else:
            done = ctx.socket(zmq.PULL)
            done_port = done.bind_to_random_port("tcp://127.0.0.1")
            proc = subprocess.Popen([sys.executable, "-c", _RAW_PULL, f"tcp://127.0.0.1:{done_port}"])
            push.connect(f"tcp://127.0.0.1:{int(done.recv_string())}")

            def measure(payload, count):
                t0 = time.perf_counter()
                push.send_string(str(count))
                for _ in range(count):
                    push.send(payload)
                done.recv()
                return count / (time.perf_counter() - t0)
        out["raw_one_way_per_s"] = measure(small, n)
        out["raw_batched_logical_per_s"] = measure(big, batches) * BATCH_ROWS
        if transport != "inproc":
            push.send_string("0")
            proc.wait(10)
    finally:
        ctx.destroy(linger=0)
    return out


class _CountingLoop(asyncio.SelectorEventLoop):
    """The standard selector loop, counting its iterations."""

    iterations = 0

    def _run_once(self) -> None:
        self.iterations += 1
        super()._run_once()  # type: ignore[misc]


async def _iterations(loop: _CountingLoop, count: int) -> dict:
    """Loop iterations per round trip with one request outstanding, actor and raw pyzmq asyncio
    DEALER/ROUTER, both ends in this loop: the latency path's cost in wake-ups, which a busy
    machine does not change (rates do)."""
    ctx = zmq.asyncio.Context()
    echo = Echo("echo", "inproc://bench-iterations")
    sender = Actor("bench")
    dealer = ctx.socket(zmq.DEALER)
    router = ctx.socket(zmq.ROUTER)
    task = None
    try:
        await echo.start(ctx)
        await sender.start(ctx)
        assert echo.bound_address is not None
        await sender.connect("echo", echo.bound_address)
        router.bind("inproc://bench-iterations-raw")
        dealer.connect("inproc://bench-iterations-raw")

        async def raw_echo() -> None:
            while True:
                await router.send_multipart(await router.recv_multipart())

        task = asyncio.ensure_future(raw_echo())
        payload = wire.encode_packet([wire.encode_frame(wire.Ping(1, b""), "bench", "echo", 1, ask=True)])
        for i in range(50):  # warm
            await sender.request("echo", wire.Ping(i, b""))
            await dealer.send(payload)
            await dealer.recv()
        n0 = loop.iterations
        for i in range(count):
            await sender.request("echo", wire.Ping(i, b""))
        actor = (loop.iterations - n0) / count
        n0 = loop.iterations
        for _ in range(count):
            await dealer.send(payload)
            await dealer.recv()
        return {"loop_iterations_per_round_trip": actor, "raw_loop_iterations_per_round_trip": (loop.iterations - n0) / count}
    finally:
        if task is not None:
            task.cancel()
        await sender.stop()
        await echo.stop()
        ctx.destroy(linger=0)


def loop_iterations(count: int = 1000) -> dict:
    loop = _CountingLoop()
    try:
        return loop.run_until_complete(_iterations(loop, count))
    finally:
        loop.close()


def _one_round(transport: str, args) -> dict:
    ctx = zmq.asyncio.Context()
    try:
        if transport == "inproc":
            res = asyncio.run(_actor_figures("inproc://bench-echo", args, ctx, local_echo=True))
        elif transport == "tcp":
            with echo_process() as address, raw_router_process() as raw_address:
                res = asyncio.run(_actor_figures(address, args, ctx, local_echo=False, raw_address=raw_address))
        elif transport == "tcp+curve":
            with tempfile.TemporaryDirectory(prefix="scowl-bench-keys-") as keys:
                enrol_all(keys, {"echo": "echo", "bench": "bench"})
                with echo_process(keys) as address, raw_router_process() as raw_address:
                    res = asyncio.run(_actor_figures(address, args, ctx, local_echo=False, raw_address=raw_address,
                                                     keys_dir=keys))
            return res  # the raw pyzmq figures are the tcp column's; this column is compared with tcp
        else:
            raise ValueError(f"--transports: unknown transport {transport!r} (inproc, tcp, tcp+curve)")
    finally:
        ctx.destroy(linger=0)
    res.update(_raw_figures(transport, args.messages, args.batches))
    res["one_way_ratio_to_raw"] = res["one_way_per_s"] / res["raw_one_way_per_s"]
    res["batched_ratio_to_raw"] = res["batched_logical_per_s"] / res["raw_batched_logical_per_s"]
    return res


def measure(args) -> dict:
    """Each figure is the median of --repeat rounds (each round measures the actors, then raw
    pyzmq, back to back); a ratio is the median of the rounds' ratios, not a ratio of medians."""
    figures: dict = {"cpu_count": os.cpu_count(), "repeat": args.repeat, **loop_iterations()}
    install_uvloop()
    for transport in [t.strip() for t in args.transports.split(",") if t.strip()]:
        rounds = [_one_round(transport, args) for _ in range(args.repeat)]
        figures[transport] = {k: float(np.median([r[k] for r in rounds])) for k in rounds[0]}
    if "tcp" in figures and "tcp+curve" in figures:  # the cost of security, as a ratio (1.0: free)
        figures["curve_over_plain"] = {k: figures["tcp+curve"][k] / figures["tcp"][k] for k in CURVE_COMPARED
                                       if figures["tcp"].get(k)}
    return figures


CURVE_COMPARED = ("one_way_per_s", "request_reply_one_outstanding_per_s", "request_reply_pipelined_per_s",
                  "batched_logical_per_s")


TARGETS_TCP = {
    "one_way_per_s": 300_000,
    "batched_logical_per_s": 5_000_000,
    "request_reply_pipelined_per_s": 40_000,
    "request_reply_one_outstanding_per_s": 6_000,
    "one_outstanding_ratio_to_raw": 1.0,
}


def render(figures: dict) -> str:
    rows = [
        ("actor one-way messages/s", "one_way_per_s"),
        ("request/reply, one outstanding /s", "request_reply_one_outstanding_per_s"),
        ("request/reply, pipelined /s", "request_reply_pipelined_per_s"),
        (f"batched logical messages/s ({BATCH_ROWS:,}/frame)", "batched_logical_per_s"),
        ("raw pyzmq PUSH/PULL messages/s", "raw_one_way_per_s"),
        ("raw pyzmq batched logical/s", "raw_batched_logical_per_s"),
        ("raw pyzmq asyncio DEALER/ROUTER, one outstanding /s", "raw_request_reply_one_outstanding_per_s"),
        ("actor one-way / raw", "one_way_ratio_to_raw"),
        ("actor batched / raw", "batched_ratio_to_raw"),
        ("actor one outstanding / raw asyncio", "one_outstanding_ratio_to_raw"),
    ]
    transports = [t for t in ("inproc", "tcp", "tcp+curve") if t in figures]
    lines = [(f"Scowl messaging benchmark ({figures['cpu_count']} cores; inproc = one process, tcp = two processes; "
             f"median of {figures.get('repeat', 1)} rounds)"), ""]
    header = f"{'figure':<54}" + "".join(f"{t:>16}" for t in transports) + f"{'tcp target':>14}"
    lines.append(f"loop iterations per request/reply round trip, one outstanding, both ends in one loop: actor "
                 f"{figures['loop_iterations_per_round_trip']:.1f}, raw pyzmq asyncio {figures['raw_loop_iterations_per_round_trip']:.1f}")
    lines.append("")
    lines += [header, "-" * len(header)]
    for label, key in rows:
        cells = []
        for t in transports:
            v = figures[t].get(key)
            if v is None:
                cells.append(f"{'-':>16}")
            else:
                cells.append(f"{v:>16.2f}" if key.endswith("ratio_to_raw") else f"{v:>16,.0f}")
        target = TARGETS_TCP.get(key)
        mark = ""
        if target and "tcp" in figures:
            mark = f"{'>=' + format(target, ','):>12} {'ok' if figures['tcp'][key] >= target else 'MISS'}"
        lines.append(f"{label:<54}" + "".join(cells) + "  " + mark)
    cost = figures.get("curve_over_plain")
    if cost:
        lines += ["", "cost of security over tcp (tcp+curve / tcp; 1.00 = free): "
                  + ", ".join(f"{k.removesuffix('_per_s')} {v:.2f}" for k, v in cost.items())]
    return "\n".join(lines)
