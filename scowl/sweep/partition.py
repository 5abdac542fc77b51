"""The seed's stretch question: how small may the pieces of a partitioned grid be and still
get through the day without a blackout? One day per partition size, the rest identical.

What a partition of k peers means here (DEFINITION, also written into partition_sweep.json):
A partition of k peers is an island of k grid peers cut off from the rest. The run is planned
with one generator per fleet actor (so every generator is a peer) and P consumer-population
actors (default: one per generator). The N = generators + P peers, ordered fleet-0,
population-0, fleet-1, population-1, ..., are cut into ceil(N/k) consecutive islands of k peers
(the last may be smaller); during the scenario's partition window each island is cut off from
the trackers and from every other island, so messages cross only inside an island. Generators
and consumers then self-optimize: a generator hears the draw of, and its capacity_low reaches,
only the consumers of its island's populations (a population it cannot hear is taken to keep
drawing what it drew last). The EV storage actor is not an island's peer: it stays with the
trackers, so no island can draw on the EVs while it is cut off. k = N is the config's own experiment (one island, every peer cut
from the trackers); k = 1 leaves every peer alone. A size runs the day without a blackout when
no generator blacks out at any tick of the day, the re-convergence after healing included;
smallest_without_blackout is the smallest swept k with no blackout event (null if none).
"""

from __future__ import annotations

import csv
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from scowl.config import Scenario, load_scenario, scenario_from_dict, scenario_toml
from scowl.errors import ScowlError
from scowl.model import build_generators
from scowl.run import run_scenario
from scowl.streams import StreamRepo

__all__ = ["DEFINITION", "SweepPoint", "grid_peers", "island_scenario", "islands", "run_sweep",
           "smallest_without_blackout", "sweep_result", "write_sweep"]

DEFINITION = " ".join(__doc__.split("DEFINITION, also written into partition_sweep.json):", 1)[1].split())


@dataclass(frozen=True)
class SweepPoint:
    """One partition size's day (the fields of a point in partition_sweep.json)."""

    peers_per_partition: int
    partitions: int
    blackout_events: int
    blackout_generator_ticks: int
    capacity_low: int
    deferred_mwh: float
    unserved_mwh: float
    run_dir: str


def grid_peers(generators: int, populations: int) -> list[str]:
    """The grid's peers in island order: fleets and populations interleaved, so an island of
    two or more holds generators together with consumers."""
    out = []
    for i in range(max(generators, populations)):
        if i < generators:
            out.append(f"fleet-{i}")
        if i < populations:
            out.append(f"population-{i}")
    return out


def islands(peers: list[str], k: int) -> list[list[str]]:
    if not 1 <= k <= len(peers):
        raise ScowlError(f"partition size {k}: expected between 1 and the grid's {len(peers)} peers")
    return [peers[i:i + k] for i in range(0, len(peers), k)]


def partition_window(scenario: Scenario) -> tuple[int, int]:
    """(first tick, tick after the last) of the config's partitions."""
    parts = scenario.network.partitions
    if not parts:
        raise ScowlError(f"{scenario.source}: expected a [[network.partitions]] table giving the partition window "
                         "(start_tick, end_tick), found none (or pass --window START END)")
    return min(p.start_tick for p in parts), max(p.end_tick for p in parts)


def island_scenario(base: Scenario, groups: list[list[str]], window: tuple[int, int]) -> Scenario:
    """The base scenario with its partitions replaced by one cut per island, over the window."""
    d = base.to_dict()
    d.setdefault("network", {})["partitions"] = [
        {"start_tick": window[0], "end_tick": window[1], "isolate": [f"peer:{p}" for p in g], "from": ["*"]} for g in groups]
    return scenario_from_dict(d, source=base.source)


def smallest_without_blackout(points: list[SweepPoint]) -> int | None:
    """The smallest partition size whose day had no blackout event (None: every size had one)."""
    clean = [p.peers_per_partition for p in points if p.blackout_events == 0]
    return min(clean) if clean else None


