"""`scowl compare DIR_A DIR_B [--out DIR]`: two runs' days side by side.

Prints every figure of both summaries with the difference B - A, and writes PNGs of demand,
supply (available and generated), served, deferred and starved over the day for both runs,
computed from each run's state.parquet (scowl.analysis.dayseries)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="print two runs' summaries side by side and plot their days",
                       description="Print every summary figure of two runs (directories written by `scowl run --out`) "
                       "with the difference B - A, and write PNGs of demand, supply, served, deferred and starved MW "
                       "over the day for both runs: DIR/day.png (all panels) and DIR/<panel>.png, plus DIR/compare.txt.")
    p.add_argument("run_a", metavar="DIR_A", help="first run directory (e.g. the healthy day)")
    p.add_argument("run_b", metavar="DIR_B", help="second run directory (e.g. the partitioned day)")
    p.add_argument("--out", help="where the plots and compare.txt go (default: runs/compare-<A>-vs-<B>)")
    p.add_argument("--json", action="store_true",
                   help='print one JSON object instead of the table: {"a", "b", "rows": [{"key", "a", "b", "diff"}], "plots", "table"}')
    p.set_defaults(func=run)


def labels(dir_a: Path, summary_a: dict, dir_b: Path, summary_b: dict) -> tuple[str, str]:
    """The scenario names, or the directory names when both runs are of one scenario."""
    a, b = summary_a.get("scenario", "A"), summary_b.get("scenario", "B")
    if a != b:
        return a, b
    if dir_a.name != dir_b.name:
        return dir_a.name, dir_b.name
    return "A", "B"


def run(args: argparse.Namespace) -> int:
    import json

    from scowl.analysis.compare import compare_json, compare_table
    from scowl.analysis.dayseries import day_series, read_state
    from scowl.report.plots_day import DayRun, plot_days

    dirs = [Path(args.run_a), Path(args.run_b)]
    from scowl.stats import load_seed_summaries

    if any(load_seed_summaries(d) for d in dirs):
        return compare_seeds(args, dirs)
    loaded = [read_state(d) for d in dirs]
    summaries = [s for _, s in loaded]
    label_a, label_b = labels(dirs[0], summaries[0], dirs[1], summaries[1])
    table = compare_table(summaries[0], summaries[1], label_a, label_b)
    out = Path(args.out or f"runs/compare-{label_a}-vs-{label_b}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.txt").write_text(table + "\n")
    runs = []
    for d, summary, label in zip(dirs, summaries, (label_a, label_b)):
        windows = tuple((p["start_tick"], p["end_tick"]) for p in summary.get("partition", {}).get("schedule", []))
        runs.append(DayRun(label, day_series(d), windows, int(summary.get("peers", {}).get("consumers", 0)), run_scale(d)))
    pngs = plot_days(runs, out, title=f"{label_a} vs {label_b} (seed {summaries[0].get('seed')} / {summaries[1].get('seed')})")
    if args.json:
        print(json.dumps({**compare_json(summaries[0], summaries[1], label_a, label_b),
                          "plots": [str(p) for p in pngs], "table": str(out / "compare.txt")}))
        return 0
    print(table)
    print("\nplots:\n" + "\n".join(f"  {p}" for p in pngs) + f"\ntable: {out / 'compare.txt'}")
    return 0


def run_scale(run_dir: Path) -> float | None:
    """scenario.scale of a run (from the scenario its plan names), None when it cannot be read."""
    import json

    from scowl.config import load_scenario
    from scowl.errors import ScowlError

    try:
        kept = run_dir / "scenario.toml"
        path = kept if kept.is_file() else json.loads((run_dir / "plan.json").read_text())["scenario_path"]
        return float(load_scenario(path).scenario.scale)
    except (OSError, KeyError, ValueError, ScowlError):
        return None


def _seed_dirs(d: Path) -> list[Path]:
    """The run directories a `--seeds` directory holds (or the run itself)."""
    if (d / "summary.json").is_file():
        return [d]
    return sorted((p.parent for p in d.glob("seed-*/summary.json")), key=lambda p: p.name)


def mean_day(dirs: list[Path]):
    """The day series of one run, or of several seeds averaged tick by tick with each MW column's
    95 % band (scowl.stats.band_frame), for the plots."""
    from scowl.analysis.dayseries import day_series
    from scowl.stats import band_frame

    days = [day_series(d) for d in dirs]
    if len(days) == 1:
        return days[0]
    return band_frame(days, [c for c in days[0].columns if c not in ("tick", "time", "hour")])


def compare_seeds(args: argparse.Namespace, dirs: list[Path]) -> int:
    """Two `scowl run --seeds` directories (or one and a single run): intervals, not single draws."""
    import json

    from scowl.analysis.dayseries import read_state
    from scowl.report.plots_day import DayRun, plot_days
    from scowl.stats import compare_intervals, compare_intervals_table

    groups = [_seed_dirs(d) for d in dirs]
    for d, g in zip(dirs, groups):
        if not g:
            read_state(d)  # names the missing file
    summaries = [[read_state(r)[1] for r in g] for g in groups]
    label_a, label_b = labels(dirs[0], summaries[0][0], dirs[1], summaries[1][0])
    rows = compare_intervals(summaries[0], summaries[1])
    table = compare_intervals_table(rows, label_a, label_b, len(summaries[0]), len(summaries[1]))
    out = Path(args.out or f"runs/compare-{label_a}-vs-{label_b}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.txt").write_text(table + "\n")
    runs = []
    for g, ss, label in zip(groups, summaries, (label_a, label_b)):
        windows = tuple((p["start_tick"], p["end_tick"]) for p in ss[0].get("partition", {}).get("schedule", []))
        runs.append(DayRun(f"{label} (mean of {len(g)} seeds)" if len(g) > 1 else label, mean_day(g), windows,
                           int(ss[0].get("peers", {}).get("consumers", 0)), run_scale(g[0])))
    pngs = plot_days(runs, out, title=f"{label_a} vs {label_b}: {len(groups[0])} and {len(groups[1])} seeds")
    if args.json:
        print(json.dumps({"a": label_a, "b": label_b, "seeds_a": [s.get("seed") for s in summaries[0]],
                          "seeds_b": [s.get("seed") for s in summaries[1]], "rows": rows,
                          "plots": [str(p) for p in pngs], "table": str(out / "compare.txt")}))
        return 0
    print(table)
    print("\nplots:\n" + "\n".join(f"  {p}" for p in pngs) + f"\ntable: {out / 'compare.txt'}")
    return 0
