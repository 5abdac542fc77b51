"""Multi-host deployment: the deployment description, emulated hosts as Linux network
namespaces with real network faults, and the Emulab command plan.

The grid's day on namespace hosts: `run_grid(load_deployment(...), scenario=..., run_dir=...)`
(scowl.deploy.grid_run), read per host with scowl.deploy.host_figures. The pieces under it:
`NetnsCluster` (hosts, processes, `.faults`), `load_network_schedule`/`parse_network` and
`ScheduleRunner` (the scenario's schedule, tick by tick), `grid_plan` (actors to hosts), or
`build_plan` (scowl.deploy.plan) for Emulab.
"""

from scowl.deploy.description import Deployment, Host, load_deployment, parse_deployment
from scowl.deploy.faults import FaultError, Faults, RecordingFaults, ScheduleRunner
from scowl.deploy.netns import NetnsCluster, NetnsError, cleanup, unavailable_reason
from scowl.deploy.schedule import NetworkSchedule, Partition, load_network_schedule, parse_network, select_hosts

__all__ = [
    "Deployment", "Host", "load_deployment", "parse_deployment",
    "Faults", "FaultError", "RecordingFaults", "ScheduleRunner",
    "NetnsCluster", "NetnsError", "cleanup", "unavailable_reason",
    "NetworkSchedule", "Partition", "load_network_schedule", "parse_network", "select_hosts",
]
