"""Running a scenario: every role in this process over inproc (the embedded default), or the
actors in `scowl-node` processes over ipc or tcp, grouped by a process layout (by default one
process per usable core). Either way the metronome records the state log and writes the
results into the run directory.

Modules: `rundir` (the run directory and the inputs kept in it), `in_process` (one process),
`layout` (which actors share a process), `processes` (the `scowl-node` processes of a run),
`node` (what one such process runs), `loop` (the run's event loop and trace log), `failures`
(how a run ends early)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from scowl.config import Scenario, load_scenario
from scowl.errors import UsageError
from scowl.limits import raise_fd_limit
from scowl.plan import make_plan
from scowl.progress import Progress
from scowl.run.failures import RunFailed, RunInterrupted
from scowl.run.in_process import serve_in_process
from scowl.run.layout import describe, parse_layout
from scowl.run.loop import add_trace_log, remove_trace_log, run_coroutine
from scowl.run.node import build_role_node
from scowl.run.processes import START_TIMEOUT_S, node_command, process_names, run_processes, start_node, stop_nodes
from scowl.run.rundir import RUN_MARKERS, data_hashes, prepare_run_dir, store_inputs
from scowl.security import enrol_plan

__all__ = ["RUN_MARKERS", "START_TIMEOUT_S", "RunFailed", "RunInterrupted", "add_trace_log", "build_role_node",
           "data_hashes", "node_command", "prepare_run_dir", "process_names", "remove_trace_log", "run_coroutine",
           "run_scenario", "start_node", "stop_nodes", "store_inputs"]

log = logging.getLogger("scowl.run")


def run_scenario(scenario_path, out_dir: str, *, processes: bool = False, transport: str | None = None,
                 populations: int | None = None, fleets: int = 1, show_progress: bool = True, force: bool = False,
                 insecure: bool = False, guards_off: tuple[str, ...] = (), layout: str | None = None) -> dict:
    """Run one scenario end to end and return its summary (also in OUT_DIR/summary.json).
    `scenario_path` is a TOML path or a `Scenario`. `fleets` generator fleet actors share the
    generators (one each: every generator a peer). An existing non-empty OUT_DIR is refused
    unless `force` (then replaced whole, once the scenario validated). RunFailed (exit 1) when
    the run ended early on an error, RunInterrupted on SIGINT/SIGTERM; both say where the
    partial results are. ipc and tcp runs get CURVE keys in OUT_DIR/keys unless `insecure` (or
    the scenario's [security] enabled = false); `guards_off` is for tests that show what a guard
    stops (scowl.security.GUARDS). `layout` (with `processes`): which actors share a process
    (scowl.run.layout: "auto", the default, is one process per usable core; "actor" one each)."""
    transport = transport or ("ipc" if processes else "inproc")
    if processes and transport == "inproc":
        raise UsageError("inproc addresses cannot cross processes: use --transport ipc or tcp with --processes")
    if populations is not None and populations < 1:
        raise UsageError(f"populations: expected an integer >= 1, found {populations}")
    if layout is not None and not processes:
        raise UsageError("--layout groups the actors of --processes runs into processes: add --processes")
    scenario = scenario_path if isinstance(scenario_path, Scenario) else load_scenario(scenario_path)  # validate first
    origin = scenario.source if isinstance(scenario_path, Scenario) else str(Path(scenario_path).resolve())
    out = Path(out_dir)
    prepare_run_dir(out, force)  # nothing is deleted before the scenario validated
    out.mkdir(parents=True, exist_ok=True)
    raise_fd_limit()
    stored = store_inputs(out, scenario, origin)
    plan = make_plan(str(stored), transport=transport, populations=populations, fleets=fleets, out_dir=str(out.resolve()),
                     secure=False if insecure else None)
    plan.scenario_origin = origin
    if processes:
        plan.layout = parse_layout(layout, plan)
        if show_progress:
            print(f"processes: {describe(plan.layout)}", file=sys.stderr, flush=True)
    plan.guards_off = sorted(guards_off)
    enrol_plan(plan)
    if plan.security_mode == "off":
        log.warning("security is off: no CURVE keys, any local process can act as any peer (benchmarks only)")
    plan.save(out / "plan.json", announce=True)  # atomically, and join.json beside it (the join token): printed
    progress = Progress(f"scowl run {scenario.scenario.name}", enabled=show_progress)
    if not processes:
        handler = add_trace_log(plan.out_dir, "run")
        try:
            return run_coroutine(lambda: serve_in_process(plan, progress))
        finally:
            remove_trace_log(handler)
    return run_processes(plan, out)
