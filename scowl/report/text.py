"""Summaries as text tables a person can read at a glance."""

from __future__ import annotations

import textwrap


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 100 else f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def summary_table(s: dict) -> str:
    r, e, st, b = s["rebalance"], s["energy_mwh"], s["starvation"], s["blackouts"]
    peers = ", ".join(f"{k} {v:,}" for k, v in s["peers"].items())
    lines = [
        f"Scowl run: {s['scenario']} (seed {s['seed']}, {s['pacing']}, {s['transport']}), {s['ticks']} ticks of {s['tick_seconds']} s in {s['wall_seconds']:.1f} s wall",
        *textwrap.wrap(f"peers: {peers}", width=100, subsequent_indent="  "),
        "",
        "rebalancing",
        f"  rounds                     {_fmt(r['rounds'])}",
        f"  rate (Hz) mean / p5        {r['rate_hz_mean']:,.1f} / {r['rate_hz_p5']:,.1f}   (round {r['round_ms_mean']:.2f} ms mean, {r['round_ms_max']:.2f} ms max)",
        f"  peers rebalanced           {_fmt(r['peers_rebalanced'])}  ({r['peers_rebalanced_per_s']:,.0f} per second of round time)",
        *([f"  rounds per wall second     {r['rounds_per_wall_s']:,.2f} per tracker; report -> assignment p50 / p99 "
           f"{r['report_to_assign_ms_p50']:,.1f} / {r['report_to_assign_ms_p99']:,.1f} ms"] if "report_to_assign_ms_p99" in r else []),
        *([f"  continuous rounds          {_fmt(r['continuous_rounds'])} between the tick rounds (real time)"] if "continuous_rounds" in r else []),
        "energy (MWh)",
        f"  demanded / served          {e['demanded']:,.1f} / {e['served']:,.1f}",
        f"  generated / unserved       {e['generated']:,.1f} / {e['unserved']:,.1f}",
        "starvation",
        f"  consumers ever starved     {_fmt(st['consumers_starved'])}  ({_fmt(st['consumer_ticks_starved'])} consumer-ticks)",
        f"  starved time per starved consumer: mean {st['mean_starved_s']:,.0f} s, max {st['max_starved_s']:,.0f} s; longest spell {st['longest_spell_s']:,.0f} s",
        f"  peak starved demand        {st['peak_starved_mw']:,.2f} MW",
        "blackouts",
        f"  events / generator-ticks   {_fmt(b['events'])} / {_fmt(b['generator_ticks'])}",
        f"  consumer-ticks in blacked-out trees {_fmt(b['consumers_affected'])}",
        f"  ticks with demand above available supply {_fmt(b['demand_above_supply_ticks'])}",
        *textwrap.wrap("peak memory (MB): " + ", ".join(f"{k} {v:,.0f}" for k, v in s["peak_memory_mb"].items()),
                       width=100, subsequent_indent="  "),
    ]
    sec = s.get("security")
    if sec:
        mode = {"curve": "CURVE keys on every link, senders authenticated",
                "off": "OFF (--insecure: no keys, any local process can act as any peer)",
                "inproc": "one process (inproc: no wire, no keys needed)"}.get(sec["mode"], sec["mode"])
        lines.append(f"security: {mode}" + (f"; GUARDS OFF: {', '.join(sec['guards_off'])}" if sec.get("guards_off") else ""))
        if sec["rejected"]:
            lines.append(f"  rejected frames {_fmt(sec['rejected'])}: "
                         + ", ".join(f"{k} {v:,}" for k, v in sec["rejected_by_reason"].items())
                         + "; from " + ", ".join(f"{k} {v:,}" for k, v in sec["rejected_by_sender"].items()))
    sto = s.get("storage")
    if sto:
        lines += [
            f"EV storage ({_fmt(sto['evs'])} EVs in {sto['hubs']} hubs, {sto['capacity_mwh']:,.1f} MWh)",
            f"  charged on surplus / delivered on deficit   {sto['charged_mwh']:,.2f} / {sto['delivered_mwh']:,.2f} MWh "
            f"(peak {sto['peak_charge_mw']:,.1f} / {sto['peak_discharge_mw']:,.1f} MW); driven {sto['driven_mwh']:,.2f} MWh",
            f"  state of charge            {sto['state_of_charge_start_mwh']:,.1f} -> {sto['state_of_charge_end_mwh']:,.1f} MWh (books off by {sto['books_balance_mwh']:.1e} MWh)",
        ]
    p = s.get("partition")
    if p:
        lines += [
            "partition (self-optimizing generators and consumers)",
            f"  capacity_low sent          {_fmt(p['capacity_low_sent'])}  (most by one generator: {_fmt(p['capacity_low_per_generator_max'])})",
            f"  demand-response events     {_fmt(p['demand_response_events'])}",
            f"  deferred / recovered / expired  {p['deferred_mwh']:,.3f} / {p['recovered_mwh']:,.3f} / {p['expired_mwh']:,.3f} MWh; shed {p['shed_mwh']:,.3f} MWh",
            f"  deferral per consumer      mean {p['deferral_s_mean']:,.0f} s, p95 {p['deferral_s_p95']:,.0f} s, max {p['deferral_s_max']:,.0f} s ({_fmt(p['consumers_deferring'])} deferral spells)",
        ]
        if "blackouts_by_region_during" in p:
            lines.append(f"  blackouts during the partition, generator-ticks by region: {p['blackouts_by_region_during']}")
            rc = p["reconverge_ticks"]
            lines.append(f"  re-converged after healing in {rc} ticks ({p['reconverge_s']:,.0f} s simulated)" if rc is not None
                         else "  did not re-converge before the end of the run")
    return "\n".join(lines)
