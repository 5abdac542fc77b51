"""Storage as the last resort, checked from the state log alone (issue 18): in which ticks did the
EV hubs discharge while the generators in reach had spare enough to carry that load instead?"""

from __future__ import annotations

import pandas as pd

from scowl.analysis.results import rows_of, starvation_beside_spare


def discharge_beside_spare(state: pd.DataFrame, safety_threshold: float) -> pd.DataFrame:
    """Per tick: the EV hubs' delivered MW (`discharge_mw`); the generators' spare at the threshold
    less what starved consumers wanted (`free_mw`, from `starvation_beside_spare`); `beside_spare`
    where that free spare exceeds the whole discharge (the hubs were not needed at all); and
    `coverable_mw`, the stricter count: the part of the discharge the generators could have carried,
    min(discharge, free + discharge), since the hubs' load is not in the generators' load, so their
    room beside it is the free spare plus what the hubs carried."""
    base = starvation_beside_spare(state, safety_threshold)
    hubs = rows_of(state, "storage")
    discharge = hubs.groupby("tick")["delivered_mw"].sum() if len(hubs) else pd.Series(dtype=float)
    df = base.join(discharge.rename("discharge_mw"), how="left").fillna({"discharge_mw": 0.0})
    df["free_mw"] = df["spare_mw"] - df["starved_mw"]
    df["beside_spare"] = (df["discharge_mw"] > 1e-9) & (df["free_mw"] > df["discharge_mw"])
    df["coverable_mw"] = df["discharge_mw"].clip(upper=(df["free_mw"] + df["discharge_mw"]).clip(lower=0.0))
    return df[["discharge_mw", "free_mw", "beside_spare", "coverable_mw"]]


def discharge_beside_spare_figures(state: pd.DataFrame, safety_threshold: float, tick_h: float) -> dict:
    """The day's totals of `discharge_beside_spare`: ticks and MWh where generators alone had room."""
    df = discharge_beside_spare(state, safety_threshold)
    bad = df[df["beside_spare"]]
    return {"ticks_discharging": int((df["discharge_mw"] > 1e-9).sum()), "delivered_mwh": float(df["discharge_mw"].sum() * tick_h),
            "ticks_beside_spare": len(bad), "mwh_beside_spare": float(bad["discharge_mw"].sum() * tick_h),
            "ticks_coverable": int((df["coverable_mw"] > 1e-9).sum()), "mwh_coverable": float(df["coverable_mw"].sum() * tick_h)}
