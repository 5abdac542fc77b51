"""A run's day as one row per tick of grid-wide power figures (MW), computed only from its
state log, so plots, `scowl compare` and the evaluation report all draw the same curves.

`day_series(run_dir_or_state)` -> DataFrame with columns
    tick, time, hour,
    demand_mw      the day's input demand (before demand response): identical on twin days
    consumed_mw    what consumers drew after demand response
    available_mw   what generators could produce (weather, nameplate; before EV storage)
    generated_mw   what generators and EV hubs that did not black out delivered
    served_mw      demand met in a tree that did not black out
    deferred_mw    demand put off this tick by self-optimizing consumers (energy / tick length)
    backlog_mwh    deferred energy still owed at the end of the tick
    starved_mw     demand of consumers without a generator
    blackout_mw    demand of consumers in a blacked-out tree
    unserved_mw    demand_mw - served_mw
Summing a MW column times the tick length in hours gives the summary's MWh figures.

`time` is the local wall time at the start of the tick when the start is known (a run
directory knows it from its plan's scenario; pass `start=` with a bare state frame), else the
time since tick 0 as a Timedelta. `hour` is local hours (15.5 = 15:30, may pass 24) or hours
since tick 0 when the start is unknown.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from scowl.analysis.results import SUPPLY_ROLES, rows_of
from scowl.config import load_scenario
from scowl.errors import ScowlError, UsageError

__all__ = ["COLUMNS", "day_series", "read_state"]

COLUMNS = ("tick", "time", "hour", "demand_mw", "consumed_mw", "available_mw", "generated_mw", "served_mw",
           "deferred_mw", "backlog_mwh", "starved_mw", "blackout_mw", "unserved_mw")

# (output column, state roles, state column); supply counts generator fleets and EV hubs
_SUPPLY = SUPPLY_ROLES
_SUMS = (
    ("demand_mw", "consumer", "demand_mw"),
    ("consumed_mw", "consumer", "consumed_mw"),
    ("available_mw", "generator", "available_mw"),
    ("generated_mw", _SUPPLY, "delivered_mw"),
    ("served_mw", "consumer", "served_mw"),
    ("backlog_mwh", "consumer", "backlog_mwh"),
    ("starved_mw", "consumer", "starved_mw"),
    ("blackout_mw", "consumer", "choked_mw"),
    ("deferred_mwh_cum", "consumer", "deferred_mwh_cum"),
)


def read_state(run_dir) -> tuple[pd.DataFrame, dict]:
    """A run directory's state log and summary, with errors that say which file is missing."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir}: expected a run directory (written by `scowl run --out DIR`), found no such directory")
    from scowl.statelog import read_state_log

    path = run_dir / "summary.json"
    if not path.is_file():
        raise UsageError(f"{path}: expected the run's summary.json (written by `scowl run --out DIR`), found no such file")
    try:
        summary = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: expected JSON written by `scowl run`, found {exc}") from None
    return read_state_log(run_dir), summary  # state.parquet, or the journal of an interrupted run


def _run_start(run_dir: Path) -> dt.datetime | None:
    """The local start of tick 0, from the scenario the run stored (scenario.toml), or for older
    runs the one named in its plan.json (None if gone): never the live TOML of a newer run."""
    try:
        if (run_dir / "scenario.toml").is_file():
            return load_scenario(run_dir / "scenario.toml").start
        plan = json.loads((run_dir / "plan.json").read_text())
        return load_scenario(plan["scenario_path"]).start
    except (OSError, KeyError, ValueError, ScowlError):
        return None


def day_series(run_dir_or_state, *, start: dt.datetime | None = None, tick_seconds: float | None = None) -> pd.DataFrame:
    """Grid-wide MW per tick (see the module docstring for the columns). Accepts a run
    directory or a state frame (state.parquet as read); `tick_seconds` defaults to the run's
    summary (a directory) or 300 s (a frame)."""
    if isinstance(run_dir_or_state, pd.DataFrame):
        state = run_dir_or_state
        tick_s = float(tick_seconds or 300)
    else:
        run_dir = Path(run_dir_or_state)
        state, summary = read_state(run_dir)
        tick_s = float(tick_seconds or summary["tick_seconds"])
        start = start or _run_start(run_dir)
    for col in ("tick", "role"):
        if col not in state:
            raise ScowlError(f"state log: expected a column {col!r} (one row per tick and actor), found columns {list(state.columns)[:8]}")
    ticks = np.sort(state["tick"].unique())
    out = pd.DataFrame({"tick": ticks.astype(np.int64)})
    for name, role, col in _SUMS:
        part = rows_of(state, role)
        sums = part.groupby("tick")[col].sum() if col in part else pd.Series(dtype=float)
        out[name] = sums.reindex(ticks).fillna(0.0).to_numpy(dtype=np.float64)
    tick_h = tick_s / 3600.0
    out["deferred_mw"] = np.diff(out.pop("deferred_mwh_cum").to_numpy(), prepend=0.0) / tick_h
    out["unserved_mw"] = out["demand_mw"] - out["served_mw"]
    offset = pd.to_timedelta(out["tick"] * tick_s, unit="s")
    if start is not None:
        out["time"] = pd.Timestamp(start) + offset
        out["hour"] = start.hour + start.minute / 60.0 + out["tick"] * tick_h
    else:
        out["time"] = offset
        out["hour"] = out["tick"] * tick_h
    return out[list(COLUMNS)]
