"""Scenario files: reading a TOML scenario (`load_scenario`), finding one by name or path
(`resolve_scenario`, `packaged_scenarios`, `default_scenario_path`), a `--set KEY=VALUE`
(`parse_set`) and writing a scenario back as TOML (`scenario_toml`)."""

from __future__ import annotations

import importlib.resources
import json
import tomllib
from pathlib import Path

from scowl.config.scenario import Scenario, scenario_from_dict
from scowl.errors import ConfigError

__all__ = ["default_scenario_path", "load_scenario", "packaged_scenarios", "parse_set", "resolve_scenario", "scenario_toml"]


def load_scenario(path) -> Scenario:
    """Read and validate a TOML scenario file (with the scenario it `extends`, if it names one)."""
    p = Path(path)
    return scenario_from_dict(_with_base(p, _read_toml(p), ()), source=str(p))


def _read_toml(p: Path) -> dict:
    try:
        with open(p, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(p), "(file)", "an existing TOML file", "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(p), "(syntax)", "valid TOML", str(exc)) from None


def _with_base(p: Path, data: dict, chain: tuple[Path, ...]) -> dict:
    """A scenario's tables over those of the scenario it `extends` (a packaged name, or a path
    relative to the file): table by table, the file's keys win; arrays of tables (partitions)
    are replaced whole. So a variant states only what differs (configs/newyork.toml is ny2030
    at scale 1.0) and never drifts from its base. The base's series paths stay relative to it."""
    base_name = data.pop("extends", None)
    if base_name is None:
        return data
    if not isinstance(base_name, str) or not base_name:
        raise ConfigError(str(p), "extends", "a scenario file or a packaged scenario's name (a string)", base_name)
    rel = p.parent / base_name
    base_path = rel if rel.is_file() else packaged_scenarios().get(base_name.removesuffix(".toml"), rel)
    if not base_path.is_file():
        raise ConfigError(str(p), "extends", "an existing scenario file (relative to this one) or a packaged scenario "
                          "name (" + ", ".join(packaged_scenarios()) + ")", base_name)
    here = p.resolve()
    if here in chain or base_path.resolve() in (*chain, here):
        raise ConfigError(str(p), "extends", "a scenario that does not extend this one (no cycle)",
                          " -> ".join(str(c) for c in (*chain, here, base_path.resolve())))
    base = _with_base(base_path, _read_toml(base_path), (*chain, here))
    series = base.get("series")
    if isinstance(series, dict):  # the base's own relative series files, not ones beside this file
        base["series"] = {k: (str((base_path.parent / v).resolve()) if k in ("load", "availability") and isinstance(v, str)
                              and not Path(v).is_absolute() else v) for k, v in series.items()}
    merged = dict(base)
    for name, table in data.items():
        if isinstance(table, dict) and isinstance(merged.get(name), dict):
            merged[name] = {**merged[name], **table}
        else:
            merged[name] = table
    return merged


def default_scenario_path() -> Path:
    """The packaged default scenario, configs/ny2030.toml."""
    return Path(str(importlib.resources.files("scowl.configs").joinpath("ny2030.toml")))


def packaged_scenarios() -> dict[str, Path]:
    """Every packaged scenario by name (file stem)."""
    root = importlib.resources.files("scowl.configs")
    return {Path(e.name).stem: Path(str(e)) for e in sorted(root.iterdir(), key=lambda e: e.name) if e.name.endswith(".toml")}


def resolve_scenario(name_or_path) -> Path:
    """A scenario file from what a person typed: an existing path, or the name of a packaged
    scenario ("small", "ny2030"; with or without ".toml"). Every command resolves the same way."""
    if name_or_path is None:
        return default_scenario_path()
    p = Path(name_or_path)
    if p.is_file():
        return p
    named = packaged_scenarios()
    stem = p.name[:-5] if p.name.endswith(".toml") else p.name
    if p.parent == Path(".") and stem in named:
        return named[stem]
    if not p.exists() and not p.name.endswith(".toml") and p.parent == Path("."):
        raise ConfigError(str(p), "(file)", "a scenario TOML file or a packaged scenario name (" + ", ".join(named) + ")",
                          "no such file or name")
    return p  # load_scenario names the missing file


def parse_set(text: str) -> tuple[str, object]:
    """One `--set KEY=VALUE`: a dotted TOML key ("scenario.scale") and a value in TOML syntax
    (1.0, 42, true, "text", [1, 2], 2030-07-17); a bare word that is not TOML is taken as a string.
    The value is validated like the file's when the scenario is built (the error names the key)."""
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key or "." not in key or not all(part.strip() for part in key.split(".")):
        raise ConfigError("--set", text, "KEY=VALUE with a dotted key, e.g. scenario.scale=0.01", text)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def scenario_toml(scenario: Scenario) -> str:
    """A scenario as a TOML file `load_scenario` reads back to the same Scenario."""
    lines = [f"# written by scowl from {scenario.source}"]
    for section, table in scenario.to_dict().items():
        lines.append(f"[{section}]")
        arrays = []
        for k, v in table.items():
            if isinstance(v, list) and v and isinstance(v[0], dict):
                arrays.append((k, v))
            else:
                lines.append(f"{k} = {_toml_value(v)}")
        for k, items in arrays:
            for item in items:
                lines.append(f"[[{section}.{k}]]")
                lines.extend(f"{kk} = {_toml_value(vv)}" for kk, vv in item.items())
        lines.append("")
    return "\n".join(lines)
