"""Scenario files: typed, immutable, validated strictly on load.

`load_scenario(path)` reads a TOML scenario (see configs/ny2030.toml, where every key is
documented) into a frozen `Scenario`. An unknown key, a wrong type or an out-of-range value
raises `ConfigError(path, dotted_key, expected, found)`. `scenario_from_dict(d, source)` does the
same for a dict (tests), `default_scenario_path()` names the packaged ny2030.toml, and
`override(scenario, {"scenario.scale": 1.0})` re-validates a scenario with some keys changed.

Modules: `sections` (one dataclass per TOML table, with each field's rule), `validate` (building
a section from a table by those rules), `scenario` (the whole Scenario, checks across sections,
overrides), `files` (reading, finding and writing scenario files, `--set`).
"""

from __future__ import annotations

from scowl.config.files import (
    default_scenario_path,
    load_scenario,
    packaged_scenarios,
    parse_set,
    resolve_scenario,
    scenario_toml,
)
from scowl.config.scenario import Scenario, dotted_key, override, scenario_from_dict
from scowl.config.sections import (
    SELECTOR_RE,
    DemandSection,
    GenerationSection,
    NetworkSection,
    PacingSection,
    Partition,
    ResponseSection,
    ScenarioSection,
    SecuritySection,
    SeriesSection,
    StorageSection,
    StressSection,
    TrackersSection,
    WeatherSection,
)

__all__ = [
    "DemandSection",
    "GenerationSection",
    "NetworkSection",
    "PacingSection",
    "Partition",
    "ResponseSection",
    "Scenario",
    "ScenarioSection",
    "SecuritySection",
    "SeriesSection",
    "StorageSection",
    "StressSection",
    "TrackersSection",
    "WeatherSection",
    "SELECTOR_RE",
    "default_scenario_path",
    "dotted_key",
    "load_scenario",
    "override",
    "packaged_scenarios",
    "parse_set",
    "resolve_scenario",
    "scenario_from_dict",
    "scenario_toml",
]
