"""The deployment description: which hosts exist, where they are, and which roles and peers
each one runs. One TOML file shared by `scowl deploy netns`, `deploy/emulab.sh` and the run
driver; every error names the file and the key.

    [deployment]
    name = "hosts-3"
    target = "netns"                 # "netns" (namespaces on this machine) or "emulab" (ssh)
    bootstrap_port = 5555            # where the bootstrap role listens on its host
    command = "scowl-node --role {role} --deployment {plan} --name {names}"   # the default: the grid's roles
    layout = "role"                  # one scowl-node per role per host (default); "host": one per host,
                                     # all its actors in one process (command: scowl-node --deployment {plan} --name {names})

    [[hosts]]
    name = "h1"
    address = "10.200.0.1"           # netns: inside 10.200.0.0/24; emulab: the experiment-LAN IPv4
    ssh = "node1.exp.proj.emulab.net"   # emulab only: where to log in
    roles = { bootstrap = 1, metronome = 1, broker = 1, tracker = 2 }
    trackers = ["tracker-0", "tracker-1"]   # peer names (or glob patterns) living here
    regions = [0, 1]                        # regions whose peers live here (for region:<n> selectors)
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scowl.errors import ConfigError

ROLES = ("bootstrap", "broker", "tracker", "generator", "consumer", "storage", "metronome")
PEER_LISTS = {"trackers": "tracker", "generators": "generator", "consumers": "consumer"}
TARGETS = ("netns", "emulab")
NETNS_SUBNET = ipaddress.ip_network("10.200.0.0/24")
DEFAULT_COMMAND = "scowl-node --role {role} --deployment {plan} --name {names}"
HOST_COMMAND = "scowl-node --deployment {plan} --name {names}"  # layout = "host": the actors of any roles
LAYOUTS = ("role", "host")
COMMAND_FIELDS = ("role", "host", "address", "scenario", "deployment", "run_dir", "count", "python", "plan", "names")
_HOST_NAME = re.compile(r"^[a-z][a-z0-9]{0,7}$")
_SSH_NAME = re.compile(r"^[A-Za-z0-9_.@-]+$")
_IFACE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")


@dataclass(frozen=True)
class Host:
    name: str
    address: str
    roles: dict[str, int]
    peers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # role -> names or glob patterns
    regions: tuple[int, ...] = ()
    ssh: str | None = None
    iface: str | None = None

    def runs(self, role: str) -> bool:
        return self.roles.get(role, 0) > 0

    def holds_peer(self, peer: str) -> bool:
        return any(fnmatch.fnmatchcase(peer, pat) for pats in self.peers.values() for pat in pats)


@dataclass(frozen=True)
class Deployment:
    path: str
    name: str
    target: str
    hosts: tuple[Host, ...]
    bootstrap_port: int = 5555
    command: str = DEFAULT_COMMAND
    layout: str = "role"  # "role": one scowl-node per role per host; "host": one per host (all its actors)

    def host(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        raise ConfigError(self.path, "hosts", f"a host named one of {self.host_names()}", name)

    def host_names(self) -> list[str]:
        return [h.name for h in self.hosts]

    def hosts_with_role(self, role: str) -> list[Host]:
        return [h for h in self.hosts if h.runs(role)]

    def bootstrap_endpoint(self) -> str:
        """The tcp endpoint every role dials first (the first host that runs `bootstrap`)."""
        return f"tcp://{self.hosts_with_role('bootstrap')[0].address}:{self.bootstrap_port}"

    def processes(self) -> list[tuple[Host, str, int]]:
        """(host, role, count): one process per role per host, in description order; the process
        reads the description to learn which of its role's peers live on its host."""
        return [(h, r, n) for h in self.hosts for r in ROLES if (n := h.roles.get(r, 0)) > 0]


