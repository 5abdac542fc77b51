"""Values checked where they enter: every number of every message must be finite, and numbers
with a physical meaning must lie in their range. A message that fails is rejected (reason
`invalid_value`) and counted; nothing of it is stored. The check is generic over each message
type's fields (floats, lists and dicts of floats, float columns of batches), plus one table of
ranges; `check(msg)` returns None or what is wrong.

Generic bound: |x| <= MAX_ABS for every float (figures such as bytes sent stay far below it);
power is within MW (no grid has 10^7 MW: a bigger number is a forgery or a bug). Integers are
checked only where a range is listed. Ranges are per (message type, field): (low, high), inclusive."""

from __future__ import annotations

import math
from functools import cache

import msgspec
import numpy as np

from scowl.balance.handed import ANSWER_WINDOW, HUB_ANSWER_WINDOW
from scowl.balance.hubhop import FITS

MAX_ABS = 1e15
MW = (0.0, 1e7)
TICK = (0, 2**31)

#: (message type, field) -> (low, high). Fields not listed are only required to be finite.
RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("tick", "tick"): TICK, ("tick", "seconds"): (0.0, 1e10), ("gone", "tick"): TICK,
    ("tick-done", "tick"): TICK,
    ("gen-status", "tick"): TICK, ("gen-status", "output_mw"): MW, ("gen-status", "load_mw"): MW,
    ("gen-status", "charge_mw"): MW,
    ("demand-report", "tick"): TICK, ("demand-report", "demand_mw"): MW,
    ("consumers-register", "demand_mw"): MW,
    ("resync", "demand_mw"): MW,
    ("handover", "tick"): TICK, ("handover", "demand_mw"): MW, ("handover", "later"): (0, 2**40), ("handover", "hub"): (0, 2**40),
    ("handover", "again"): (0, 2),
    ("hub-taken", "tick"): TICK, ("hub-taken", "n"): (0, 2**40), ("hub-taken", "room_mw"): MW, ("hub-taken", "fits_mw"): MW,
    ("generators-register", "nameplate_mw"): MW, ("generators-register", "min_mw"): MW,
    ("generators-register", "ramp_mw"): MW,
    ("draw", "tick"): TICK, ("draw", "draw_mw"): MW,
    ("setpoints", "tick"): TICK, ("assign", "tick"): TICK, ("assign", "seq"): (0, 2**40), ("assign", "handed"): (0, 2**40), ("tree-delta", "tick"): TICK,
    ("verdict", "tick"): TICK,
    ("region-summary", "tick"): TICK, ("region-summary", "capacity_mw"): MW,
    ("region-summary", "load_mw"): MW, ("region-summary", "starved_mw"): MW, ("region-summary", "starved"): (0, 2**40),
    ("region-summary", "took"): TICK, ("region-summary", "hub_heard"): TICK, ("region-summary", "room_mw"): MW, ("region-summary", "firm_mw"): MW,
    ("region-summary", "short_mw"): MW, ("region-summary", "storage_room_mw"): MW,
    ("locate", "nameplate_mw"): MW,
    ("consumer-join", "first"): (0, 2**63), ("consumer-join", "count"): (0, 2**40),
    ("place-consumers", "count"): (0, 2**40),
}

