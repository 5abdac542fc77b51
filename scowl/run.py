"""Running a scenario: every role in this process over inproc (the embedded default), or
every actor in its own `scowl-node` process over ipc or tcp. Either way the metronome
records the state log and writes the results into the run directory."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from scowl.errors import ScowlError, UsageError
from scowl.plan import RunPlan, make_plan
from scowl.progress import Progress
from scowl.roles import ROLE_ORDER, build_actors, role_of
from scowl.runtime import Node

log = logging.getLogger("scowl.run")


def _version() -> str:
    """scowl's version and the git commit of the checkout it runs from ("unknown" installed)."""
    from scowl import __version__
    from scowl.sweep import git_commit

    return f"scowl {__version__}, commit {git_commit()}"


def run_meta(plan: RunPlan, scenario, wall_seconds: float, late: dict, tick_wall: list[float] | None = None) -> dict:
    import numpy as np

    tw = np.asarray(tick_wall or [0.0]) * 1e3
    return {
        "tick_wall_ms": {"mean": float(tw.mean()), "p95": float(np.percentile(tw, 95)), "max": float(tw.max())},
        "scenario": scenario.scenario.name,
        "source": scenario.source,
        "seed": scenario.seed,
        "pacing": scenario.pacing.mode,
        "transport": plan.transport,
        "tick_seconds": scenario.tick_seconds,
        "start": scenario.start.isoformat(),  # local start of tick 0 (the tidy tables' time column)
        "timezone": scenario.scenario.timezone,
        "safety_threshold": scenario.scenario.safety_threshold,
        "wall_seconds": wall_seconds,
        "version": _version(),
        "late": late,
        "partitions": [{"start_tick": p.start_tick, "end_tick": p.end_tick, "isolate": list(p.isolate), "from": list(p.from_)}
                       for p in scenario.network.partitions],
        "peers": {
            "generators": sum(len(f.rows) for f in plan.generator_fleets),
            "consumers": plan.n_consumers,
            "fixed_load_blocks": plan.n_fixed_blocks,
            "trackers": len(plan.trackers),
            "generator_fleets": len(plan.generator_fleets),
            "storage_hubs": sum(len(f.rows) for f in plan.storage_fleets),
            "storage_actors": len(plan.storage_fleets),
            "consumer_populations": len(plan.populations),
            "bootstrap": 1, "broker": 1, "metronome": 1,
        },
    }


