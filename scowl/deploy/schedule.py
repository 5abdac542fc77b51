"""The scenario's network schedule, read for hosts: `[network] latency_ms, jitter_ms` and
`[[network.partitions]] start_tick, end_tick, isolate = [...], from = [...]`.

Selectors: "*", "role:<role>", "host:<name>", "region:<int>", "peer:<name>". On hosts a
selector stands for the hosts that run a matching peer, so a partition becomes a set of host
pairs whose traffic is dropped both ways during [start_tick, end_tick). A host that matches both
sides cannot be cut from itself: its peers still talk over loopback (`HostPartition.coarse`
says so, and the transport-level faults of the runtime cover that case).

This reader is deliberately small: scowl.config owns the full scenario; the run driver may pass
its parsed `[network]` table here as a plain dict.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scowl.deploy.description import ROLES, Deployment
from scowl.errors import ConfigError

Pair = frozenset[str]  # two host names


@dataclass(frozen=True)
class Partition:
    start_tick: int
    end_tick: int
    isolate: tuple[str, ...]
    from_: tuple[str, ...]

    def active(self, tick: int) -> bool:
        return self.start_tick <= tick < self.end_tick


@dataclass(frozen=True)
class NetworkSchedule:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    partitions: tuple[Partition, ...] = ()


@dataclass(frozen=True)
class HostPartition:
    """A partition translated to hosts: `pairs` are cut both ways while it is active."""

    index: int
    start_tick: int
    end_tick: int
    side_a: tuple[str, ...]
    side_b: tuple[str, ...]
    pairs: frozenset[Pair]
    coarse: tuple[str, ...]  # hosts on both sides: their own peers are not cut from each other

    @property
    def name(self) -> str:
        return f"partition-{self.index}"

    def active(self, tick: int) -> bool:
        return self.start_tick <= tick < self.end_tick


def load_network_schedule(scenario: str | Path) -> NetworkSchedule:
    """Read only the [network] part of a scenario file (no [network] means no faults)."""
    path = str(scenario)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(path, "(file)", "an existing scenario file", "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "(syntax)", "valid TOML", str(exc)) from None
    return parse_network(data.get("network", {}), path)


def from_config(network: Any) -> NetworkSchedule:
    """The schedule from scowl.config's already validated `Scenario.network` section."""
    return NetworkSchedule(float(network.latency_ms), float(network.jitter_ms), tuple(
        Partition(p.start_tick, p.end_tick, tuple(p.isolate), tuple(p.from_)) for p in network.partitions))


def parse_network(net: dict[str, Any], path: str = "<scenario>") -> NetworkSchedule:
    if not isinstance(net, dict):
        raise ConfigError(path, "network", "a table", net)
    lat = _number(net.get("latency_ms", 0.0), path, "network.latency_ms")
    jit = _number(net.get("jitter_ms", 0.0), path, "network.jitter_ms")
    raw = net.get("partitions", [])
    if not isinstance(raw, list):
        raise ConfigError(path, "network.partitions", "an array of [[network.partitions]] tables", raw)
    parts = []
    for i, p in enumerate(raw):
        key = f"network.partitions[{i}]"
        if not isinstance(p, dict):
            raise ConfigError(path, key, "a table", p)
        start, end = p.get("start_tick"), p.get("end_tick")
        for k, v in (("start_tick", start), ("end_tick", end)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ConfigError(path, f"{key}.{k}", "an integer tick >= 0", v)
        assert isinstance(start, int) and isinstance(end, int)  # checked just above
        if end <= start:
            raise ConfigError(path, f"{key}.end_tick", f"a tick after start_tick ({start})", end)
        sides = []
        for k in ("isolate", "from"):
            sel = p.get(k, ["*"] if k == "from" else None)
            if not isinstance(sel, list) or not sel or not all(isinstance(s, str) for s in sel):
                raise ConfigError(path, f"{key}.{k}", 'a non-empty array of selectors like "host:h3"', sel)
            for s in sel:
                _check_selector(s, path, f"{key}.{k}")
            sides.append(tuple(sel))
        parts.append(Partition(start, end, sides[0], sides[1]))
    return NetworkSchedule(lat, jit, tuple(parts))


def resolve(schedule: NetworkSchedule, deployment: Deployment) -> list[HostPartition]:
    """Translate every partition's selectors into host pairs of this deployment."""
    out = []
    for i, p in enumerate(schedule.partitions):
        a = select_hosts(p.isolate, deployment, f"network.partitions[{i}].isolate")
        b = select_hosts(p.from_, deployment, f"network.partitions[{i}].from")
        pairs = frozenset(frozenset((x, y)) for x in a for y in b if x != y)
        coarse = tuple(h for h in a if h in b)
        out.append(HostPartition(i, p.start_tick, p.end_tick, tuple(a), tuple(b), pairs, coarse))
    return out


def select_hosts(selectors: tuple[str, ...] | list[str], deployment: Deployment, key: str = "selector") -> list[str]:
    """Host names (in description order) that run a peer matching any selector."""
    chosen: set[str] = set()
    for sel in selectors:
        kind, _, arg = sel.partition(":")
        if sel == "*":
            match = deployment.hosts
        elif kind == "host":
            match = tuple(h for h in deployment.hosts if h.name == arg)
        elif kind == "role":
            match = tuple(h for h in deployment.hosts if h.runs(arg))
        elif kind == "region":
            match = tuple(h for h in deployment.hosts if int(arg) in h.regions)
        elif kind == "peer":
            match = tuple(h for h in deployment.hosts if h.holds_peer(arg))
        else:  # pragma: no cover - parse_network rejects these
            match = ()
        if not match:
            raise ConfigError(deployment.path, key, f"selector {sel!r} to match a host of this deployment "
                              f"(hosts: {deployment.host_names()}; peers and regions come from the hosts' "
                              "trackers/generators/consumers/regions lists)", sel)
        chosen.update(h.name for h in match)
    return [h.name for h in deployment.hosts if h.name in chosen]


def _check_selector(sel: str, path: str, key: str) -> None:
    kind, colon, arg = sel.partition(":")
    ok = sel == "*" or (colon and arg and kind in ("host", "peer")) or (kind == "role" and arg in ROLES) \
        or (kind == "region" and arg.isdigit())
    if not ok:
        raise ConfigError(path, key, f'selectors "*", "role:<{"|".join(ROLES)}>", "host:<name>", '
                          '"region:<int>" or "peer:<name>"', sel)


def _number(v: Any, path: str, key: str) -> float:
    if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
        raise ConfigError(path, key, "a number >= 0 (milliseconds)", v)
    return float(v)
