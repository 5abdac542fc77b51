"""The run plan: which actors a run has, their names, shards and the fixed addresses.

Every actor gets the same plan, so each knows whom to expect each tick without discovery
races; only the bootstrap, broker and metronome need addresses known in advance (every other
actor registers its bound addresses with the broker's directory). The plan is JSON so that
`scowl-node` processes on other hosts read the same one."""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from scowl.balance.sharding import split_by_weight
from scowl.config import Scenario, load_scenario
from scowl.errors import ConfigError
from scowl.membership import new_token
from scowl.model import build_generators, consumer_counts
from scowl.streams import StreamRepo

TRANSPORTS = ("inproc", "ipc", "tcp")


@dataclass
class PopulationShard:
    name: str
    start: int  # global consumer index range [start, stop)
    stop: int
    fixed_start: int  # fixed-load blocks [fixed_start, fixed_stop) (global index n_consumers + k)
    fixed_stop: int
    host: str = "local"


@dataclass
class FleetShard:
    """Generators of one fleet actor; for a storage fleet (kind "storage") rows are its EV hubs."""

    name: str
    rows: list[int]  # generator rows of the scenario's fleet (storage: hub numbers)
    host: str = "local"
    kind: str = "generator"  # "generator" or "storage"


@dataclass
class RunPlan:
    scenario_path: str
    transport: str
    bootstrap: str
    broker: str
    metronome: str
    metronome_pub: str
    trackers: list[str]
    fleets: list[FleetShard]
    populations: list[PopulationShard]
    n_consumers: int
    n_fixed_blocks: int
    fixed_block_mw: float
    out_dir: str = ""
    hosts: dict[str, str] = field(default_factory=dict)  # actor name -> host (multi-host runs)
    host_ips: dict[str, str] = field(default_factory=dict)  # host -> IPv4 its actors bind on
    run_id: str = ""
    transport_faults: bool = True  # apply the scenario's partitions/latency in the actors' send path
    fault_gate: str = ""  # multi-host runs: a REP endpoint the metronome asks before each tick (faults applied in the kernel)
    scenario_origin: str = ""  # the scenario file the run was started from (scenario_path is the run's stored copy)
    tick_deadline_s: float = 120.0  # lockstep: a peer silent this long on one tick is lost (the metronome goes on)
    keys_dir: str = ""  # CURVE keys and the enrolment table of the run's peers; "" = security off (or inproc)
    guards_off: list[str] = field(default_factory=list)  # TESTS ONLY: guards switched off (scowl.security.GUARDS)
    layout: list[list[str]] = field(default_factory=list)  # one-host --processes runs: each scowl-node's actors ([] = one each)

    @property
    def security_mode(self) -> str:
        """"curve" (keys on every link), "off" (ipc/tcp without keys: --insecure), or "inproc"
        (one process: no wire, no keys needed)."""
        if self.transport == "inproc":
            return "inproc"
        return "curve" if self.keys_dir else "off"
    join_token: str = ""  # peers the plan does not name join with it (scowl.membership); "" = no joins

    def join_info(self) -> dict:
        """What a peer outside the plan needs to join the running grid (RUN/join.json). With
        CURVE on, the public keys of the run's peers too (`keys`: name -> Z85): a joiner pins
        the key of every peer it connects to, as every planned peer does."""
        info: dict = {"bootstrap": self.bootstrap, "token": self.join_token, "protocol": "docs/protocol.md, section 5"}
        if self.keys_dir and (Path(self.keys_dir) / "enrolment.json").is_file():
            table = json.loads((Path(self.keys_dir) / "enrolment.json").read_text())
            info["keys"] = {name: entry["public"] for name, entry in sorted(table.items())}
        return info

    @property
    def n_global(self) -> int:
        """Size of the global consumer index space: consumers, then fixed-load blocks."""
        return self.n_consumers + self.n_fixed_blocks

    @property
    def generator_fleets(self) -> list[FleetShard]:
        return [f for f in self.fleets if f.kind == "generator"]

    @property
    def storage_fleets(self) -> list[FleetShard]:
        """EV hub actors: generators of kind STORAGE to the trackers, so they sit in plan.fleets."""
        return [f for f in self.fleets if f.kind == "storage"]

    def names(self) -> list[str]:
        return [*self.trackers, *(f.name for f in self.fleets), *(p.name for p in self.populations)]

    def processes(self) -> dict[str, list[str]]:
        """Each `scowl-node` process of a one-host `--processes` run (name -> its actors), in
        start order: the plan's layout (scowl.run.layout), or one process per actor."""
        groups = self.layout or [[n] for n in ("bootstrap", "broker", "metronome", *self.names())]
        return dict(zip(group_names(groups), groups, strict=True))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str, source: str = "<plan>") -> RunPlan:
        try:
            d = json.loads(text)
            d["fleets"] = [FleetShard(**f) for f in d["fleets"]]
            d["populations"] = [PopulationShard(**p) for p in d["populations"]]
            return cls(**d)
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ConfigError(source, "plan", "a run plan written by `scowl run`", f"{type(exc).__name__}: {exc}") from None

    def save(self, path: Path, announce: bool = False) -> None:
        """The plan, and beside it join.json (the bootstrap's address and the join token);
        `announce`: say on the operator's terminal how a peer joins (`scowl run` does)."""
        from scowl.statelog import atomic_write_text

        atomic_write_text(path, self.to_json())
        if self.join_token:
            join = Path(path).with_name("join.json")
            atomic_write_text(join, json.dumps(self.join_info(), indent=1))
            join.chmod(0o600)  # the token admits peers: readable by the operator only
            if announce and self.transport != "inproc":
                print(f"join: bootstrap={self.bootstrap} token={self.join_token} (also in {join})", file=sys.stderr, flush=True)

    @classmethod
    def load(cls, path) -> RunPlan:
        return cls.from_json(Path(path).read_text(), str(path))

    def scenario(self) -> Scenario:
        return load_scenario(self.scenario_path)


