"""Running a scenario: every role in this process over inproc (the embedded default), or
every actor in its own `scowl-node` process over ipc or tcp. Either way the metronome
records the state log and writes the results into the run directory."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from scowl.actors.metronome import Metronome
from scowl.analysis.meta import run_meta
from scowl.errors import ScowlError, UsageError
from scowl.plan import RunPlan, make_plan, role_of
from scowl.progress import Progress
from scowl.roles import ROLE_ORDER, build_actors
from scowl.runtime import Actor, Node
from scowl.security import enrol_plan
from scowl.security.keys import ENROLMENT_FILE
from scowl.statelog import atomic_write_json, atomic_write_text

log = logging.getLogger("scowl.run")



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


def _say(text: str) -> None:
    print(f"scowl run: {text}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- run directories

#: files that mark a directory as a run directory (what --force may replace)
RUN_MARKERS = ("plan.json", "summary.json", "state.parquet", "state.journal.arrows", "inputs.json")


def prepare_run_dir(out: Path, force: bool) -> None:
    """Refuse an existing non-empty run directory unless `force`; with `force` replace it
    whole, but only when it is a run directory (never a checkout or a home by a typo)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise UsageError(f"--out {out}: expected a directory, found a file")
    entries = list(out.iterdir())
    if not entries:
        return
    if not force:
        raise UsageError(f"--out {out}: the directory exists and is not empty ({len(entries)} entries); "
                         "choose another directory, or pass --force to replace it whole")
    if not any((out / m).exists() for m in RUN_MARKERS):
        raise UsageError(f"--out {out}: not a run directory (none of {', '.join(RUN_MARKERS)}); "
                         "--force replaces only run directories: choose another --out")
    shutil.rmtree(out)


def data_hashes() -> dict[str, str]:
    """sha256 of every packaged data file the models read (scowl.data)."""
    import importlib.resources

    root = importlib.resources.files("scowl.data")
    return {e.name: hashlib.sha256(e.read_bytes()).hexdigest()
            for e in sorted(root.iterdir(), key=lambda e: e.name) if e.name.endswith(".csv")}


def store_inputs(out: Path, scenario, origin: str) -> Path:
    """The run's inputs, kept in the run directory so analysis never re-reads the live TOML:
    scenario.toml (the resolved scenario, every default spelled out, read back identically),
    inputs.json (where it came from, and sha256 of the scenario and of each data file).
    Returns the stored scenario's path."""
    from scowl.sweep import scenario_toml

    text = scenario_toml(scenario)
    stored = out / "scenario.toml"
    atomic_write_text(stored, text)
    atomic_write_json(out / "inputs.json", {
        "scenario": {"origin": origin, "stored": stored.name, "sha256": hashlib.sha256(text.encode()).hexdigest()},
        "data": data_hashes(),
    })
    return stored


# ---------------------------------------------------------------------------- failures

class RunFailed(ScowlError):
    """The run ended before its last tick on an error (an actor died, the disk filled, the
    metronome was killed): exit status 1. What was gathered is in the run directory."""

    exit_code = 1


