"""`scowl-node --role ROLE --deployment PLAN`: one process's actors of a run's plan."""

from __future__ import annotations

import logging
import os

from scowl.errors import ScowlError
from scowl.plan import RunPlan
from scowl.progress import Progress
from scowl.roles import build_actors
from scowl.run.in_process import name_signals
from scowl.run.loop import add_trace_log
from scowl.runtime import Node

log = logging.getLogger("scowl.run")


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
        name_signals(node, actors[0])
    return node
