"""Who starved: the populations' per-consumer tables merged into RUN/consumers.parquet, the
starved share by customer class, and Jain's fairness index of starved time (pure functions)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from scowl.statelog import atomic_write


def merge_consumer_tables(out: Path) -> pd.DataFrame | None:
    """RUN/consumers.parquet: the populations' per-consumer tables (RUN/consumers-*.parquet,
    removed once merged) as one, sorted by id; None when no population wrote one."""
    parts = sorted(out.glob("consumers-*.parquet"))
    if not parts:
        return None
    frames = [pd.read_parquet(p) for p in parts]
    table = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    for col in ("customer_class", "region"):  # categories may differ between parts
        table[col] = table[col].astype(str).astype("category")
    table = table.sort_values(["id_hi", "id_lo"], kind="stable").reset_index(drop=True)
    atomic_write(out / "consumers.parquet", lambda tmp: table.to_parquet(tmp, index=False))
    for p in parts:
        p.unlink()
    return table


def jain_index(x: np.ndarray, n: int | None = None) -> float:
    """Jain's fairness index of `x` over `n` members (those not listed have 0): (sum x)^2 /
    (n sum x^2); 1 when all bear the same, 1/n when one bears everything; 1 when none bears any."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size if n is None else n
    sq = float((x * x).sum())
    return float(x.sum()) ** 2 / (n * sq) if sq > 0 and n > 0 else 1.0


def fairness_figures(table: pd.DataFrame, finals: dict[str, dict]) -> dict:
    """Who starved, from the per-consumer table: by customer class (consumers, ever starved,
    the starved share, starved seconds) and Jain's index of starved time over every consumer."""
    pops = [f for f in finals.values() if f.get("role") == "consumer"]
    totals: dict[str, int] = {}
    for f in pops:
        for k, v in f.items():
            if k.startswith("class_consumers:"):
                totals[k.split(":", 1)[1]] = totals.get(k.split(":", 1)[1], 0) + int(v)
    starved = table[table["starved_s"] > 0]
    by_class = {}
    for cls, n in sorted(totals.items()):
        rows = starved[starved["customer_class"].astype(str) == cls]
        by_class[cls] = {"consumers": n, "starved": len(rows), "starved_share": len(rows) / n if n else 0.0,
                         "starved_s": float(rows["starved_s"].sum())}
    n_all = sum(totals.values()) or int(sum(f.get("consumers", 0) for f in pops))
    return {"by_class": by_class, "jain_index_starved_s": jain_index(table["starved_s"].to_numpy(), n_all),
            "table_rows": len(table)}


def who_starved_table(ids: np.ndarray, kinds: np.ndarray, class_names: tuple[str, ...], regions: np.ndarray,
                      region_names: list[str], starved_ticks: np.ndarray, spells: np.ndarray, choked_ticks: np.ndarray,
                      deferred_kwh: np.ndarray, expired_kwh: np.ndarray, tick_seconds: float) -> pd.DataFrame:
    """One row per consumer ever starved, choked or deferring (the arrays hold those rows only):
    times in seconds as floats (tick counts are uint16 and would wrap if multiplied first)."""
    return pd.DataFrame({
        "id_hi": ids["hi"], "id_lo": ids["lo"],
        "customer_class": pd.Categorical.from_codes(kinds, list(class_names)),
        "region": pd.Categorical.from_codes(regions, region_names),
        "starved_s": starved_ticks.astype(np.float64) * tick_seconds,
        "starved_spells": spells.astype(np.int64),
        "choked_s": choked_ticks.astype(np.float64) * tick_seconds,
        "deferred_kwh": deferred_kwh, "expired_kwh": expired_kwh,
    })
