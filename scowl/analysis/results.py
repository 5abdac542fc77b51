"""What a run leaves behind: the state log (one row per tick and actor, Parquet), the final
figures of each actor, and summary.json computed from them (pure functions)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from scowl.analysis.fairness import fairness_figures, merge_consumer_tables
from scowl.analysis.views import after_heal, view_agreement, view_figures
from scowl.statelog import atomic_write, atomic_write_json, read_state_log, state_frame

#: 2: storage's soc_start_mwh / soc_end_mwh renamed state_of_charge_start_mwh / state_of_charge_end_mwh
SUMMARY_VERSION = 2
#: Roles that supply the trees: generator fleets and EV hub (storage) fleets speak the same
#: protocol, so generation, availability and blackouts count both.
SUPPLY_ROLES = ("generator", "storage")
POWER_TOL_MW = 1e-9  # a hub charges or discharges in a tick only above this (float noise of dispatch sums is ~1e-13)


def rows_of(state: pd.DataFrame, role: str | tuple[str, ...]) -> pd.DataFrame:
    """The state log's rows of one role, or of several (SUPPLY_ROLES)."""
    return state[state["role"].isin([role] if isinstance(role, str) else role)]


def _sum_by_tick(df: pd.DataFrame, role: str | tuple[str, ...], col: str) -> pd.Series:
    part = rows_of(df, role)
    if col not in part:
        return pd.Series(dtype=float)
    return part.groupby("tick")[col].sum()


def _ticks_above(a: pd.Series, b: pd.Series) -> int:
    """Ticks where a > b, over the ticks both have (in real time a late actor's tick is missing)."""
    a, b = a.align(b, join="inner")
    return int((a > b).sum())


def starvation_beside_spare(state: pd.DataFrame, safety_threshold: float, *, with_storage: bool = False) -> pd.DataFrame:
    """Per tick, from the state log alone (not from what trackers say of themselves): could the
    supply have served the consumers who starved?

    reach_mw: what the generator fleets could give that tick (`reachable_mw`: available output,
    dispatchable units as far as their ramp goes from their setpoint), plus the EV hubs'
    available discharge if `with_storage`; load_mw: demand served (consumers' demand after
    demand response minus the starved part); spare_mw = (1 - threshold) x reach - load;
    starved_mw: the starved consumers' demand. `beside_spare` marks the ticks in which
    consumers starved while the spare exceeded what they wanted: starvation the physics did not
    force. Empty when the log predates `reachable_mw`."""
    gen = rows_of(state, "generator")
    if "reachable_mw" not in gen or not len(gen):
        return pd.DataFrame(columns=["reach_mw", "load_mw", "starved_mw", "spare_mw", "beside_spare"])
    reach = gen.groupby("tick")["reachable_mw"].sum()
    if with_storage:
        st = rows_of(state, "storage")
        if len(st):
            reach = reach.add(st.groupby("tick")["available_mw"].sum(), fill_value=0.0)
    pop = rows_of(state, "consumer").groupby("tick")[["consumed_mw", "starved_mw"]].sum()
    df = pd.DataFrame({"reach_mw": reach}).join(pop, how="inner")
    df["load_mw"] = df["consumed_mw"] - df["starved_mw"]
    df["spare_mw"] = (1.0 - safety_threshold) * df["reach_mw"] - df["load_mw"]
    df["beside_spare"] = (df["starved_mw"] > 0) & (df["spare_mw"] > df["starved_mw"])
    return df[["reach_mw", "load_mw", "starved_mw", "spare_mw", "beside_spare"]]


def _round_trip(finals: dict[str, dict]) -> dict:
    """Rounds achieved per wall second (mean over trackers; under real time the continuous rounds
    between ticks count too, and how many there were) and the report-to-assignment latency (the
    worst population's p50 and p99), beside the compute-only rate; none if not reported."""
    tr = [f["rounds_per_wall_s"] for f in finals.values() if f.get("role") == "tracker" and "rounds_per_wall_s" in f]
    pops = [f for f in finals.values() if f.get("role") == "consumer" and "report_to_assign_ms_p50" in f]
    out = {"rounds_per_wall_s": float(np.mean(tr))} if tr else {}
    continuous = sum(f.get("interim_rounds", 0) for f in finals.values() if f.get("role") == "tracker")
    if continuous:  # (real time only: lockstep summaries keep their keys)
        out["continuous_rounds"] = int(continuous)
    if pops:
        out["report_to_assign_ms_p50"] = float(max(f["report_to_assign_ms_p50"] for f in pops))
        out["report_to_assign_ms_p99"] = float(max(f["report_to_assign_ms_p99"] for f in pops))
    return out


