"""The sun over New York: solar elevation (Spencer 1971 declination and equation of time, NOAA
hour angle) and a clear-sky irradiance (Haurwitz 1945). No pvlib: a few lines of numpy."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["NY_LAT", "NY_LON", "clear_sky_ghi", "pv_fraction", "solar_elevation"]

#: Centre of New York State used for the sun's path (degrees north, degrees east).
NY_LAT, NY_LON = 42.7, -75.5


def solar_elevation(day_of_year: ArrayLike, utc_hour: ArrayLike, lat: float = NY_LAT, lon: float = NY_LON) -> NDArray[np.float64]:
    """Solar elevation in degrees (negative below the horizon) for arrays of day and UTC hour."""
    doy = np.asarray(day_of_year, dtype=np.float64)
    hour = np.asarray(utc_hour, dtype=np.float64)
    g = 2 * np.pi / 365 * (doy - 1 + (hour - 12) / 24)
    decl = (0.006918 - 0.399912 * np.cos(g) + 0.070257 * np.sin(g) - 0.006758 * np.cos(2 * g)
            + 0.000907 * np.sin(2 * g) - 0.002697 * np.cos(3 * g) + 0.00148 * np.sin(3 * g))
    eot = 229.18 * (0.000075 + 0.001868 * np.cos(g) - 0.032077 * np.sin(g)
                    - 0.014615 * np.cos(2 * g) - 0.040849 * np.sin(2 * g))
    true_solar_min = hour * 60 + eot + 4 * lon
    ha = np.radians(true_solar_min / 4 - 180)
    phi = np.radians(lat)
    sin_el = np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(ha)
    elevation: NDArray[np.float64] = np.degrees(np.arcsin(np.clip(sin_el, -1, 1)))
    return elevation


def clear_sky_ghi(elevation_deg: ArrayLike) -> NDArray[np.float64]:
    """Clear-sky global horizontal irradiance, W/m^2 (Haurwitz): 1098 cos z exp(-0.057 / cos z)."""
    cz = np.sin(np.radians(np.asarray(elevation_deg, dtype=np.float64)))
    out = np.zeros_like(cz)
    up = cz > 0
    out[up] = 1098.0 * cz[up] * np.exp(-0.057 / cz[up])
    return out


def pv_fraction(elevation_deg: ArrayLike, performance: float = 0.80) -> NDArray[np.float64]:
    """Clear-sky PV output as a fraction of nameplate: performance x GHI / 1000 W/m^2 (STC),
    capped at 1; `performance` is the notebook's 80 % of capacity. Zero when the sun is down."""
    return np.minimum(1.0, performance * clear_sky_ghi(elevation_deg) / 1000.0)
