"""`scowl-node`: run one role's actors in one OS process.

A node prints one line `READY <actor> <address> ...` on stdout once its actors are bound and
started, so whatever launched it (a run driver, a deploy script, a benchmark) waits for
readiness instead of sleeping."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
from typing import Any

from scowl.errors import ScowlError
from scowl.runtime import Node, install_uvloop

# role -> (module under scowl, factory function, what it does)
ROLES: dict[str, tuple[str, str, str]] = {
    "bootstrap": ("scowl.run.node", "build_role_node", "issues 32-bit generator ids (MurmurHash3, seed 42, over address + server nonce) and 128-bit consumer ids"),
    "broker": ("scowl.run.node", "build_role_node", "owns the tracker bucket table and routes each generator (and its consumers) to the tracker of its hash bucket"),
    "tracker": ("scowl.run.node", "build_role_node", "a regional controller: rebuilds the ephemeral distribution trees of its bucket every round"),
    "generator": ("scowl.run.node", "build_role_node", "generators of this host (all fuel types), following the day's supply model; black out when over output"),
    "consumer": ("scowl.run.node", "build_role_node", "consumer populations (homes, businesses) as numpy arrays; report demand changes to their tracker"),
    "storage": ("scowl.run.node", "build_role_node", "EV battery super-peers (EV hubs) that charge on surplus and discharge on deficit, as their tracker asks"),
    "metronome": ("scowl.run.node", "build_role_node", "publishes timesteps once every peer is ready (lockstep or real time)"),
    "echo": ("scowl.actors.demo", "build_echo_node", "demo: answers pings and counts messages (runtime smoke tests and benchmarks)"),
    "ping": ("scowl.actors.demo", "build_ping_node", "demo: sends --count pings to an echo at --connect and prints what the echo counted"),
}


GRID_ROLES = ("bootstrap", "broker", "metronome", "tracker", "generator", "storage", "consumer")
DEMO_ROLES = ("echo", "ping")

# The examples `--help` shows; tests/runtime/test_node_process.py runs them as printed (with a
# free port and a real plan in place of PORT and RUN), so they cannot rot.
EXAMPLES = (
    "scowl run configs/small.toml --processes --transport tcp --out RUN   # writes RUN/plan.json, runs the day",
    "scowl-node --role bootstrap --deployment RUN/plan.json               # one grid role of that plan",
    "scowl-node --role tracker --deployment RUN/plan.json --name tracker-0",
    "scowl-node --role echo --bind tcp://127.0.0.1:PORT                   # demo: an echo server",
    "scowl-node --role ping --connect tcp://127.0.0.1:PORT --count 1000   # demo: ping it",
)


def build_parser() -> argparse.ArgumentParser:
    roles = "\n".join(f"  {name:<10} {desc}" for name, (_, _, desc) in ROLES.items())
    examples = "\n".join(f"  {line}" for line in EXAMPLES)
    parser = argparse.ArgumentParser(
        prog="scowl-node",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run one Scowl role (one or more actors) in this process until SIGINT/SIGTERM "
        "or until its actors finish. Prints 'READY <actor> <address>' lines once bound.\n\n"
        "Grid roles (" + ", ".join(GRID_ROLES) + ") take everything from a run plan: the plan.json that "
        "`scowl run` (or `scowl deploy`) writes names every actor, the fixed addresses of the bootstrap, "
        "broker and metronome, and the scenario. Their actors bind where the plan says. The demo roles "
        "(" + ", ".join(DEMO_ROLES) + ") take --bind / --connect instead. A peer that is not in the plan "
        "joins a running grid through the bootstrap instead (docs/protocol.md, examples/).",
        epilog=f"roles:\n{roles}\n\nexamples:\n{examples}",
    )
    parser.add_argument("--role", choices=sorted(ROLES),
                        help="which role this process plays (grid roles: leave it out to run the actors --name lists, "
                        "of any roles, in this one process; a process name of the plan's layout, e.g. node-0, "
                        "stands for its actors)")
    parser.add_argument("--log-level", default="WARNING", help="logging level (DEBUG, INFO, WARNING, ERROR)")
    grid = parser.add_argument_group("grid roles")
    grid.add_argument("--deployment", metavar="PLAN", help="the run plan (plan.json) written by `scowl run` or `scowl deploy`")
    grid.add_argument("--name", help="which of the role's actors in the plan to run, comma-separated (default: all of them)")
    demo = parser.add_argument_group("demo roles (echo, ping)")
    demo.add_argument("--bind", default=None, help="echo: address to bind (tcp://HOST:PORT, ipc://PATH; port 0 = any; "
                      "default tcp://127.0.0.1:0)")
    demo.add_argument("--connect", action="append", default=[], metavar="[NAME=]ADDRESS",
                      help="ping: the echo to connect to")
    demo.add_argument("--count", type=int, default=1000, help="ping: how many pings to send")
    demo.add_argument("--keys", metavar="DIR", help="echo: CURVE keys (DIR/NAME.key_secret and DIR/enrolment.json): "
                      "accept only enrolled clients, as a secure run does (default: no keys)")
    return parser


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Options that the chosen role would ignore are errors, not silently dropped."""
    if args.role is None and not (args.deployment and args.name):
        parser.error("--role is required, unless --deployment PLAN and --name NAMES say which actors of the plan to run")
    if args.role in GRID_ROLES or args.role is None:
        given = [opt for opt, value in (("--bind", args.bind), ("--connect", args.connect)) if value]
        if given:
            parser.error(f"{' and '.join(given)} are for the demo roles ({', '.join(DEMO_ROLES)}); "
                         f"role {args.role} binds and connects where its plan (--deployment) says")
        if not args.deployment:
            parser.error(f"role {args.role} needs --deployment PLAN (the plan.json that `scowl run` writes)")
    else:
        if args.deployment:
            parser.error(f"--deployment applies to the grid roles; role {args.role} takes --bind / --connect")
        if args.bind is None:
            args.bind = "tcp://127.0.0.1:0"


