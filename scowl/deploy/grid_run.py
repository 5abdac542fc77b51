"""The scenario's day on namespace hosts: every grid role in its own `scowl-node` process on
its host, the network faults in the kernel (nft drops on the bridge, the NFQUEUE delayer), and
the results of the day in one run directory.

    result = run_grid(load_deployment("deploy/hosts-3.toml"), scenario="configs/small.toml",
                      run_dir="runs/x")
    result.summary            # summary.json of the day (finals.json, state.parquet beside it)
    result.tick_wall          # tick -> wall seconds since tick 0 (when the metronome started it)

Faults follow the metronome's ticks, not a wall clock: the metronome asks the driver before it
publishes each tick (`RunPlan.fault_gate`, a REP socket on a unix path: the filesystem crosses
namespaces, so nothing rides on the cut network), and the driver first brings the faults to what
that tick demands. The metronome's own ports are exempt from every fault: it is the
experiment's clock, as it is exempt from the actors' transport faults.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import zmq

from scowl.deploy.description import Deployment
from scowl.deploy.faults import ScheduleRunner
from scowl.deploy.grid import (
    START_PHASES,
    GridProcess,
    grid_plan,
    grid_processes,
    metronome_endpoints,
)
from scowl.deploy.netns import NetnsCluster
from scowl.deploy.run import render_command
from scowl.deploy.schedule import NetworkSchedule, load_network_schedule
from scowl.errors import ScowlError
from scowl.security import enrol_plan

POLL_MS = 50
READY_TIMEOUT_S = 60.0
STOP_AFTER_METRONOME_S = 15.0


class GridRunError(ScowlError):
    """The grid run did not finish (names the process and its log)."""


@dataclass
class GridRunResult:
    run_id: str
    run_dir: Path
    summary: dict | None = None
    exit_codes: dict[str, int | None] = field(default_factory=dict)  # "host/role" -> code (None: stopped by us)
    fault_events: list[dict] = field(default_factory=list)  # each with the tick it was applied before
    tick_wall: dict[int, float] = field(default_factory=dict)  # tick -> wall seconds since tick 0
    timings: dict[str, float] = field(default_factory=dict)


def run_grid(deployment: Deployment, *, scenario: str | Path, run_dir: str | Path,
             schedule: NetworkSchedule | None = None, run_id: str | None = None,
             timeout_s: float = 600.0, log_level: str = "INFO") -> GridRunResult:
    """Run the scenario's day on `deployment`'s hosts as network namespaces and tear them down.

    `schedule` defaults to the scenario's `[network]` (pass `NetworkSchedule()` for none): its
    latency is on the tracker links before any role starts, its partitions open and heal at
    their ticks. Fixed services start first, each waited for by its READY lines, then the peers.
    Output: `<run_dir>/<host>/<role>.log` per process, the day's results and trace-*.log in
    `<run_dir>`, the rest (commands, exit codes, fault events with their ticks) in run.json."""
    t_start = time.monotonic()
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    if os.path.exists(deployment.path):
        shutil.copyfile(deployment.path, run_dir / "deployment.toml")
    for stale in ("summary.json", "finals.json", "state.parquet"):
        (run_dir / stale).unlink(missing_ok=True)
    schedule = load_network_schedule(scenario) if schedule is None else schedule
    cluster = NetnsCluster(deployment, run_id=run_id)
    plan = grid_plan(deployment, scenario, out_dir=run_dir, run_id=cluster.run_id)
    gate_dir = tempfile.mkdtemp(prefix=f"scowl-{cluster.run_id}-")  # short: unix socket paths are <= 107 bytes
    plan.fault_gate = f"ipc://{gate_dir}/gate"
    enrol_plan(plan)  # every host namespace shares this file system: the keys are in place
    plan.save(run_dir / "plan.json")
    procs = grid_processes(deployment, plan)
    result = GridRunResult(cluster.run_id, run_dir)
    commands: dict[str, list[str]] = {}
    ctx = zmq.Context()
    gate = ctx.socket(zmq.REP)
    gate.linger = 0
    try:
        gate.bind(plan.fault_gate)
        with cluster:
            cluster.faults.exempt = metronome_endpoints(deployment)
            runner = ScheduleRunner(cluster.faults, schedule)
            runner.start()  # the scenario's latency is on the tracker links before any role starts
            started, logs = {}, {}
            for phase in range(len(START_PHASES)):
                batch = [p for p in procs if p.phase == phase]
                for p in batch:
                    argv = _command(deployment, p, plan, run_dir, scenario, log_level)
                    commands[p.key] = argv
                    logs[p.key] = run_dir / p.host / f"{p.role}.log"
                    logs[p.key].parent.mkdir(exist_ok=True)
                    logs[p.key].write_bytes(b"")
                    host = deployment.host(p.host)
                    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
                               SCOWL_RUN_DIR=str(run_dir / p.host), SCOWL_HOST=p.host, SCOWL_ADDRESS=host.address,
                               SCOWL_BOOTSTRAP=plan.bootstrap, PYTHONUNBUFFERED="1")
                    started[p.key] = cluster.spawn(p.host, argv, log=logs[p.key], env=env, cwd=run_dir)
                _wait_ready(batch, started, logs, READY_TIMEOUT_S)
            result.timings["start_s"] = time.monotonic() - t_start
            metro_key = next(p.key for p in procs if "metronome" in p.names)
            _follow_ticks(gate, runner, cluster, started, logs, metro_key, result, timeout_s)
            deadline = time.monotonic() + STOP_AFTER_METRONOME_S
            for p in procs:  # the peers got a Stop from the metronome; bootstrap and broker serve until TERM
                if p.phase == 1:
                    try:
                        started[p.key].wait(max(0.1, deadline - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        pass  # stopped with the rest when the cluster goes down
            result.exit_codes = {k: p.poll() for k, p in started.items()}
            runner.stop()
            result.fault_events = list(cluster.faults.events)
            result.timings["delayer"] = cluster.faults.backend or "none"  # type: ignore[assignment]
    finally:
        gate.close()
        ctx.term()
        shutil.rmtree(gate_dir, ignore_errors=True)
    result.timings.update(cluster.timings)
    result.timings["total_s"] = time.monotonic() - t_start
    if (run_dir / "summary.json").exists():
        result.summary = json.loads((run_dir / "summary.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({
        "run_id": result.run_id, "switch": cluster.switch_ns, "scenario": str(scenario),
        "hosts": {h.name: {"namespace": cluster.ns(h.name), "address": h.address,
                           "actors": sorted(n for n, x in plan.hosts.items() if x == h.name)} for h in deployment.hosts},
        "commands": commands, "exit_codes": result.exit_codes, "fault_events": result.fault_events,
        "tick_wall_s": result.tick_wall, "timings": result.timings}, indent=2))
    if result.summary is None:
        raise GridRunError(f"the metronome exited ({result.exit_codes.get(metro_key)}) without writing "
                           f"{run_dir / 'summary.json'}; see {logs[metro_key]}")
    return result


def _command(deployment: Deployment, p: GridProcess, plan, run_dir: Path, scenario, log_level: str) -> list[str]:
    argv = render_command(deployment.command, deployment, deployment.host(p.host), p.role, len(p.names),
                          scenario=str(scenario), run_dir=run_dir, plan=str(run_dir / "plan.json"), names=",".join(p.names))
    return argv if "--log-level" in argv else [*argv, "--log-level", log_level]


def _follow_ticks(gate, runner: ScheduleRunner, cluster: NetnsCluster, started, logs, metro_key: str,
                  result: GridRunResult, timeout_s: float) -> None:
    """Answer the metronome's gate until it exits: before each tick, the faults that tick
    demands; meanwhile, fail fast (naming the log) when any process dies."""
    t0 = time.monotonic()
    t_tick0 = None
    metronome = started[metro_key]
    while metronome.poll() is None:
        if gate.poll(POLL_MS):
            tick = int(gate.recv_string().split()[1])
            now = time.monotonic()
            t_tick0 = now if t_tick0 is None else t_tick0
            result.tick_wall[tick] = now - t_tick0
            n_events = len(cluster.faults.events)
            runner.advance(tick)
            for event in cluster.faults.events[n_events:]:
                event["tick"] = tick
            gate.send_string("ok")
        dead = [k for k, p in started.items() if p.poll() not in (None, 0)]
        if dead:
            raise GridRunError(f"{dead[0]} exited with code {started[dead[0]].poll()} during the run; see {logs[dead[0]]}")
        if time.monotonic() - t0 > timeout_s:
            raise GridRunError(f"the run did not end within {timeout_s:g} s; see {logs[metro_key]}")
    result.timings["ran_s"] = time.monotonic() - t0


def _wait_ready(batch: list[GridProcess], started, logs, timeout_s: float) -> None:
    """Wait for every actor of these processes to print `READY <actor> <address>` (scowl-node)."""
    deadline = time.monotonic() + timeout_s
    pending = {p.key: set(p.names) for p in batch}
    while pending:
        for key in list(pending):
            text = logs[key].read_text(errors="replace")
            pending[key] -= {line.split()[1] for line in text.splitlines() if line.startswith("READY ") and len(line.split()) > 1}
            if not pending[key]:
                del pending[key]
            elif started[key].poll() is not None:
                raise GridRunError(f"{key} exited with code {started[key].poll()} before it was ready; "
                                   f"see {logs[key]}:\n{text[-2000:]}")
        if pending and time.monotonic() > deadline:
            key = sorted(pending)[0]
            raise GridRunError(f"{key}: {sorted(pending[key])} not READY within {timeout_s:g} s; see {logs[key]}")
        if pending:
            time.sleep(POLL_MS / 1000)  # polling a log file: nothing else to wait on
