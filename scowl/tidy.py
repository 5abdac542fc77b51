"""The state log in tidy tables: one table per role, a row per tick and actor, a time-zone-aware
`time` column, counts as integers, stable snake_case names with units, and the per-type and
per-region figures as rows of their own long tables instead of column names.

The run writes its state log as it comes (state.parquet: one wide row per tick and actor, every
role's figures side by side, the actors' own names). These tables are a view of it, written at
consolidation into RUN/tables/<table>.parquet with each column's unit and description in the
Parquet schema metadata; docs/outputs.md is the same dictionary for people.

    tidy_tables(state, start, tick_seconds) -> {table name: DataFrame}
    write_tidy(run_dir, state, start=None, tick_seconds=None) -> [paths]
    read_table(path) -> DataFrame;  column_docs(path) -> {column: (unit, description)}

Tables: tracker, generator, storage, consumer (per tick and actor), supply_by_type (per tick,
actor and generator type: output and available MW) and blackouts_by_region (per tick, actor and
tracker region: generators blacked out). A figure an actor reports that this dictionary does not
know yet is kept under a snake_case form of its name, described as undocumented.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scowl.model import data

__all__ = ["SCHEMA_VERSION", "TABLES", "Column", "column_docs", "read_table", "tidy_tables", "write_tidy"]

SCHEMA_VERSION = 1
TABLES = ("tracker", "generator", "storage", "consumer", "supply_by_type", "blackouts_by_region")
TABLE_DIR = "tables"


@dataclass(frozen=True)
class Column:
    name: str  # the tidy name
    kind: str  # "int", "float", "str", "time", "bool"
    unit: str  # "" for a name or a count's unit in words
    description: str


_KEYS = (
    Column("time", "time", "local time", "local wall time at the start of the tick (time-zone aware, the scenario's zone)"),
    Column("tick", "int", "tick", "tick number, 0 at the scenario's start"),
    Column("actor", "str", "", "the actor that reported the row (e.g. tracker-0, fleet-0, population-0)"),
)
_TIME_COLS = {c.name: c for c in _KEYS}

#: state-log column -> tidy column, per role (the state log keeps the actors' names)
_ROLE_COLUMNS: dict[str, dict[str, Column]] = {
    "tracker": {
        "round_s": Column("round_s", "float", "s", "wall time of this tick's rebalance round"),
        "moved": Column("consumers_moved", "int", "consumers", "consumers whose generator changed in the round"),
        "newly_starved": Column("consumers_newly_starved", "int", "consumers", "consumers served before the round and starved after it"),
        "restored": Column("consumers_restored", "int", "consumers", "consumers without a generator before the round and served after it"),
        "shed": Column("consumers_shed", "int", "consumers", "consumers taken off over-threshold generators (some placed again elsewhere)"),
        "overloaded": Column("generators_overloaded", "int", "generators", "generators over their safety threshold at the start of the round"),
        "starved": Column("consumers_starved", "int", "consumers", "consumers in the region without a generator after the round"),
        "starved_mw": Column("starved_mw", "float", "MW", "demand of the region's starved consumers"),
        "capacity_mw": Column("capacity_mw", "float", "MW", "output the region's generators offer"),
        "load_mw": Column("load_mw", "float", "MW", "demand placed on the region's generators after the round"),
        "headroom_mw": Column("headroom_mw", "float", "MW", "capacity under the safety threshold left after the round"),
        "gas_setpoint_mw": Column("gas_setpoint_mw", "float", "MW", "output the tracker asked of its dispatchable (gas, petroleum) generators"),
        "storage_setpoint_mw": Column("storage_setpoint_mw", "float", "MW", "output the tracker asked of its EV hubs (discharge)"),
        "handed_out": Column("consumers_handed_out", "int", "consumers", "consumers offered to other trackers' regions"),
        "handed_out_served": Column("consumers_handed_out_served", "int", "consumers", "served consumers handed to peers with room before they starve (they leave at the next round)"),
        "handed_out_served_mw": Column("handed_out_served_mw", "float", "MW", "demand of those served consumers"),
        "hub_offered": Column("consumers_hub_offered", "int", "consumers", "served consumers on the region's EV hubs offered to peers' generators this tick (a Handover's hub part)"),
        "hub_moved": Column("consumers_hub_moved", "int", "consumers", "of those, the ones a peer placed on its generators in the same tick (released from the hubs before the Assign)"),
        "hub_moved_mw": Column("hub_moved_mw", "float", "MW", "demand of those consumers"),
        "hub_load_mw": Column("hub_load_mw", "float", "MW", "demand on the region's EV hubs after the round (what they discharge for)"),
        "hub_declined_mw": Column("hub_declined_mw", "float", "MW", "of it, consumers of the region's hub parts no peer placed (they stay on the hubs, served)"),
        "hub_handed_in_mw": Column("hub_handed_in_mw", "float", "MW", "of it, consumers other regions handed in (their starved of this tick, served ones of the last) placed on the hubs; the rest was offered to no peer"),
        "hub_unfit_mw": Column("hub_unfit_mw", "float", "MW", "of hub_load_mw, whole consumers that fit none of the generator gaps the peers reported in a second hop of the hub part (the giver's figure; logged only in ticks with a second hop)"),
        "room_mw": Column("room_mw", "float", "MW", "load the region could take next tick at the safety threshold, dispatchable units ramped (advertised to peers)"),
        "short_mw": Column("short_mw", "float", "MW", "load the region's own generators cannot carry next tick, ramped up (advertised to peers)"),
        "storage_room_mw": Column("storage_room_mw", "float", "MW", "load the region's EV hubs could discharge for next tick once its generators are full (advertised to peers, used last)"),
        "firm_mw": Column("firm_mw", "float", "MW", "of room_mw, what the region's dispatchable units can ramp into (firm within a tick; peers hand their starved against it before EV hubs)"),
        "reach_mw": Column("reach_mw", "float", "MW", "what the region's generators can give next tick: available output, dispatchable units up their ramp"),
        "unseen_mw": Column("unseen_mw", "float", "MW", "load the region counts its generators carry beyond its view of them: the share their consumers drew beyond their reports last tick (demand that moved within the report threshold, as the fleets measured it), x the load now; negative: less"),
        "handed_in_accepted": Column("consumers_handed_in_accepted", "int", "consumers", "consumers from other regions taken in"),
        "handed_in_declined": Column("consumers_handed_in_declined", "int", "consumers", "consumers from other regions declined"),
        "limit_refused": Column("consumers_limit_refused", "int", "consumers", "consumers left starved because every placement in reach crossed a full zone interface ([trackers] transfer_limits)"),
        "limit_refused_mw": Column("limit_refused_mw", "float", "MW", "demand of those consumers"),
        **{f"flow_{n.lower().replace(' ', '_').replace('-', '_')}_mw": Column(f"flow_{n.lower().replace(' ', '_').replace('-', '_')}_mw", "float", "MW",
           f"net flow the region's placements put across the {n} interface, from its `from` to its `to` zones") for n, *_ in data.transfer_limits()},
        "generators": Column("generators", "int", "generators", "generators in the region"),
        "consumers": Column("consumers", "int", "consumers", "consumers in the region's trees or starved queue"),
        "missing_peers": Column("missing_peers", "int", "peers", "peers the tracker did not hear from this tick"),
        "unreachable": Column("unreachable_peers", "int", "peers", "peers the tracker counts unreachable (heartbeat timeout)"),
    },
    "generator": {
        "generators": Column("generators", "int", "generators", "generators the fleet actor runs"),
        "available_mw": Column("available_mw", "float", "MW", "what the generators could produce (weather, nameplate)"),
        "output_mw": Column("output_mw", "float", "MW", "the generators' output limit this tick (available, ramp and setpoint applied)"),
        "load_mw": Column("load_mw", "float", "MW", "demand drawn from the generators by their trees"),
        "delivered_mw": Column("delivered_mw", "float", "MW", "what generators that did not black out delivered"),
        "blacked_out": Column("generators_blacked_out", "int", "generators", "generators whose load exceeded their output this tick"),
        "blackout_events": Column("blackout_events", "int", "events", "generators that blacked out this tick and had not the tick before"),
        "blackout_consumers": Column("consumers_blacked_out", "int", "consumers", "consumers in the trees of blacked-out generators"),
        "gas_setpoint_mw": Column("gas_setpoint_mw", "float", "MW", "setpoint the trackers gave the fleet's dispatchable generators"),
        "reachable_mw": Column("reachable_mw", "float", "MW", "what the generators could give this tick if asked: available output, dispatchable units as far as their ramp goes from their setpoint"),
        "tree_members": Column("tree_members", "int", "consumers", "consumers in the fleet's generators' trees"),
        "overloaded_not_blacked": Column("generators_over_output", "int", "generators", "generators over output but within the blackout tolerance"),
        "sog": Column("generators_self_optimizing", "int", "generators", "generators that lost their tracker (self-optimizing)"),
        "capacity_low": Column("capacity_low_sent", "int", "messages", "capacity_low warnings sent to trees this tick"),
        "unchoked": Column("unchoke_sent", "int", "messages", "unchoke messages sent to trees this tick"),
        "warned": Column("generators_warning", "int", "generators", "generators whose tree is under a capacity_low warning"),
    },
    "storage": {
        "evs": Column("evs", "int", "EVs", "EVs in the fleet's hubs"),
        "plugged": Column("evs_plugged_in", "int", "EVs", "EVs plugged in this tick"),
        "asleep": Column("evs_asleep", "int", "EVs", "EVs below their sleep state of charge (will not discharge)"),
        "charge_mw": Column("charge_mw", "float", "MW", "charging power drawn on a surplus"),
        "discharge_mw": Column("discharge_mw", "float", "MW", "power delivered to the grid on a deficit"),
        "charge_available_mw": Column("charge_available_mw", "float", "MW", "charging power the plugged-in EVs could take"),
        "driven_mwh": Column("driven_mwh", "float", "MWh", "energy the EVs used driving this tick"),
        "state_of_charge_mwh": Column("state_of_charge_mwh", "float", "MWh", "energy stored in the EVs at the end of the tick (state of charge)"),
    },
    "consumer": {
        "consumers": Column("consumers", "int", "consumers", "consumers the population actor runs"),
        "demand_mw": Column("demand_mw", "float", "MW", "the day's input demand before demand response"),
        "consumed_mw": Column("consumed_mw", "float", "MW", "what consumers drew after demand response"),
        "served_mw": Column("served_mw", "float", "MW", "demand met in trees that did not black out"),
        "self_optimizing": Column("consumers_self_optimizing", "int", "consumers", "consumers that lost their tracker (self-optimizing)"),
        "dr_events": Column("demand_response_events", "int", "events", "demand-response cuts (AIMD decreases) this tick"),
        "assigned": Column("consumers_assigned", "int", "consumers", "consumers with a generator"),
        "served": Column("consumers_served", "int", "consumers", "consumers with a generator that did not black out"),
        "allowance_mean": Column("allowance_mean", "float", "fraction", "mean demand-response allowance (1 = draw all, 0 = draw nothing)"),
        "backlog_mwh": Column("backlog_mwh", "float", "MWh", "deferred energy still owed at the end of the tick"),
        "deferred_mwh_cum": Column("deferred_mwh_total", "float", "MWh", "energy deferred since tick 0 (cumulative)"),
        "starved": Column("consumers_starved", "int", "consumers", "consumers without a generator"),
        "starved_mw": Column("starved_mw", "float", "MW", "demand of consumers without a generator"),
        "choked": Column("consumers_blacked_out", "int", "consumers", "consumers in a blacked-out tree"),
        "choked_mw": Column("blacked_out_mw", "float", "MW", "demand of consumers in a blacked-out tree"),
        "reports": Column("reports_sent", "int", "messages", "demand reports sent to trackers this tick"),
    },
}
_ROLE_COLUMNS["storage"] = {**_ROLE_COLUMNS["generator"], **_ROLE_COLUMNS["storage"]}  # EV hubs speak the generators' protocol
_ANY_ROLE = {
    "rss_peak_mb": Column("rss_peak_mb", "float", "MB", "peak resident memory of the actor's process so far"),
    "absent": Column("absent", "bool", "", "true: a stand-in row for a tick the actor did not report (dead); its figures are empty"),
    "view_placed": Column("view_placed", "int", "consumers", "consumers this actor holds placed on a generator (its view of who is on which generator)"),
    "view_digest": Column("view_digest", "int", "", "sum of hash(consumer, generator) over this actor's placed consumers, modulo 2^DIGEST_BITS "
                          "(scowl.balance.views): trackers', populations' and fleets' sums agree when their views do"),
}

_LONG = {
    "supply_by_type": (
        Column("type", "str", "", "generator type (nuclear, natural gas-fired, ..., EV storage)"),
        Column("output_mw", "float", "MW", "what generators of the type that did not black out delivered"),
        Column("available_mw", "float", "MW", "what generators of the type could produce"),
    ),
    "blackouts_by_region": (
        Column("region", "str", "", "the tracker whose region the generators belong to"),
        Column("generators_blacked_out", "int", "generators", "the fleet's generators of that region blacked out this tick"),
    ),
}
_LONG_ROLES = ("generator", "storage")
_PER_TYPE = re.compile(r"^(out|avail)_(.+)$")
_PER_REGION = re.compile(r"^blackouts_region:(.+)$")


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def _is_long(col: str) -> bool:
    return bool(_PER_TYPE.match(col) or _PER_REGION.match(col))


def _times(ticks: pd.Series, start: dt.datetime, tick_seconds: float) -> pd.Series:
    stamp = pd.Timestamp(start)
    if stamp.tz is None:
        raise ValueError(f"start {start!r}: expected a time-zone-aware datetime")
    return (stamp + pd.to_timedelta(ticks.to_numpy(dtype=np.int64) * float(tick_seconds), unit="s")).to_series(index=ticks.index)


def _typed(values: pd.Series, kind: str) -> pd.Series:
    if kind == "int":
        return pd.array(np.round(values.to_numpy(dtype=np.float64)), dtype="Int64") if values.isna().any() \
            else values.to_numpy(dtype=np.float64).round().astype(np.int64)
    if kind == "float":
        return values.astype(np.float64)
    if kind == "bool":
        return values.fillna(0).astype(bool)
    return values.astype(str)


def _infer_kind(values: pd.Series) -> str:
    """An undocumented figure: a number stays a float (the state log cannot say it counts)."""
    return "float" if values.dropna().dtype.kind in "fiub" else "str"


def _role_table(rows: pd.DataFrame, role: str, start: dt.datetime, tick_seconds: float) -> tuple[pd.DataFrame, list[Column]]:
    known = {**_ROLE_COLUMNS.get(role, {}), **_ANY_ROLE}
    out = {"time": _times(rows["tick"], start, tick_seconds), "tick": rows["tick"].to_numpy(dtype=np.int64),
           "actor": rows["actor"].astype(str).to_numpy()}
    cols = list(_KEYS)
    taken = set(out)
    ordered = [c for c in known if c in rows.columns] + [c for c in rows.columns if c not in known]
    for src in ordered:
        if src in ("tick", "actor", "role") or _is_long(src):
            continue
        values = rows[src]
        if values.isna().all():  # another role's figure
            continue
        col = known.get(src) or Column(_snake(src), _infer_kind(values), "", f"undocumented figure {src!r} of the state log")
        if col.name in taken:
            continue
        if col.name == "absent" and not values.fillna(0).astype(bool).any():
            continue  # no stand-in rows: nothing to say
        taken.add(col.name)
        out[col.name] = _typed(values, col.kind)
        cols.append(col)
    return pd.DataFrame(out).reset_index(drop=True), cols


def _long_table(rows: pd.DataFrame, name: str, start: dt.datetime, tick_seconds: float) -> pd.DataFrame:
    frames = []
    if name == "supply_by_type":
        types = sorted({m.group(2) for c in rows.columns if (m := _PER_TYPE.match(c))})
        for t in types:
            out_c, av_c = f"out_{t}", f"avail_{t}"
            part = rows[rows[out_c].notna() | rows[av_c].notna()] if out_c in rows and av_c in rows else rows.iloc[0:0]
            if not len(part):
                continue
            frames.append(pd.DataFrame({"tick": part["tick"].to_numpy(dtype=np.int64), "actor": part["actor"].astype(str).to_numpy(),
                                        "type": t, "output_mw": part[out_c].astype(np.float64).to_numpy(),
                                        "available_mw": part[av_c].astype(np.float64).to_numpy()}))
    else:
        regions = sorted({m.group(1) for c in rows.columns if (m := _PER_REGION.match(c))})
        for r in regions:
            part = rows[rows[f"blackouts_region:{r}"].notna()]
            if not len(part):
                continue
            frames.append(pd.DataFrame({"tick": part["tick"].to_numpy(dtype=np.int64), "actor": part["actor"].astype(str).to_numpy(),
                                        "region": r, "generators_blacked_out": part[f"blackouts_region:{r}"].round().astype(np.int64).to_numpy()}))
    if not frames:
        return pd.DataFrame()
    key = "type" if name == "supply_by_type" else "region"
    df = pd.concat(frames, ignore_index=True).sort_values(["tick", "actor", key], kind="stable").reset_index(drop=True)
    df.insert(0, "time", _times(df["tick"], start, tick_seconds))
    return df


def tidy_tables(state: pd.DataFrame, start: dt.datetime, tick_seconds: float) -> dict[str, pd.DataFrame]:
    """Every tidy table of a state log (state.parquet as read) that has rows: {name: DataFrame}."""
    tables: dict[str, pd.DataFrame] = {}
    if not len(state):
        return tables
    live = state
    for role in ("tracker", "generator", "storage", "consumer"):
        rows = state[state["role"] == role]
        if len(rows):
            tables[role], _ = _role_table(rows, role, start, tick_seconds)
    if "absent" in state:
        live = state[state["absent"].fillna(0) != 1]
    supply = live[live["role"].isin(_LONG_ROLES)]
    for name in _LONG:
        df = _long_table(supply, name, start, tick_seconds)
        if len(df):
            tables[name] = df
    return tables


def columns_of(name: str, df: pd.DataFrame) -> list[Column]:
    """The dictionary entries of a tidy table's columns, in its order."""
    if name in _LONG:
        known = {c.name: c for c in (*_KEYS, *_LONG[name])}
    else:
        known = {c.name: c for c in (*_KEYS, *_ROLE_COLUMNS.get(name, {}).values(), *_ANY_ROLE.values())}
    return [known.get(c) or Column(c, "", "", "undocumented figure of the state log") for c in df.columns]


