"""The message catalogue of docs/protocol.md, generated from the wire definitions.

docs/protocol.md is prose written by hand plus one generated part between the markers
BEGIN/END below: every registered message type with its fields in wire order (messages are
MessagePack arrays, so the order IS the layout), their types and defaults, batch columns with
their numpy dtypes, and the code enumerations peers must agree on. `scowl protocol --check`
(and the test suite) fails when the document's catalogue differs from what this build
speaks, so the document cannot drift from the code."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import msgspec

from scowl import wire

BEGIN = "<!-- BEGIN GENERATED CATALOGUE (scowl protocol --write docs/protocol.md) -->"
END = "<!-- END GENERATED CATALOGUE -->"

_DTYPES = {
    "<i4": "int32 LE", "<u1": "uint8", "<f4": "float32 LE", "<f8": "float64 LE", "<u8": "uint64 LE",
    "id128": "128-bit id: 16 bytes, hi uint64 LE then lo uint64 LE",
}


def type_name(tp) -> str:
    """A field's type as MessagePack sees it."""
    if tp is msgspec.Raw:
        return "raw msgpack"
    origin = typing.get_origin(tp)
    if origin is list:
        return f"array of {type_name(typing.get_args(tp)[0])}"
    if origin is dict:
        k, v = typing.get_args(tp)
        return f"map {type_name(k)} -> {type_name(v)}"
    return {int: "int", str: "str", float: "float64", bool: "bool", bytes: "bin"}.get(tp, getattr(tp, "__name__", str(tp)))


def _doc(cls) -> str:
    own = cls.__dict__.get("__doc__") or ""
    return " ".join(own.split())


def _default(value) -> str:
    if value is msgspec.NODEFAULT:
        return "required"
    if isinstance(value, msgspec._core.Factory):  # type: ignore[attr-defined]
        value = value.factory()
    return f"optional, default `{value!r}`"


def message_table(type_name_: str, cls: type[wire.Message]) -> list[str]:
    columns = dict(getattr(cls, "COLUMNS", ()))
    lines = [f"#### `{type_name_}` ({cls.__name__})", ""]
    doc = _doc(cls)
    if doc:
        lines += [doc, ""]
    fields = msgspec.structs.fields(cls)
    if not fields:
        return lines + ["Body: an empty array `[]`.", ""]
    lines += ["| # | field | type | |", "|---|---|---|---|"]
    for i, f in enumerate(fields):
        if f.name in columns:
            kind = f"bin: column of n x {_DTYPES.get(columns[f.name], columns[f.name])} (`{columns[f.name]}`)"
        else:
            kind = type_name(f.type)
        lines.append(f"| {i} | `{f.name}` | {kind} | {_default(f.default)} |")
    return lines + [""]


def enumerations() -> list[str]:
    from scowl.actors.storage import STORAGE_TYPE_CODE
    from scowl.model import mix

    lines = ["### Code enumerations", "", "Generator kind (`kind` column of `generators-register`; scowl/model/mix.py):", "",
             "| code | kind |", "|---|---|"]
    lines += [f"| {i} | {name} |" for i, name in enumerate(mix.KIND_NAMES)]
    lines += ["", "Generator type (`type_code` column; scowl/model/mix.py, storage: scowl/actors/storage.py):", "",
              "| code | type | kind |", "|---|---|---|"]
    lines += [f"| {i} | {name} | {mix.KIND_NAMES[int(mix.KIND_OF_TYPE[name])]} |" for i, name in enumerate(mix.TYPE_NAMES)]
    lines += [f"| {int(STORAGE_TYPE_CODE)} | EV storage hub | storage |", "",
              f"Reject reasons (what receivers count per sender): {', '.join(f'`{r}`' for r in wire.REJECT_REASONS)}.", "",
              (f"Constants: protocol version `{wire.PROTOCOL_VERSION}`; largest packet or frame {wire.MAX_FRAME_BYTES} bytes; "
               f"broadcast recipient `{wire.BROADCAST!r}`; `STARVED_ID` (no generator, in gen_ids columns) = {wire.STARVED_ID}."), ""]
    return lines


def catalogue_markdown() -> str:
    """The generated part of docs/protocol.md (without the markers)."""
    lines = ["### Envelope", ""] + message_table("envelope", wire.Envelope)[2:]  # type: ignore[arg-type]
    lines += ["### Messages", "", f"{len(wire.MESSAGE_TYPES)} message types, by wire name.", ""]
    for name, cls in wire.MESSAGE_TYPES.items():
        lines += message_table(name, cls)
    lines += enumerations()
    return "\n".join(lines).rstrip() + "\n"


def generated_part(text: str, source: str = "docs/protocol.md") -> str:
    try:
        start = text.index(BEGIN) + len(BEGIN)
        stop = text.index(END)
    except ValueError:
        raise ValueError(f"{source}: the generated catalogue markers are missing ({BEGIN!r} ... {END!r})") from None
    return text[start:stop].strip("\n") + "\n"


def problems(text: str, source: str = "docs/protocol.md") -> list[str]:
    """What the document misses or gets wrong, one line each (empty: it matches this build)."""
    found = generated_part(text, source)
    out = []
    for name, cls in wire.MESSAGE_TYPES.items():
        section = re.search(rf"^#### `{re.escape(name)}` .*?(?=^#### |^### |\Z)", found, re.DOTALL | re.MULTILINE)
        if section is None:
            out.append(f"{source}: message type `{name}` is missing")
            continue
        for i, f in enumerate(msgspec.structs.fields(cls)):
            if not re.search(rf"^\| {i} \| `{re.escape(f.name)}` \|", section.group(0), re.MULTILINE):
                out.append(f"{source}: `{name}` field {i} `{f.name}` is missing or out of place")
    if not out and found != catalogue_markdown():
        out.append(f"{source}: the catalogue differs from the wire definitions (types, defaults, docs or enumerations); "
                   "regenerate it with `scowl protocol --write docs/protocol.md`")
    return out


def write(path: Path) -> None:
    text = Path(path).read_text()
    start = text.index(BEGIN) + len(BEGIN)
    stop = text.index(END)
    Path(path).write_text(text[:start] + "\n" + catalogue_markdown() + text[stop:])