class RunInterrupted(ScowlError):
    """SIGINT or SIGTERM stopped the run: exit status 128 + the signal."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


def _where(out: Path) -> str:
    if (out / "summary.json").is_file():
        return f"partial results in {out}/ (summary.json marked partial, state.parquet)"
    if (out / "state.journal.arrows").is_file():
        return f"the ticks flushed before it are in {out}/state.journal.arrows (scowl.statelog.read_state_log reads them)"
    return f"nothing was recorded in {out}/"


# ---------------------------------------------------------------------------- running

def run_scenario(scenario_path, out_dir: str, *, processes: bool = False, transport: str | None = None,
                 populations: int | None = None, fleets: int = 1, show_progress: bool = True, force: bool = False,
                 insecure: bool = False, guards_off: tuple[str, ...] = ()) -> dict:
    """Run one scenario end to end and return its summary (also in OUT_DIR/summary.json).
    `scenario_path` is a TOML path or a `Scenario`. `fleets` generator fleet actors share the
    generators (one each: every generator a peer). An existing non-empty OUT_DIR is refused
    unless `force` (then replaced whole, once the scenario validated). RunFailed (exit 1) when
    the run ended early on an error, RunInterrupted on SIGINT/SIGTERM; both say where the
    partial results are. ipc and tcp runs get CURVE keys in OUT_DIR/keys unless `insecure` (or
    the scenario's [security] enabled = false); `guards_off` is for tests that show what a guard
    stops (scowl.security.GUARDS)."""
    from scowl.config import Scenario, load_scenario
    from scowl.limits import raise_fd_limit

    transport = transport or ("ipc" if processes else "inproc")
    if processes and transport == "inproc":
        raise UsageError("inproc addresses cannot cross processes: use --transport ipc or tcp with --processes")
    if populations is not None and populations < 1:
        raise UsageError(f"populations: expected an integer >= 1, found {populations}")
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
    plan.guards_off = sorted(guards_off)
    enrol_plan(plan)
    if plan.security_mode == "off":
        log.warning("security is off: no CURVE keys, any local process can act as any peer (benchmarks only)")
    plan.save(out / "plan.json")  # atomically, and join.json beside it (the join token)
    progress = Progress(f"scowl run {scenario.scenario.name}", enabled=show_progress)
    if not processes:
        handler = add_trace_log(plan.out_dir, "run")
        try:
            return run_coroutine(lambda: _serve_in_process(plan, progress))
        finally:
            remove_trace_log(handler)
    return _run_processes(plan, out)


async def _serve_in_process(plan: RunPlan, progress: Progress) -> dict:
    """Every actor in this process. Every actor is watched: one that dies ends the run (exit
    1, naming it and its exception); a signal ends it too. Either way the metronome writes what
    was gathered, marked partial."""
    scenario = plan.scenario()
    node = Node("scowl-run")
    for role in ROLE_ORDER:
        for actor in build_actors(role, plan, scenario, progress=progress if role == "metronome" else None):
            node.add(actor)
    metronome = next(a for a in node.actors if isinstance(a, Metronome))
    _name_signals(node, metronome)
    out = Path(plan.out_dir)
    serving = asyncio.ensure_future(node.serve())
    finished = asyncio.ensure_future(metronome.finished.wait())
    stopped: dict[asyncio.Future[Any], Actor] = {asyncio.ensure_future(a.stopped.wait()): a for a in node.actors}
    failure = None
    try:
        while True:
            done, _ = await asyncio.wait({serving, finished, *stopped}, return_when=asyncio.FIRST_COMPLETED)
            if finished in done or serving in done or node.signalled:
                break
            for fut in done:
                actor = stopped.pop(fut)
                if metronome.finished.is_set():
                    continue
                why = f"{type(actor.crashed).__name__}: {actor.crashed}" if actor.crashed is not None else "it stopped"
                failure = f"actor {actor.name} ({actor.role}) died at tick {max(metronome.current, 0)}: {why}"
                if isinstance(actor.crashed, OSError) or "Too many open files" in str(actor.crashed):
                    from scowl.limits import check_sockets, sockets_allowed

                    failure += " (" + (check_sockets(sockets_allowed() + 1, "this run") or "") + ")"
                break
            if failure is not None:
                break
    finally:
        for fut in [finished, *stopped]:
            fut.cancel()
    if failure is not None:
        _say(failure)
        metronome.stop_reason = failure
    if not serving.done():
        node.stop()
    await serving
    if failure is not None:
        raise RunFailed(f"{failure}; {_where(out)}")
    if node.signalled:
        name = signal.Signals(node.signalled).name
        raise RunInterrupted(f"interrupted by {name} at tick {max(metronome.current, 0)}; {_where(out)}", node.signalled)
    if metronome.failure is not None:
        raise RunFailed(f"{metronome.failure}; {_where(out)}")
    if not metronome.finished.is_set() or not (out / "summary.json").is_file():
        raise RunFailed(f"the run stopped before its last tick; {_where(out)}")
    return json.loads((out / "summary.json").read_text())


def _name_signals(node: Node, metronome) -> None:
    """A signal that stops `node` tells the metronome why, so its partial summary says so."""
    on_signal = node._on_signal

    def named(sig: int) -> None:
        metronome.stop_reason = f"{signal.Signals(sig).name} received at tick {max(metronome.current, 0)}"
        on_signal(sig)

    node._on_signal = named  # type: ignore[method-assign]


def process_names(plan: RunPlan) -> list[str]:
    """Every actor of a plan in the order its `scowl-node` processes start: fixed services first."""
    return ["bootstrap", "broker", "metronome", *plan.trackers, *(f.name for f in plan.fleets), *(p.name for p in plan.populations)]


def node_command(plan: RunPlan, plan_path: Path, name: str) -> list[str]:
    """The `scowl-node` command line of one actor of a plan (the same to start it late or again).
    `-P`: the working directory is not put on sys.path, so a checkout folder there cannot
    shadow the installed package."""
    return [sys.executable, "-P", "-m", "scowl.node_cli", "--role", role_of(plan, name), "--deployment", str(plan_path),
            "--name", name, "--log-level", "WARNING"]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGTERM when the process that started it dies (even by SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


#: a node that has not printed READY after this long is stopped and the run fails
START_TIMEOUT_S = 300.0


def start_node(plan: RunPlan, plan_path: Path, name: str, stderr=None, timeout: float = START_TIMEOUT_S) -> subprocess.Popen:
    """Start one actor's `scowl-node` in its own session (its own process group, so it is
    stopped whole) and return once it printed READY; ScowlError after `timeout` seconds."""
    if plan.keys_dir and not (Path(plan.keys_dir) / ENROLMENT_FILE).exists():  # a plan made without run_scenario
        enrol_plan(plan)
    proc = subprocess.Popen(node_command(plan, plan_path, name), stdout=subprocess.PIPE, stderr=stderr, text=True,
                            start_new_session=True,
                            preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    assert proc.stdout is not None  # stdout=PIPE
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("READY"):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        rc = proc.wait()
        proc.stdout.close()
        why = f"exit code {rc}" if ready else f"no READY within {timeout:g} s"
        raise ScowlError(f"{name} did not start ({why}); see {Path(plan_path).parent}/trace-{name}.log")
    return proc


def stop_nodes(procs, grace_s: float = 5.0) -> None:
    """TERM every `scowl-node` still running (its whole process group), KILL what is left
    after `grace_s`, reap them all."""
    procs = list(procs)
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for proc in procs:
        try:
            proc.wait(max(0.05, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


class _Signalled(BaseException):
    def __init__(self, signum: int) -> None:
        self.signum = signum


def _how(rc: int | None) -> str:
    if rc is None:
        return "still running"
    return f"killed by {signal.Signals(-rc).name}" if rc < 0 else f"exit code {rc}"


#: after the metronome ended, its peers (told Stop) have this long to exit before they are stopped
PEERS_EXIT_S = 10.0
#: an interrupted metronome has this long to write what it gathered
METRONOME_WRITE_S = 30.0


def _run_processes(plan: RunPlan, out: Path) -> dict:
    """One `scowl-node` per actor; the fixed services first, each waited for by its READY line.
    Every child is watched: a death is said on the terminal (the metronome finds it too and
    goes on without it). SIGINT/SIGTERM stop every child (process groups), the metronome
    first, so it writes what it gathered. A killed metronome's journal is consolidated here."""
    procs: dict[str, subprocess.Popen] = {}
    deaths: list[dict] = []
    installed = {}
    if threading.current_thread() is threading.main_thread():
        def raise_signal(signum, frame):
            raise _Signalled(signum)

        for sig in (signal.SIGINT, signal.SIGTERM):
            installed[sig] = signal.signal(sig, raise_signal)
    t0 = time.monotonic()
    signalled = None
    rc = None
    try:
        for name in process_names(plan):
            procs[name] = start_node(plan, out / "plan.json", name)
        metronome = procs["metronome"]
        while rc is None:
            try:
                rc = metronome.wait(0.2)
            except subprocess.TimeoutExpired:
                pass
            for name, proc in procs.items():
                if name != "metronome" and proc.returncode is None and proc.poll() is not None and proc.returncode != 0:
                    deaths.append({"peer": name, "role": role_of(plan, name) if name in plan.names() else name,
                                   "how": _how(proc.returncode), "at_s": round(time.monotonic() - t0, 1)})
                    _say(f"{name} (pid {proc.pid}) died: {_how(proc.returncode)}")
        # the metronome told every grid peer the run is over; the services are never told: stop them now
        # (a metronome that died told nobody: everyone is stopped at once, below)
        stop_nodes([p for n, p in procs.items() if n in ("bootstrap", "broker") or rc != 0])
        deadline = time.monotonic() + PEERS_EXIT_S
        for name, proc in procs.items():
            try:
                proc.wait(max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop after the run; terminating it", name)
    except _Signalled as sig:
        signalled = sig.signum
        _say(f"{signal.Signals(signalled).name} received: stopping every node (the metronome first, to write what it gathered)")
        metronome_proc = procs.get("metronome")
        if metronome_proc is not None and metronome_proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(metronome_proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired, _Signalled):
                metronome_proc.wait(METRONOME_WRITE_S)
    finally:
        for signum in installed:
            signal.signal(signum, signal.SIG_IGN)  # stopping must finish: a second Ctrl-C waits
        try:
            stop_nodes(procs.values())
        finally:
            for signum, handler in installed.items():
                signal.signal(signum, handler)
    rc = procs["metronome"].returncode if "metronome" in procs else None
    if signalled is not None:
        _consolidate_if_needed(plan, out, f"{signal.Signals(signalled).name} received", deaths)
        raise RunInterrupted(f"interrupted by {signal.Signals(signalled).name}; {_where(out)}", signalled)
    if rc != 0:
        reason = f"the metronome {_how(rc)}" + (f" (see {out}/trace-metronome.log)" if rc and rc > 0 else "")
        deaths.append({"peer": "metronome", "role": "metronome", "how": _how(rc), "at_s": round(time.monotonic() - t0, 1)})
        if not _consolidate_if_needed(plan, out, reason, deaths):
            summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").is_file() else {}
            reason = (summary.get("interrupted") or {}).get("interrupted") or reason
        raise RunFailed(f"{reason}; {_where(out)}")
    summary = json.loads((out / "summary.json").read_text())
    if deaths:
        summary = _add_deaths(out, summary, deaths)
    if summary.get("partial"):
        raise RunFailed(f"{summary['interrupted'].get('interrupted')}; {_where(out)}")
    return summary


def _add_deaths(out: Path, summary: dict, deaths: list[dict]) -> dict:
    """The processes seen dying, into the summary: the metronome lists the peers it lost; the
    bootstrap and broker (it does not watch them) and how each process ended come from here."""
    listed = {d["peer"]: d for d in summary.get("deaths", [])}
    for d in deaths:
        if d["peer"] in listed:
            listed[d["peer"]]["process"] = d["how"]
        else:
            summary.setdefault("deaths", []).append(d)
    atomic_write_json(out / "summary.json", summary)
    return summary


def _consolidate_if_needed(plan: RunPlan, out: Path, reason: str, deaths: list[dict]) -> bool:
    """The metronome died without writing its results: make them from its journal (every tick
    it flushed), marked partial, naming what died. True when it did so."""
    from scowl.analysis.results import write_results
    from scowl.statelog import JOURNAL, journal_rows

    journal = out / JOURNAL
    if (out / "summary.json").is_file() or not journal.is_file():
        return False
    try:
        rows = journal_rows(journal)
        completed = 1 + max((r["tick"] for r in rows), default=-1)
        meta = run_meta(plan, plan.scenario(), 0.0, {})
        meta["partial"] = {"interrupted": reason, "ticks_completed": completed, "ticks_planned": plan.scenario().ticks}
        meta["deaths"] = deaths
        write_results(out, rows, {}, meta)
        journal.unlink()
    except Exception as exc:
        _say(f"could not consolidate {journal}: {exc}")
        return False
    return True


def build_role_node(args) -> Node:
    """`scowl-node --role ROLE --deployment PLAN [--name NAME ...]`: the role's actors of a plan."""
    if not args.deployment:
        raise ScowlError(f"role {args.role} needs --deployment PLAN (the plan.json that `scowl run` writes)")
    plan = RunPlan.load(args.deployment)
    scenario = plan.scenario()
    names = set(args.name.split(",")) if args.name else None
    progress = Progress(f"scowl {scenario.scenario.name}") if args.role == "metronome" else None
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
        _name_signals(node, actors[0])
    return node