def dictionary() -> dict[str, list[Column]]:
    """Every documented column of every table (what docs/outputs.md lists)."""
    out = {}
    for role in ("tracker", "generator", "storage", "consumer"):
        out[role] = [*_KEYS, *_ROLE_COLUMNS[role].values(), *_ANY_ROLE.values()]
    for name, cols in _LONG.items():
        out[name] = [*_KEYS, *cols]
    return out


def _arrow_table(name: str, df: pd.DataFrame):
    import pyarrow as pa

    table = pa.Table.from_pandas(df, preserve_index=False)
    docs = {c.name: c for c in columns_of(name, df)}
    fields = [f.with_metadata({"unit": docs[f.name].unit, "description": docs[f.name].description}) for f in table.schema]
    meta = dict(table.schema.metadata or {})
    meta.update({b"scowl.table": name.encode(), b"scowl.schema_version": str(SCHEMA_VERSION).encode(),
                 b"scowl.description": _TABLE_DOCS[name].encode()})
    return table.cast(pa.schema(fields, metadata=meta))


_TABLE_DOCS = {
    "tracker": "one row per tick and tracker: the rebalance round and the region after it",
    "generator": "one row per tick and generator fleet actor: its generators' supply, load and blackouts",
    "storage": "one row per tick and EV hub (storage) actor: supply figures as a fleet's, plus the EVs' charge",
    "consumer": "one row per tick and consumer population actor: demand, service, starvation and demand response",
    "supply_by_type": "one row per tick, fleet actor and generator type: output and availability by type",
    "blackouts_by_region": "one row per tick, fleet actor and tracker region: generators blacked out",
}