def _beside_spare(state: pd.DataFrame, meta: dict, tick_h: float) -> dict:
    """The summary's figures of `starvation_beside_spare` (none for logs that predate it)."""
    if "safety_threshold" not in meta:
        return {}
    out: dict[str, float] = {}
    for label, storage in (("", False), ("_with_storage", True)):
        df = starvation_beside_spare(state, meta["safety_threshold"], with_storage=storage)
        if not len(df):
            return {}
        bad = df["beside_spare"]
        out[f"ticks_starved_beside_spare{label}"] = int(bad.sum())
        out[f"starved_mwh_beside_spare{label}"] = float(df.loc[bad, "starved_mw"].sum() * tick_h)
    out["ticks_starved"] = int((df["starved_mw"] > 0).sum())
    return out


#: keys of a role's final figures that the summary sums; a report without one is named in the
#: summary ("finals_missing") and counts as 0, instead of killing the metronome with KeyError
FINAL_KEYS = {
    "consumer": ("consumers_ever_starved", "starved_consumer_seconds", "starved_per_consumer_max_s", "starved_spell_max_s"),
    "generator": ("blackout_events", "blackout_generator_ticks"),
    "storage": ("blackout_events", "blackout_generator_ticks", "state_of_charge_start_mwh", "charged_mwh", "delivered_mwh",
                "driven_mwh", "state_of_charge_end_mwh", "evs", "generators", "storage_mwh"),
}


def missing_final_keys(finals: dict[str, dict]) -> dict[str, list[str]]:
    """{actor: [keys its final report lacks]} for the reports the summary cannot fully use."""
    out = {}
    for name, f in sorted(finals.items()):
        lacking = [k for k in FINAL_KEYS.get(f.get("role", ""), ()) if k not in f]
        if lacking:
            out[name] = lacking
    return out


def _tolerant(finals: dict[str, dict]) -> dict[str, dict]:
    """Finals with every summed key present (missing ones as 0; missing_final_keys names them)."""
    return {n: {**dict.fromkeys(FINAL_KEYS.get(f.get("role", ""), ()), 0.0), **f} for n, f in finals.items()}


