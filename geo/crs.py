"""Coordinate systems used by Chinese maps: WGS84, GCJ-02 and BD-09.

* ``wgs84`` — GPS, OpenStreetMap, and how Yizhan stores every station.
* ``gcj02`` — the "Mars" datum required for Chinese web maps (Amap/高德, Tencent/腾讯).
* ``bd09``  — Baidu's (百度) extra shift on top of GCJ-02.

The forward shifts follow the widely published formulas (Krasovsky ellipsoid, a = 6378245 m). The inverse
shifts have no closed form; they are solved by fixed-point iteration until the round trip is below
``TOLERANCE_DEG`` (≈ 0.1 mm). Points outside mainland China's bounding box pass through unchanged, as the
Chinese map providers do.

All functions are vectorised: they take scalars or numpy arrays of longitudes and latitudes (degrees) and
return float64 arrays of the same shape.

>>> lon, lat = transform(120.16, 30.25, "wgs84", "gcj02")
>>> round(float(lon), 6), round(float(lat), 6)
(120.164678, 30.24766)
>>> back = transform(lon, lat, "gcj02", "wgs84")
>>> round(float(back[0]), 9), round(float(back[1]), 9)
(120.16, 30.25)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

CrsName = Literal["wgs84", "gcj02", "bd09"]
CRS_NAMES: tuple[CrsName, ...] = ("wgs84", "gcj02", "bd09")

_A = 6378245.0  # semi-major axis of the Krasovsky 1940 ellipsoid used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
TOLERANCE_DEG = 1e-9  # ≈ 0.1 mm: the inverse shifts iterate until the round trip is this close
_MAX_ITERATIONS = 30

Floats = NDArray[np.float64]
Shift = Callable[[ArrayLike, ArrayLike], tuple[Floats, Floats]]


def _arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return lon_a.copy(), lat_a.copy()


class _Maths(NamedTuple):
    """The functions the shifts are written with: numpy's over arrays, or ``math``'s for one point."""

    sin: Callable[[Any], Any]
    cos: Callable[[Any], Any]
    sqrt: Callable[[Any], Any]
    hypot: Callable[[Any, Any], Any]
    atan2: Callable[[Any, Any], Any]


_ARRAYS = _Maths(np.sin, np.cos, np.sqrt, np.hypot, np.arctan2)
_SCALARS = _Maths(math.sin, math.cos, math.sqrt, math.hypot, math.atan2)


def _inside(lon: Any, lat: Any) -> Any:
    """Where (lon, lat) lies in the rectangle in which Chinese maps shift: arrays or one point alike."""
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where the point lies in the rectangle in which Chinese maps apply the GCJ-02 shift.

    >>> in_china([116.4, 2.35], [39.9, 48.86]).tolist()
    [True, False]
    """
    inside: NDArray[np.bool_] = _inside(*_arrays(lon, lat))
    return inside


