"""Great-circle distances on a spherical Earth, in metres.

Points are also mapped to 3-D unit vectors: the straight-line (chord) distance between two unit vectors is
a monotonic function of their great-circle distance, so Euclidean nearest-neighbour structures on unit
vectors answer great-circle queries exactly, at the poles and across the antimeridian too.

>>> round(float(haversine_m(120.16, 30.25, 120.17, 30.25)[()]), 1)
960.5
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)

Floats = NDArray[np.float64]


def haversine_m(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> Floats:
    """Great-circle distance in metres between points given in degrees; numpy broadcasting applies."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    distance_m: Floats = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))  # numpy's ufuncs type as Any
    return distance_m


def unit_vectors(lon: ArrayLike, lat: ArrayLike) -> Floats:
    """(n, 3) array of unit vectors on the sphere for longitudes/latitudes in degrees."""
    lon_r = np.radians(np.atleast_1d(np.asarray(lon, dtype=np.float64)))
    lat_r = np.radians(np.atleast_1d(np.asarray(lat, dtype=np.float64)))
    cos_lat = np.cos(lat_r)
    return np.column_stack((cos_lat * np.cos(lon_r), cos_lat * np.sin(lon_r), np.sin(lat_r)))


def chord_from_m(distance_m: ArrayLike) -> Floats:
    """Chord length between unit vectors that are ``distance_m`` apart along the sphere."""
    angle = np.minimum(np.asarray(distance_m, dtype=np.float64) / EARTH_RADIUS_M, np.pi)
    return 2.0 * np.sin(angle / 2.0)


def m_from_chord(chord: ArrayLike) -> Floats:
    """Great-circle distance in metres for a chord length between unit vectors (inverse of chord_from_m)."""
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.clip(np.asarray(chord, dtype=np.float64) / 2.0, 0.0, 1.0))