def summarize(state: pd.DataFrame, finals: dict[str, dict], meta: dict) -> dict:
    """summary.json: the run's answers, computed only from the state log and final figures."""
    missing = missing_final_keys(finals)
    finals = _tolerant(finals)
    tick_h = meta["tick_seconds"] / 3600.0
    if "absent" in state:  # stand-in rows of ticks a dead peer did not report: no figures to sum
        state = state[state["absent"].fillna(0) != 1]
    roles = state["role"] if len(state) else pd.Series(dtype=str)
    tr = state[roles == "tracker"]
    pop = state[roles == "consumer"]
    gen = state[roles.isin(SUPPLY_ROLES)]
    round_s = tr["round_s"].to_numpy() if len(tr) else np.zeros(0)
    moved = float(tr["moved"].sum()) if len(tr) else 0.0
    finals_pop = [f for f in finals.values() if f.get("role") == "consumer"]
    finals_gen = [f for f in finals.values() if f.get("role") in SUPPLY_ROLES]
    ever = sum(f["consumers_ever_starved"] for f in finals_pop)
    starved_s = sum(f["starved_consumer_seconds"] for f in finals_pop)
    demanded = float(pop["demand_mw"].sum() * tick_h) if len(pop) else 0.0
    served = float(pop["served_mw"].sum() * tick_h) if len(pop) else 0.0
    generated = float(gen["delivered_mw"].sum() * tick_h) if len(gen) else 0.0
    peers = dict(meta["peers"])
    summary = {
        "summary_version": SUMMARY_VERSION,
        "scenario": meta["scenario"],
        "seed": meta["seed"],
        "pacing": meta["pacing"],
        "transport": meta["transport"],
        "peers": peers,
        "ticks": int(state["tick"].nunique()) if len(state) else 0,
        "tick_seconds": meta["tick_seconds"],
        "wall_seconds": meta["wall_seconds"],
        "version": meta.get("version", "not recorded"),
        "rebalance": {
            "rounds": int(len(round_s)),
            "rate_hz_mean": float(1.0 / round_s.mean()) if len(round_s) else 0.0,
            "rate_hz_p5": float(1.0 / np.percentile(round_s, 95)) if len(round_s) else 0.0,
            "round_ms_mean": float(round_s.mean() * 1e3) if len(round_s) else 0.0,
            "round_ms_max": float(round_s.max() * 1e3) if len(round_s) else 0.0,
            "peers_rebalanced": int(moved),
            "peers_rebalanced_per_s": float(moved / round_s.sum()) if round_s.sum() > 0 else 0.0,
            "peers_per_tracker": float(peers.get("consumers", 0) / max(1, peers.get("trackers", 1))),
            **_round_trip(finals),
        },
        "energy_mwh": {
            "demanded": demanded,
            "served": served,
            "generated": generated,
            "unserved": demanded - served,
            # what EV hubs charged on a surplus: drawn from generators' spare output under the
            # margin, not from any consumer's tree, so it is not in `generated`
            "storage_charged": float(sum(f.get("charged_mwh", 0.0) for f in finals.values() if f.get("role") == "storage")),
        },
        "starvation": {
            "consumers_starved": int(ever),
            "consumer_ticks_starved": int(pop["starved"].sum()) if len(pop) else 0,
            "mean_starved_s": float(starved_s / ever) if ever else 0.0,
            "max_starved_s": float(max((f["starved_per_consumer_max_s"] for f in finals_pop), default=0.0)),
            "longest_spell_s": float(max((f["starved_spell_max_s"] for f in finals_pop), default=0.0)),
            "mean_starved_s_all_consumers": float(starved_s / max(1, peers.get("consumers", 1))),
            "peak_starved_mw": float(_sum_by_tick(state, "consumer", "starved_mw").max()) if len(pop) else 0.0,
            **_beside_spare(state, meta, tick_h),
        },
        "blackouts": {
            "events": int(sum(f["blackout_events"] for f in finals_gen)),
            "generator_ticks": int(sum(f["blackout_generator_ticks"] for f in finals_gen)),
            "consumers_affected": int(pop["choked"].sum()) if len(pop) else 0,
            # demand above what the generators could give, before EV storage made up for any of it
            "demand_above_supply_ticks": _ticks_above(_sum_by_tick(state, "consumer", "demand_mw"), _sum_by_tick(state, "generator", "available_mw")),
        },
        "peak_memory_mb": {name: round(f["rss_peak_mb"], 1) for name, f in sorted(finals.items()) if "rss_peak_mb" in f},
        "tick_wall_ms": meta.get("tick_wall_ms", {}),
        "late_tick_reports": meta.get("late", {}),
        # an interrupted run: why, and how many ticks it completed (its figures cover only those)
        "partial": bool(meta.get("partial")),
        # every peer found dead (or silent past the tick deadline): when, how, and the ticks it missed
        "deaths": list(meta.get("deaths") or []),
    }
    if meta.get("partial"):
        summary["interrupted"] = meta["partial"]
    if missing:
        summary["finals_missing"] = missing
    summary["security"] = security_figures(finals, meta.get("security", {}))
    stores = [f for f in finals.values() if f.get("role") == "storage"]
    if stores:
        summary["storage"] = storage_figures(state, stores, tick_h)
    partitions = meta.get("partitions") or []
    if partitions or any(f.get("deferred_mwh", 0) for f in finals_pop):
        summary["partition"] = partition_figures(state, finals, partitions, meta["tick_seconds"])
    if meta.get("membership"):
        summary["membership"] = membership_figures(state, meta["membership"], tick_h)
    views = view_figures(state)
    if views:
        summary["views"] = views
    return summary


def security_figures(finals: dict[str, dict], security: dict) -> dict:
    """How the run was secured, and every frame any actor rejected: by reason, by the sender
    it came from (the authenticated peer; "key:XXXXXXXX" for a refused unenrolled key) and by
    the actor that rejected it (finals keys `rejected:<reason>`, `rejected_from:<sender>`)."""
    by_reason: dict[str, int] = {}
    by_sender: dict[str, int] = {}
    by_actor: dict[str, int] = {}
    for name, f in sorted(finals.items()):
        for key, n in f.items():
            if key.startswith("rejected:"):
                by_reason[key[9:]] = by_reason.get(key[9:], 0) + int(n)
                by_actor[name] = by_actor.get(name, 0) + int(n)
            elif key.startswith("rejected_from:"):
                by_sender[key[14:]] = by_sender.get(key[14:], 0) + int(n)
    return {"mode": security.get("mode", "not recorded"), "guards_off": security.get("guards_off", []),
            "rejected": sum(by_reason.values()), "rejected_by_reason": dict(sorted(by_reason.items())),
            "rejected_by_sender": dict(sorted(by_sender.items())), "rejected_by_actor": by_actor}