def _gcj02_offset(lon: Any, lat: Any, m: _Maths = _ARRAYS) -> tuple[Any, Any]:
    x, y = lon - 105.0, lat - 35.0
    wave = (20.0 * m.sin(6.0 * x * np.pi) + 20.0 * m.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * m.sqrt(abs(x)) + wave
    d_lat += (20.0 * m.sin(y * np.pi) + 40.0 * m.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    d_lat += (160.0 * m.sin(y / 12.0 * np.pi) + 320.0 * m.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * m.sqrt(abs(x)) + wave
    d_lon += (20.0 * m.sin(x * np.pi) + 40.0 * m.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    d_lon += (150.0 * m.sin(x / 12.0 * np.pi) + 300.0 * m.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * m.sin(rad_lat) ** 2
    sqrt_magic = m.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * m.cos(rad_lat) * np.pi)
    return d_lon, d_lat


def _bd09_of_gcj02(x: Any, y: Any, m: _Maths = _ARRAYS) -> tuple[Any, Any]:
    z = m.hypot(x, y) + 0.00002 * m.sin(y * _X_PI)
    theta = m.atan2(y, x) + 0.000003 * m.cos(x * _X_PI)
    return z * m.cos(theta) + 0.0065, z * m.sin(theta) + 0.006


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """WGS84 → GCJ-02 (degrees); unchanged outside China."""
    lon_a, lat_a = _arrays(lon, lat)
    inside = in_china(lon_a, lat_a)
    d_lon, d_lat = _gcj02_offset(lon_a[inside], lat_a[inside])
    lon_a[inside] += d_lon
    lat_a[inside] += d_lat
    return lon_a, lat_a


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """GCJ-02 → BD-09 (degrees); unchanged outside China."""
    lon_a, lat_a = _arrays(lon, lat)
    inside = in_china(lon_a, lat_a)
    lon_a[inside], lat_a[inside] = _bd09_of_gcj02(lon_a[inside], lat_a[inside])
    return lon_a, lat_a


def point_to_gcj02_bd09(lon: float, lat: float) -> tuple[float, float, float, float]:
    """One WGS84 point in GCJ-02 and BD-09: ``(gcj_lon, gcj_lat, bd_lon, bd_lat)``, the formulas of
    ``wgs84_to_gcj02`` and ``gcj02_to_bd09`` with ``math``'s functions (~15x faster for one point than arrays;
    equal to them within a few units in the last place: ``math`` and numpy may round a sine differently).

    >>> [round(v, 6) for v in point_to_gcj02_bd09(120.16, 30.25)]
    [120.164678, 30.24766, 120.171249, 30.253412]
    """
    if not _inside(lon, lat):
        return lon, lat, lon, lat
    d_lon, d_lat = _gcj02_offset(lon, lat, _SCALARS)
    g_lon, g_lat = lon + d_lon, lat + d_lat
    if not _inside(g_lon, g_lat):  # as gcj02_to_bd09 tests its input
        return g_lon, g_lat, g_lon, g_lat
    b_lon, b_lat = _bd09_of_gcj02(g_lon, g_lat, _SCALARS)
    return g_lon, g_lat, b_lon, b_lat


def _wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def _invert(forward: Shift, lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """Solve forward(x) = target by fixed-point iteration x ← x − (forward(x) − target).

    The shifts are smooth and their derivatives are tiny (< 1e-3), so each step gains about three digits;
    points that already meet the tolerance stop early.
    """
    target_lon, target_lat = _arrays(lon, lat)
    guess_lon, guess_lat = target_lon.copy(), target_lat.copy()
    active = np.ones(target_lon.shape, dtype=bool)
    for _ in range(_MAX_ITERATIONS):
        fwd_lon, fwd_lat = forward(guess_lon[active], guess_lat[active])
        err_lon, err_lat = fwd_lon - target_lon[active], fwd_lat - target_lat[active]
        guess_lon[active] -= err_lon
        guess_lat[active] -= err_lat
        still = (np.abs(err_lon) > TOLERANCE_DEG / 10) | (np.abs(err_lat) > TOLERANCE_DEG / 10)
        active[active] = still
        if not active.any():
            break
    return guess_lon, guess_lat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """GCJ-02 → WGS84 (degrees), iterated to ≤ 1e-9° round-trip error; unchanged outside China."""
    return _invert(wgs84_to_gcj02, lon, lat)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """BD-09 → GCJ-02 (degrees), iterated to ≤ 1e-9° round-trip error; unchanged outside China."""
    return _invert(gcj02_to_bd09, lon, lat)


def _bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    return _invert(_wgs84_to_bd09, lon, lat)


def _identity(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    return _arrays(lon, lat)


_TRANSFORMS = {
    ("wgs84", "gcj02"): wgs84_to_gcj02,
    ("wgs84", "bd09"): _wgs84_to_bd09,
    ("gcj02", "wgs84"): gcj02_to_wgs84,
    ("gcj02", "bd09"): gcj02_to_bd09,
    ("bd09", "gcj02"): bd09_to_gcj02,
    ("bd09", "wgs84"): _bd09_to_wgs84,
}


def transform(lon: ArrayLike, lat: ArrayLike, source: CrsName, target: CrsName) -> tuple[Floats, Floats]:
    """Convert longitudes/latitudes (degrees) from ``source`` to ``target`` coordinate system.

    ``source`` and ``target`` are each one of ``CRS_NAMES``. Returns ``(lon, lat)`` float64 arrays.

    >>> lon, lat = transform([120.16], [30.25], "wgs84", "bd09")
    >>> lon.round(5).tolist(), lat.round(5).tolist()
    ([120.17125], [30.25341])
    """
    for name in (source, target):
        if name not in CRS_NAMES:
            raise ValueError(f"unknown coordinate system {name!r}; valid: {', '.join(CRS_NAMES)}")
    if source == target:
        return _identity(lon, lat)
    return _TRANSFORMS[(source, target)](lon, lat)


def point_in(lon: float, lat: float, crs: CrsName) -> tuple[float, float]:
    """One position given in ``crs`` as WGS84 ``(lon, lat)`` degrees: where every coordinate a user gives enters.

    >>> point_in(120.17125, 30.25341, "bd09") == point_in(120.16, 30.25, "wgs84")
    False
    >>> [round(v, 4) for v in point_in(120.17125, 30.25341, "bd09")]
    [120.16, 30.25]
    """
    if crs == "wgs84":  # every rider's query: no arrays for nothing (~5 µs)
        return float(lon), float(lat)
    x, y = transform([lon], [lat], crs, "wgs84")
    return float(x[0]), float(y[0])


def point_out(lon: float, lat: float, crs: CrsName) -> tuple[float, float]:
    """One WGS84 position as ``(lon, lat)`` in ``crs`` (e.g. the tiles' coordinate system of a page).

    >>> [round(v, 5) for v in point_out(120.16, 30.25, "bd09")]
    [120.17125, 30.25341]
    """
    if crs == "wgs84":
        return float(lon), float(lat)
    x, y = transform([lon], [lat], "wgs84", crs)
    return float(x[0]), float(y[0])