def one_malloc_arena() -> None:
    """glibc: every thread allocates from the main arena (M_ARENA_MAX 1), unless the environment
    says otherwise. Called before the node's threads start. Else ZeroMQ's I/O thread gets an arena
    of its own that keeps the largest burst it ever received resident for the rest of the run, as
    free memory no other thread can use: a whole-state population's tick-0 Assigns (every consumer,
    8 bytes each) left 17.2 MB free there all day (malloc_info), 8 bytes a consumer; with one
    arena, later ticks reuse it (population-0 alone, 30 ticks: peak RSS 147.2 -> 130.0 MB)."""
    if sys.platform != "linux" or "MALLOC_ARENA_MAX" in os.environ or "arena_max" in os.environ.get("GLIBC_TUNABLES", ""):
        return
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-8, 1)  # M_ARENA_MAX (malloc.h); returns 0 where not glibc's
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    one_malloc_arena()
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # the trace log takes INFO; the terminal only what was asked
        handler.setLevel(args.log_level.upper())
    module_name, factory_name, _ = ROLES[args.role or "tracker"]  # no role: the plan's actors, as for any grid role
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        print(f"scowl-node: role {args.role!r} is not part of this build ({module_name} is missing)", file=sys.stderr)
        return 2
    try:
        node: Node = getattr(module, factory_name)(args)
        install_uvloop()
        return asyncio.run(_serve(node))
    except ScowlError as exc:
        print(f"scowl-node {f'--role {args.role}' if args.role else f'--name {args.name}'}: error: {exc}", file=sys.stderr)
        return 2


async def _serve(node: Node) -> int:
    serving = asyncio.ensure_future(node.serve())
    started = asyncio.ensure_future(asyncio.gather(*(a.started.wait() for a in node.actors)))
    either: set[asyncio.Future[Any]] = {serving, started}
    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    watches = []
    if started.done() and not serving.done():
        for actor in node.actors:
            print(f"READY {actor.name} {actor.bound_address or '-'}", flush=True)
        if len(node.actors) > 1:  # several actors (a layout's group): one that crashes ends the process
            watches = [asyncio.ensure_future(_stop_on_crash(node, a)) for a in node.actors]
    else:
        started.cancel()
        await asyncio.gather(started, return_exceptions=True)
    await serving
    for watch in watches:
        watch.cancel()
    await asyncio.gather(*watches, return_exceptions=True)
    crashed = [a for a in node.actors if a.crashed is not None]
    for actor in crashed:
        print(f"scowl-node: {actor.name} stopped on an error: {actor.crashed!r}", file=sys.stderr)
    failed = [a for a in node.actors if getattr(a, "failure", None) is not None]  # the metronome ended the run on an error
    if node.signalled:
        return 128 + node.signalled
    return 1 if crashed or failed else 0


async def _stop_on_crash(node: Node, actor) -> None:
    """An actor of a shared process stopped on an error: stop the process (exit 1), so that
    whatever watches processes sees the death, as it would with the actor alone in one; its
    co-hosted actors go with it (they are named where the process's death is reported)."""
    await actor.stopped.wait()
    if actor.crashed is not None:
        others = ", ".join(a.name for a in node.actors if a is not actor)
        print(f"scowl-node {node.name}: {actor.name} stopped on an error ({actor.crashed!r}); "
              f"stopping this process ({others})", file=sys.stderr, flush=True)
        node.stop()


if __name__ == "__main__":
    raise SystemExit(main())
