"""`scowl-node [--role ROLE] --deployment PLAN [--name NAMES]`: one process's actors of a run's
plan: one role's, or (no --role) the named actors of any roles, one event loop for all."""

from __future__ import annotations

import logging
import os

from scowl.errors import ScowlError
from scowl.plan import RunPlan, role_of
from scowl.progress import Progress
from scowl.roles import ROLE_ORDER, build_actors
from scowl.run.in_process import name_signals
from scowl.run.loop import add_trace_log
from scowl.runtime import Node

log = logging.getLogger("scowl.run")


def build_role_node(args) -> Node:
    """`scowl-node --role ROLE --deployment PLAN [--name NAME ...]`: the role's actors of a plan;
    without --role, the actors --name lists (or a process name of the plan's layout stands for
    its actors), whatever their roles, started in role order."""
    if not args.deployment:
        raise ScowlError(f"role {args.role} needs --deployment PLAN (the plan.json that `scowl run` writes)")
    plan = RunPlan.load(args.deployment)
    scenario = plan.scenario()
    names = set(args.name.split(",")) if args.name else None
    if args.role:
        roles = {args.role: names}
    else:
        roles = _roles_of_names(plan, names, args.deployment)
    progress = Progress(f"scowl {scenario.scenario.name}") if "metronome" in roles else None
    actors = [a for role in ROLE_ORDER if role in roles
              for a in build_actors(role, plan, scenario, roles[role], progress=progress if role == "metronome" else None)]
    if not actors:
        raise ScowlError(f"no {args.role} named {args.name!r} in {args.deployment}")
    add_trace_log(plan.out_dir, args.name or args.role, append=True)
    log.info("%s: scowl-node pid %d starts", args.name or args.role, os.getpid())
    node = Node(args.name or args.role)
    for a in actors:
        node.add(a)
    metronome = next((a for a in actors if a.role == "metronome"), None)
    if metronome is not None:  # the run ends when the metronome has written the results
        async def _stop_when_finished(metronome=metronome):
            await metronome.finished.wait()
            node.stop()
        node.on_started = _stop_when_finished
        name_signals(node, metronome)
    return node


def _roles_of_names(plan: RunPlan, names: set[str] | None, source: str) -> dict[str, set[str] | None]:
    """--name without --role: each actor (or layout process name, for its actors) by role."""
    if not names:
        raise ScowlError(f"without --role, --name must list the actors to run (or a process of the layout in {source})")
    groups = plan.processes()
    wanted = {a for n in names for a in (groups[n] if n in groups and len(groups[n]) > 1 else [n])}
    roles: dict[str, set[str] | None] = {}
    for name in sorted(wanted):
        try:
            roles.setdefault(role_of(plan, name), set()).add(name)  # type: ignore[union-attr]
        except ValueError:
            raise ScowlError(f"{name!r} is not an actor of {source} (nor a process of its layout: "
                             f"{', '.join(groups)})") from None
    return roles