#: A fixed-load block is at most this share of the smallest generator (and at most 1 MW), so
#: every generator with a little room can carry one: at small scales a 1 MW block is bigger
#: than most units' headroom and would starve all day for its size alone.
BLOCK_SHARE_OF_SMALLEST_UNIT = 0.05


def fixed_load_blocks(scenario: Scenario, smallest_unit_mw: float = float("inf")) -> tuple[int, float]:
    """Industrial and transportation load as equal constant blocks (consumers without a
    population model), small enough that any generator can carry one: about 1 MW each, or
    BLOCK_SHARE_OF_SMALLEST_UNIT of the smallest generator where that is less."""
    from scowl.model import fixed_loads_mw

    total = sum(fixed_loads_mw(scenario).values())
    if total <= 0:
        return 0, 0.0
    size = min(1.0, BLOCK_SHARE_OF_SMALLEST_UNIT * smallest_unit_mw)
    n = max(1, int(np.ceil(total / size)))
    return n, total / n


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _address(transport: str, name: str, run_id: str, ipc_dir: str) -> str:
    if transport == "inproc":
        return f"inproc://{run_id}-{name}"
    if transport == "ipc":
        return f"ipc://{ipc_dir}/{name}"
    return f"tcp://127.0.0.1:{_free_tcp_port()}"


