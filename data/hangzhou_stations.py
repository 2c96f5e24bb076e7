"""The synthetic Hangzhou station registry: attributes of the placed stations, the CSV rows, checks and writing.

Attribute distributions (opening hours, statuses, sizes) are in ``data/tables/station_attributes.toml``,
amenity probabilities in ``data/tables/amenities.csv``.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
from opening_hours import OpeningHours
from shapely.geometry.base import BaseGeometry

from data.hangzhou_districts import District
from data.hangzhou_station_places import Station, place_stations
from data.read_tables import station_attributes
from data.sampling import pick_weighted
from geo.districts import Districts

AMENITY_UNKNOWN = (0.10, 0.20)  # each amenity column gets its own unknown share in this range
VERIFIED_RANGE = (dt.date(2025, 1, 1), dt.date(2026, 10, 31))
VERIFIED_EMPTY = 0.12
PHONE_EMPTY = 0.12
BASE_COLUMNS: tuple[str, ...] = (
    "id", "name", "types", "host", "lon", "lat", "crs", "address", "adcode", "district", "opening_hours",
    "operating_status", "phone", "capacity", "area_m2", "verified_at", "source",
)  # fmt: skip


def columns() -> tuple[str, ...]:
    """The columns of ``stations.csv``: the registry's own, then one per amenity (``amenities.csv`` order).

    Returns
    -------
    tuple of str
        Header of the CSV.
    """
    return (*BASE_COLUMNS, *station_attributes().amenities)


def tri_state(rng: np.random.Generator, p_yes: float, p_unknown: float) -> str:
    """'yes', 'no' or '' (unknown).

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws one or two uniforms.
    p_yes : float
        P(yes | known).
    p_unknown : float
        P(unknown).

    Returns
    -------
    str
        ``"yes"``, ``"no"`` or ``""``.
    """
    if rng.random() < p_unknown:
        return ""
    return "yes" if rng.random() < p_yes else "no"


def amenity_values(rng: np.random.Generator, types: list[str], unknown: dict[str, float]) -> dict[str, str]:
    """Tri-state amenity columns; a multi-type station takes the likeliest 'yes' among its types.

    Parameters
    ----------
    rng : numpy.random.Generator
        The station stream.
    types : list of str
        The station's types.
    unknown : dict
        Amenity → P(unknown) (one share per column for the whole file).

    Returns
    -------
    dict
        Amenity → ``"yes"``, ``"no"`` or ``""``, in ``amenities.csv`` order.
    """
    attributes = station_attributes()
    positions = [attributes.types.index(t) for t in types]
    return {
        amenity: tri_state(rng, max(attributes.amenity_yes[amenity][i] for i in positions), unknown[amenity])
        for amenity in attributes.amenities
    }


def optional_int(rng: np.random.Generator, bounds: tuple[int, int], p_empty: float) -> str:
    """An integer in ``bounds`` (inclusive) as text, or '' with probability ``p_empty``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws one integer, then one uniform.
    bounds : tuple of int
        Lowest and highest value.
    p_empty : float
        P('').

    Returns
    -------
    str
        The integer as text, or ``""``.
    """
    value = int(rng.integers(bounds[0], bounds[1] + 1))
    return "" if rng.random() < p_empty else str(value)


def phone_number(rng: np.random.Generator) -> str:
    """A made-up Hangzhou landline (0571-8xxxxxxx), or '' when unknown.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws one integer, then one uniform.

    Returns
    -------
    str
        The number, or ``""``.
    """
    number = f"0571-8{int(rng.integers(0, 10**7)):07d}"
    return "" if rng.random() < PHONE_EMPTY else number


def verified_date(rng: np.random.Generator) -> str:
    """An ISO date in ``VERIFIED_RANGE`` (inclusive), or '' when never verified.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws one integer, then one uniform.

    Returns
    -------
    str
        ``YYYY-MM-DD`` or ``""``.
    """
    start, end = VERIFIED_RANGE
    day = start + dt.timedelta(days=int(rng.integers(0, (end - start).days + 1)))
    return "" if rng.random() < VERIFIED_EMPTY else day.isoformat()


def opening_hours(rng: np.random.Generator, station: Station) -> str:
    """Opening hours of a station: its building's (metro, hub, mall nursing rooms), else its main type's.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws one weighted pick.
    station : Station
        The placed station.

    Returns
    -------
    str
        OpenStreetMap ``opening_hours``, or ``""`` (unknown).
    """
    attributes = station_attributes()
    if station.kind in attributes.opening_hours_by_kind:
        return str(pick_weighted(rng, attributes.opening_hours_by_kind[station.kind]))
    return str(pick_weighted(rng, attributes.opening_hours[station.types[0]]))


def station_row(
    rng: np.random.Generator, number: int, station: Station, district: District, unknown: dict[str, float]
) -> dict[str, str]:
    """The CSV row of one station.

    Parameters
    ----------
    rng : numpy.random.Generator
        The station stream.
    number : int
        Row number, for the id ``HZ-SYN-00001``….
    station : Station
        The placed station.
    district : District
        Its district.
    unknown : dict
        Amenity → P(unknown).

    Returns
    -------
    dict
        Column → text, with ``source=synthetic``.
    """
    size = station_attributes().sizes[station.types[0]]
    address = f"杭州市{district.name}{station.road}{int(rng.integers(1, 400))}号"
    return {
        "id": f"HZ-SYN-{number:05d}",
        "name": station.name,
        "types": ";".join(station.types),
        "host": station.host,
        "lon": f"{station.lon:.6f}",
        "lat": f"{station.lat:.6f}",
        "crs": "wgs84",
        "address": address,
        "adcode": district.adcode,
        "district": district.name,
        "opening_hours": opening_hours(rng, station),
        "operating_status": pick_weighted(rng, station_attributes().statuses),
        "phone": phone_number(rng),
        "capacity": optional_int(rng, size.capacity, size.capacity_empty),
        "area_m2": optional_int(rng, size.area_m2, size.area_m2_empty),
        "verified_at": verified_date(rng),
        "source": "synthetic",
        **amenity_values(rng, station.types, unknown),
    }


def build_stations(
    rng: np.random.Generator, districts: list[District], masks: dict[str, BaseGeometry]
) -> list[dict[str, str]]:
    """All synthetic stations, shuffled (as a registry export would be) and numbered.

    Parameters
    ----------
    rng : numpy.random.Generator
        The station stream; the same seed gives the same rows.
    districts : list of District
        The Hangzhou districts, in file order.
    masks : dict
        Adcode → sampling mask (WGS84).

    Returns
    -------
    list of dict
        The rows of ``stations.csv``.
    """
    stations = place_stations(rng, districts, masks)
    amenities = station_attributes().amenities
    unknown = {a: float(u) for a, u in zip(amenities, rng.uniform(*AMENITY_UNKNOWN, len(amenities)), strict=True)}
    by_code = {d.adcode: d for d in districts}
    order = rng.permutation(len(stations))
    return [
        station_row(rng, number, stations[i], by_code[stations[i].adcode], unknown)
        for number, i in enumerate(order.tolist(), start=1)
    ]


def check_rows(rows: list[dict[str, str]], districts_path: Path) -> None:
    """Check the rows: every point lies in its own district (as read back from the written file), every
    non-empty opening_hours parses, ids are unique.

    Parameters
    ----------
    rows : list of dict
        As ``build_stations`` returns them.
    districts_path : Path
        The written ``districts.geojson``.
    """
    districts = Districts.from_geojson(districts_path)
    lon = np.array([float(r["lon"]) for r in rows])
    lat = np.array([float(r["lat"]) for r in rows])
    located = [districts.adcodes[i] if i >= 0 else None for i in districts.locate(lon, lat).tolist()]
    wrong = [r["id"] for r, code in zip(rows, located, strict=True) if code != r["adcode"]]
    assert not wrong, f"stations outside their district: {wrong[:10]}"
    for hours in sorted({r["opening_hours"] for r in rows} - {""}):
        OpeningHours(hours)  # raises on invalid syntax
    assert len({r["id"] for r in rows}) == len(rows)


def write_csv(rows: list[dict[str, str]], path: Path) -> None:
    """Write the rows as UTF-8 CSV without BOM, LF line endings.

    Parameters
    ----------
    rows : list of dict
        As ``build_stations`` returns them.
    path : Path
        The file to (over)write.
    """
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns(), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