def membership_figures(state: pd.DataFrame, membership: dict, tick_h: float) -> dict:
    """Peers that joined or left the running grid: when, and what each supply peer generated
    (its delivered MW over the ticks it reported)."""
    out: dict[str, dict[str, dict]] = {"joined": {}, "left": {}}
    for kind in ("joined", "left"):
        for name, entry in sorted(membership.get(kind, {}).items()):
            rows = state[state["actor"] == name] if len(state) else state
            figures = {"role": entry["role"], "tick": int(entry["tick"]), "ticks_reported": int(rows["tick"].nunique()) if len(rows) else 0}
            if entry["role"] in SUPPLY_ROLES and len(rows):
                figures["generators"] = int(rows["generators"].max())
                figures["generated_mwh"] = float(rows["delivered_mw"].sum() * tick_h)
            out[kind][name] = figures
    return out


def storage_figures(state: pd.DataFrame, stores: list[dict], tick_h: float) -> dict:
    """EV storage over the day: what the hubs charged on surplus and delivered on deficit, and
    their books (end = start + charged - delivered - driven)."""
    st = state[state["role"] == "storage"]
    start = sum(f["state_of_charge_start_mwh"] for f in stores)
    charged = sum(f["charged_mwh"] for f in stores)
    delivered = sum(f["delivered_mwh"] for f in stores)
    driven = sum(f["driven_mwh"] for f in stores)
    end = sum(f["state_of_charge_end_mwh"] for f in stores)
    by_tick = st.groupby("tick")[["charge_mw", "discharge_mw"]].sum() if len(st) else pd.DataFrame(columns=["charge_mw", "discharge_mw"])
    return {
        "evs": int(sum(f["evs"] for f in stores)), "hubs": int(sum(f["generators"] for f in stores)),
        "capacity_mwh": float(sum(f["storage_mwh"] for f in stores)),
        "state_of_charge_start_mwh": start, "state_of_charge_end_mwh": end, "charged_mwh": charged, "delivered_mwh": delivered,
        "driven_mwh": driven, "books_balance_mwh": start + charged - delivered - driven - end,
        "ticks_charging": int((by_tick["charge_mw"] > POWER_TOL_MW).sum()),
        "ticks_discharging": int((by_tick["discharge_mw"] > POWER_TOL_MW).sum()),
        "peak_discharge_mw": float(by_tick["discharge_mw"].max()) if len(by_tick) else 0.0,
        "peak_charge_mw": float(by_tick["charge_mw"].max()) if len(by_tick) else 0.0,
        "blackout_events": int(sum(f["blackout_events"] for f in stores)),
        # a storage actor that restarted mid-run began its batteries again at their tick-0 charge
        "books_partial": bool(any(f.get("restarted") for f in stores)),
    }


def _quantile_from_hist(hist: dict[int, int], q: float) -> float:
    if not hist:
        return 0.0
    keys = np.array(sorted(hist))
    counts = np.array([hist[k] for k in keys])
    cum = np.cumsum(counts)
    return float(keys[np.searchsorted(cum, q * cum[-1])])


