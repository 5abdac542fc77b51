"""Typed, strict building of a frozen dataclass from a TOML table: every key known, every value
of its field's type (TOML's int -> float and "YYYY-MM-DD" -> date conversions allowed) and
within its field's rule; else `ConfigError(path, dotted_key, expected, found)`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

from scowl.errors import ConfigError

__all__ = ["build", "type_name"]

#: `X | None` (types.UnionType) and typing.Optional[X] (typing.Union): an optional field
_UNIONS = (types.UnionType, typing.Union)


def type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin in _UNIONS:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return type_name(args[0])
    if origin is tuple:
        inner = typing.get_args(tp)[0]
        return "an array of tables" if dataclasses.is_dataclass(inner) else f"an array of {type_name(inner)}"
    return {int: "an integer", float: "a number", str: "a string", bool: "a boolean", dt.date: "a date (YYYY-MM-DD)"}.get(tp, "a table")


def _convert(value, tp, path: str, key: str):
    """Check `value` against type `tp`, converting where TOML allows (int -> float, str -> date)."""
    origin = typing.get_origin(tp)
    if origin in _UNIONS:
        inner = [a for a in typing.get_args(tp) if a is not type(None)][0]
        return _convert(value, inner, path, key)
    bad = ConfigError(path, key, type_name(tp), value)
    if tp is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise bad
        return value
    if tp is dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise bad from None
        raise bad
    if origin is tuple:
        inner = typing.get_args(tp)[0]
        if not isinstance(value, (list, tuple)):
            raise bad
        if dataclasses.is_dataclass(inner):
            return tuple(build(inner, item, path, f"{key}[{i}]") for i, item in enumerate(value))
        return tuple(_convert(item, inner, path, f"{key}[{i}]") for i, item in enumerate(value))
    raise TypeError(f"unsupported field type {tp!r}")  # pragma: no cover - programming error


def _check_range(value, meta: Mapping[str, Any], path: str, key: str) -> None:
    lo, hi, choices, check = meta["lo"], meta["hi"], meta["choices"], meta["check"]
    if value is None:
        return
    if isinstance(value, float) and not math.isfinite(value):  # NaN passes every comparison: refuse it first
        raise ConfigError(path, key, "a finite number (not nan or inf)", value)
    if choices is not None and value not in choices:
        raise ConfigError(path, key, "one of " + ", ".join(repr(c) for c in choices), value)
    if check is not None and not check[0](value):
        raise ConfigError(path, key, check[1], value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low_bad = lo is not None and (value <= lo if meta["lo_open"] else value < lo)
        high_bad = hi is not None and (value >= hi if meta["hi_open"] else value > hi)
        if low_bad or high_bad:
            left = "(" if meta["lo_open"] else "["
            right = ")" if meta["hi_open"] else "]"
            lo_s = "-inf" if lo is None else f"{lo:g}"
            hi_s = "inf" if hi is None else f"{hi:g}"
            raise ConfigError(path, key, f"a value in {left}{lo_s}, {hi_s}{right}", value)


def build(cls, table, path: str, prefix: str):
    if not isinstance(table, dict):
        raise ConfigError(path, prefix, "a table", table)
    hints = typing.get_type_hints(cls)
    fields = {(f.metadata.get("key") or f.name): f for f in dataclasses.fields(cls)}
    for k in table:
        if k not in fields:
            raise ConfigError(path, f"{prefix}.{k}", "one of the known keys " + ", ".join(fields), "an unknown key")
    kwargs = {}
    for k, f in fields.items():
        dotted = f"{prefix}.{k}"
        if k in table:
            value = _convert(table[k], hints[f.name], path, dotted)
        elif f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            value = f.default_factory()  # type: ignore[misc]
        else:
            raise ConfigError(path, dotted, f"{type_name(hints[f.name])} (required)", "nothing")
        _check_range(value, f.metadata, path, dotted)
        kwargs[f.name] = value
    return cls(**kwargs)
