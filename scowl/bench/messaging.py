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
from scowl.bench._loop import loop_iterations
from scowl.bench._raw import BATCH_ROWS, cpu_s, one_outstanding_paired, raw_figures, raw_router_process
from scowl.runtime import Actor, install_uvloop
from scowl.security import Credentials, enrol_all


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
    yields its address and pid once READY."""
    keys = ["--keys", keys_dir] if keys_dir else []
    proc = subprocess.Popen([sys.executable, "-m", "scowl.node_cli", "--role", "echo", "--bind", "tcp://127.0.0.1:0", *keys],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None  # stdout=PIPE
    try:
        line = proc.stdout.readline().split()
        if len(line) < 3 or line[0] != "READY":
            raise RuntimeError(f"echo node did not start: {line!r}")
        yield line[2], proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _actor_figures(address: str, args, ctx, local_echo: bool, raw_address: str | None = None,
                         keys_dir: str | None = None, pids: tuple[int, int] | None = None) -> dict:
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
        echo_pid, raw_pid = pids if pids is not None else (None, None)

        def cpu() -> float:  # both ends: this process, and the echo's when it is another
            return cpu_s() + (cpu_s(echo_pid) if echo_pid is not None else 0.0)

        before = await sender.request("echo", wire.StatsRequest(), reply=wire.StatsReply)
        n = args.messages
        c0, t0 = cpu(), time.perf_counter()
        for i in range(n):
            sender.send("echo", wire.Ping(i))
            if i % 4096 == 0:
                await asyncio.sleep(0)  # let the flush run, as a real actor's loop would
        await sender.flush()
        after = await sender.request("echo", wire.StatsRequest(), timeout=120, reply=wire.StatsReply)
        dt = time.perf_counter() - t0
        assert after.received - before.received == n, f"echo counted {after.received - before.received} of {n}"
        out["one_way_per_s"] = n / dt
        out["one_way_cpu_us"] = 1e6 * (cpu() - c0) / n
        out.update(await one_outstanding_paired(sender, ctx, raw_address, args.requests // 2, echo_pid=echo_pid, raw_pid=raw_pid))

        m = args.requests
        c0, t0 = cpu(), time.perf_counter()
        inflight: set = set()
        for i in range(m):
            inflight.add(sender.ask("echo", wire.Ping(i)))
            if len(inflight) >= args.window:
                _, inflight = await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.gather(*inflight)
        out["request_reply_pipelined_per_s"] = m / (time.perf_counter() - t0)
        out["request_reply_pipelined_cpu_us"] = 1e6 * (cpu() - c0) / m

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


def _one_round(transport: str, args) -> dict:
    ctx = zmq.asyncio.Context()
    try:
        if transport == "inproc":
            res = asyncio.run(_actor_figures("inproc://bench-echo", args, ctx, local_echo=True))
        elif transport == "tcp":
            with echo_process() as (address, echo_pid), raw_router_process() as (raw_address, raw_pid):
                res = asyncio.run(_actor_figures(address, args, ctx, local_echo=False, raw_address=raw_address,
                                                 pids=(echo_pid, raw_pid)))
        elif transport == "tcp+curve":
            with tempfile.TemporaryDirectory(prefix="scowl-bench-keys-") as keys:
                enrol_all(keys, {"echo": "echo", "bench": "bench"})
                with echo_process(keys) as (address, echo_pid), raw_router_process() as (raw_address, raw_pid):
                    res = asyncio.run(_actor_figures(address, args, ctx, local_echo=False, raw_address=raw_address,
                                                     keys_dir=keys, pids=(echo_pid, raw_pid)))
            return res  # the raw pyzmq figures are the tcp column's; this column is compared with tcp
        else:
            raise ValueError(f"--transports: unknown transport {transport!r} (inproc, tcp, tcp+curve)")
    finally:
        ctx.destroy(linger=0)
    res.update(raw_figures(transport, args.messages, args.batches))
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
        ("actor one outstanding / raw asyncio (median of slices)", "one_outstanding_ratio_to_raw"),
        ("  the same, 25th percentile of slices", "one_outstanding_ratio_to_raw_p25"),
        ("  the same, 75th percentile of slices", "one_outstanding_ratio_to_raw_p75"),
        ("CPU us per one-way message (both ends)", "one_way_cpu_us"),
        ("CPU us per pipelined round trip (both ends)", "request_reply_pipelined_cpu_us"),
        ("CPU us per round trip, one outstanding, actor", "one_outstanding_cpu_us"),
        ("CPU us per round trip, one outstanding, raw asyncio", "raw_one_outstanding_cpu_us"),
        ("raw CPU / actor CPU per round trip (load-proof)", "one_outstanding_cpu_ratio_to_raw"),
        ("  Python threads only (no libzmq I/O), actor", "one_outstanding_py_cpu_us"),
        ("  Python threads only, raw asyncio", "raw_one_outstanding_py_cpu_us"),
        ("  Python threads only, raw / actor", "one_outstanding_py_cpu_ratio_to_raw"),
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
                cells.append(f"{v:>16.2f}" if "ratio_to_raw" in key else f"{v:>16.1f}" if key.endswith("_us") else f"{v:>16,.0f}")
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
