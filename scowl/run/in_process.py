"""Every actor of a run in this process over inproc (the embedded default): each actor watched,
a death or a signal ends the run and the metronome writes what it gathered."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

from scowl.actors.metronome import Metronome
from scowl.limits import check_sockets, sockets_allowed
from scowl.plan import RunPlan
from scowl.progress import Progress
from scowl.roles import ROLE_ORDER, build_actors
from scowl.run.failures import RunFailed, RunInterrupted, say
from scowl.run.rundir import where_results
from scowl.runtime import Actor, Node


async def serve_in_process(plan: RunPlan, progress: Progress) -> dict:
    """Every actor in this process. Every actor is watched: one that dies ends the run (exit
    1, naming it and its exception); a signal ends it too. Either way the metronome writes what
    was gathered, marked partial."""
    scenario = plan.scenario()
    node = Node("scowl-run")
    for role in ROLE_ORDER:
        for actor in build_actors(role, plan, scenario, progress=progress if role == "metronome" else None):
            node.add(actor)
    metronome = next(a for a in node.actors if isinstance(a, Metronome))
    name_signals(node, metronome)
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
                    failure += " (" + (check_sockets(sockets_allowed() + 1, "this run") or "") + ")"
                break
            if failure is not None:
                break
    finally:
        for fut in [finished, *stopped]:
            fut.cancel()
    if failure is not None:
        say(failure)
        metronome.stop_reason = failure
    if not serving.done():
        node.stop()
    await serving
    if failure is not None:
        raise RunFailed(f"{failure}; {where_results(out)}")
    if node.signalled:
        name = signal.Signals(node.signalled).name
        raise RunInterrupted(f"interrupted by {name} at tick {max(metronome.current, 0)}; {where_results(out)}", node.signalled)
    if metronome.failure is not None:
        raise RunFailed(f"{metronome.failure}; {where_results(out)}")
    if not metronome.finished.is_set() or not (out / "summary.json").is_file():
        raise RunFailed(f"the run stopped before its last tick; {where_results(out)}")
    return json.loads((out / "summary.json").read_text())


def name_signals(node: Node, metronome) -> None:
    """A signal that stops `node` tells the metronome why, so its partial summary says so."""
    on_signal = node._on_signal

    def named(sig: int) -> None:
        metronome.stop_reason = f"{signal.Signals(sig).name} received at tick {max(metronome.current, 0)}"
        on_signal(sig)

    node._on_signal = named  # type: ignore[method-assign]
