"""Scale sweep: run a scenario at increasing scale and tracker counts, measure every run per
role, name the resource that bound first, and say when to shard.

Each sweep point is its own `scowl run` subprocess (so peak memory and CPU belong to that run
alone). While it runs, the sweep samples the CPU times of the run's process tree at the first
and the last tick (psutil), so CPU % of a core is measured over the ticks only, not over start-up.
Everything else comes from what the run leaves: summary.json, finals.json and state.parquet.

Pure analysis (`measure_run`, `find_bound`, `shard_plan`) is separate from running, so tests
and `scowl report` can recompute it from the run directories. Modules: points (one run, sampled),
measure, bound, shard, run (the sweep).
"""

from scowl.analysis.bound import CPU_BOUND, FRAME_BOUND, LAG_BOUND, MEMORY_BOUND, THRESHOLD, Finding, find_bound, run_findings
from scowl.analysis.measure import measure_run, oversized_frames
from scowl.analysis.results import load_sweep
from scowl.analysis.shard import CONFIRM_RUNS, FIT_SPAN, confirm_plan, default_target_hz, shard_plan, tracker_cost_model
from scowl.provenance import git_commit, machine_info
from scowl.sweep.points import cpu_by_actor, point_scenario, run_point, scenario_toml
from scowl.sweep.run import DEFAULT_SCALE_FACTORS, DEFAULT_TRACKERS, sweep

__all__ = ["CONFIRM_RUNS", "CPU_BOUND", "DEFAULT_SCALE_FACTORS", "DEFAULT_TRACKERS", "FIT_SPAN", "FRAME_BOUND", "LAG_BOUND",
           "MEMORY_BOUND", "THRESHOLD", "Finding", "confirm_plan", "cpu_by_actor", "default_target_hz", "find_bound", "git_commit",
           "load_sweep", "machine_info", "measure_run", "oversized_frames", "point_scenario", "run_findings", "run_point",
           "scenario_toml", "shard_plan", "sweep", "tracker_cost_model"]
