"""A scenario's own series ([series] in the scenario, CSV or Parquet, paths relative to the
scenario file):

- load: MW of the whole state (as at scale 1.0; multiplied by the scenario's scale) over time,
  either one column `total_mw`, or `residential_mw` and `commercial_mw` (the industrial and
  transportation fixed loads are then added as usual);
- availability: the fraction of nameplate (0..1) available by generation type over time, one
  column per type named exactly as in data/generator_types.csv ("land-based wind", ...); the
  types named replace their output model; the others keep theirs.

Time is a column `time` (ISO date-time; without an offset it is read in the scenario's time zone)
or `hour` (hours since local midnight of the scenario's date, may exceed 24). Values are
interpolated linearly to each tick's time; the series must cover the run. Every problem is a
`SeriesError` naming the file, the column and the row (data rows count from 1).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from scowl.errors import ScowlError
from scowl.model import data

if TYPE_CHECKING:
    from scowl.config import Scenario

__all__ = ["SeriesError", "availability_series", "load_series", "read_table"]


class SeriesError(ScowlError):
    """A user series is wrong: names the file, the column and the row."""

    def __init__(self, path: str | Path, column: str, row: int | None, expected: str, found: object) -> None:
        where = f"column '{column}'" + (f", row {row}" if row is not None else "")
        super().__init__(f"{path}: {where}: expected {expected}, found {found!r}")


def _resolve(scenario: Scenario, name: str) -> Path:
    p = Path(name)
    if not p.is_absolute():
        p = Path(scenario.source).parent / p
    return p


def read_table(path: Path) -> dict[str, list[Any]]:
    """Columns of a CSV or Parquet file as lists (CSV cells as strings)."""
    if not path.exists():
        raise SeriesError(path, "(file)", None, "an existing CSV or Parquet file", "no such file")
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return {k: list(v) for k, v in pq.read_table(path).to_pydict().items()}
        except (pa.ArrowException, OSError) as exc:
            raise SeriesError(path, "(file)", None, "a readable Parquet file", str(exc)) from None
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(line for line in fh if line.strip() and not line.startswith("#"))]
    if not rows:
        raise SeriesError(path, "(header)", None, "a header row and data rows", "an empty file")
    head = [h.strip() for h in rows[0]]
    cols: dict[str, list[Any]] = {h: [] for h in head}
    for i, r in enumerate(rows[1:], start=1):
        if len(r) != len(head):
            raise SeriesError(path, "(all)", i, f"{len(head)} cells like the header", f"{len(r)} cells")
        for h, v in zip(head, r):
            cols[h].append(v.strip())
    return cols


def _number(path: Path, col: str, values: Sequence[Any], lo: float | None = None, hi: float | None = None) -> NDArray[np.float64]:
    out = np.empty(len(values))
    for i, v in enumerate(values, start=1):
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise SeriesError(path, col, i, "a number", v) from None
        if not math.isfinite(x) or (lo is not None and x < lo) or (hi is not None and x > hi):
            rng = f"a finite number{'' if lo is None else f' >= {lo:g}'}{'' if hi is None else f' <= {hi:g}'}"
            raise SeriesError(path, col, i, rng, v)
        out[i - 1] = x
    return out


def _hours(scenario: Scenario, path: Path, cols: dict[str, list[Any]]) -> NDArray[np.float64]:
    """Each row's time as hours since local midnight of the scenario's date."""
    if "hour" in cols:
        h = _number(path, "hour", cols["hour"])
    elif "time" in cols:
        tz = scenario.start.tzinfo
        midnight = dt.datetime.combine(scenario.scenario.date, dt.time(0), tzinfo=tz)
        h = np.empty(len(cols["time"]))
        for i, v in enumerate(cols["time"], start=1):
            try:
                t = v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(str(v))
            except ValueError:
                raise SeriesError(path, "time", i, "an ISO date-time (2030-07-17T18:00)", v) from None
            if t.tzinfo is None:
                t = t.replace(tzinfo=tz)
            h[i - 1] = (t - midnight).total_seconds() / 3600.0
    else:
        raise SeriesError(path, "time", None, "a column 'time' (ISO date-time) or 'hour'", "neither")
    if len(h) < 2:
        raise SeriesError(path, "hour" if "hour" in cols else "time", None, "at least 2 rows", len(h))
    bad = np.flatnonzero(np.diff(h) <= 0)
    if len(bad):
        col = "hour" if "hour" in cols else "time"
        raise SeriesError(path, col, int(bad[0]) + 2, "times in increasing order", cols[col][bad[0] + 1])
    return h


def _tick_hours(scenario: Scenario) -> np.ndarray:
    start = scenario.start
    h0 = start.hour + start.minute / 60
    return h0 + np.arange(scenario.ticks + 1) * scenario.tick_seconds / 3600.0


def _on_ticks(scenario: Scenario, path: Path, col: str, h: np.ndarray, v: np.ndarray) -> NDArray[np.float64]:
    th = _tick_hours(scenario)
    if th[0] < h[0] - 1e-9 or th[-1] > h[-1] + 1e-9:
        raise SeriesError(path, "hour" if col else "time", None,
                          f"times covering the run, hours {th[0]:g} to {th[-1]:g} after local midnight", f"{h[0]:g} to {h[-1]:g}")
    on_ticks: NDArray[np.float64] = np.interp(th, h, v)
    return on_ticks


@functools.lru_cache(maxsize=16)
def load_series(scenario: Scenario) -> dict[str, np.ndarray] | None:
    """{"total": MW per tick at the scenario's scale, and "residential"/"commercial" when given}
    from [series] load, or None."""
    name = scenario.series.load
    if name is None:
        return None
    path = _resolve(scenario, name)
    cols = read_table(path)
    h = _hours(scenario, path, cols)
    s = scenario.scenario.scale
    if "total_mw" in cols:
        total = _on_ticks(scenario, path, "total_mw", h, _number(path, "total_mw", cols["total_mw"], lo=0.0)) * s
        return {"total": total}
    if "residential_mw" in cols and "commercial_mw" in cols:
        c = data.consumers()
        fixed = sum(v["summer_peak_mw"] for v in c.values() if v["load"] == "fixed") * s
        out = {k: _on_ticks(scenario, path, f"{k}_mw", h, _number(path, f"{k}_mw", cols[f"{k}_mw"], lo=0.0)) * s
               for k in ("residential", "commercial")}
        out["total"] = out["residential"] + out["commercial"] + fixed
        return out
    raise SeriesError(path, "total_mw", None, "a column 'total_mw', or both 'residential_mw' and 'commercial_mw'",
                      ", ".join(cols))


@functools.lru_cache(maxsize=16)
def availability_series(scenario: Scenario) -> dict[str, np.ndarray]:
    """{type: fraction of nameplate per tick} from [series] availability ({} when not given)."""
    name = scenario.series.availability
    if name is None:
        return {}
    from scowl.model.types import registry

    path = _resolve(scenario, name)
    cols = read_table(path)
    h = _hours(scenario, path, cols)
    known = [t.name for t in registry()]
    out = {}
    for col in cols:
        if col in ("time", "hour"):
            continue
        if col not in known:
            raise SeriesError(path, col, None, "a generator type (" + ", ".join(known) + ")", col)
        out[col] = _on_ticks(scenario, path, col, h, _number(path, col, cols[col], lo=0.0, hi=1.0))
    if not out:
        raise SeriesError(path, "(header)", None, "at least one generator-type column", "none")
    return out