def _run_start(run_dir: Path) -> tuple[dt.datetime, float] | None:
    from scowl.config import load_scenario
    from scowl.errors import ScowlError

    try:
        plan = json.loads((run_dir / "plan.json").read_text())
        sc = load_scenario(plan["scenario_path"])
    except (OSError, KeyError, ValueError, ScowlError):
        return None
    return sc.start, float(sc.tick_seconds)


def write_tidy(run_dir, state: pd.DataFrame, start: dt.datetime | None = None, tick_seconds: float | None = None) -> list[Path]:
    """RUN/tables/<table>.parquet for every tidy table of the state log, with units and
    descriptions in the schema metadata. `start` defaults to the scenario of RUN/plan.json;
    nothing is written when it is unknown (a bare state log)."""
    import pyarrow.parquet as pq

    run_dir = Path(run_dir)
    if start is None or tick_seconds is None:
        known = _run_start(run_dir)
        if known is None:
            return []
        start, tick_seconds = start or known[0], tick_seconds or known[1]
    out = run_dir / TABLE_DIR
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tidy_tables(state, start, tick_seconds).items():
        path = out / f"{name}.parquet"
        pq.write_table(_arrow_table(name, df), path)
        written.append(path)
    return written


def read_table(path) -> pd.DataFrame:
    return pd.read_parquet(path)


