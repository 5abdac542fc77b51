"""A run's actors in `scowl-node` processes over ipc or tcp, as the plan's layout groups them
(scowl.run.layout; one process per actor without one): starting them (each in its own process
group; the fixed services one by one, then the peers at once, each until it printed READY), watching them, forwarding SIGINT/SIGTERM, stopping them, and
making a killed metronome's results from its journal."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scowl.analysis.meta import run_meta
from scowl.errors import ScowlError
from scowl.plan import RunPlan, role_of
from scowl.run.failures import RunFailed, RunInterrupted, say
from scowl.run.layout import SERVICES
from scowl.run.rundir import where_results
from scowl.security import enrol_plan
from scowl.security.keys import ENROLMENT_FILE
from scowl.statelog import JOURNAL, atomic_write_json, journal_rows

log = logging.getLogger("scowl.run")


def process_names(plan: RunPlan) -> list[str]:
    """Every `scowl-node` process of a plan in start order (fixed services first): an actor's
    name, or node-<i> for a process of several actors (plan.processes())."""
    return list(plan.processes())


def actors_in(plan: RunPlan, name: str) -> list[str]:
    """The actors a process of the plan runs (an actor's name alone: that actor)."""
    return plan.processes().get(name, [name])


def process_role(plan: RunPlan, name: str) -> str:
    """The role of a process: its actors' role, or their roles joined by '+' (start order)."""
    roles: list[str] = []
    for actor in actors_in(plan, name):
        role = role_of(plan, actor)
        if role not in roles:
            roles.append(role)
    return "+".join(roles)


def node_command(plan: RunPlan, plan_path: Path, name: str) -> list[str]:
    """The `scowl-node` command line of one process of a plan, an actor's or a layout's group
    (the same to start it late or again). `-P`: the working directory is not put on sys.path,
    so a checkout folder there cannot shadow the installed package."""
    actors = actors_in(plan, name)
    role = ["--role", role_of(plan, name)] if len(actors) == 1 and actors[0] == name else []
    return [sys.executable, "-P", "-m", "scowl.node_cli", *role, "--deployment", str(plan_path),
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
    return await_ready(spawn_node(plan, plan_path, name, stderr), plan_path, name, timeout)


def spawn_node(plan: RunPlan, plan_path: Path, name: str, stderr=None) -> subprocess.Popen:
    """Start one process of the plan in its own session, not waiting for it (await_ready)."""
    if plan.keys_dir and not (Path(plan.keys_dir) / ENROLMENT_FILE).exists():  # a plan made without run_scenario
        enrol_plan(plan)
    return subprocess.Popen(node_command(plan, plan_path, name), stdout=subprocess.PIPE, stderr=stderr, text=True,
                            start_new_session=True,
                            preexec_fn=_die_with_parent if sys.platform == "linux" else None)


def await_ready(proc: subprocess.Popen, plan_path: Path, name: str, timeout: float = START_TIMEOUT_S) -> subprocess.Popen:
    """`proc` once it printed READY; else it is killed and ScowlError says why."""
    assert proc.stdout is not None  # stdout=PIPE
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("READY"):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        rc = proc.wait()
        proc.stdout.close()
        why = f"exit code {rc}" if ready else f"no READY within {timeout:g} s"
        trace = Path(plan_path).parent / f"trace-{name}.log"  # (written once its actors are built: not by one failing before)
        raise ScowlError(f"{name} did not start ({why}); " + (f"see {trace}" if trace.exists() else "it wrote no trace log: its error is in its stderr"))
    return proc


def start_nodes(plan: RunPlan, plan_path: Path, spawned: Callable[[str, subprocess.Popen], None],
                stderr_of: Callable[[str], Any] | None = None, timeout: float = START_TIMEOUT_S) -> None:
    """Every process of the plan: one by one up to the last that holds a fixed service (a
    peer's start connects to the broker and the metronome), then every other at once, each
    waited for by its READY (a node's start is mostly Python's imports: ~1 s each, which 10
    nodes one after the other spent in a row). `spawned(name, proc)` is told of each process
    as it starts, so a caller that fails can stop them all; `stderr_of(name)`: an open file
    for its stderr (closed here once the child has it)."""
    names = process_names(plan)
    last_service = max((i for i, n in enumerate(names) if set(actors_in(plan, n)) & set(SERVICES)), default=-1)
    waiting: list[tuple[str, subprocess.Popen, float]] = []
    for i, name in enumerate(names):
        err = stderr_of(name) if stderr_of is not None else None
        try:
            proc = spawn_node(plan, plan_path, name, err)
        finally:
            if err is not None:
                err.close()
        spawned(name, proc)
        if i <= last_service:
            await_ready(proc, plan_path, name, timeout)
        else:
            waiting.append((name, proc, time.monotonic() + timeout))
    for name, proc, deadline in waiting:
        await_ready(proc, plan_path, name, max(0.0, deadline - time.monotonic()))


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


def run_processes(plan: RunPlan, out: Path) -> dict:
    """One `scowl-node` per process of the plan's layout; the fixed services first, each waited
    for by its READY lines.
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
        start_nodes(plan, out / "plan.json", procs.__setitem__)
        metronome_at = next(n for n in procs if "metronome" in actors_in(plan, n))
        metronome = procs[metronome_at]
        while rc is None:
            try:
                rc = metronome.wait(0.2)
            except subprocess.TimeoutExpired:
                pass
            for name, proc in procs.items():
                if name != metronome_at and proc.returncode is None and proc.poll() is not None and proc.returncode != 0:
                    for actor in actors_in(plan, name):
                        deaths.append({"peer": actor, "role": role_of(plan, actor) if actor in plan.names() else actor,
                                       "how": _how(proc.returncode), "at_s": round(time.monotonic() - t0, 1)})
                    say(f"{name} (pid {proc.pid}{'' if actors_in(plan, name) == [name] else ': ' + ', '.join(actors_in(plan, name))}) "
                        f"died: {_how(proc.returncode)}")
        # the metronome told every grid peer the run is over; the services are never told: stop them now
        # (a metronome that died told nobody: everyone is stopped at once, below)
        stop_nodes([p for n, p in procs.items() if {"bootstrap", "broker"} & set(actors_in(plan, n)) or rc != 0])
        deadline = time.monotonic() + PEERS_EXIT_S
        for name, proc in procs.items():
            try:
                proc.wait(max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop after the run; terminating it", name)
    except _Signalled as sig:
        signalled = sig.signum
        say(f"{signal.Signals(signalled).name} received: stopping every node (the metronome first, to write what it gathered)")
        metronome_proc = next((p for n, p in procs.items() if "metronome" in actors_in(plan, n)), None)
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
    rc = next((p.returncode for n, p in procs.items() if "metronome" in actors_in(plan, n)), None)
    if signalled is not None:
        _consolidate_if_needed(plan, out, f"{signal.Signals(signalled).name} received", deaths)
        raise RunInterrupted(f"interrupted by {signal.Signals(signalled).name}; {where_results(out)}", signalled)
    if rc != 0:
        at = next((n for n in procs if "metronome" in actors_in(plan, n)), "metronome")
        reason = f"the metronome {_how(rc)}" + (f" (see {out}/trace-{at}.log)" if rc and rc > 0 else "")
        deaths.append({"peer": "metronome", "role": "metronome", "how": _how(rc), "at_s": round(time.monotonic() - t0, 1)})
        if not _consolidate_if_needed(plan, out, reason, deaths):
            summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").is_file() else {}
            reason = (summary.get("interrupted") or {}).get("interrupted") or reason
        raise RunFailed(f"{reason}; {where_results(out)}")
    summary = json.loads((out / "summary.json").read_text())
    if deaths:
        summary = _add_deaths(out, summary, deaths)
    if summary.get("partial"):
        raise RunFailed(f"{summary['interrupted'].get('interrupted')}; {where_results(out)}")
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
    from scowl.analysis.results import write_results  # pandas: not in a scowl-node's import path (tests/runtime/test_import_weight.py)

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
        say(f"could not consolidate {journal}: {exc}")
        return False
    return True
