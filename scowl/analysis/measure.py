"""A finished run, measured per role: rates, CPU, memory, wire, loop lag and tick latency, from
its summary, finals, state log and trace logs."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from scowl.analysis.results import load_run
from scowl.wire import MAX_FRAME_BYTES


def _links(final: dict) -> dict[str, tuple[float, float]]:
    """Outgoing links of one actor: peer -> (messages, bytes); pub/sub pseudo-links left out."""
    out = {}
    for k, v in final.items():
        if k.startswith("link_out_msgs:") and not k[len("link_out_msgs:"):].startswith("sub:"):
            peer = k[len("link_out_msgs:"):]
            out[peer] = (float(v), float(final.get(f"link_out_bytes:{peer}", 0.0)))
    return out


_OVERSIZED = re.compile(r"(\S+): rejected a frame from (\S+): oversized \((\d+) bytes > (\d+)\)")


def oversized_frames(run_dir) -> dict[str, int]:
    """Largest frame each sender had rejected as oversized, in bytes, from the run's trace logs
    (an actor logs its first rejection per sender and reason; finals count them without the reason)."""
    out: dict[str, int] = {}
    for log in sorted(Path(run_dir).glob("trace-*.log")):
        for m in _OVERSIZED.finditer(log.read_text(errors="replace")):
            out[m.group(2)] = max(out.get(m.group(2), 0), int(m.group(3)))
    return out


def measure_run(run_dir, sampled: dict | None = None) -> list[dict]:
    """One row per role of a finished run: the rates, CPU, memory, wire, loop lag and tick latency."""

    run_dir = Path(run_dir)
    state, finals, s = load_run(run_dir)
    sampled = sampled or {}
    cpu_sampled = sampled.get("cpu_pct", {})
    wall = float(s["wall_seconds"]) or float("nan")
    ticks = max(1, int(s["ticks"]))
    peers = s["peers"]
    n_tr = max(1, int(peers.get("trackers", 1)))
    reb = s["rebalance"]
    tr = state[state["role"] == "tracker"]
    per_tracker_busy = (tr.groupby("actor")["round_s"].sum() / wall) if len(tr) else pd.Series(dtype=float)
    tracker_consumers = float(tr.groupby("actor")["consumers"].mean().mean()) if len(tr) and "consumers" in tr else float(peers.get("consumers", 0)) / n_tr
    # every actor in the one `scowl run` process (inproc) or one scowl-node process per actor
    in_process = s.get("transport") == "inproc"
    run_cpu = cpu_sampled.get("run")
    base = {
        "run": run_dir.name,
        "run_dir": str(run_dir),
        "scale": float(s.get("scale", float("nan"))) if "scale" in s else float("nan"),
        "trackers": n_tr,
        "ticks": ticks,
        "consumers": int(peers.get("consumers", 0)),
        "generators": int(peers.get("generators", 0)),
        "peers": int(peers.get("consumers", 0)) + int(peers.get("generators", 0)),
        "consumers_per_tracker": tracker_consumers,
        "mode": "in-process" if in_process else "processes",
        "wall_s": wall,
        "tick_ms": 1e3 * wall / ticks,
        "rate_hz_mean": float(reb["rate_hz_mean"]),
        "rate_hz_p5": float(reb["rate_hz_p5"]),
        "round_ms_mean": float(reb["round_ms_mean"]),
        "round_ms_max": float(reb["round_ms_max"]),
        "peers_rebalanced": int(reb["peers_rebalanced"]),
        "peers_rebalanced_per_s": float(reb["peers_rebalanced_per_s"]),
        "consumers_rounded_per_s": float(tracker_consumers * reb["rate_hz_mean"]),
        "tracker_busy_pct_max": float(100 * per_tracker_busy.max()) if len(per_tracker_busy) else 0.0,
        "tracker_busy_pct_sum": float(100 * per_tracker_busy.sum()) if len(per_tracker_busy) else 0.0,
        "served_share": float(s["energy_mwh"]["served"] / s["energy_mwh"]["demanded"]) if s["energy_mwh"]["demanded"] else float("nan"),
        "cpu_window_s": float(sampled.get("window_s", 0.0)),
        "run_cpu_pct": float(run_cpu) if run_cpu is not None else float("nan"),
    }
    oversized = oversized_frames(run_dir)
    rows = []
    roles = sorted({f.get("role", "?") for f in finals.values()})
    for role in roles:
        names = [n for n, f in finals.items() if f.get("role") == role]
        fs = [finals[n] for n in names]
        links = [(n, peer, m, b) for n in names for peer, (m, b) in _links(finals[n]).items()]
        big = max(links, key=lambda x: x[3], default=(None, None, 0.0, 0.0))
        biggest_msg = max(((b / m) if m else 0.0 for _, _, m, b in links), default=0.0)
        bytes_sent = sum(float(f.get("msg_bytes_sent", 0.0)) for f in fs)
        if in_process:
            cpu_pct = float(run_cpu) if run_cpu is not None else float("nan")
        else:
            vals = [cpu_sampled[n] for n in names if n in cpu_sampled]
            cpu_pct = max(vals) if vals else float("nan")
        cpu_s = [float(f.get("cpu_user_s", 0.0)) + float(f.get("cpu_sys_s", 0.0)) for f in fs]
        rows.append({
            **base,
            "role": role,
            "actors": len(names),
            "cpu_s_max": max(cpu_s) if cpu_s else 0.0,
            "cpu_user_s_max": max((float(f.get("cpu_user_s", 0.0)) for f in fs), default=0.0),
            "cpu_sys_s_max": max((float(f.get("cpu_sys_s", 0.0)) for f in fs), default=0.0),
            "cpu_pct_of_wall": 100 * max(cpu_s) / wall if cpu_s and wall else float("nan"),  # whole process life / wall of the ticks
            "cpu_pct_ticks": cpu_pct,  # sampled over the ticks only
            "rss_peak_mb_max": max((float(f.get("rss_peak_mb", 0.0)) for f in fs), default=0.0),
            "rss_peak_mb_sum": sum(float(f.get("rss_peak_mb", 0.0)) for f in fs),
            "msgs_sent": sum(float(f.get("msg_sent", 0.0)) for f in fs),
            "msgs_received": sum(float(f.get("msg_received", 0.0)) for f in fs),
            "bytes_sent": bytes_sent,
            "bytes_received": sum(float(f.get("msg_bytes_received", 0.0)) for f in fs),
            "mb_sent_per_s": bytes_sent / wall / 1e6 if wall else float("nan"),
            "busiest_link": f"{big[0]}->{big[1]}" if big[0] else "",
            "busiest_link_mb": big[3] / 1e6,
            "busiest_link_mb_per_tick": big[3] / 1e6 / ticks,
            "mean_msg_mb_max": biggest_msg / 1e6,
            "frame_share": biggest_msg / MAX_FRAME_BYTES,
            "msgs_rejected": sum(float(f.get("msg_rejected", 0.0)) for f in fs),  # any reason, by its receivers
            "oversized_frame_mb": max((oversized.get(n, 0) for n in names), default=0) / 1e6,  # sent by this role
            "loop_lag_ms_mean": max((float(f.get("loop_lag_ms_mean", 0.0)) for f in fs), default=0.0),
            "loop_lag_ms_max": max((float(f.get("loop_lag_ms_max", 0.0)) for f in fs), default=0.0),
        })
    return rows
