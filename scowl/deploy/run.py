"""One whole run on namespace hosts: bring the hosts up, start one process per role per host,
apply the scenario's network schedule on wall-clock ticks, gather logs into one run directory,
tear everything down (also on an exception or a signal).

Run directory:
    <run_dir>/deployment.toml            the description used
    <run_dir>/<host>/<role>.log          each process's stdout and stderr (SCOWL_RUN_DIR points
                                         the process at <run_dir>/<host> for its own results)
    <run_dir>/run.json                   run id, namespaces, commands, exit codes, fault events,
                                         bring-up and teardown times
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from scowl.deploy.description import COMMAND_FIELDS, Deployment, Host
from scowl.deploy.faults import ScheduleRunner
from scowl.deploy.netns import NetnsCluster
from scowl.deploy.schedule import NetworkSchedule
from scowl.errors import ConfigError

POLL_S = 0.05


def render_command(template: str, deployment: Deployment, host: Host, role: str, count: int, *,
                   scenario: str, run_dir: str | Path, deployment_path: str | None = None,
                   python: str = sys.executable, plan: str = "", names: str = "") -> list[str]:
    """The argv of one role's process on `host`, from a template with fields COMMAND_FIELDS
    (`plan`: the grid's plan.json; `names`: this process's actors, comma-separated)."""
    fields = {"role": role, "host": host.name, "address": host.address, "scenario": scenario,
              "deployment": deployment_path or deployment.path, "run_dir": str(run_dir), "count": count, "python": python,
              "plan": plan, "names": names}
    assert set(fields) == set(COMMAND_FIELDS)
    try:
        return shlex.split(template.format(**fields))
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(deployment.path, "deployment.command", f"a template with fields {list(COMMAND_FIELDS)}",
                          f"{template!r} ({exc})") from None


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    exit_codes: dict[str, int | None] = field(default_factory=dict)  # "host/role" -> code (None: was stopped)
    fault_events: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def run_netns(deployment: Deployment, *, scenario: str, run_dir: str | Path, command: str | None = None,
              schedule: NetworkSchedule | None = None, tick_seconds: float = 1.0,
              duration_s: float | None = None, run_id: str | None = None) -> RunResult:
    """Run every role of `deployment` on namespace hosts until they all exit, the metronome
    exits, or `duration_s` passes; returns exit codes and what the faults did."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if os.path.exists(deployment.path):
        shutil.copyfile(deployment.path, run_dir / "deployment.toml")
    template = command or deployment.command
    if "{plan}" in template or "{names}" in template:
        raise ConfigError(deployment.path, "deployment.command", "a template without {plan}/{names} for `netns run` "
                          "(those need a grid plan: run the grid with `scowl deploy netns grid`)", template)
    cluster = NetnsCluster(deployment, run_id=run_id)
    result = RunResult(cluster.run_id, run_dir)
    started: dict[str, object] = {}
    commands: dict[str, list[str]] = {}
    with cluster:
        runner = ScheduleRunner(cluster.faults, schedule) if schedule is not None else None
        if runner is not None:
            runner.advance(0)  # latency and tick-0 partitions are in place before any role starts
        for host, role, count in deployment.processes():
            (run_dir / host.name).mkdir(exist_ok=True)
            argv = render_command(template, deployment, host, role, count, scenario=scenario, run_dir=run_dir)
            env = dict(os.environ, SCOWL_RUN_DIR=str(run_dir / host.name), SCOWL_HOST=host.name,
                       SCOWL_ADDRESS=host.address, SCOWL_BOOTSTRAP=deployment.bootstrap_endpoint())
            key = f"{host.name}/{role}"
            commands[key] = argv
            started[key] = cluster.spawn(host.name, argv, log=run_dir / host.name / f"{role}.log", env=env)
        t0 = time.monotonic()
        metronome = next((k for k in started if k.endswith("/metronome")), None)
        while True:
            if runner is not None:
                runner.advance(int((time.monotonic() - t0) / tick_seconds))
            live = [k for k, p in started.items() if p.poll() is None]  # type: ignore[attr-defined]
            if not live or (metronome and metronome not in live and len(started) > 1):
                break
            if duration_s is not None and time.monotonic() - t0 >= duration_s:
                break
            time.sleep(POLL_S)
        result.timings["ran_s"] = time.monotonic() - t0
        result.exit_codes = {k: p.poll() for k, p in started.items()}  # type: ignore[attr-defined]
        if runner is not None:
            runner.stop()
        result.fault_events = list(cluster.faults.events) if runner is not None else []
    result.timings.update(cluster.timings)
    (run_dir / "run.json").write_text(json.dumps({
        "run_id": result.run_id, "switch": cluster.switch_ns,
        "hosts": {h.name: {"namespace": cluster.ns(h.name), "address": h.address} for h in deployment.hosts},
        "commands": commands, "exit_codes": result.exit_codes, "fault_events": result.fault_events,
        "timings": result.timings}, indent=2))
    return result
