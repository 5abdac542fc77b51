"""Units on their own: what a dispatchable unit does in a tick in which its tracker's setpoint
did not come (a partition: no tracker reaches its fleet), as pure functions over arrays (MW).

Without a dispatcher a unit still runs its local control, as a real one does: a gas unit's
governor and an EV hub's inverter pick up the load actually on the unit's tree, within what
the unit can reach this tick: a gas unit within its ramp from its last setpoint, its nameplate
and what it has; a hub up to its available discharge (its EVs' power and energy limits above
their sleep threshold: scowl.model.hubs.hub_limits_mw). So the setpoint the cut froze neither
hides the unit's reserve nor makes it warn its tree (capacity_low) while that reserve lasts;
a load past what it can reach still blacks it out. Only its tracker lowers a setpoint: on its
own a unit's setpoint rises to its load and stays there; a charging hub with nothing drawn
from it keeps charging. Wind, sun and fixed units give what they have in any case."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["gas_reach_mw", "on_own_mw"]


def gas_reach_mw(setpoint_mw: ArrayLike, ramp_mw: ArrayLike, nameplate_mw: ArrayLike, available_mw: ArrayLike) -> NDArray[np.float64]:
    """What a ramp-limited unit can give this tick from its last setpoint: setpoint + ramp, at
    most its nameplate and what it has (never less than its setpoint, within what it has)."""
    sp, avail = np.asarray(setpoint_mw, dtype=np.float64), np.asarray(available_mw, dtype=np.float64)
    up = np.minimum(np.minimum(sp + np.asarray(ramp_mw, dtype=np.float64), nameplate_mw), avail)
    reach: NDArray[np.float64] = np.maximum(up, np.minimum(sp, avail))
    return reach


def on_own_mw(setpoint_mw: ArrayLike, output_mw: ArrayLike, load_mw: ArrayLike, reach_mw: ArrayLike,
              cut: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(setpoint, output) at the verdict: the units under `cut` offer their tree all they can
    reach (`reach_mw`: their output for the blackout and capacity_low tests) and raise their
    setpoint to the load on them, within that reach; a unit with a charging (negative) setpoint
    and nothing drawn from it keeps it (and offers nothing: a charging hub). The others keep
    their setpoint and output."""
    sp, out, load, reach = (np.asarray(a, dtype=np.float64) for a in (setpoint_mw, output_mw, load_mw, reach_mw))
    cut = np.asarray(cut, dtype=bool)
    if (load < 0).any() or (reach < 0).any():
        raise ValueError("on_own_mw: expected load_mw >= 0 and reach_mw >= 0 for every unit")
    follow = cut & (load > 0)
    setpoint: NDArray[np.float64] = np.where(follow, np.maximum(sp, np.minimum(load, reach)), sp)
    output: NDArray[np.float64] = np.where(cut & (setpoint >= 0), reach, out)
    return setpoint, output
