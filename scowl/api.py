"""The Python API: scenarios and runs as objects, for notebooks and scripts.

    import scowl
    sc = scowl.load_scenario("small", seed=3)             # a packaged name or a TOML path, keys overridden
    cut = sc.replace({"network.partitions": [...]})       # a Scenario is immutable: replace() makes a new one
    run = scowl.run(sc)                                   # the day, in this process; a Run
    run.summary["energy_mwh"]["served"]                   # summary.json
    run.state("consumer")                                 # a tidy DataFrame (docs/outputs.md)
    run.plot_day(scowl.run(cut))                          # a matplotlib Figure, both days
    runs = scowl.run(sc, seeds=5); runs.intervals()       # N seeds: every figure as mean and 95 % interval

`scowl.run` works inside a running event loop (Jupyter): the day runs on its own loop in a worker
thread. It installs no global event-loop policy, switches no matplotlib backend, and the trace
log handler it adds lives only as long as the run.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from scowl.config import Scenario, resolve_scenario
from scowl.config import load_scenario as _load_file
from scowl.errors import UsageError

__all__ = ["Run", "Runs", "load_scenario", "open_run", "run"]

ROLES = ("tracker", "generator", "storage", "consumer")


def load_scenario(name_or_path=None, **overrides) -> Scenario:
    """A validated, immutable Scenario from a packaged name ("small", "ny2030") or a TOML path;
    keyword overrides as in Scenario.replace (`seed=3`, `trackers__count=4`)."""
    sc = _load_file(resolve_scenario(name_or_path))
    return sc.replace(**overrides) if overrides else sc


def _scenario_of(scenario) -> tuple[Scenario, str | None]:
    """(Scenario, its file if it is one unchanged on disk)."""
    if isinstance(scenario, Scenario):
        return scenario, None
    path = resolve_scenario(scenario)
    return _load_file(path), str(path)


def _default_out(sc: Scenario) -> Path:
    return Path("runs") / f"{sc.scenario.name}-{dt.datetime.now():%Y%m%d-%H%M%S-%f}"


@dataclass(frozen=True)
class Run:
    """One finished run: its directory and summary, and tidy views of what it wrote."""

    dir: Path
    summary: dict = field(repr=False)

    def __repr__(self) -> str:
        s = self.summary
        return f"Run({str(self.dir)!r}, scenario={s.get('scenario')!r}, seed={s.get('seed')}, ticks={s.get('ticks')})"

    @property
    def scenario(self) -> Scenario:
        """The scenario the run ran (RUN/scenario.toml, else the file its plan names)."""
        kept = self.dir / "scenario.toml"
        if kept.is_file():
            return _load_file(kept)
        plan = json.loads((self.dir / "plan.json").read_text())
        return _load_file(plan["scenario_path"])

    @property
    def finals(self) -> dict:
        """Each actor's final figures (finals.json)."""
        return json.loads((self.dir / "finals.json").read_text())

    def tables(self) -> list[str]:
        """The names of the run's tidy tables (`state(name)`)."""
        from scowl.tidy import TABLE_DIR, TABLES

        have = {p.stem for p in (self.dir / TABLE_DIR).glob("*.parquet")}
        return [t for t in TABLES if t in have] if have else list(self._computed())

    def _computed(self) -> dict[str, pd.DataFrame]:
        from scowl.tidy import tidy_tables

        sc = self.scenario
        return tidy_tables(pd.read_parquet(self.dir / "state.parquet"), sc.start, sc.tick_seconds)

    def state(self, role: str | None = None) -> pd.DataFrame:
        """The state log as a tidy table: `role` is tracker, generator, storage, consumer,
        supply_by_type or blackouts_by_region (one row per tick and actor, a time-zone-aware
        `time`, counts as integers; docs/outputs.md has every column with its unit). Without a
        role: every role's figures in one long table (time, tick, role, actor, variable, value, unit)."""
        from scowl.tidy import TABLE_DIR, TABLES, column_docs

        if role is not None and role not in TABLES:
            raise UsageError(f"role {role!r}: expected one of {', '.join(TABLES)}")
        path = self.dir / TABLE_DIR / f"{role}.parquet"
        if role is not None:
            if path.is_file():
                return pd.read_parquet(path)
            computed = self._computed()
            return computed.get(role, pd.DataFrame(columns=["time", "tick", "actor"]))
        frames = []
        for r in ROLES:
            df = self.state(r)
            if not len(df):
                continue
            p = self.dir / TABLE_DIR / f"{r}.parquet"
            units = {k: u for k, (u, _) in column_docs(p).items()} if p.is_file() else {}
            values = [c for c in df.columns if c not in ("time", "tick", "actor") and df[c].dtype.kind in "iufb"]
            long = df.melt(id_vars=["time", "tick", "actor"], value_vars=values, var_name="variable", value_name="value")
            long.insert(2, "role", r)
            long["value"] = long["value"].astype("float64")
            long["unit"] = long["variable"].map(units).fillna("")
            frames.append(long)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def consumers(self) -> pd.DataFrame | None:
        """The per-consumer table (RUN/consumers.parquet) where the run wrote one, else None."""
        path = self.dir / "consumers.parquet"
        return pd.read_parquet(path) if path.is_file() else None

    def day(self) -> pd.DataFrame:
        """Grid-wide MW per tick (scowl.analysis.dayseries.day_series): demand, supply, served, deferred, starved."""
        from scowl.analysis.dayseries import day_series

        return day_series(self.dir)

    def label(self) -> str:
        return f"{self.summary.get('scenario', self.dir.name)} (seed {self.summary.get('seed')})"

    def plot_day(self, *others: Run, title: str = ""):
        """A matplotlib Figure of this day (and others', to compare) over local time: demand,
        supply, served, deferred and starved MW. Nothing is shown or saved: display it in a
        notebook, or fig.savefig(path)."""
        from scowl.report.plots_day import DayRun, day_figure

        runs = []
        labels = _labels([self, *others])
        for r, label in zip([self, *others], labels):
            windows = tuple((p["start_tick"], p["end_tick"]) for p in r.summary.get("partition", {}).get("schedule", []))
            runs.append(DayRun(label, r.day(), windows, int(r.summary.get("peers", {}).get("consumers", 0)),
                               float(r.scenario.scenario.scale)))
        return day_figure(runs, title=title or " vs ".join(labels))


