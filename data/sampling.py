"""Random draws shared by the synthetic generators: weighted picks and gaussian clusters clipped to a polygon.

Every function takes the ``numpy.random.Generator`` it draws from, so a seeded generator gives the same
output; the number and order of draws is part of that contract (changing it changes the committed files).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.crs import gcj02_to_wgs84

KM_PER_DEG_LAT_MEAN = 111.32
"""Kilometres per degree used by ``sample_cluster`` to turn its sd (km) into degrees."""


def pick(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    """One item, uniformly.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws one integer.
    items : sequence
        Non-empty.

    Returns
    -------
    Any
        One of ``items``.

    Examples
    --------
    >>> pick(np.random.default_rng(0), ("a", "b", "c")) in ("a", "b", "c")
    True
    """
    return items[int(rng.integers(len(items)))]


def pick_weighted(rng: np.random.Generator, pairs: Sequence[tuple[Any, float]]) -> Any:
    """One value from (value, weight) pairs; weights are relative.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws one ``choice``.
    pairs : sequence of (value, weight)
        Weights need not sum to one.

    Returns
    -------
    Any
        One of the values.

    Examples
    --------
    >>> pick_weighted(np.random.default_rng(0), (("yes", 1.0), ("no", 0.0)))
    'yes'
    """
    weights = np.array([w for _, w in pairs], dtype=float)
    return pairs[int(rng.choice(len(pairs), p=weights / weights.sum()))][0]


def gcj02_point(lon: float, lat: float) -> tuple[float, float]:
    """A GCJ-02 point (degrees) in WGS84 (degrees).

    Parameters
    ----------
    lon, lat : float
        GCJ-02 degrees.

    Returns
    -------
    tuple of float
        WGS84 ``(lon, lat)``.
    """
    wlon, wlat = gcj02_to_wgs84(lon, lat)
    return float(wlon), float(wlat)


def sample_cluster(
    rng: np.random.Generator, mask: BaseGeometry, centre: tuple[float, float], sd_km: float, n: int
) -> list[tuple[float, float]]:
    """Points from a gaussian around ``centre``, kept inside ``mask`` (rejection, in batches).

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws batches of ``4 n + 8`` lon and lat values until ``n`` fall inside.
    mask : BaseGeometry
        Where points may fall (WGS84 degrees); preparing it speeds the test up.
    centre : tuple of float
        WGS84 ``(lon, lat)`` of the cluster.
    sd_km : float
        Standard deviation of the gaussian, kilometres (the same north-south and east-west).
    n : int
        How many points.

    Returns
    -------
    list of (lon, lat)
        ``n`` WGS84 points rounded to 6 decimals.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> points = sample_cluster(np.random.default_rng(1), box(120, 30, 121, 31), (120.5, 30.5), 1.0, 3)
    >>> len(points), all(120 < lon < 121 and 30 < lat < 31 for lon, lat in points)
    (3, True)
    """
    lon0, lat0 = centre
    sd_lat = sd_km / KM_PER_DEG_LAT_MEAN
    sd_lon = sd_km / (KM_PER_DEG_LAT_MEAN * np.cos(np.radians(lat0)))
    points: list[tuple[float, float]] = []
    for _ in range(200):
        if len(points) >= n:
            break
        lon = np.round(rng.normal(lon0, sd_lon, 4 * n + 8), 6)
        lat = np.round(rng.normal(lat0, sd_lat, 4 * n + 8), 6)
        inside = shapely.contains_xy(mask, lon, lat)
        points.extend(zip(lon[inside].tolist(), lat[inside].tolist(), strict=True))
    assert len(points) >= n, f"cannot place {n} points around {centre}"
    return points[:n]


def allocate(rng: np.random.Generator, weights: Sequence[float], n: int) -> list[int]:
    """Split ``n`` items between groups: one multinomial draw on the (relative) ``weights``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws one multinomial.
    weights : sequence of float
        One relative weight per group.
    n : int
        Items to split.

    Returns
    -------
    list of int
        Items per group, summing to ``n``.

    Examples
    --------
    >>> sum(allocate(np.random.default_rng(0), [3, 2, 1], 60))
    60
    """
    shares = np.array(weights, dtype=float)
    counts: list[int] = rng.multinomial(n, shares / shares.sum()).tolist()
    return counts