def _point(k: int, n_islands: int, summary: dict, run_dir: Path) -> SweepPoint:
    part = summary.get("partition", {})
    return SweepPoint(
        peers_per_partition=k, partitions=n_islands,
        blackout_events=int(summary["blackouts"]["events"]),
        blackout_generator_ticks=int(summary["blackouts"]["generator_ticks"]),
        capacity_low=int(part.get("capacity_low_sent", 0)),
        deferred_mwh=float(part.get("deferred_mwh", 0.0)),
        unserved_mwh=float(summary["energy_mwh"]["unserved"]),
        run_dir=str(run_dir),
    )


def _run_quietly(config: Path, run_dir: Path, populations: int, fleets: int) -> dict:
    """One day; the trace-log handler the run adds is closed after it, so the next run's
    lines do not land in this run's trace log."""
    root = logging.getLogger("scowl")
    before = list(root.handlers)
    try:
        return run_scenario(str(config), str(run_dir), populations=populations, fleets=fleets, show_progress=False)
    finally:
        for h in [h for h in root.handlers if h not in before]:
            root.removeHandler(h)
            h.close()


def run_sweep(config: str, sizes: list[int] | None, out_dir, *, populations: int | None = None,
              window: tuple[int, int] | None = None, echo=print) -> tuple[list[SweepPoint], dict]:
    """Run the day once per partition size; (points, facts: generators, populations, peers, window)."""
    base = load_scenario(config)
    n_gen = len(build_generators(base, StreamRepo(base.seed)).nameplate_mw)
    n_pop = populations or n_gen
    peers = grid_peers(n_gen, n_pop)
    window = (int(window[0]), int(window[1])) if window else partition_window(base)
    if not 0 <= window[0] < window[1] <= base.ticks:
        raise ScowlError(f"partition window {window[0]}..{window[1]}: expected 0 <= START < END <= the run's {base.ticks} ticks")
    sizes = sorted(set(sizes or default_sizes(len(peers))))
    for k in sizes:
        islands(peers, k)  # every size checked before the first day starts
    out = Path(out_dir)
    (out / "configs").mkdir(parents=True, exist_ok=True)
    echo(f"{base.source}: {n_gen} generators (one fleet actor each) and {n_pop} consumer populations = {len(peers)} peers; "
         f"partitioned during ticks {window[0]}..{window[1] - 1}; {len(sizes)} days to run")
    points = []
    for i, k in enumerate(sizes, 1):
        groups = islands(peers, k)
        cfg = out / "configs" / f"k{k:03d}.toml"
        cfg.write_text(scenario_toml(island_scenario(base, groups, window)))
        run_dir = out / "runs" / f"k{k:03d}"
        t0 = time.perf_counter()
        summary = _run_quietly(cfg, run_dir, n_pop, n_gen)
        p = _point(k, len(groups), summary, run_dir)
        points.append(p)
        echo(f"[{i}/{len(sizes)}] {k} peers per partition ({len(groups)} partition{'s' if len(groups) > 1 else ''}): blackouts {p.blackout_events} events, "
             f"{p.blackout_generator_ticks} generator-ticks; capacity_low {p.capacity_low}; deferred {p.deferred_mwh:.3f} MWh; "
             f"unserved {p.unserved_mwh:.3f} MWh  ({time.perf_counter() - t0:.1f} s)")
    facts = {"generators": n_gen, "populations": n_pop, "peers": len(peers), "window": list(window)}
    return points, facts


def default_sizes(n_peers: int) -> list[int]:
    """Every size that cuts the peers into equal islands (the divisors of N)."""
    return [k for k in range(1, n_peers + 1) if n_peers % k == 0]


def sweep_result(config: str, seed: int, command: str, points: list[SweepPoint]) -> dict:
    """partition_sweep.json: the shape the evaluation report reads."""
    return {
        "kind": "partition_sweep",
        "config": str(config),
        "seed": int(seed),
        "command": command,
        "points": [asdict(p) for p in points],
        "smallest_without_blackout": smallest_without_blackout(points),
        "definition": DEFINITION,
    }


