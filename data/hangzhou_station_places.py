"""Where the synthetic Hangzhou stations are and what they are called (before their attributes are drawn).

Outdoor-worker stations and nursing rooms are gaussian clusters around the centres of
``data/tables/hangzhou_centres.csv``, named from ``data/tables/station_names.toml``; driver homes sit a few
hundred metres from the places of ``data/tables/hangzhou_driver_homes.csv``. Counts per district are in
``data/tables/hangzhou_districts.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from data.hangzhou_districts import District
from data.read_tables import Centre, hangzhou_places, station_names
from data.sampling import allocate, gcj02_point, pick, pick_weighted, sample_cluster

OUTDOOR_ALSO_NURSING = 0.03  # share of outdoor-worker stations that are also nursing rooms
DRIVER_HOME_SD_KM = 0.3  # spread of a driver home around its logistics park or highway exit


@dataclass
class Station:
    """One synthetic station before ids and attributes are assigned (WGS84 degrees)."""

    types: list[str]
    name: str
    host: str
    adcode: str
    lon: float
    lat: float
    road: str
    kind: str = ""


def check_centres(masks: dict[str, BaseGeometry]) -> None:
    """Check that every cluster centre and driver home lies inside its own district's sampling mask.

    Parameters
    ----------
    masks : dict
        Adcode → sampling mask (WGS84), as ``sampling_masks`` returns.
    """
    places = hangzhou_places()
    for code, centres in places.centres.items():
        for c in centres:
            assert masks[code].contains(shapely.Point(gcj02_point(c.lon, c.lat))), (code, c.place)
    for home in places.driver_homes:
        assert masks[home.adcode].contains(shapely.Point(gcj02_point(home.lon, home.lat))), home.name


def fill(template: str, rng: np.random.Generator, centre: Centre, district: District, **fixed: str) -> str:
    """Fill the placeholders a template uses, drawing each from the centre's local names or the name lists.

    Parameters
    ----------
    template : str
        A ``str.format`` template with placeholders among road, street, place, community, bank, brand, metro,
        hub, hospital, tower and district.
    rng : numpy.random.Generator
        Draws one pick per placeholder used and not in ``fixed``, in the order listed above.
    centre : Centre
        Gives road, street, place, metro and hub.
    district : District
        Gives district (its Chinese name).
    **fixed : str
        Values already chosen.

    Returns
    -------
    str
        The filled name.
    """
    names = station_names()
    choices: dict[str, tuple[str, ...]] = {
        "road": centre.roads,
        "street": centre.streets,
        "place": (centre.place,),
        "community": names.communities,
        "bank": names.banks,
        "brand": names.mall_brands,
        "metro": centre.metro,
        "hub": centre.hubs,
        "hospital": names.hospital_kinds,
        "tower": names.towers,
        "district": (district.name,),
    }
    values = dict(fixed)
    for key, options in choices.items():
        if "{" + key + "}" in template and key not in values:
            values[key] = pick(rng, options)
    return template.format(**values)


def outdoor_stations(rng: np.random.Generator, district: District, mask: BaseGeometry) -> list[Station]:
    """The outdoor-worker stations of one district, clustered around its centres.

    Parameters
    ----------
    rng : numpy.random.Generator
        The station stream.
    district : District
        The district.
    mask : BaseGeometry
        Where its stations may fall (WGS84).

    Returns
    -------
    list of Station
        As many as ``outdoor_stations`` in ``hangzhou_districts.csv``.
    """
    places, names = hangzhou_places(), station_names()
    centres = places.centres[district.adcode]
    weighted = tuple(((template, host), w) for template, host, w in names.outdoor_templates)
    counts = allocate(rng, [c.weight for c in centres], places.outdoor_counts[district.adcode])
    stations = []
    for centre, n in zip(centres, counts, strict=True):
        for lon, lat in sample_cluster(rng, mask, gcj02_point(centre.lon, centre.lat), centre.sd_km, n):
            template, host_template = pick_weighted(rng, weighted)
            fixed = {"bank": pick(rng, names.banks), "road": pick(rng, centre.roads)}
            name = fill(template, rng, centre, district, **fixed)
            host = fill(host_template, rng, centre, district, **fixed)
            types = ["outdoor_worker"]
            if rng.random() < OUTDOOR_ALSO_NURSING:
                types.append("nursing_room")
            stations.append(Station(types, name, host, district.adcode, lon, lat, fixed["road"]))
    return stations


def nursing_kind(rng: np.random.Generator, centre: Centre) -> str:
    """What kind of building a nursing room is in (no metro or hub kind where the centre has none).

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws one weighted pick.
    centre : Centre
        The room's cluster centre.

    Returns
    -------
    str
        A key of ``nursing_kinds`` in ``station_names.toml``.
    """
    allowed = tuple(
        (kind, w)
        for kind, w in station_names().nursing_kind_weights.items()
        if not (kind == "metro" and not centre.metro) and not (kind == "hub" and not centre.hubs)
    )
    return str(pick_weighted(rng, allowed))


def nursing_stations(rng: np.random.Generator, district: District, mask: BaseGeometry) -> list[Station]:
    """The stand-alone nursing rooms of one district.

    Parameters
    ----------
    rng : numpy.random.Generator
        The station stream.
    district : District
        The district.
    mask : BaseGeometry
        Where its rooms may fall (WGS84).

    Returns
    -------
    list of Station
        As many as ``nursing_rooms`` in ``hangzhou_districts.csv``, each with its ``kind`` of building.
    """
    places, names = hangzhou_places(), station_names()
    centres = places.centres[district.adcode]
    counts = allocate(rng, [c.weight for c in centres], places.nursing_counts[district.adcode])
    stations = []
    for centre, n in zip(centres, counts, strict=True):
        for lon, lat in sample_cluster(rng, mask, gcj02_point(centre.lon, centre.lat), centre.sd_km, n):
            kind = nursing_kind(rng, centre)
            template, host = pick(rng, names.nursing_kinds[kind])
            road = pick(rng, centre.roads)
            name = fill(template, rng, centre, district, road=road)
            stations.append(Station(["nursing_room"], name, host, district.adcode, lon, lat, road, kind))
    return stations


def driver_home_stations(rng: np.random.Generator, masks: dict[str, BaseGeometry]) -> list[Station]:
    """The driver homes, each a few hundred metres from its logistics park or highway exit.

    Parameters
    ----------
    rng : numpy.random.Generator
        The station stream.
    masks : dict
        Adcode → sampling mask (WGS84).

    Returns
    -------
    list of Station
        One per row of ``hangzhou_driver_homes.csv``.
    """
    stations = []
    for home in hangzhou_places().driver_homes:
        centre = gcj02_point(home.lon, home.lat)
        ((lon, lat),) = sample_cluster(rng, masks[home.adcode], centre, DRIVER_HOME_SD_KM, 1)
        stations.append(Station(["driver_home"], home.name, home.host, home.adcode, lon, lat, home.road))
    return stations


def place_stations(
    rng: np.random.Generator, districts: list[District], masks: dict[str, BaseGeometry]
) -> list[Station]:
    """All synthetic stations: outdoor-worker stations district by district, driver homes, then nursing rooms.

    Parameters
    ----------
    rng : numpy.random.Generator
        The station stream.
    districts : list of District
        The Hangzhou districts, in file order.
    masks : dict
        Adcode → sampling mask (WGS84); every centre must lie inside its own (checked).

    Returns
    -------
    list of Station
        In generation order (not yet shuffled or numbered).
    """
    check_centres(masks)
    stations: list[Station] = []
    for district in districts:
        stations += outdoor_stations(rng, district, masks[district.adcode])
    stations += driver_home_stations(rng, masks)
    for district in districts:
        stations += nursing_stations(rng, district, masks[district.adcode])
    return stations