#: Checks across fields of one message: (type, description, predicate on the message).
RELATIONS: dict[str, list[tuple[str, object]]] = {
    "generators-register": [("min_mw <= nameplate_mw", lambda m: bool(np.all(m.column("min_mw") <= m.column("nameplate_mw"))))],
    "handover": [("hub + later <= n", lambda m: m.hub + m.later <= m.n),
                 ("a second offer (again 2) is all hub part", lambda m: m.again != 2 or (m.hub == m.n and m.later == 0))],
    "hub-taken": [("taken holds n bits", lambda m: len(m.taken) == (m.n + 7) // 8), (f"at most {FITS} fits_mw", lambda m: len(m.fits_mw) <= FITS)],
    "assign": [("handed <= n", lambda m: m.handed <= m.n)],
    # took: ticks of the recipient's Handovers taken within the last ANSWER_WINDOW ticks (scowl.balance.handed)
    "region-summary": [(f"took within [tick - {ANSWER_WINDOW}, tick], no repeats", lambda m: len(set(m.took)) == len(m.took) <= ANSWER_WINDOW + 1
                        and all(m.tick - ANSWER_WINDOW <= t <= m.tick for t in m.took)),
                       ("firm_mw <= room_mw", lambda m: m.firm_mw <= m.room_mw),
                       # hub_took: (tick, n, bitmap of n bits) answers to the recipient's hub parts, recent, one a tick
                       (f"hub_took: ticks within [tick - {HUB_ANSWER_WINDOW}, tick], no repeats, n >= 0, bitmaps of n bits",
                        lambda m: len({t for t, _, _ in m.hub_took}) == len(m.hub_took) <= HUB_ANSWER_WINDOW + 1
                        and all(m.tick - HUB_ANSWER_WINDOW <= t <= m.tick and 0 <= n < 2**40 and len(b) == (n + 7) // 8 for t, n, b in m.hub_took)),
                       (f"hub_heard within [tick - {HUB_ANSWER_WINDOW}, tick], no repeats", lambda m: len(set(m.hub_heard)) == len(m.hub_heard) <= HUB_ANSWER_WINDOW + 1
                        and all(m.tick - HUB_ANSWER_WINDOW <= t <= m.tick for t in m.hub_heard))],
}


@cache
def _plan(cls: type) -> tuple[tuple[str, str, float, float, bool], ...]:
    """(field, kind, low, high, ranged) of each field worth checking, once per message type:
    kind 'f' float, 'i' int, 'lf' list of floats, 'li' list of ints, 'df' dict of floats,
    'col' a numeric column of a batch; ranged: the field has a row in RANGES (integers are
    checked only then)."""
    columns = dict(getattr(cls, "COLUMNS", ()))
    type_name = getattr(cls, "TYPE", "")
    out = []
    for f in msgspec.structs.fields(cls):
        t = f.type
        if f.name in columns:
            dtype = columns[f.name]
            kind = "col" if dtype != "id128" and np.dtype(dtype).kind in "fiu" else ""
        elif t is float:
            kind = "f"
        elif t is int:
            kind = "i"
        elif t == list[float]:
            kind = "lf"
        elif t == list[int]:
            kind = "li"
        elif t == dict[str, float]:
            kind = "df"
        else:
            kind = ""
        ranged = (type_name, f.name) in RANGES
        if not kind or (kind[-1] == "i" and not ranged):
            continue  # ids, tokens, counts: integers are checked only where a range is listed
        lo, hi = RANGES.get((type_name, f.name), (-MAX_ABS, MAX_ABS))
        out.append((f.name, kind, lo, hi, ranged))
    return tuple(out)


def _bad_scalar(x: float, lo: float, hi: float) -> bool:
    return not (math.isfinite(x) and lo <= x <= hi)


def check(msg) -> str | None:
    """None when every number of `msg` is finite and in range, else what is wrong (for the log)."""
    type_name = msg.TYPE
    cls: type = type(msg)
    for name, kind, lo, hi, ranged in _plan(cls):
        if kind in ("f", "i"):
            x = getattr(msg, name)
            if _bad_scalar(x, lo, hi):
                return f"{type_name}.{name} = {x!r} not a finite number in [{lo:g}, {hi:g}]"
        elif kind in ("lf", "li"):
            values = getattr(msg, name)
            if values:
                a = np.asarray(values, dtype=np.float64)
                if not (np.all(np.isfinite(a)) and a.min() >= lo and a.max() <= hi):
                    return f"{type_name}.{name}: a value that is not a finite number in [{lo:g}, {hi:g}]"
        elif kind == "df":
            figures = getattr(msg, name)
            values = figures.values()
            # the common case in one pass of C loops (a tick's report has dozens of figures);
            # NaN fails min/max comparisons only sometimes, so finiteness is checked first
            if values and not (all(map(math.isfinite, values)) and lo <= min(values) and max(values) <= hi):
                for key, x in figures.items():
                    if _bad_scalar(x, lo, hi):
                        return f"{type_name}.{name}[{key[:40]!r}] = {x!r} not a finite number in [{lo:g}, {hi:g}]"
        else:  # a batch column
            a = msg.column(name)
            if a.size and a.dtype.kind == "f":
                if not np.all(np.isfinite(a)):
                    return f"{type_name}.{name}: {int(np.count_nonzero(~np.isfinite(a)))} values not finite (NaN or infinite)"
                if a.min() < lo or a.max() > hi:
                    return f"{type_name}.{name}: values outside [{lo:g}, {hi:g}] (min {a.min():g}, max {a.max():g})"
            elif a.size and ranged and (a.min() < lo or a.max() > hi):
                return f"{type_name}.{name}: values outside [{lo:g}, {hi:g}]"
    for what, ok in RELATIONS.get(type_name, ()):
        if not ok(msg):  # type: ignore[operator]
            return f"{type_name}: {what} does not hold"
    return None