def load_deployment(path: str | Path) -> Deployment:
    """Read and validate a deployment description; raises ConfigError naming file and key."""
    path = str(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(path, "(file)", "an existing deployment description", "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "(syntax)", "valid TOML", str(exc)) from None
    return parse_deployment(data, path)


def parse_deployment(data: dict[str, Any], path: str = "<deployment>") -> Deployment:
    dep = data.get("deployment", {})
    _expect(isinstance(dep, dict), path, "deployment", "a table", dep)
    unknown = set(data) - {"deployment", "hosts"}
    _expect(not unknown, path, sorted(unknown)[0] if unknown else "", "only [deployment] and [[hosts]]", "unknown table")
    _no_unknown(dep, {"name", "target", "bootstrap_port", "command", "layout"}, path, "deployment")
    name = dep.get("name", Path(path).stem)
    _expect(isinstance(name, str) and name, path, "deployment.name", "a non-empty string", name)
    target = dep.get("target", "netns")
    _expect(target in TARGETS, path, "deployment.target", f"one of {list(TARGETS)}", target)
    port = dep.get("bootstrap_port", 5555)
    _expect(isinstance(port, int) and 1024 <= port <= 65535, path, "deployment.bootstrap_port",
            "an integer port in 1024..65535", port)
    layout = dep.get("layout", "role")
    _expect(layout in LAYOUTS, path, "deployment.layout", f"one of {list(LAYOUTS)}", layout)
    command = dep.get("command", HOST_COMMAND if layout == "host" else DEFAULT_COMMAND)
    _check_command(command, path, "deployment.command")

    raw_hosts = data.get("hosts")
    _expect(isinstance(raw_hosts, list) and raw_hosts, path, "hosts", "a non-empty array of [[hosts]] tables", raw_hosts)
    assert isinstance(raw_hosts, list)  # checked just above
    hosts = tuple(_parse_host(h, i, target, path) for i, h in enumerate(raw_hosts))
    _check_unique(hosts, path)
    totals = {r: sum(h.roles.get(r, 0) for h in hosts) for r in ROLES}
    _expect(totals["bootstrap"] >= 1, path, "hosts[*].roles.bootstrap", "at least one host with bootstrap = 1", 0)
    _expect(totals["metronome"] == 1, path, "hosts[*].roles.metronome", "exactly one metronome in the deployment",
            totals["metronome"])
    return Deployment(path=path, name=name, target=target, hosts=hosts, bootstrap_port=port, command=command,
                      layout=layout)


def _parse_host(h: Any, i: int, target: str, path: str) -> Host:
    key = f"hosts[{i}]"
    _expect(isinstance(h, dict), path, key, "a table", h)
    _no_unknown(h, {"name", "address", "ssh", "iface", "roles", "regions", *PEER_LISTS}, path, key)
    name = h.get("name")
    _expect(isinstance(name, str) and _HOST_NAME.match(name), path, f"{key}.name",
            "a short name: a lowercase letter then up to 7 lowercase letters or digits (e.g. 'h1')", name)
    key = f"hosts[{i}] ({name})"
    address = h.get("address")
    try:
        ip = ipaddress.IPv4Address(address)
    except (ValueError, TypeError):
        raise ConfigError(path, f"{key}.address", "an IPv4 address", address) from None
    if target == "netns":
        _expect(ip in NETNS_SUBNET and ip not in (NETNS_SUBNET.network_address, NETNS_SUBNET.broadcast_address),
                path, f"{key}.address", f"a host address inside {NETNS_SUBNET}", address)
    ssh = h.get("ssh")
    if target == "emulab":
        _expect(isinstance(ssh, str) and _SSH_NAME.match(ssh), path, f"{key}.ssh",
                "the host name to ssh to (e.g. 'node1.exp.proj.emulab.net')", ssh)
    else:
        _expect(ssh is None, path, f"{key}.ssh", "no ssh name for target 'netns'", ssh)
    iface = h.get("iface")
    _expect(iface is None or (isinstance(iface, str) and _IFACE.match(iface)), path, f"{key}.iface",
            "an interface name (or leave it out to find it by address)", iface)

    roles_raw = h.get("roles", {})
    _expect(isinstance(roles_raw, dict), path, f"{key}.roles", "a table of role = count", roles_raw)
    roles: dict[str, int] = {}
    for role, n in roles_raw.items():
        _expect(role in ROLES, path, f"{key}.roles.{role}", f"a role among {list(ROLES)}", role)
        _expect(isinstance(n, int) and not isinstance(n, bool) and n >= 0, path, f"{key}.roles.{role}",
                "a count >= 0", n)
        roles[role] = n
    for role in ("bootstrap", "metronome"):
        _expect(roles.get(role, 0) <= 1, path, f"{key}.roles.{role}", "0 or 1", roles.get(role))

    peers: dict[str, tuple[str, ...]] = {}
    for list_key, role in PEER_LISTS.items():
        if list_key not in h:
            continue
        names = h[list_key]
        _expect(isinstance(names, list) and all(isinstance(n, str) and n for n in names), path,
                f"{key}.{list_key}", "an array of peer names or glob patterns", names)
        globbed = any(c in n for n in names for c in "*?[")
        if role not in roles:
            _expect(not globbed, path, f"{key}.roles.{role}", f"a count, since {list_key} uses patterns", None)
            roles[role] = len(names)
        elif not globbed:
            _expect(roles[role] == len(names), path, f"{key}.{list_key}",
                    f"{roles[role]} names (roles.{role} = {roles[role]})", len(names))
        peers[role] = tuple(names)
    _expect(any(roles.values()), path, f"{key}.roles", "at least one role with a count > 0", roles_raw)

    regions = h.get("regions", [])
    _expect(isinstance(regions, list) and all(isinstance(r, int) and not isinstance(r, bool) and r >= 0
                                              for r in regions),
            path, f"{key}.regions", "an array of region numbers >= 0", regions)
    return Host(name=name, address=str(ip), roles=roles, peers=peers, regions=tuple(regions), ssh=ssh, iface=iface)


def _check_unique(hosts: tuple[Host, ...], path: str) -> None:
    seen: dict[tuple[str, str], str] = {}
    for i, h in enumerate(hosts):
        for what, value in (("name", h.name), ("address", h.address)):
            _expect((what, value) not in seen, path, f"hosts[{i}].{what}",
                    f"a {what} not already used by host {seen.get((what, value))!r}", value)
            seen[(what, value)] = h.name
    exact: dict[str, str] = {}
    for i, h in enumerate(hosts):
        for role, names in h.peers.items():
            for n in names:
                if any(c in n for c in "*?["):
                    continue
                _expect(n not in exact, path, f"hosts[{i}] ({h.name}).{role}s",
                        f"peer names unique across hosts ({n!r} is already on {exact.get(n)!r})", n)
                exact[n] = h.name


def _check_command(command: Any, path: str, key: str) -> None:
    _expect(isinstance(command, str) and command.strip(), path, key, "a command template string", command)
    for name in re.findall(r"{(\w*)[^}]*}", command):
        _expect(name in COMMAND_FIELDS, path, key, f"placeholders among {list(COMMAND_FIELDS)}", "{" + name + "}")


def _no_unknown(table: dict, allowed: set[str], path: str, key: str) -> None:
    extra = sorted(set(table) - allowed)
    _expect(not extra, path, f"{key}.{extra[0]}" if extra else key, f"only keys {sorted(allowed)}", "unknown key")


def _expect(ok: object, path: str, key: str, expected: str, found: Any) -> None:
    if not ok:
        raise ConfigError(path, key, expected, found)
