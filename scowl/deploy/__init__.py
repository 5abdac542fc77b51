"""Multi-host deployment: the deployment description, emulated hosts as Linux network
namespaces with real network faults, and the Emulab command plan.

The run driver needs: `load_deployment`, `NetnsCluster` (hosts, processes, `.faults`),
`load_network_schedule`/`parse_network` and `ScheduleRunner` (apply the scenario's schedule on
each tick), or `build_plan` for Emulab.
"""

from scowl.deploy.description import Deployment, Host, load_deployment, parse_deployment
from scowl.deploy.faults import Faults, FaultError, RecordingFaults, ScheduleRunner
from scowl.deploy.netns import NetnsCluster, NetnsError, cleanup, unavailable_reason
from scowl.deploy.schedule import NetworkSchedule, Partition, load_network_schedule, parse_network, select_hosts

__all__ = [
    "Deployment", "Host", "load_deployment", "parse_deployment",
    "Faults", "FaultError", "RecordingFaults", "ScheduleRunner",
    "NetnsCluster", "NetnsError", "cleanup", "unavailable_reason",
    "NetworkSchedule", "Partition", "load_network_schedule", "parse_network", "select_hosts",
]
