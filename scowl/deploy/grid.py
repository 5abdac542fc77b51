"""From a deployment description to the grid's run plan: which actor lives on which host,
the fixed addresses, and the `scowl-node` process of each role on each host.

    plan = grid_plan(deployment, "configs/small.toml", out_dir="runs/x")
    for proc in grid_processes(deployment, plan): ...   # (host, role, [actor names])

The description's role counts are actor counts: `tracker = 2` puts two tracker actors on the
host, `generator = 1` one generator fleet, `consumer = 1` one consumer population, `storage = 1`
the EV storage actor (exactly one when the scenario has EV hubs, else none). The trackers
of all hosts must add up to the scenario's `[trackers] count`; the fleets and populations of all
hosts are how the scenario's generators and consumers are split (`make_plan(populations=N,
fleets=M)`). Actor names are the plan's (`tracker-<i>`, `fleet-<i>`, `population-<i>`): a host's
`trackers`/`generators`/`consumers` list claims names (exactly or by glob), the rest are dealt to
the hosts in description order by their counts.

Fixed addresses: bootstrap on its host at `bootstrap_port`, the broker at `bootstrap_port + 1`,
the metronome's ROUTER at `+ 2` and its PUB at `+ 3`, each on its host's address. Every other
actor binds its host's address on any port and registers it in the broker's directory.

Faults are the kernel's on namespace hosts and Emulab (`transport_faults = False`), never also
the actors' send path.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace
from pathlib import Path

from scowl.config import load_scenario
from scowl.deploy.description import PEER_LISTS, Deployment, Host
from scowl.errors import ConfigError
from scowl.plan import make_plan
from scowl.roles import ROLE_ORDER as GRID_ROLES

PORT_OFFSETS = {"bootstrap": 0, "broker": 1, "metronome": 2, "metronome_pub": 3}
START_PHASES = (("bootstrap", "broker", "metronome"), ("tracker", "generator", "storage", "consumer"))


@dataclass(frozen=True)
class GridProcess:
    host: str
    role: str
    names: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.host}/{self.role}"

    @property
    def phase(self) -> int:
        """Its start phase (START_PHASES): 0 when it runs a fixed service, else 1."""
        return 0 if any(n in START_PHASES[0] for n in self.names) else 1


def fixed_ports(deployment: Deployment) -> dict[str, int]:
    return {k: deployment.bootstrap_port + off for k, off in PORT_OFFSETS.items()}


def metronome_endpoints(deployment: Deployment) -> list[tuple[str, int]]:
    """(address, port) of the metronome's ROUTER and PUB: the experiment's clock, exempt from
    partitions (as it is from the actors' transport faults)."""
    host = deployment.hosts_with_role("metronome")[0]
    ports = fixed_ports(deployment)
    return [(host.address, ports["metronome"]), (host.address, ports["metronome_pub"])]


def grid_plan(deployment: Deployment, scenario_path: str | Path, *, out_dir: str | Path = "", run_id: str | None = None,
              remote_scenario: str | None = None, remote_out_dir: str | None = None):
    """The RunPlan of `deployment` for a scenario (tcp, host-aware). `remote_scenario` and
    `remote_out_dir`: the scenario and the results directory as the hosts see them (Emulab:
    paths relative to the login's home), when they differ from the local ones."""
    path = deployment.path
    for h in deployment.hosts:
        extra = sorted(r for r, n in h.roles.items() if n and r not in GRID_ROLES)
        if extra:
            raise ConfigError(path, f"hosts ({h.name}).roles.{extra[0]}",
                              f"grid roles only ({', '.join(GRID_ROLES)})", extra[0])
    for role in ("broker",):
        n = sum(h.roles.get(role, 0) for h in deployment.hosts)
        if n != 1:
            raise ConfigError(path, f"hosts[*].roles.{role}", f"exactly one {role} in the deployment", n)
    n_boot = sum(h.roles.get("bootstrap", 0) for h in deployment.hosts)
    if n_boot != 1:
        raise ConfigError(path, "hosts[*].roles.bootstrap", "exactly one bootstrap for a grid run", n_boot)
    scenario = load_scenario(str(scenario_path))
    counts = {r: sum(h.roles.get(r, 0) for h in deployment.hosts) for r in ("tracker", "generator", "consumer")}
    if counts["tracker"] != scenario.trackers.count:
        raise ConfigError(path, "hosts[*].roles.tracker",
                          f"{scenario.trackers.count} trackers in all (the scenario's [trackers] count, "
                          f"{scenario_path})", counts["tracker"])
    for role in ("generator", "consumer"):
        if counts[role] < 1:
            raise ConfigError(path, f"hosts[*].roles.{role}", f"at least one {role} actor", counts[role])
    plan = make_plan(str(scenario_path), transport="tcp", populations=counts["consumer"], fleets=counts["generator"],
                     out_dir=str(Path(out_dir).resolve()) if out_dir else "", run_id=run_id and f"scowl{run_id}")
    n_storage = sum(h.roles.get("storage", 0) for h in deployment.hosts)
    if n_storage != len(plan.storage_fleets):
        hubs = sum(len(f.rows) for f in plan.storage_fleets)
        raise ConfigError(path, "hosts[*].roles.storage",
                          f"{len(plan.storage_fleets)} storage actor(s) in all: the scenario ({scenario_path}) has {hubs} EV hubs "
                          f"([storage] hubs; 0 runs the day without them)", n_storage)
    ports = fixed_ports(deployment)
    fixed_host = {r: deployment.hosts_with_role(r)[0] for r in ("bootstrap", "broker", "metronome")}
    plan.bootstrap = f"tcp://{fixed_host['bootstrap'].address}:{ports['bootstrap']}"
    plan.broker = f"tcp://{fixed_host['broker'].address}:{ports['broker']}"
    plan.metronome = f"tcp://{fixed_host['metronome'].address}:{ports['metronome']}"
    plan.metronome_pub = f"tcp://{fixed_host['metronome'].address}:{ports['metronome_pub']}"
    hosts = {r: h.name for r, h in fixed_host.items()}
    hosts.update(_deal(deployment, "tracker", list(plan.trackers)))
    hosts.update(_deal(deployment, "generator", [f.name for f in plan.generator_fleets]))
    hosts.update(_deal(deployment, "storage", [f.name for f in plan.storage_fleets]))
    hosts.update(_deal(deployment, "consumer", [p.name for p in plan.populations]))
    plan.hosts = hosts
    plan.host_ips = {h.name: h.address for h in deployment.hosts}
    plan.fleets = [replace(f, host=hosts[f.name]) for f in plan.fleets]
    plan.populations = [replace(p, host=hosts[p.name]) for p in plan.populations]
    plan.transport_faults = False
    if remote_scenario is not None:
        plan.scenario_path = remote_scenario
    if remote_out_dir is not None:
        plan.out_dir = remote_out_dir
        if plan.keys_dir:  # where each host finds its keys (scowl.security.deploy puts them there)
            plan.keys_dir = f"{remote_out_dir}/keys"
    return plan


def _deal(deployment: Deployment, role: str, names: list[str]) -> dict[str, str]:
    """Actor name -> host: exact names first, then glob patterns, then by count in host order."""
    want = {h.name: h.roles.get(role, 0) for h in deployment.hosts}
    left = list(names)
    out: dict[str, str] = {}
    key = {r: k for k, r in PEER_LISTS.items()}.get(role, role)

    def give(h: Host, name: str) -> None:
        out[name] = h.name
        left.remove(name)
        want[h.name] -= 1

    for i, h in enumerate(deployment.hosts):
        for pat in h.peers.get(role, ()):
            if not any(c in pat for c in "*?["):
                if pat not in left:
                    raise ConfigError(deployment.path, f"hosts[{i}] ({h.name}).{key}",
                                      f"{role} names of this run's plan ({', '.join(names)})", pat)
                give(h, pat)
    for h in deployment.hosts:
        for pat in h.peers.get(role, ()):
            for name in [n for n in left if fnmatch.fnmatchcase(n, pat)]:
                if want[h.name] > 0:
                    give(h, name)
    for h in deployment.hosts:
        while want[h.name] > 0 and left:
            give(h, left[0])
    short = [h for h in deployment.hosts if want[h.name] > 0]
    if left or short:  # pragma: no cover - counts were checked against the plan
        raise ConfigError(deployment.path, f"hosts[*].roles.{role}", f"{len(names)} {role} actors dealt to hosts",
                          f"left {left}, hosts short {[h.name for h in short]}")
    return out


def grid_processes(deployment: Deployment, plan) -> list[GridProcess]:
    """One `scowl-node` process per role per host, in start order (fixed services first); with
    `layout = "host"` one per host, all its actors (role: their roles joined by '+'),
    the hosts with a fixed service first."""
    if deployment.layout == "host":
        return _host_processes(deployment, plan)
    out = []
    for phase in START_PHASES:
        for role in phase:
            for h in deployment.hosts:
                names: tuple[str, ...]
                if role in ("bootstrap", "broker", "metronome"):
                    names = (role,) if plan.hosts.get(role) == h.name else ()
                else:
                    names = tuple(n for n in _names_of(plan, role) if plan.hosts.get(n) == h.name)
                if names:
                    out.append(GridProcess(h.name, role, names))
    return out


def _host_processes(deployment: Deployment, plan) -> list[GridProcess]:
    out = []
    for h in deployment.hosts:
        names, roles = [], []
        for role in GRID_ROLES:
            mine = [n for n in ((role,) if role in START_PHASES[0] else _names_of(plan, role)) if plan.hosts.get(n) == h.name]
            names += mine
            roles += [role] if mine else []
        if names:
            out.append(GridProcess(h.name, "+".join(roles), tuple(names)))
    return sorted(out, key=lambda p: p.phase)  # stable: description order within a phase


def _names_of(plan, role: str) -> list[str]:
    if role == "tracker":
        return list(plan.trackers)
    if role == "generator":
        return [f.name for f in plan.generator_fleets]
    if role == "storage":
        return [f.name for f in plan.storage_fleets]
    return [p.name for p in plan.populations]
