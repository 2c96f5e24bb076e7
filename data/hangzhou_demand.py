"""The synthetic Hangzhou demand layer: weighted points where outdoor workers need a station.

Points per district and the median daily orders of a point are in ``data/tables/hangzhou_districts.csv``;
clusters are the station centres (``hangzhou_centres.csv``, spread wider) plus the new residential areas and
industrial parks of ``hangzhou_new_areas.csv``, which have few or no stations nearby.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from data.hangzhou_districts import District
from data.read_tables import DemandCentre, hangzhou_places
from data.sampling import allocate, gcj02_point, sample_cluster
from geo.districts import Districts

Floats = NDArray[np.float64]

DEMAND_COLUMNS: tuple[str, ...] = ("lon", "lat", "weight", "source")
DEMAND_SPREAD = 1.3  # demand around a station centre spreads wider than the stations (sd × this)
POINTS_PER_HOTSPOT = 50  # a cluster's demand is split into hot spots of about this many points
HOTSPOT_SD_KM = (0.2, 0.6)  # radius (sd) of one hot spot: a compound, a mall, a block of restaurants
HOTSPOT_POPULARITY_SIGMA = 0.7  # lognormal spread of hot-spot popularity (share of points and orders)
DIFFUSE_SHARE = 0.15  # share of a cluster's points scattered widely around it instead of in hot spots
DIFFUSE_SPREAD = 2.5  # sd of the scatter, as a multiple of the cluster's sd
DIFFUSE_LEVEL = 0.4  # scattered points get this fraction of the district's order level
WEIGHT_SIGMA = 0.8  # lognormal sigma of the daily orders of one point around its hot spot's level
MIN_WEIGHT = 0.1


def demand_centres(adcode: str) -> tuple[DemandCentre, ...]:
    """The demand clusters of a district: its station centres (spread wider), then its new areas.

    Parameters
    ----------
    adcode : str
        A Hangzhou district.

    Returns
    -------
    tuple of DemandCentre
        GCJ-02 centres with sd (km) and relative weight.
    """
    places = hangzhou_places()
    around_stations = tuple(
        DemandCentre(c.place, c.lon, c.lat, c.sd_km * DEMAND_SPREAD, c.weight) for c in places.centres[adcode]
    )
    return around_stations + places.new_areas.get(adcode, ())


def check_new_areas(masks: dict[str, BaseGeometry]) -> None:
    """Check that every new-area centre lies inside its own district's sampling mask.

    Parameters
    ----------
    masks : dict
        Adcode → sampling mask (WGS84).
    """
    for code, centres in hangzhou_places().new_areas.items():
        for c in centres:
            assert masks[code].contains(shapely.Point(gcj02_point(c.lon, c.lat))), (code, c.place)


def lognormal_weights(rng: np.random.Generator, level: float, n: int) -> Floats:
    """Daily-order counts, lognormal around a median, rounded to 0.1 (at least ``MIN_WEIGHT``).

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws ``n`` lognormals.
    level : float
        Median daily orders.
    n : int
        How many.

    Returns
    -------
    ndarray of float
        ``n`` weights.
    """
    return np.maximum(np.round(level * rng.lognormal(0.0, WEIGHT_SIGMA, n), 1), MIN_WEIGHT)


def cluster_demand(
    rng: np.random.Generator, mask: BaseGeometry, centre: DemandCentre, level: float, n: int
) -> tuple[list[tuple[float, float]], Floats]:
    """The demand points of one cluster: hot spots around the centre plus a wide scatter, with weights.

    Parameters
    ----------
    rng : numpy.random.Generator
        The demand stream.
    mask : BaseGeometry
        Where points may fall (WGS84).
    centre : DemandCentre
        The cluster (GCJ-02).
    level : float
        The district's median daily orders per point.
    n : int
        How many points.

    Returns
    -------
    points : list of (lon, lat)
        ``n`` WGS84 points.
    weights : ndarray of float
        Their daily orders.
    """
    origin = gcj02_point(centre.lon, centre.lat)
    n_diffuse = int(rng.binomial(n, DIFFUSE_SHARE))
    n_hot = n - n_diffuse
    k = max(1, round(n_hot / POINTS_PER_HOTSPOT))
    spots = sample_cluster(rng, mask, origin, centre.sd_km, k)
    popularity = rng.lognormal(0.0, HOTSPOT_POPULARITY_SIGMA, k)
    sizes = rng.multinomial(n_hot, popularity / popularity.sum())
    spot_sd = rng.uniform(*HOTSPOT_SD_KM, k)
    points: list[tuple[float, float]] = []
    weights: list[Floats] = []
    for spot, size, sd, pop in zip(spots, sizes.tolist(), spot_sd.tolist(), popularity.tolist(), strict=True):
        if size:
            points += sample_cluster(rng, mask, spot, sd, size)
            weights.append(lognormal_weights(rng, level * float(np.sqrt(pop)), size))
    if n_diffuse:
        points += sample_cluster(rng, mask, origin, centre.sd_km * DIFFUSE_SPREAD, n_diffuse)
        weights.append(lognormal_weights(rng, level * DIFFUSE_LEVEL, n_diffuse))
    return points, np.concatenate(weights)


def build_demand(
    rng: np.random.Generator, districts: list[District], masks: dict[str, BaseGeometry]
) -> tuple[list[dict[str, str]], list[str]]:
    """All demand points, shuffled, as CSV rows; also the adcode of the district each was drawn in.

    Parameters
    ----------
    rng : numpy.random.Generator
        The demand stream; the same seed gives the same rows.
    districts : list of District
        The Hangzhou districts, in file order.
    masks : dict
        Adcode → sampling mask (WGS84); every new-area centre must lie inside its own (checked).

    Returns
    -------
    rows : list of dict
        The rows of ``demand.csv`` (``source=synthetic``).
    adcodes : list of str
        The district of each row.
    """
    check_new_areas(masks)
    places = hangzhou_places()
    points: list[tuple[float, float]] = []
    weights: list[Floats] = []
    adcodes: list[str] = []
    for district in districts:
        code = district.adcode
        centres = demand_centres(code)
        counts = allocate(rng, [c.weight for c in centres], places.demand_counts[code])
        for centre, n in zip(centres, counts, strict=True):
            if n:
                cluster_points, cluster_weights = cluster_demand(rng, masks[code], centre, places.demand_level[code], n)
                points += cluster_points
                weights.append(cluster_weights)
                adcodes += [code] * n
    weight = np.concatenate(weights)
    order = rng.permutation(len(points)).tolist()
    rows = [
        {
            "lon": f"{points[i][0]:.6f}",
            "lat": f"{points[i][1]:.6f}",
            "weight": f"{weight[i]:.1f}",
            "source": "synthetic",
        }
        for i in order
    ]
    return rows, [adcodes[i] for i in order]


def check_demand(
    rows: list[dict[str, str]], adcodes: list[str], masks: dict[str, BaseGeometry], districts_path: Path
) -> None:
    """Check the demand: every point lies in the district it was drawn for (read back from the written file)
    and off the masked water; every weight is positive.

    Parameters
    ----------
    rows, adcodes : list
        As ``build_demand`` returns them.
    masks : dict
        Adcode → sampling mask (WGS84).
    districts_path : Path
        The written ``districts.geojson``.
    """
    lon = np.array([float(r["lon"]) for r in rows])
    lat = np.array([float(r["lat"]) for r in rows])
    districts = Districts.from_geojson(districts_path)
    located = [districts.adcodes[i] if i >= 0 else None for i in districts.locate(lon, lat).tolist()]
    wrong = [n for n, (code, want) in enumerate(zip(located, adcodes, strict=True), start=2) if code != want]
    assert not wrong, f"demand points outside their district (lines {wrong[:10]})"
    codes = np.array(adcodes)
    for code, mask in masks.items():
        mine = codes == code
        assert shapely.contains_xy(mask, lon[mine], lat[mine]).all(), f"demand points on water in {code}"
    assert all(float(r["weight"]) > 0 for r in rows)


def write_demand(rows: list[dict[str, str]], path: Path) -> None:
    """Write the demand rows as UTF-8 CSV, LF line endings.

    Parameters
    ----------
    rows : list of dict
        As ``build_demand`` returns them.
    path : Path
        The file to (over)write.
    """
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=DEMAND_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