def make_plan(scenario_path: str, *, transport: str = "inproc", populations: int | None = None, fleets: int = 1,
              out_dir: str = "", run_id: str | None = None, secure: bool | None = None) -> RunPlan:
    """The plan for running a scenario on this machine. `secure` (default: the scenario's
    [security] enabled) gives ipc and tcp runs a key directory, OUT_DIR/keys; the keys
    themselves are made by scowl.security.enrol_plan."""
    if transport not in TRANSPORTS:
        raise ConfigError("<command line>", "transport", f"one of {', '.join(TRANSPORTS)}", transport)
    if populations is not None and populations < 1:
        raise ConfigError("<command line>", "populations", "an integer >= 1", populations)
    if fleets < 1:
        raise ConfigError("<command line>", "fleets", "an integer >= 1", fleets)
    scenario = load_scenario(scenario_path)
    run_id = run_id or f"scowl{os.getpid()}"
    ipc_dir = tempfile.mkdtemp(prefix="scowl-ipc-") if transport == "ipc" else ""
    n_res, n_com = consumer_counts(scenario)
    n = n_res + n_com
    gens = build_generators(scenario, StreamRepo(scenario.seed))
    n_gen = len(gens.nameplate_mw)
    n_blocks, block_mw = fixed_load_blocks(scenario, float(gens.nameplate_mw.min()) if n_gen else float("inf"))
    k = scenario.trackers.count
    p = populations or max(1, min(k, 1 + n // 2_000_000))
    runs = split_by_weight(n, [1] * p)
    block_runs = split_by_weight(n_blocks, [1] * p)
    pops, start, bstart = [], 0, 0
    for i in range(p):
        pops.append(PopulationShard(f"population-{i}", start, start + runs[i], bstart, bstart + block_runs[i]))
        start += runs[i]
        bstart += block_runs[i]
    fleet_runs = split_by_weight(n_gen, [1] * fleets)
    fl, g = [], 0
    for i in range(fleets):
        fl.append(FleetShard(f"fleet-{i}", list(range(g, g + fleet_runs[i]))))
        g += fleet_runs[i]
    if storage_hubs(scenario):
        fl.append(FleetShard("storage-0", list(range(scenario.storage.hubs)), kind="storage"))
    return RunPlan(
        scenario_path=str(Path(scenario_path).resolve()),
        transport=transport,
        bootstrap=_address(transport, "bootstrap", run_id, ipc_dir),
        broker=_address(transport, "broker", run_id, ipc_dir),
        metronome=_address(transport, "metronome", run_id, ipc_dir),
        metronome_pub=_address(transport, "metronome-pub", run_id, ipc_dir),
        trackers=[f"tracker-{i}" for i in range(k)],
        fleets=fl,
        populations=pops,
        n_consumers=n,
        n_fixed_blocks=n_blocks,
        fixed_block_mw=block_mw,
        out_dir=out_dir,
        run_id=run_id,
        keys_dir=_keys_dir(transport, out_dir, scenario.security.enabled if secure is None else secure),
        join_token=new_token(),
    )


def _keys_dir(transport: str, out_dir: str, secure: bool) -> str:
    if transport == "inproc" or not secure:
        return ""
    return str(Path(out_dir or tempfile.mkdtemp(prefix="scowl-keys-")).resolve() / "keys")


def storage_hubs(scenario: Scenario) -> int:
    """EV hubs of the run: none when the scenario has no EVs (mix 2022) or asks for none."""
    from scowl.model import ev_share

    return scenario.storage.hubs if ev_share(scenario) > 0 else 0


def bind_address(plan: RunPlan, name: str) -> str:
    """Where an actor without a fixed address binds (the broker's directory tells peers):
    its host's address on a multi-host run, any free port on loopback otherwise."""
    if plan.transport == "inproc":
        return f"inproc://{plan.run_id}-{name}"
    if plan.transport == "ipc":
        return "ipc://" + str(Path(plan.bootstrap[len("ipc://"):]).parent) + f"/{name}"
    base = name[: -len("-pub")] if name.endswith("-pub") else name
    ip = plan.host_ips.get(plan.hosts.get(base, ""), "127.0.0.1")
    return f"tcp://{ip}:0"


def group_names(groups: list[list[str]]) -> list[str]:
    """The process name of each group of actors: its actor's name when alone, else node-<i>
    (counted over the groups of several actors)."""
    out, k = [], 0
    for g in groups:
        if len(g) == 1:
            out.append(g[0])
        else:
            out.append(f"node-{k}")
            k += 1
    return out


def role_of(plan: RunPlan, name: str) -> str:
    """The role of the actor `name` in this plan."""
    if name in ("bootstrap", "broker", "metronome"):
        return name
    if name in plan.trackers:
        return "tracker"
    for f in plan.fleets:
        if f.name == name:
            return f.kind
    if any(p.name == name for p in plan.populations):
        return "consumer"
    raise ValueError(f"{name!r} is not an actor of this plan")
