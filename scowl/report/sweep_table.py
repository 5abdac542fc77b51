"""The sweep table as text and HTML (one line per run: the figures that name the bound)."""

from __future__ import annotations

import html

import pandas as pd

COLUMNS = [
    ("run", "run", "{}"),
    ("peers", "peers", "{:,}"),
    ("trackers", "trackers", "{}"),
    ("consumers_per_tracker", "consumers/tracker", "{:,.0f}"),
    ("tick_ms", "ms/tick", "{:,.1f}"),
    ("rate_hz_mean", "Hz mean", "{:,.1f}"),
    ("rate_hz_p5", "Hz p5", "{:,.1f}"),
    ("consumers_rounded_per_s", "consumers/s/tracker", "{:,.0f}"),
    ("peers_rebalanced_per_s", "moved/s", "{:,.0f}"),
    ("tracker_busy_pct_max", "tracker busy %", "{:.0f}"),
    ("cpu", "CPU % of a core (ticks)", "{}"),
    ("rss", "peak RSS MB", "{}"),
    ("wire", "busiest link MB/tick", "{}"),
    ("rejected", "rejected msgs", "{:,.0f}"),
    ("lag", "loop lag max ms", "{:,.0f}"),
]


def sweep_rows(table: pd.DataFrame) -> pd.DataFrame:
    """One row per run, roles folded into text cells."""
    out = []
    for run, part in table.groupby("run", sort=False):
        r0 = part.iloc[0]
        if r0["mode"] == "processes":
            cpu = " ".join(f"{r.role[:3]} {r.cpu_pct_ticks:.0f}" for r in part.itertuples())
        else:
            cpu = f"1 proc {r0['run_cpu_pct']:.0f}"
        big = part.loc[part["busiest_link_mb_per_tick"].idxmax()]
        out.append({**{c: r0[c] for c, _, _ in COLUMNS if c in part},
                    "cpu": cpu,
                    "rss": " ".join(f"{r.role[:3]} {r.rss_peak_mb_max:,.0f}" for r in part.itertuples()),
                    "wire": f"{big['busiest_link']} {big['busiest_link_mb_per_tick']:.2f}",
                    "rejected": part["msgs_rejected"].sum(),
                    "lag": part["loop_lag_ms_max"].max(),
                    "run": run + (" (confirm)" if bool(r0.get("confirm", False)) else "")})
    return pd.DataFrame(out).sort_values(["trackers", "peers"], kind="stable") if out else pd.DataFrame()


def _cells(row) -> list[str]:
    cells = []
    for c, _, fmt in COLUMNS:
        v = row[c]
        try:
            cells.append(fmt.format(int(v) if fmt == "{:,}" else v))
        except (ValueError, TypeError):
            cells.append(str(v))
    return cells


def sweep_table_text(table: pd.DataFrame) -> str:
    rows = sweep_rows(table)
    head = [h for _, h, _ in COLUMNS]
    body = [_cells(r) for _, r in rows.iterrows()]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([line(head)] + [line(b) for b in body])


def sweep_table_html(table: pd.DataFrame) -> str:
    rows = sweep_rows(table)
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(r)) + "</tr>" for _, r in rows.iterrows())
    return f'<table class="num"><tr>{head}</tr>{body}</table>'
