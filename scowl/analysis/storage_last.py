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
    # fit-aware, beside the aggregate: of the hubs' load, the MW of whole consumers that fit no generator's gap
    # (the giver's tracker rows after a second hop, `hub_unfit_mw`; unknown in other ticks: counts as 0)
    tr = rows_of(state, "tracker")
    unfit = tr.groupby("tick")["hub_unfit_mw"].sum(min_count=1) if "hub_unfit_mw" in tr else pd.Series(dtype=float)
    df = df.join(unfit.rename("unfit_mw"), how="left").fillna({"unfit_mw": 0.0})
    df["fit_mw"] = (df["discharge_mw"] - df["unfit_mw"]).clip(lower=0.0)
    df["beside_spare_fit"] = df["beside_spare"] & (df["fit_mw"] > 1e-9)
    return df[["discharge_mw", "free_mw", "beside_spare", "coverable_mw", "unfit_mw", "beside_spare_fit"]]


def discharge_beside_spare_figures(state: pd.DataFrame, safety_threshold: float, tick_h: float) -> dict:
    """The day's totals of `discharge_beside_spare`: ticks and MWh where generators alone had room; and,
    fit-aware, those ticks less the load of whole consumers that fit no generator's gap (`_fit`: the MWh
    of discharge in them that some gap could have taken; `mwh_unfit_beside_spare`: the rest)."""
    df = discharge_beside_spare(state, safety_threshold)
    bad = df[df["beside_spare"]]
    fit = df[df["beside_spare_fit"]]
    unfit = bad["discharge_mw"].clip(upper=bad["unfit_mw"])
    return {"ticks_discharging": int((df["discharge_mw"] > 1e-9).sum()), "delivered_mwh": float(df["discharge_mw"].sum() * tick_h),
            "ticks_beside_spare": len(bad), "mwh_beside_spare": float(bad["discharge_mw"].sum() * tick_h),
            "ticks_coverable": int((df["coverable_mw"] > 1e-9).sum()), "mwh_coverable": float(df["coverable_mw"].sum() * tick_h),
            "ticks_beside_spare_fit": len(fit), "mwh_beside_spare_fit": float((fit["discharge_mw"] - fit["unfit_mw"]).sum() * tick_h),
            "mwh_unfit_beside_spare": float(unfit.sum() * tick_h)}