def _labels(runs: Sequence[Run]) -> list[str]:
    names = [str(r.summary.get("scenario", r.dir.name)) for r in runs]
    if len(set(names)) == len(names):
        return names
    labels = [r.label() for r in runs]
    return labels if len(set(labels)) == len(labels) else [r.dir.name for r in runs]


@dataclass(frozen=True)
class Runs(Sequence):
    """The runs of one scenario over several seeds."""

    runs: tuple[Run, ...]

    def __getitem__(self, i):  # type: ignore[override]
        return self.runs[i]

    def __len__(self) -> int:
        return len(self.runs)

    def __iter__(self) -> Iterator[Run]:
        return iter(self.runs)

    @property
    def summaries(self) -> list[dict]:
        return [r.summary for r in self.runs]

    def intervals(self, confidence: float = 0.95) -> dict:
        """Every numeric summary figure as {"mean", "low", "high", "n", "sd"} (a t-interval over the seeds)."""
        from scowl.stats import summary_intervals

        return summary_intervals(self.summaries, confidence)

    def table(self) -> pd.DataFrame:
        """The intervals as a DataFrame (figure, mean, low, high, half_width, sd, n)."""
        from scowl.stats import interval_frame

        return interval_frame(self.intervals())

    def day(self) -> pd.DataFrame:
        """The day over the seeds, tick by tick: each MW column of `Run.day()` as its mean, with
        `<column>_low` / `<column>_high` its 95 % t-interval (scowl.stats.band_frame)."""
        from scowl.stats import band_frame

        days = [r.day() for r in self.runs]
        return band_frame(days, [c for c in days[0].columns if c not in ("tick", "time", "hour")])

    def plot_day(self, title: str = ""):
        """A matplotlib Figure of the day over the seeds: each quantity's mean with its 95 %
        interval shaded (nothing shown or saved: display it, or fig.savefig(path))."""
        from scowl.report.plots_day import DayRun, day_figure

        first = self.runs[0]
        windows = tuple((p["start_tick"], p["end_tick"]) for p in first.summary.get("partition", {}).get("schedule", []))
        label = f"{first.summary.get('scenario', first.dir.name)} (mean of {len(self)} seeds)"
        run = DayRun(label, self.day(), windows, int(first.summary.get("peers", {}).get("consumers", 0)),
                     float(first.scenario.scenario.scale))
        return day_figure([run], title=title or f"{label}: seeds {', '.join(str(s.get('seed')) for s in self.summaries)}")


def open_run(run_dir) -> Run:
    """A Run from a run directory written earlier (`scowl run --out DIR`)."""
    d = Path(run_dir)
    path = d / "summary.json"
    if not path.is_file():
        raise UsageError(f"{path}: expected the run's summary.json (written by `scowl run --out DIR`), found no such file")
    return Run(d, json.loads(path.read_text()))


def run(scenario="small", out=None, *, processes: bool = False, transport: str | None = None,
        populations: int | None = None, seeds: int | Sequence[int] | None = None, progress: bool = False,
        layout: str | None = None, insecure: bool = False) -> Run | Runs:
    """Run a scenario's day (a Scenario, a packaged name or a TOML path) and return its Run.
    `out`: the run directory (default runs/<name>-<timestamp>). `processes`: the actors in
    `scowl-node` processes, grouped by `layout` (scowl.run.layout; default "auto": one process
    per usable core). `insecure`: no CURVE keys. `seeds`: a count N (the scenario's seed, seed+1,
    ...) or a list of seeds: the runs go to OUT/seed-<s>/ and a Runs comes back, with `intervals()`."""
    from scowl.run import run_scenario

    sc, path = _scenario_of(scenario)
    out_dir = Path(out) if out is not None else _default_out(sc)
    if seeds is not None:
        seed_list = list(range(sc.seed, sc.seed + int(seeds))) if isinstance(seeds, int) else [int(s) for s in seeds]
        if not seed_list:
            raise UsageError(f"seeds {seeds!r}: expected a count >= 1 or a non-empty list of seeds")
        done = [run(sc.replace(seed=s), out_dir / f"seed-{s}", processes=processes, transport=transport,
                    populations=populations, progress=progress, layout=layout, insecure=insecure) for s in seed_list]
        return Runs(tuple(done))  # type: ignore[arg-type]
    # run_scenario stores the scenario (OUT/scenario.toml) itself, and refuses a non-empty OUT
    summary = run_scenario(sc if path is None else path, str(out_dir), processes=processes, transport=transport,
                           populations=populations, show_progress=progress, layout=layout, insecure=insecure)
    return Run(out_dir, summary)