def write_sweep(out_dir, result: dict) -> list[Path]:
    """DIR/partition_sweep.json, .csv (one row per size) and .png."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "partition_sweep.json", out / "partition_sweep.csv", out / "partition_sweep.png"]
    paths[0].write_text(json.dumps(result, indent=1) + "\n")
    fields = list(SweepPoint.__dataclass_fields__)
    with open(paths[1], "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(result["points"])
    plot_sweep(result, paths[2])
    return paths


def sweep_table(result: dict) -> str:
    cols = (("peers_per_partition", "peers/partition", "{:d}"), ("partitions", "partitions", "{:d}"),
            ("blackout_events", "blackout events", "{:d}"), ("blackout_generator_ticks", "blackout gen-ticks", "{:d}"),
            ("capacity_low", "capacity_low", "{:d}"), ("deferred_mwh", "deferred MWh", "{:.3f}"),
            ("unserved_mwh", "unserved MWh", "{:.3f}"))
    head = "  ".join(title for _, title, _ in cols)
    lines = [head, "-" * len(head)]
    for p in result["points"]:
        lines.append("  ".join(f"{fmt.format(p[key]):>{len(title)}}" for key, title, fmt in cols))
    s = result["smallest_without_blackout"]
    lines.append("")
    lines.append(f"smallest partition without a blackout: {s} peers" if s is not None
                 else "smallest partition without a blackout: none (every size swept had a blackout)")
    return "\n".join(lines)


def plot_sweep(result: dict, path: Path) -> None:
    import matplotlib.ticker
    import numpy as np
    from matplotlib.figure import Figure

    pts = result["points"]
    x = np.arange(len(pts))
    labels = [f"{p['peers_per_partition']}\n({p['partitions']} part.)" for p in pts]
    fig = Figure(figsize=(12, 7.5), dpi=100)
    top, bottom = fig.subplots(2, 1, sharex=True)
    w = 0.38
    for shift, key, colour, text in ((-w / 2, "blackout_events", "tab:red", "blackout events"),
                                     (w / 2, "blackout_generator_ticks", "tab:purple", "blacked-out generator-ticks")):
        bars = top.bar(x + shift, [p[key] for p in pts], w, color=colour, alpha=0.85, label=text)
        top.bar_label(bars, fontsize=8)  # a size without a blackout shows its 0
    top.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    top.margins(y=0.15)
    top.set_ylabel("count over the day")
    s = result["smallest_without_blackout"]
    note = f"smallest partition without a blackout: {s} peers" if s is not None else "every size swept had a blackout"
    top.set_title(f"{Path(result['config']).stem} (seed {result['seed']}): blackouts by partition size; {note}", fontsize=10)
    if s is not None:
        top.axvline(x[[p["peers_per_partition"] for p in pts].index(s)], color="tab:green", ls="--", label="smallest without a blackout")
    top.grid(axis="y", alpha=0.3)
    top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.08, 1.0), borderaxespad=0)
    bottom.plot(x, [p["deferred_mwh"] for p in pts], "o-", color="tab:orange", label="deferred (MWh)")
    bottom.plot(x, [p["unserved_mwh"] for p in pts], "s-", color="tab:gray", label="unserved (MWh)")
    bottom.set_ylabel("MWh over the day")
    bottom.set_ylim(bottom=0)
    twin = bottom.twinx()
    twin.plot(x, [p["capacity_low"] for p in pts], "^:", color="tab:blue", label="capacity_low sent")
    twin.set_ylabel("capacity_low warnings sent")
    twin.set_ylim(bottom=0)
    handles = bottom.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    bottom.legend(handles, [h.get_label() for h in handles], fontsize=8, loc="upper left", bbox_to_anchor=(1.08, 1.0), borderaxespad=0)
    bottom.grid(alpha=0.3)
    bottom.set_xticks(x, labels)
    bottom.set_xlabel("peers per partition (generator fleets and consumer populations per island), and how many islands")
    fig.tight_layout()
    fig.savefig(path)
