"""Weather as correlated random processes: AR(1) (a sampled Ornstein-Uhlenbeck process), never
white noise. A shared statewide component plus each generator's own component, so nearby units
move together without moving identically.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ar1_path", "ar1_phi", "blended_paths"]


def ar1_phi(tick_seconds: float, correlation_seconds: float) -> float:
    """AR(1) coefficient for a process with the given correlation time: exp(-dt / tau)."""
    return float(np.exp(-tick_seconds / correlation_seconds))


def ar1_path(rng: np.random.Generator, steps: int, phi: float) -> np.ndarray:
    """A zero-mean, unit-variance stationary AR(1) path of `steps` values (float64)."""
    eps = rng.standard_normal(steps)
    out = np.empty(steps)
    x = eps[0]
    k = np.sqrt(1.0 - phi * phi)
    for i in range(steps):
        if i:
            x = phi * x + k * eps[i]
        out[i] = x
    return out


def blended_paths(shared: np.ndarray, own: list[np.ndarray], shared_weight: float) -> np.ndarray:
    """(n, steps) unit-variance paths: shared_weight * shared + sqrt(1 - w^2) * own[i]."""
    w = shared_weight
    return w * shared[None, :] + np.sqrt(1.0 - w * w) * np.stack(own) if own else np.zeros((0, len(shared)))