def column_docs(path) -> dict[str, tuple[str, str]]:
    """{column: (unit, description)} from a tidy table's Parquet schema."""
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    return {f.name: ((f.metadata or {}).get(b"unit", b"").decode(), (f.metadata or {}).get(b"description", b"").decode())
            for f in schema}


#: RUN/consumers.parquet (scowl.analysis.fairness.COLUMNS, in order): (name, type, unit, description)
CONSUMER_TABLE = (
    ("id_hi", "uint64", "", "the consumer's 128-bit id, high 64 bits (its population's)"),
    ("id_lo", "uint64", "", "the consumer's 128-bit id, low 64 bits (its global index)"),
    ("customer_class", "category", "", "residential, commercial or fixed load (an industrial or transportation block)"),
    ("region", "category", "", "the tracker that managed the consumer at the end of the day"),
    ("zone", "category", "", "the consumer's NYISO load zone, A to K (scowl.model.zones.consumer_zones: fixed by its global index)"),
    ("starved_s", "float64", "s", "time the consumer was starved (no generator) over the day"),
    ("starved_spells", "int64", "spells", "separate spells of starvation"),
    ("choked_s", "float64", "s", "time the consumer was choked (on a generator whose tree blacked out) over the day"),
    ("deferred_kwh", "float64", "kWh", "energy the consumer deferred (demand response)"),
    ("expired_kwh", "float64", "kWh", "deferred energy never made up (its deadline passed)"),
)


def dictionary_markdown() -> str:
    """The tables' data dictionary as Markdown (the generated part of docs/outputs.md)."""
    out = ["### `consumers.parquet`", "", "one row per consumer ever starved, choked or deferring in the day (who starved), "
           "sorted by id; its sums are the summary's `starvation` figures.", "", "| column | type | unit | description |",
           "| --- | --- | --- | --- |", *(f"| `{n}` | {k} | {u} | {d} |" for n, k, u, d in CONSUMER_TABLE), ""]
    for name, cols in dictionary().items():
        out += [f"### `tables/{name}.parquet`", "", _TABLE_DOCS[name] + ".", "", "| column | type | unit | description |",
                "| --- | --- | --- | --- |"]
        for c in cols:
            kind = {"time": "timestamp (tz-aware)", "int": "int64", "float": "float64", "str": "string", "bool": "bool"}[c.kind]
            out.append(f"| `{c.name}` | {kind} | {c.unit} | {c.description} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
