"""Two runs' summaries side by side: every figure of summary.json, flattened to a dotted key,
with the difference B - A, so a partitioned day reads against its healthy twin line by line.
Pure functions over the summaries; `scowl compare` prints and plots them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeGuard

__all__ = ["Row", "compare_json", "compare_rows", "compare_table", "flatten"]

#: Run-environment figures: they differ from run to run of the same day, so they are listed
#: after the day's figures rather than mixed in with them.
_ENVIRONMENT = ("wall_seconds", "peak_memory_mb", "tick_wall_ms", "rebalance.rate_hz", "rebalance.round_ms",
                "rebalance.peers_rebalanced_per_s", "late_tick_reports")


@dataclass(frozen=True)
class Row:
    key: str  # dotted path in summary.json
    a: object  # None: absent from that run
    b: object

    @property
    def diff(self) -> float | None:
        """B - A for numbers present in both runs (None otherwise)."""
        if _number(self.a) and _number(self.b):
            return self.b - self.a
        return None


def _number(v: object) -> TypeGuard[float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def flatten(summary: dict, prefix: str = "") -> dict[str, object]:
    """{dotted key: scalar}; lists of scalars are kept as one value, lists of tables (the
    partition schedule) as one entry per table."""
    out: dict[str, object] = {}
    for k, v in summary.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, list) and any(isinstance(x, dict) for x in v):
            for i, item in enumerate(v):
                out.update(flatten(item, f"{key}[{i}].") if isinstance(item, dict) else {f"{key}[{i}]": item})
        else:
            out[key] = v
    return out


def compare_rows(a: dict, b: dict) -> list[Row]:
    """Every key of either summary, in A's order then B's extras; environment figures last."""
    fa, fb = flatten(a), flatten(b)
    keys = list(fa) + [k for k in fb if k not in fa]
    day = [k for k in keys if not k.startswith(_ENVIRONMENT)]
    env = [k for k in keys if k.startswith(_ENVIRONMENT)]
    return [Row(k, fa.get(k), fb.get(k)) for k in day + env]


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if v == 0:
            return "0"
        return f"{v:,.4g}" if abs(v) < 1 else f"{v:,.2f}" if abs(v) < 1e4 else f"{v:,.0f}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def _fmt_diff(row: Row) -> str:
    d = row.diff
    if d is None:
        if row.a is None or row.b is None:
            return f"only in {'B' if row.a is None else 'A'}"
        return "=" if row.a == row.b else "differs"
    if d == 0:
        return "="
    text = ("+" if d > 0 else "") + _fmt(d)
    if _number(row.a) and _number(row.b) and row.a != 0:
        ratio = row.b / row.a if row.a > 0 else None
        text += f" ({ratio:,.0f}x)" if ratio is not None and ratio >= 10 else f" ({d / abs(row.a):+.0%})"
    return text


def _clip(text: str, width: int) -> str:
    """At most `width` characters: a longer text keeps its start and end around an ellipsis."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head):]


def compare_table(a: dict, b: dict, label_a: str = "A", label_b: str = "B", width: int = 100) -> str:
    """A text table at most `width` characters wide: figure, A, B, B - A (and the change
    relative to A). A long key or value is shortened in the middle; `compare_json` has them whole."""
    rows = compare_rows(a, b)
    cells: list[tuple[str, ...]] = [(r.key, _fmt(r.a), _fmt(r.b), _fmt_diff(r)) for r in rows]
    head: tuple[str, ...] = ("figure", label_a, label_b, f"{label_b} - {label_a}")
    w = [max(len(head[i]), *(len(c[i]) for c in cells)) for i in range(4)]
    # the runs' labels whole, the values up to 14 characters, the key column as wide as its
    # longest key allows (a figure's name is what a reader looks up), the difference in what is left
    w[1], w[2] = max(len(head[1]), min(w[1], 14)), max(len(head[2]), min(w[2], 14))
    w[0] = min(w[0], max(12, width - 6 - w[1] - w[2] - 12))
    w[3] = max(1, width - 6 - w[0] - w[1] - w[2])
    cells = [tuple(_clip(c[i], w[i]) for i in range(4)) for c in cells]
    head = tuple(_clip(head[i], w[i]) for i in range(4))
    line = f"{head[0]:<{w[0]}}  {head[1]:>{w[1]}}  {head[2]:>{w[2]}}  {head[3]:<{w[3]}}".rstrip()
    out = [line, "-" * min(width, sum(w) + 6)]
    section = None
    for r, c in zip(rows, cells):
        top = r.key.split(".", 1)[0] if "." in r.key else "run"
        if section is not None and top != section:
            out.append("")
        section = top
        out.append(f"{c[0]:<{w[0]}}  {c[1]:>{w[1]}}  {c[2]:>{w[2]}}  {c[3]}".rstrip())
    return "\n".join(out)


def compare_json(a: dict, b: dict, label_a: str = "A", label_b: str = "B") -> dict:
    """The comparison as data: every figure's dotted key, both values and B - A (None when
    either is not a number)."""
    return {"a": label_a, "b": label_b,
            "rows": [{"key": r.key, "a": r.a, "b": r.b, "diff": r.diff} for r in compare_rows(a, b)]}
