"""The process layout of a `--processes` run: which actors share one `scowl-node` process
(one event loop each process). Pure: a plan and a spec in, groups of actor names out.

Specs (`scowl run --processes --layout SPEC`, `scowl bench day --layout SPEC`):
  auto      one process per core this process may run on (sched_getaffinity), the actors
            dealt by their expected CPU (the default: what a whole-state run wants)
  N         N processes, dealt the same way
  actor     one process per actor (the layout before layouts: 13 processes at whole state)
  role      one process per role (all trackers in one, all populations in one, ...)
  GROUPS    explicit: groups separated by ';', actor names (or glob patterns) by ','
            e.g. "bootstrap,broker,metronome,fleet-*,storage-*;tracker-*;population-*"

The fixed services (bootstrap, broker, metronome) are one unit in dealt layouts, and every
layout starts them no later than any other actor (a peer's start needs them)."""

from __future__ import annotations

import fnmatch
import os

from scowl.errors import ConfigError
from scowl.plan import group_names

SERVICES = ("bootstrap", "broker", "metronome")

#: CPU seconds of each role's actors in a whole-state day (lead's `scowl bench day --scale 1.0
#: --processes`, main 39fab67: 515 s in all), split evenly among a role's actors; only the
#: ratios matter (they deal actors to processes).
ROLE_CPU_S = {"bootstrap": 1.5, "broker": 1.5, "metronome": 13.0, "tracker": 254.0, "generator": 25.0,
              "storage": 33.0, "consumer": 187.0}

NAMED = ("auto", "actor", "role")


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask, else os.cpu_count())."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def actors_of(plan) -> list[tuple[str, str]]:
    """(name, role) of every actor of a plan, in start order."""
    out = [(s, s) for s in SERVICES]
    out += [(t, "tracker") for t in plan.trackers]
    out += [(f.name, f.kind) for f in plan.fleets if f.kind == "generator"]
    out += [(f.name, f.kind) for f in plan.fleets if f.kind == "storage"]
    out += [(p.name, "consumer") for p in plan.populations]
    return out


def expected_cpu(plan) -> dict[str, float]:
    """Each actor's expected share of a day's CPU (ROLE_CPU_S split among a role's actors;
    fleets and populations by their share of the role's generators / consumers)."""
    roles = dict(actors_of(plan))
    count: dict[str, int] = {}
    for role in roles.values():
        count[role] = count.get(role, 0) + 1
    weight = {name: ROLE_CPU_S[role] / count[role] for name, role in roles.items()}
    for kind in ("generator", "storage"):
        fleets = [f for f in plan.fleets if f.kind == kind]
        total = sum(len(f.rows) for f in fleets)
        for f in fleets if total else ():
            weight[f.name] = ROLE_CPU_S[kind] * len(f.rows) / total
    total = sum(p.stop - p.start for p in plan.populations)
    for p in plan.populations if total else ():
        weight[p.name] = ROLE_CPU_S["consumer"] * (p.stop - p.start) / total
    return weight


def dealt(plan, processes: int) -> list[list[str]]:
    """`processes` groups balanced by expected CPU: the services as one unit first, then every
    other actor, heaviest first, to the group with the least expected CPU so far."""
    weight = expected_cpu(plan)
    others = [name for name, _ in actors_of(plan) if name not in SERVICES]
    n = max(1, min(processes, 1 + len(others)))
    groups: list[list[str]] = [[] for _ in range(n)]
    load = [0.0] * n
    groups[0] += SERVICES
    load[0] = sum(weight[s] for s in SERVICES)
    for name in sorted(others, key=lambda a: -weight[a]):  # stable: plan order among equals
        i = min(range(n), key=lambda k: (load[k], k))
        groups[i].append(name)
        load[i] += weight[name]
    return _ordered([g for g in groups if g], plan)


def _ordered(groups: list[list[str]], plan) -> list[list[str]]:
    """Each group's actors in start order, the groups by their first actor's."""
    rank = {name: i for i, (name, _) in enumerate(actors_of(plan))}
    inner = [sorted(g, key=rank.__getitem__) for g in groups]
    return sorted(inner, key=lambda g: rank[g[0]])


def parse_layout(spec: str | int | None, plan, cores: int | None = None, source: str = "<command line>") -> list[list[str]]:
    """The groups of actor names a layout spec gives for this plan (see the module's doc);
    ConfigError naming the field and what is wrong."""
    spec = "auto" if spec is None else str(spec).strip()
    pairs = actors_of(plan)
    names = [name for name, _ in pairs]
    roles = dict(pairs)
    if spec == "auto":
        return dealt(plan, cores or usable_cores())
    if spec.isdigit():
        if int(spec) < 1:
            raise ConfigError(source, "layout", "a process count >= 1", spec)
        return dealt(plan, int(spec))
    if spec == "actor":
        return [[n] for n in names]
    if spec == "role":
        by_role: dict[str, list[str]] = {}
        for n in names:
            by_role.setdefault(roles[n], []).append(n)
        return _ordered(list(by_role.values()), plan)
    groups: list[list[str]] = []
    seen: dict[str, int] = {}
    for i, part in enumerate(p for p in spec.split(";") if p.strip()):
        group: list[str] = []
        for pat in (x.strip() for x in part.split(",") if x.strip()):
            hits = [n for n in names if fnmatch.fnmatchcase(n, pat)]
            if not hits:
                raise ConfigError(source, "layout", f"actor names of this plan or patterns ({', '.join(names)})", pat)
            for n in hits:
                if n in seen and seen[n] != i:
                    raise ConfigError(source, "layout", "each actor in one process only", f"{n} in groups {seen[n] + 1} and {i + 1}")
                if n not in group:
                    group.append(n)
                seen[n] = i
        groups.append(group)
    missing = [n for n in names if n not in seen]
    if missing:
        raise ConfigError(source, "layout", f"{', '.join(NAMED)}, a process count, or groups naming every actor",
                          f"{spec!r} leaves out {', '.join(missing)}")
    return check_start_order(_ordered(groups, plan), source)


def check_start_order(groups: list[list[str]], source: str = "<plan>") -> list[list[str]]:
    """Groups start in order, each once its actors are ready: a group holding a peer must come
    after (or hold) every fixed service, else it would wait for a service not yet started."""
    first_peer = next((i for i, g in enumerate(groups) if any(n not in SERVICES for n in g)), len(groups))
    late = [s for i, g in enumerate(groups) for s in g if s in SERVICES and i > first_peer]
    if late:
        raise ConfigError(source, "layout", "the bootstrap, broker and metronome in the first process with peers "
                          "or before it", f"{', '.join(late)} start after {', '.join(groups[first_peer])}")
    return groups


def describe(groups: list[list[str]]) -> str:
    """One line: `node-0 (bootstrap, broker, ...) | tracker-0 | ...`."""
    return " | ".join(name if len(g) == 1 else f"{name} ({', '.join(g)})" for name, g in zip(group_names(groups), groups, strict=True))