def partition_figures(state: pd.DataFrame, finals: dict[str, dict], partitions: list[dict], tick_seconds: float) -> dict:
    """The partitioned day's answers: warnings sent, energy and time deferred, blackouts by
    region during the partition, and how long the trees took to re-converge after healing."""
    pops = [f for f in finals.values() if f.get("role") == "consumer"]
    gens = [f for f in finals.values() if f.get("role") in SUPPLY_ROLES]
    per_gen = {k.split(":", 1)[1]: int(v) for f in gens for k, v in f.items() if k.startswith("capacity_low:")}
    hist: dict[int, int] = {}
    for f in pops:
        for k, v in f.items():
            if k.startswith("deferral_spell_ticks:"):
                t = int(k.split(":", 1)[1])
                hist[t] = hist.get(t, 0) + int(v)
    deferred = sum(f.get("deferred_mwh", 0.0) for f in pops)
    recovered = sum(f.get("recovered_mwh", 0.0) for f in pops)
    expired = sum(f.get("expired_mwh", 0.0) for f in pops)
    spells = sum(hist.values())
    out = {
        "schedule": partitions,
        "capacity_low_sent": int(sum(f.get("capacity_low_sent", 0) for f in gens)),
        "capacity_low_per_generator": dict(sorted(per_gen.items(), key=lambda kv: (-kv[1], kv[0]))),
        "capacity_low_per_generator_max": max(per_gen.values(), default=0),
        "demand_response_events": int(sum(f.get("dr_events", 0) for f in pops)),
        "deferred_mwh": deferred,
        "recovered_mwh": recovered,
        "expired_mwh": expired,
        "shed_mwh": sum(f.get("shed_mwh", 0.0) for f in pops),
        "deferral_books_balance_mwh": deferred - recovered - expired,
        "consumers_deferring": spells,
        "deferral_s_mean": float(sum(k * c for k, c in hist.items()) / spells * tick_seconds) if spells else 0.0,
        "deferral_s_p95": _quantile_from_hist(hist, 0.95) * tick_seconds,
        "deferral_s_max": float(max(hist, default=0) * tick_seconds),
    }
    gen = state[state["role"].isin(SUPPLY_ROLES)] if len(state) else state
    pop = state[state["role"] == "consumer"] if len(state) else state
    if partitions and len(gen):
        start = min(p["start_tick"] for p in partitions)
        end = max(p["end_tick"] for p in partitions)
        during = gen[(gen["tick"] >= start) & (gen["tick"] < end)]
        regions = [c for c in gen.columns if c.startswith("blackouts_region:")]
        out["blackouts_by_region_during"] = {c.split(":", 1)[1]: int(during[c].sum()) for c in regions}
        out["blackout_generator_ticks_during"] = int(during["blacked_out"].sum())
        # re-converged: views agree, trackers hear every peer, no consumer self-optimizing or working
        # off deferred demand, no generator SOG, warning or blacked out
        per_tick = pd.DataFrame({
            "self_optimizing": pop.groupby("tick")["self_optimizing"].sum() + pop.groupby("tick")["backlog_mwh"].sum(),
            "sog": gen.groupby("tick")["sog"].sum() + gen.groupby("tick")["warned"].sum() + gen.groupby("tick")["blacked_out"].sum(),
            "missing": state[state["role"] == "tracker"].groupby("tick")["missing_peers"].sum(),
        }).fillna(0)
        views = view_agreement(state)  # and trackers', populations' and fleets' views agree
        per_tick["disagree"] = (~views["agree"].astype(bool)).astype(int).reindex(per_tick.index, fill_value=0) if len(views) else 0
        after = per_tick[per_tick.index >= end]
        calm = after[(after["self_optimizing"] <= 1e-9) & (after["sog"] == 0) & (after["missing"] == 0) & (after["disagree"] == 0)]
        out["heal_tick"] = int(end)
        out["reconverged_tick"] = int(calm.index.min()) if len(calm) else None
        out["reconverge_ticks"] = int(calm.index.min() - end) if len(calm) else None
        out["reconverge_s"] = float((calm.index.min() - end) * tick_seconds) if len(calm) else None
        out.update(after_heal(state, int(end)))
    return out


def write_results(out_dir: str | Path, records: list[dict], finals: dict[str, dict], meta: dict) -> dict:
    """state.parquet, finals.json and summary.json, each written atomically (temporary file,
    then rename), the summary last: a summary.json on disk means the rest is there."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = state_frame(records)
    atomic_write(out / "state.parquet", lambda tmp: state.to_parquet(tmp, index=False))
    write_tidy_tables(out, state, meta)
    atomic_write_json(out / "finals.json", finals, sort_keys=True)
    totals = merge_consumer_tables(out)
    summary = summarize(state, finals, meta)
    if totals is not None and "starvation" in summary:
        summary["starvation"].update(fairness_figures(totals, finals))
    atomic_write_json(out / "summary.json", summary)
    return summary


def write_tidy_tables(out: Path, state: pd.DataFrame, meta: dict) -> list[Path]:
    """RUN/tables/*.parquet: the tidy view of the state log (scowl.tidy, docs/outputs.md)."""
    import datetime as dt
    import zoneinfo

    from scowl.tidy import write_tidy

    start = None
    if meta.get("start"):
        start = dt.datetime.fromisoformat(meta["start"])
        if meta.get("timezone"):
            start = start.replace(tzinfo=zoneinfo.ZoneInfo(meta["timezone"]))  # the zone's name, not only its offset
    return write_tidy(out, state, start=start, tick_seconds=meta.get("tick_seconds"))


def load_run(run_dir) -> tuple[pd.DataFrame, dict, dict]:
    run_dir = Path(run_dir)
    return (read_state_log(run_dir), json.loads((run_dir / "finals.json").read_text()),
            json.loads((run_dir / "summary.json").read_text()))


def load_sweep(sweep_dir: str | Path) -> tuple[pd.DataFrame, dict]:
    """What a scale sweep leaves behind: its table (sweep.csv) and its metadata (sweep.json)."""
    d = Path(sweep_dir)
    return pd.read_csv(d / "sweep.csv"), json.loads((d / "sweep.json").read_text())
