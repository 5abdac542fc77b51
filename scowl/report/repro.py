"""Reproducibility: the config, seed, version and command of every input, and the machine."""

from __future__ import annotations

import shlex

from scowl.provenance import git_commit, machine_info
from scowl.report.inputs import DayRun, Inputs


def day_command(run: DayRun) -> str:
    """The `scowl run` that reproduces a day run (its scenario file as the run recorded it)."""
    config = run.plan.get("scenario_path") or f"<config of {run.summary.get('scenario', '?')}>"
    cmd = ["scowl", "run", str(config), "--out", str(run.path)]
    if len(run.seeds) > 1:  # a `--seeds N` directory: the scenario's seed is the first
        cmd = ["scowl", "run", str(config), "--seeds", str(len(run.seeds)), "--out", str(run.seed_dir)]
    transport = run.summary.get("transport", "inproc")
    if transport != "inproc":
        cmd += ["--processes", "--transport", transport]
    return shlex.join(cmd)


def current_version() -> str:
    return git_commit()


def rows(inputs: Inputs) -> list[dict]:
    """One row per input: kind, directory, config, seed, version, command."""
    now = current_version()
    unrecorded = f"{now} (not recorded by the run: the checkout the report was made from)"
    out = []
    for r in inputs.days:
        seeds = [s.summary.get("seed") for s in r.seeds] if len(r.seeds) > 1 else r.summary.get("seed")
        out.append({"kind": "partitioned day" if r.partitioned else "healthy day", "dir": str(r.seed_dir or r.path),
                    "config": r.plan.get("scenario_path", "not recorded (no plan.json)"), "seed": seeds,
                    "version": r.summary.get("version") or unrecorded, "command": day_command(r)})
    for s in inputs.sweeps:
        out.append({"kind": "scale sweep", "dir": str(s.path), "config": s.meta.get("config"), "seed": s.meta.get("seed"),
                    "version": s.meta.get("version") or unrecorded, "command": s.meta["command"]})
    for p in inputs.partition_sweeps:
        out.append({"kind": "partition-size sweep", "dir": str(p.path), "config": p.data.get("config"),
                    "seed": p.data.get("seed"), "version": p.data.get("version") or unrecorded,
                    "command": p.data.get("command", "not recorded")})
    return out


def machines(inputs: Inputs) -> list[dict]:
    """The machine each sweep recorded, and this one (where the day runs were presumably made)."""
    out = [{"where": f"scale sweep {s.label} ran on", **s.meta["machine"]} for s in inputs.sweeps if s.meta.get("machine")]
    out += [{"where": f"partition sweep {p.label} ran on", **p.data["machine"]} for p in inputs.partition_sweeps if p.data.get("machine")]
    out.append({"where": "this report was made on (day runs record no machine)", **machine_info()})
    return out
