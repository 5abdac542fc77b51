"""`scowl deploy ...`: emulated hosts in network namespaces, and the Emulab command plan.

    scowl deploy check DESC [--scenario S]          validate; show hosts, processes, partitions
    scowl deploy netns up DESC                      bring the hosts up and leave them (prints the run id)
    scowl deploy netns exec RUNID HOST -- CMD...    run a command on a host of a run that is up
    scowl deploy netns down RUNID                   tear that run down
    scowl deploy netns run DESC --scenario S        up, start every role, apply the schedule, gather, down
    scowl deploy netns grid --deployment DESC CONFIG --out DIR   the scenario's day on the hosts: summary,
                                                    per-host figures, re-convergence after each heal
    scowl deploy cleanup [--run RUNID] [--force]    remove what earlier runs left behind
    scowl deploy plan DESC --scenario S --target emulab [--format text|sh|json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

from scowl.commands._scenario import add_scenario_arguments, add_set_argument, scenario_with_sets, write_scenario
from scowl.errors import ScowlError, UsageError

if TYPE_CHECKING:
    from scowl.deploy.schedule import NetworkSchedule

SCENARIO_HELP = "scenario: a TOML file or a packaged name (small-partition, ...)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("deploy", help="multi-host runs: namespace hosts with real network faults, Emulab plans")
    dsub = p.add_subparsers(dest="deploy_command", metavar="ACTION", required=True)

    c = dsub.add_parser("check", help="validate a deployment description (and a scenario's network schedule)")
    c.add_argument("deployment")
    c.add_argument("--scenario", help=SCENARIO_HELP + "; its [network] schedule is translated to host pairs "
                   "and its grid actors placed on the hosts")
    add_set_argument(c)
    c.set_defaults(func=_check)

    n = dsub.add_parser("netns", help="emulated hosts as Linux network namespaces (root)")
    nsub = n.add_subparsers(dest="netns_command", metavar="ACTION", required=True)
    up = nsub.add_parser("up", help="bring the hosts up and leave them up; prints the run id")
    up.add_argument("deployment")
    up.set_defaults(func=_up)
    ex = nsub.add_parser("exec", help="run a command on a host of a run that is up")
    ex.add_argument("run_id")
    ex.add_argument("host")
    ex.add_argument("argv", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    ex.set_defaults(func=_exec)
    down = nsub.add_parser("down", help="tear a run down (its processes, namespaces and rules)")
    down.add_argument("run_id")
    down.set_defaults(func=_down)
    run = nsub.add_parser("run", help="up, start one process per role per host, apply the schedule, gather logs, down")
    run.add_argument("deployment")
    run.add_argument("--scenario", required=True, help=SCENARIO_HELP + ": passed to every role, [network] drives the "
                     "faults (with --set: RUN_DIR/scenario.toml, the scenario with the overrides)")
    add_set_argument(run)
    run.add_argument("--command", dest="command_template", help="command template overriding the description's; fields: {role} {host} "
                     "{address} {scenario} {deployment} {run_dir} {count} {python}")
    run.add_argument("--run-dir", help="where logs and run.json go (default runs/netns-<run id>)")
    run.add_argument("--tick-seconds", type=float, default=1.0, help="wall seconds per tick for the schedule (default 1)")
    run.add_argument("--duration", type=float, help="stop the run after this many seconds")
    run.add_argument("--no-faults", action="store_true", help="ignore the scenario's [network] schedule")
    run.set_defaults(func=_run)
    grid = nsub.add_parser("grid", help="run the scenario's day on the hosts (one scowl-node per role per host, "
                           "faults in the kernel at their ticks) and print its summary")
    add_scenario_arguments(grid, help="scenario: the day, and its [network] latency and partitions (a TOML file or a packaged name)")
    grid.add_argument("--deployment", required=True, help="deployment description (e.g. deploy/hosts-3.toml)")
    grid.add_argument("--out", help="run directory (default: runs/netns-<scenario>-<run id>)")
    grid.add_argument("--no-faults", action="store_true", help="ignore the scenario's [network] schedule")
    grid.add_argument("--timeout", type=float, default=600.0, help="give up when the day has not ended after this many seconds")
    grid.set_defaults(func=_grid)

    cl = dsub.add_parser("cleanup", help="remove namespaces, rules and processes left by earlier runs")
    cl.add_argument("--run", dest="run_id", help="only this run id")
    cl.add_argument("--force", action="store_true", help="also runs whose owner process is still alive")
    cl.set_defaults(func=_cleanup)

    pl = dsub.add_parser("plan", help="print the per-host command plan of a run on real hosts")
    pl.add_argument("deployment")
    pl.add_argument("--scenario", required=True, help=SCENARIO_HELP + " (with --set: written to RUN_DIR/scenario.toml, "
                    "the file the plan copies to the hosts)")
    add_set_argument(pl)
    pl.add_argument("--target", choices=["emulab"], default="emulab")
    pl.add_argument("--format", choices=["text", "sh", "json"], default="text")
    pl.add_argument("--tick-seconds", type=float, default=1.0, help="wall seconds per tick (default 1)")
    pl.add_argument("--run-dir", help="where gathered results go (default runs/emulab-<name>)")
    pl.add_argument("--command", dest="command_template", help="command template overriding the description's")
    pl.add_argument("--repo", default=".", help="the project checkout to copy to the hosts")
    pl.set_defaults(func=_plan)


def _scenario(args, out_dir) -> tuple[str, NetworkSchedule, str]:
    """The scenario a deploy command hands on: (its file, its network schedule, a label). With
    --set the scenario is validated with the overrides and written to OUT_DIR/scenario.toml;
    without, the file is used as named (a packaged name resolved), read for its [network] only."""
    from scowl.config import resolve_scenario
    from scowl.deploy import load_network_schedule
    from scowl.deploy.schedule import from_config

    path = str(resolve_scenario(args.scenario))
    if not args.sets:
        return path, load_network_schedule(path), path
    sc = scenario_with_sets(args.scenario, args.sets)
    return write_scenario(sc, out_dir), from_config(sc.network), f"{path} " + " ".join(f"--set {s}" for s in args.sets)


def _check(args) -> int:
    import tempfile

    from scowl.deploy import load_deployment

    if args.sets and not args.scenario:
        raise UsageError("deploy check: --set changes a scenario: give one with --scenario")
    d = load_deployment(args.deployment)
    with tempfile.TemporaryDirectory(prefix="scowl-check-") as tmp:
        scenario = _scenario(args, tmp) if args.scenario else None  # a bad scenario or --set: refused first
        print(f"{d.path}: deployment {d.name!r}, target {d.target}, bootstrap {d.bootstrap_endpoint()}")
        for h in d.hosts:
            roles = ", ".join(f"{r}={n}" for r, n in h.roles.items() if n)
            print(f"  {h.name:8} {h.address:15} {roles}")
        return _check_scenario(d, *scenario) if scenario else 0


def _check_scenario(d, scenario: str, sched: NetworkSchedule, label: str) -> int:
    from scowl.deploy.grid import grid_plan
    from scowl.deploy.schedule import resolve
    from scowl.errors import ConfigError

    print(f"{label}: latency {sched.latency_ms:g} ms +- {sched.jitter_ms:g} ms")
    for hp in resolve(sched, d):
        pairs = ", ".join(sorted("<->".join(sorted(p)) for p in hp.pairs)) or "none"
        note = f" (hosts on both sides, not cut inside: {', '.join(hp.coarse)})" if hp.coarse else ""
        print(f"  {hp.name} ticks [{hp.start_tick}, {hp.end_tick}): cuts {pairs}{note}")
    try:
        grid = grid_plan(d, scenario)
    except ConfigError as exc:
        print(f"not runnable as the grid with this scenario: {str(exc).replace(scenario, label)}")
        return 1
    print("grid actors (scowl deploy netns grid / deploy/emulab.sh):")
    for h in d.hosts:
        print(f"  {h.name:8} {', '.join(sorted(n for n, x in grid.hosts.items() if x == h.name)) or '-'}")
    return 0


def _up(args) -> int:
    from scowl.deploy import NetnsCluster, load_deployment

    cluster = NetnsCluster(load_deployment(args.deployment)).up()
    cluster.detach()
    print(f"run {cluster.run_id} up in {cluster.timings['up_s']:.2f} s: switch {cluster.switch_ns}, hosts "
          + ", ".join(f"{h.name}={cluster.ns(h.name)} ({h.address})" for h in cluster.deployment.hosts))
    print(f"  scowl deploy netns exec {cluster.run_id} HOST -- CMD ...;  scowl deploy netns down {cluster.run_id}")
    return 0


def _exec(args) -> int:
    from scowl.deploy.netns import list_namespaces

    ns = f"sc{args.run_id}-{args.host}"
    if ns not in list_namespaces():
        raise ScowlError(f"no host {args.host!r} in run {args.run_id!r} (namespace {ns} does not exist)")
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        raise ScowlError("exec: give a command after --")
    return subprocess.call(["ip", "netns", "exec", ns, *argv])


def _down(args) -> int:
    from scowl.deploy import cleanup

    removed = cleanup(args.run_id, force=True)
    if not removed:
        print(f"run {args.run_id}: nothing left to remove")
    for rid, names in removed.items():
        print(f"run {rid}: removed {', '.join(names)}")
    return 0


def _run(args) -> int:
    from scowl.deploy import load_deployment
    from scowl.deploy.netns import NetnsCluster
    from scowl.deploy.run import run_netns

    d = load_deployment(args.deployment)
    run_id = NetnsCluster(d).run_id
    run_dir = args.run_dir or os.path.join("runs", f"netns-{run_id}")
    scenario, sched, _ = _scenario(args, run_dir)  # a bad name or --set is refused before any host comes up
    schedule = None if args.no_faults else sched
    result = run_netns(d, scenario=scenario, run_dir=run_dir, command=args.command_template, schedule=schedule,
                       tick_seconds=args.tick_seconds, duration_s=args.duration, run_id=run_id)
    t = result.timings
    print(f"run {result.run_id}: up {t.get('up_s', 0):.2f} s, ran {t.get('ran_s', 0):.2f} s, "
          f"down {t.get('down_s', 0):.2f} s; logs in {result.run_dir}")
    for key, code in result.exit_codes.items():
        print(f"  {key:20} exit {code if code is not None else 'stopped'}")
    failed = [k for k, c in result.exit_codes.items() if c not in (0, None)]
    return 1 if failed else 0


def _grid(args) -> int:
    from scowl.commands._scenario import scenario_file, scenario_of
    from scowl.deploy import NetworkSchedule, load_deployment
    from scowl.deploy.grid_run import run_grid
    from scowl.deploy.host_figures import host_figures, reconvergence
    from scowl.deploy.netns import NetnsCluster
    from scowl.report.text import summary_table

    scenario = scenario_of(args)  # a bad name, file or --set is refused before any host comes up
    d = load_deployment(args.deployment)
    run_id = NetnsCluster(d).run_id
    out = args.out or os.path.join("runs", f"netns-{scenario.scenario.name}-{run_id}")
    config = scenario_file(args, out, scenario)
    result = run_grid(d, scenario=config, run_dir=out, run_id=run_id, timeout_s=args.timeout,
                      schedule=NetworkSchedule() if args.no_faults else None)
    print(summary_table(result.summary or {}))
    t = result.timings
    print(f"\nhosts (run {result.run_id}: up {t.get('up_s', 0):.2f} s, roles ready {t.get('start_s', 0):.1f} s, "
          f"day {t.get('ran_s', 0):.1f} s, down {t.get('down_s', 0):.2f} s; latency by {t.get('delayer')}):")
    for host, f in host_figures(result.run_dir).items():
        rtt = f"{f['tracker_rtt_ms_p50']:.1f} ms" if "tracker_rtt_ms_p50" in f else "-"
        print(f"  {host:6} capacity_low {f['capacity_low_sent']:4d}  deferred {f['deferred_mwh']:8.3f} MWh  "
              f"self-optimizing consumer-ticks {f['self_optimizing_consumer_ticks']:6d}  starved consumer-ticks {f['consumer_ticks_starved']:5d}  "
              f"blackout generator-ticks {f['blackout_generator_ticks']:3d}  tracker RTT p50 {rtt}")
    for e in result.fault_events:
        print(f"  fault before tick {e.get('tick')}: {e['action']} {e.get('name', '')} "
              + " ".join(f"{k}={e[k]}" for k in ("a", "b", "ms") if k in e))
    for r in reconvergence(result.run_dir):
        when = f"{r['ticks']} ticks, {r['seconds']:.2f} s" if r["ticks"] is not None else "not within the run"
        print(f"  healed at tick {r['heal_tick']}: every tracker hears every peer and nobody self-optimizes after {when}")
    print(f"\nresults in {result.run_dir}/ (summary.json, state.parquet, finals.json, run.json, <host>/<role>.log)")
    return 0


def _cleanup(args) -> int:
    from scowl.deploy import cleanup

    removed = cleanup(args.run_id, force=args.force)
    for rid, names in removed.items():
        print(f"run {rid}: removed {', '.join(names)}")
    if not removed:
        print("nothing to clean up")
    return 0


def _plan(args) -> int:
    from scowl.deploy import load_deployment
    from scowl.deploy.plan import build_plan, default_run_dir

    d = load_deployment(args.deployment)
    run_dir = args.run_dir or default_run_dir(d)
    scenario, schedule, _ = _scenario(args, run_dir)
    plan = build_plan(d, schedule, scenario=scenario, run_dir=run_dir,
                      tick_seconds=args.tick_seconds, command=args.command_template, repo=args.repo)
    if args.format == "text":
        sys.stdout.write(plan.render_text())
    elif args.format == "sh":
        sys.stdout.write(plan.render_sh())
    else:
        print(json.dumps([{"phase": s.phase, "host": s.host, "tick": s.tick, "sudo": s.sudo, "command": s.command}
                          for s in plan.steps], indent=1))
    return 0