def add_trace_log(out_dir: str, name: str, append: bool = False) -> logging.Handler | None:
    """The trace log: what actors log at INFO and above goes to DIR/trace-NAME.log (`append`:
    after what is there, so a node restarted mid-run keeps its first life's trace). Returns the
    handler, for `remove_trace_log` when the run is over (a process may run several days)."""
    if not out_dir:
        return None
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(Path(out_dir) / f"trace-{name}.log", mode="a" if append else "w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger("scowl")
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return handler


def remove_trace_log(handler: logging.Handler | None) -> None:
    if handler is not None:
        logging.getLogger("scowl").removeHandler(handler)
        handler.close()


def _event_loop_factory():
    """uvloop's loop for this run only (no global event-loop policy), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def run_coroutine(make_coro):
    """Run `make_coro()` to completion on a new event loop of its own, and return its result.
    In a thread that already runs a loop (Jupyter, an async caller) it runs in a worker thread,
    since a loop cannot be nested; the caller's loop is blocked meanwhile, as for any call."""
    def _run():
        with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
            return runner.run(make_coro())
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run()
    box: dict = {}

    def _worker() -> None:
        try:
            box["result"] = _run()
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc
    worker = threading.Thread(target=_worker, name="scowl-run", daemon=True)
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


async def _serve_in_process(plan: RunPlan, progress: Progress) -> dict:
    scenario = plan.scenario()
    node = Node("scowl-run")
    for role in ROLE_ORDER:
        for actor in build_actors(role, plan, scenario, progress=progress if role == "metronome" else None):
            node.add(actor)
    metronome = next(a for a in node.actors if a.role == "metronome")
    serving = asyncio.ensure_future(node.serve())
    finished = asyncio.ensure_future(metronome.finished.wait())
    await asyncio.wait({serving, finished}, return_when=asyncio.FIRST_COMPLETED)
    if serving.done():  # the node ended before the run did: surface why
        finished.cancel()
        serving.result()
        raise ScowlError("the run stopped before its last tick (interrupted?)")
    node.stop()
    await serving
    return json.loads((Path(plan.out_dir) / "summary.json").read_text())


def run_scenario(scenario_path: str, out_dir: str, *, processes: bool = False, transport: str | None = None,
                 populations: int | None = None, fleets: int = 1, show_progress: bool = True) -> dict:
    """Run one scenario end to end and return its summary (also in OUT_DIR/summary.json).
    `fleets` generator fleet actors share the generators (one each: every generator a peer)."""
    transport = transport or ("ipc" if processes else "inproc")
    if processes and transport == "inproc":
        raise UsageError("inproc addresses cannot cross processes: use --transport ipc or tcp with --processes")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("trace-*.log"):  # nodes append (a restarted one keeps its first life's lines): start clean
        stale.unlink()
    plan = make_plan(scenario_path, transport=transport, populations=populations, fleets=fleets, out_dir=str(out.resolve()))
    plan.save(out / "plan.json")
    progress = Progress(f"scowl run {plan.scenario().scenario.name}", enabled=show_progress)
    if not processes:
        handler = add_trace_log(plan.out_dir, "run")
        try:
            return run_coroutine(lambda: _serve_in_process(plan, progress))
        finally:
            remove_trace_log(handler)
    return _run_processes(plan, out)


def process_names(plan: RunPlan) -> list[str]:
    """Every actor of a plan in the order its `scowl-node` processes start: fixed services first."""
    return ["bootstrap", "broker", "metronome", *plan.trackers, *(f.name for f in plan.fleets), *(p.name for p in plan.populations)]


def node_command(plan: RunPlan, plan_path: Path, name: str) -> list[str]:
    """The `scowl-node` command line of one actor of a plan (the same to start it late or again)."""
    return [sys.executable, "-m", "scowl.node_cli", "--role", role_of(plan, name), "--deployment", str(plan_path),
            "--name", name, "--log-level", "WARNING"]


def start_node(plan: RunPlan, plan_path: Path, name: str, stderr=None) -> subprocess.Popen:
    """Start one actor's `scowl-node` in its own session and return once it printed READY."""
    proc = subprocess.Popen(node_command(plan, plan_path, name), stdout=subprocess.PIPE, stderr=stderr, text=True,
                            start_new_session=True)
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        rc = proc.wait()
        proc.stdout.close()
        raise ScowlError(f"{name} did not start (exit code {rc}); see {Path(plan_path).parent}/trace-{name}.log")
    return proc


def stop_nodes(procs) -> None:
    """TERM every `scowl-node` still running, KILL what is left after 5 s, reap them all."""
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def _run_processes(plan: RunPlan, out: Path) -> dict:
    """One `scowl-node` per actor; the fixed services first, each waited for by its READY line."""
    procs: list[tuple[str, subprocess.Popen]] = []
    try:
        for name in process_names(plan):
            procs.append((name, start_node(plan, out / "plan.json", name)))
        metronome = dict(procs)["metronome"]
        rc = metronome.wait()
        if rc != 0:
            raise ScowlError(f"the metronome exited with code {rc}; see {out}/trace-metronome.log")
        # the metronome told every grid peer the run is over; the services are not told: stop them
        # now instead of waiting out the deadline below for them
        stop_nodes([proc for name, proc in procs if name in ("bootstrap", "broker")])
        deadline = time.monotonic() + 15
        peers = set(plan.names())  # the metronome stops these; the bootstrap and broker serve on until terminated
        for name, proc in procs:
            if name not in peers:
                continue
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop after the run; terminating it", name)
    finally:
        stop_nodes([proc for _, proc in procs])
    return json.loads((out / "summary.json").read_text())


def build_role_node(args) -> Node:
    """`scowl-node --role ROLE --deployment PLAN [--name NAME ...]`: the role's actors of a plan."""
    if not args.deployment:
        raise ScowlError(f"role {args.role} needs --deployment PLAN (the plan.json that `scowl run` writes)")
    plan = RunPlan.load(args.deployment)
    scenario = plan.scenario()
    names = set(args.name.split(",")) if args.name else None
    progress = Progress(f"scowl {Path(plan.scenario_path).stem}") if args.role == "metronome" else None
    actors = build_actors(args.role, plan, scenario, names, progress=progress)
    if not actors:
        raise ScowlError(f"no {args.role} named {args.name!r} in {args.deployment}")
    add_trace_log(plan.out_dir, args.name or args.role, append=True)
    log.info("%s: scowl-node pid %d starts", args.name or args.role, os.getpid())
    node = Node(args.name or args.role)
    for a in actors:
        node.add(a)
    if args.role == "metronome":  # the run ends when the metronome has written the results
        async def _stop_when_finished(metronome=actors[0]):
            await metronome.finished.wait()
            node.stop()
        node.on_started = _stop_when_finished
    return node
