"""Do trackers, populations and fleets agree on who is on which generator? Per tick, from the
state log alone: each actor logs `view_placed` and `view_digest` (scowl.balance.views); a
role's view is the sum over its actors, and the three views agree exactly when their digests
are equal. `placed_gap` (the largest difference between the views' placed counts) is a lower
bound on the consumers they disagree on (pure functions)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scowl.balance.views import DIGEST_BITS

#: the views compared, by the roles that hold them (EV hub fleets hold trees like generator fleets)
VIEW_ROLES = {"tracker": ("tracker",), "population": ("consumer",), "fleet": ("generator", "storage")}


def view_agreement(state: pd.DataFrame) -> pd.DataFrame:
    """One row per tick every view reported: placed_<view>, agree (bool), placed_gap. Empty for
    logs that predate the view figures."""
    cols = ["placed_tracker", "placed_population", "placed_fleet", "agree", "placed_gap"]
    if "view_digest" not in state or not len(state):
        return pd.DataFrame(columns=cols)
    mask = (1 << DIGEST_BITS) - 1
    placed, digest = {}, {}
    for view, roles in VIEW_ROLES.items():
        part = state[state["role"].isin(roles) & state["view_digest"].notna()]
        g = part.groupby("tick")
        placed[view] = g["view_placed"].sum()
        digest[view] = g["view_digest"].agg(lambda d: int(sum(int(x) for x in d)) & mask)
    df = pd.DataFrame({f"placed_{v}": placed[v] for v in VIEW_ROLES}).dropna()
    dg = pd.DataFrame(digest).loc[df.index]
    df["agree"] = (dg.nunique(axis=1) == 1) & (df.nunique(axis=1) == 1)
    p = df[[f"placed_{v}" for v in VIEW_ROLES]].to_numpy()
    df["placed_gap"] = (p.max(axis=1) - p.min(axis=1)).astype(np.int64) if len(df) else np.zeros(0, dtype=np.int64)
    return df[cols]


def view_figures(state: pd.DataFrame) -> dict:
    """The summary's figures: ticks in which the views disagree, the last of them, the largest gap."""
    df = view_agreement(state)
    if not len(df):
        return {}
    bad = df.index[~df["agree"]]
    return {"ticks_views_disagree": int(len(bad)), "last_tick_views_disagree": int(bad.max()) if len(bad) else None,
            "views_placed_gap_max": int(df["placed_gap"].max())}


def after_heal(state: pd.DataFrame, heal_tick: int) -> dict:
    """After a heal: the ticks until the views agree for good, the ticks they disagree, and the
    blackout generator-ticks in ticks whose available supply covered demand (not forced)."""
    df = view_agreement(state)
    out: dict = {}
    if len(df):
        after = df[df.index >= heal_tick]
        bad = after.index[~after["agree"]]
        out["views_disagree_ticks_after_heal"] = int(len(bad))
        out["views_agree_from_tick"] = int(bad.max()) + 1 if len(bad) else int(heal_tick)
        out["views_agree_ticks_after_heal"] = out["views_agree_from_tick"] - int(heal_tick)
    gen = state[state["role"].isin(("generator", "storage"))]
    pop = state[state["role"] == "consumer"]
    if len(gen) and len(pop):
        g = gen.groupby("tick")[["available_mw", "blacked_out"]].sum()
        d = pop.groupby("tick")["demand_mw"].sum()
        per = g.join(d, how="inner")
        per = per[per.index >= heal_tick]
        covered = per["available_mw"] >= per["demand_mw"]
        out["blackout_generator_ticks_after_heal"] = int(per["blacked_out"].sum())
        out["blackout_generator_ticks_after_heal_covered"] = int(per.loc[covered, "blacked_out"].sum())
        if "views_agree_from_tick" in out:  # once the views agree again, no blackout the supply did not force
            agreed = covered & (per.index >= out["views_agree_from_tick"])
            out["blackout_generator_ticks_agreed_covered"] = int(per.loc[agreed, "blacked_out"].sum())
    return out
