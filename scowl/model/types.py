"""The generator types: one registry (data/generator_types.csv, a row per type) for everything
that knows about types: type codes, kinds, renewable or not, output model, plot colour, peer
names. `output_model` names the one function in generation.py that makes a type's output; an
unknown type or model is an error (`UnknownType`), never a silent drop.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from scowl.errors import ScowlError
from scowl.model import data

__all__ = ["CONTINUOUS", "FIXED", "KIND_NAMES", "OUTPUT_MODELS", "STOCHASTIC", "STORAGE", "GeneratorType",
           "UnknownType", "registry", "type_info"]

FIXED, STOCHASTIC, CONTINUOUS = np.uint8(0), np.uint8(1), np.uint8(2)
#: EV hubs (storage actors) in the trackers' view: output is what the tracker asks them to
#: discharge, a negative setpoint asks them to charge. Not a fuel type of the mix.
STORAGE = np.uint8(3)
KIND_NAMES = ("fixed", "stochastic", "continuous", "storage")
#: The output models generation.py implements (one entry each); a type naming another is an error.
OUTPUT_MODELS = ("dispatch", "nuclear", "hydro", "wind_land", "wind_offshore", "solar", "other_renewables")


class UnknownType(ScowlError):
    """A generator type (or output model) that the registry does not know."""


@dataclass(frozen=True)
class GeneratorType:
    name: str
    code: int
    slug: str
    kind: np.uint8
    renewable: bool
    output: str
    min_fraction: float | None  # None: the scenario's gas_min_fraction
    ramp_per_minute: float | None  # None: the scenario's gas_ramp_per_minute
    colour: str


@functools.cache
def registry() -> tuple[GeneratorType, ...]:
    """Every generator type in code order (data/generator_types.csv)."""
    out = []
    for i, r in enumerate(data.table("generator_types")):
        where = f"data/generator_types.csv row {i + 1} ({r['type']})"
        if r["kind"] not in KIND_NAMES[:3]:
            raise UnknownType(f"{where}: kind {r['kind']!r}, expected one of {', '.join(KIND_NAMES[:3])}")
        if r["output"] not in OUTPUT_MODELS:
            raise UnknownType(f"{where}: output model {r['output']!r}, expected one of {', '.join(OUTPUT_MODELS)}")
        if r["renewable"] not in ("yes", "no"):
            raise UnknownType(f"{where}: renewable {r['renewable']!r}, expected yes or no")
        out.append(GeneratorType(
            r["type"], i, r["slug"], np.uint8(KIND_NAMES.index(r["kind"])), r["renewable"] == "yes", r["output"],
            None if not r["min_fraction"] else float(r["min_fraction"]),
            None if not r["ramp_per_minute"] else float(r["ramp_per_minute"]), r["colour"]))
    return tuple(out)


def type_info(name: str, where: str = "") -> GeneratorType:
    """The registry entry of a type by name; UnknownType (naming `where`) if there is none."""
    for t in registry():
        if t.name == name:
            return t
    known = ", ".join(t.name for t in registry())
    raise UnknownType(f"{where + ': ' if where else ''}unknown generator type {name!r} (known: {known})")
