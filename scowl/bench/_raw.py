"""The raw pyzmq baselines the messaging benchmark compares the actors with: PUSH/PULL one-way
and batch rates, and an asyncio DEALER -> ROUTER echo timed in slices alternating with the actor's
round trips (so both see the same machine load)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time

import numpy as np
import zmq

from scowl import wire
from scowl.runtime import Actor

BATCH_ROWS = 100_000


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
    """A child process running a raw pyzmq asyncio ROUTER echo on tcp; yields its address and pid."""
    proc = subprocess.Popen([sys.executable, "-c", _RAW_ROUTER], stdout=subprocess.PIPE, text=True)
    try:
        yield f"tcp://127.0.0.1:{int(proc.stdout.readline())}", proc.pid
    finally:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_s(pid: int | None = None) -> float:
    """CPU time (user + system, s) of this process, or of a child process by pid (from
    /proc, in clock ticks: 10 ms steps, so read it over many round trips)."""
    if pid is None:
        return time.process_time()
    return _stat_cpu(f"/proc/{pid}/stat")


def py_cpu_s(pid: int | None = None) -> float:
    """CPU time of the main (Python) thread only, of this process or of a child by pid: what
    Scowl's code and the event loop cost, without libzmq's I/O threads (which do the same
    work for the actors and for raw pyzmq)."""
    if pid is None:
        return time.thread_time()  # the bench runs on its main thread
    return _stat_cpu(f"/proc/{pid}/task/{pid}/stat")


def _stat_cpu(path: str) -> float:
    try:
        with open(path) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def one_outstanding_paired(sender: Actor, ctx, raw_address: str | None, count: int, slices: int = 20,
                                 echo_pid: int | None = None, raw_pid: int | None = None) -> dict:
    """Request/reply with one request outstanding: the actor against raw pyzmq asyncio DEALER ->
    ROUTER echo (same loop, same payload size; over tcp the ROUTER is a child process, as the
    echo actor is; else an inproc ROUTER in this loop), in alternating slices so that both see
    the same machine load. The rate ratio is the median over slices of raw time / actor time
    (with its quartiles: the spread load puts on it). CPU per round trip (this process, plus
    the echo's process when it is another) is what load does not distort: the cpu ratio is
    raw CPU / actor CPU over all slices (above 1: the actor spends less than raw pyzmq)."""
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

    def cpu(pid: int | None) -> float:
        return cpu_s() + (cpu_s(pid) if pid is not None else 0.0)

    def py(pid: int | None) -> float:
        return py_cpu_s() + (py_cpu_s(pid) if pid is not None else 0.0)

    try:
        for i in range(100):  # connected and warm, both
            await dealer.send(payload)
            await dealer.recv()
            await sender.request("echo", wire.Ping(i, b""))
        per = max(1, count // slices)
        t_actor = t_raw = c_actor = c_raw = p_actor = p_raw = 0.0
        ratios = []
        for _ in range(slices):
            p0, c0, t0 = py(echo_pid), cpu(echo_pid), time.perf_counter()
            for i in range(per):
                await sender.request("echo", wire.Ping(i, b""))
            t1 = time.perf_counter()
            c1, c1r, p1, p1r = cpu(echo_pid), cpu(raw_pid), py(echo_pid), py(raw_pid)
            for _ in range(per):
                await dealer.send(payload)
                await dealer.recv()
            t2 = time.perf_counter()
            c_actor += c1 - c0
            c_raw += cpu(raw_pid) - c1r
            p_actor += p1 - p0
            p_raw += py(raw_pid) - p1r
            t_actor += t1 - t0
            t_raw += t2 - t1
            ratios.append((t2 - t1) / (t1 - t0))
        if raw_address is not None:
            await dealer.send(b"stop")
        n = per * slices
        q1, q2, q3 = np.percentile(ratios, [25, 50, 75])
        return {"request_reply_one_outstanding_per_s": n / t_actor,
                "raw_request_reply_one_outstanding_per_s": n / t_raw,
                "one_outstanding_ratio_to_raw": float(q2),
                "one_outstanding_ratio_to_raw_p25": float(q1), "one_outstanding_ratio_to_raw_p75": float(q3),
                "one_outstanding_cpu_us": 1e6 * c_actor / n, "raw_one_outstanding_cpu_us": 1e6 * c_raw / n,
                "one_outstanding_cpu_ratio_to_raw": c_raw / c_actor if c_actor > 0 else float("nan"),
                "one_outstanding_py_cpu_us": 1e6 * p_actor / n, "raw_one_outstanding_py_cpu_us": 1e6 * p_raw / n,
                "one_outstanding_py_cpu_ratio_to_raw": p_raw / p_actor if p_actor > 0 else float("nan")}
    finally:
        if echo_task is not None:
            echo_task.cancel()
        dealer.close(linger=0)
        if router is not None:
            router.close(linger=0)


def raw_figures(transport: str, n: int, batches: int) -> dict:
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
