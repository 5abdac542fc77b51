"""What each RUN_DIR given to `scowl report` is: a day run (summary.json; partitioned when the
summary has a "partition" section), a scale sweep (sweep.json) or a partition-size sweep
(partition_sweep.json). Loading is strict: a missing or malformed file is named."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from scowl.analysis.results import load_sweep
from scowl.errors import UsageError

PARTITION_SWEEP_KEYS = ("points", "smallest_without_blackout", "definition")
POINT_KEYS = ("peers_per_partition", "partitions", "blackout_events", "blackout_generator_ticks")


@dataclass
class DayRun:
    path: Path
    summary: dict
    plan: dict  # {} when the run left no plan.json

    label: str = ""  # unique among the inputs (set by load_inputs)
    seeds: list[DayRun] = field(default_factory=list)  # a `--seeds` directory: every seed's run (this is the first)
    seed_dir: Path | None = None  # ... and that directory

    @property
    def partitioned(self) -> bool:
        return "partition" in self.summary

    @property
    def partial(self) -> bool:
        """The run was interrupted (its summary says so): its figures cover only the ticks it completed."""
        return bool(self.summary.get("partial"))

    def state(self) -> pd.DataFrame:
        from scowl.statelog import read_state_log

        return read_state_log(self.path)


@dataclass
class Sweep:
    path: Path
    table: pd.DataFrame
    meta: dict
    label: str = ""


@dataclass
class PartitionSweep:
    path: Path
    data: dict
    label: str = ""


@dataclass
class Inputs:
    healthy: list[DayRun] = field(default_factory=list)
    partitioned: list[DayRun] = field(default_factory=list)
    sweeps: list[Sweep] = field(default_factory=list)
    partition_sweeps: list[PartitionSweep] = field(default_factory=list)

    @property
    def days(self) -> list[DayRun]:
        return self.healthy + self.partitioned

    @property
    def all(self) -> list:
        return self.healthy + self.partitioned + self.sweeps + self.partition_sweeps


def _json(path: Path, what: str) -> dict:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise UsageError(f"{path}: expected {what}, could not read it ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: expected {what} as JSON, found invalid JSON ({exc})") from None


def _day(d: Path) -> DayRun:
    summary = _json(d / "summary.json", "a run's summary (written by `scowl run --out DIR`)")
    for key in ("peers", "rebalance", "starvation", "blackouts", "tick_seconds"):
        if key not in summary:
            raise UsageError(f"{d / 'summary.json'}: expected a run summary with a {key!r} section, found keys {sorted(summary)}")
    if not (d / "state.parquet").is_file() and not (d / "state.journal.arrows").is_file():
        raise UsageError(f"{d / 'state.parquet'}: expected the run's state log next to its summary.json, found no such file")
    plan = _json(d / "plan.json", "the run's plan") if (d / "plan.json").is_file() else {}
    return DayRun(d, summary, plan)


def _sweep(d: Path) -> Sweep:
    if not (d / "sweep.csv").is_file():
        raise UsageError(f"{d / 'sweep.csv'}: expected the sweep's table next to its sweep.json (written by `scowl sweep`), found no such file")
    table, meta = load_sweep(d)
    for key in ("bound", "shard", "machine", "command"):
        if key not in meta:
            raise UsageError(f"{d / 'sweep.json'}: expected a {key!r} entry (written by `scowl sweep`), found keys {sorted(meta)}")
    return Sweep(d, table, meta)


def _partition_sweep(d: Path) -> PartitionSweep:
    f = d / "partition_sweep.json"
    data = _json(f, "a partition-size sweep")
    missing = [k for k in PARTITION_SWEEP_KEYS if k not in data]
    if data.get("kind") != "partition_sweep" or missing:
        raise UsageError(f"{f}: expected {{\"kind\": \"partition_sweep\", ...}} with keys {list(PARTITION_SWEEP_KEYS)}, "
                         f"found kind {data.get('kind')!r} and keys {sorted(data)}")
    for i, p in enumerate(data["points"]):
        gone = [k for k in POINT_KEYS if k not in p]
        if gone:
            raise UsageError(f"{f}: points[{i}] lacks {gone} (expected {list(POINT_KEYS)}), found keys {sorted(p)}")
    return PartitionSweep(d, data)


def load_inputs(run_dirs) -> Inputs:
    """Sort every directory into its kind; a directory that is none of them is an error."""
    got = Inputs()
    if not run_dirs:
        raise UsageError("scowl report: expected at least one RUN_DIR (a `scowl run`, `scowl sweep` or partition sweep directory)")
    for raw in run_dirs:
        d = Path(raw)
        if not d.is_dir():
            raise UsageError(f"{d}: expected a run, sweep or partition-sweep directory, found no such directory")
        if (d / "partition_sweep.json").is_file():
            got.partition_sweeps.append(_partition_sweep(d))
        elif (d / "sweep.json").is_file():
            got.sweeps.append(_sweep(d))
        elif (d / "summary.json").is_file():
            run = _day(d)
            (got.partitioned if run.partitioned else got.healthy).append(run)
        elif sorted(d.glob("seed-*/summary.json")):
            seeds = sorted((p.parent for p in d.glob("seed-*/summary.json")),
                           key=lambda p: int(p.name[5:]) if p.name[5:].isdigit() else 0)
            runs = [_day(s) for s in seeds]
            first = DayRun(runs[0].path, runs[0].summary, runs[0].plan, seeds=runs, seed_dir=d)  # answers over every seed
            (got.partitioned if first.partitioned else got.healthy).append(first)
        else:
            raise UsageError(f"{d}: expected summary.json (a day run), seed-*/summary.json (scowl run --seeds), sweep.json "
                             f"(a scale sweep) or partition_sweep.json (a partition-size sweep), found {sorted(p.name for p in d.iterdir())[:10]}")
    _name(got.all)
    return got


def _name(items: list) -> None:
    """Label each input by its directory's name, with as many parent directories as it takes to
    tell two inputs apart (runs/a/run and runs/b/run are "a/run" and "b/run")."""
    paths = [(getattr(it, "seed_dir", None) or it.path).resolve() for it in items]
    for depth in range(1, max((len(p.parts) for p in paths), default=1) + 1):
        labels = ["/".join(p.parts[-depth:]) for p in paths]
        if len(set(labels)) == len(labels):
            break
    for it, label in zip(items, labels if items else []):
        seeds = len(getattr(it, "seeds", []))
        it.label = label + (f" ({seeds} seeds)" if seeds > 1 else "") + (" (partial)" if getattr(it, "partial", False) else "")
