"""The tables of the synthetic data, read from the CSV and TOML files in ``data/tables``.

The build scripts keep their code, seeds and single-number parameters; what the made-up world looks like
(places, names, probabilities, counts per district) lives in ``data/tables`` so that it can be read and
edited as data. Each reader returns frozen dataclasses of tuples, in file order (the generators draw by
position, so the order of a table is part of the output), and is cached: the files are read once.

>>> places = hangzhou_places()
>>> places.adcodes[:2], places.names_en["330106"], places.outdoor_counts["330102"]
(('330102', '330105'), 'Xihu', 210)
>>> station_attributes().types
('outdoor_worker', 'driver_home', 'nursing_room')
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

TABLES_DIR = Path(__file__).resolve().parent / "tables"

Weighted = tuple[tuple[str, float], ...]
"""(value, weight) pairs; weights are relative and normalised when drawn."""


@dataclass(frozen=True)
class Centre:
    """A cluster centre (GCJ-02, as read off a web map) with the local names used for its stations."""

    place: str
    lon: float
    lat: float
    sd_km: float
    weight: float
    streets: tuple[str, ...]
    roads: tuple[str, ...]
    metro: tuple[str, ...] = ()
    hubs: tuple[str, ...] = ()


@dataclass(frozen=True)
class DriverHome:
    """A driver home (司机之家) near a logistics park or highway exit (GCJ-02)."""

    adcode: str
    name: str
    host: str
    lon: float
    lat: float
    road: str


@dataclass(frozen=True)
class DemandCentre:
    """A demand cluster centre (GCJ-02), its spread (sd, km) and its share of the district's demand."""

    place: str
    lon: float
    lat: float
    sd_km: float
    weight: float


@dataclass(frozen=True)
class HangzhouPlaces:
    """Where the Hangzhou sample's synthetic stations and demand go, district by district (adcode keys)."""

    names_en: dict[str, str]
    outdoor_counts: dict[str, int]
    nursing_counts: dict[str, int]
    demand_counts: dict[str, int]
    demand_level: dict[str, float]
    centres: dict[str, tuple[Centre, ...]]
    driver_homes: tuple[DriverHome, ...]
    new_areas: dict[str, tuple[DemandCentre, ...]]
    west_lake_gcj02: tuple[tuple[float, float], ...]
    river_borders: tuple[tuple[str, str], ...]

    @property
    def adcodes(self) -> tuple[str, ...]:
        """The 13 district adcodes, in the order of the districts file."""
        return tuple(self.names_en)


@dataclass(frozen=True)
class StationNames:
    """Name parts of the synthetic Hangzhou stations (see ``tables/station_names.toml``)."""

    banks: tuple[str, ...]
    mall_brands: tuple[str, ...]
    towers: tuple[str, ...]
    communities: tuple[str, ...]
    hospital_kinds: tuple[str, ...]
    outdoor_templates: tuple[tuple[str, str, float], ...]
    nursing_kinds: dict[str, tuple[tuple[str, str], ...]]
    nursing_kind_weights: dict[str, float]


@dataclass(frozen=True)
class Size:
    """Capacity (people) and area (m²) ranges of one station type, inclusive, and the share left empty."""

    capacity: tuple[int, int]
    area_m2: tuple[int, int]
    capacity_empty: float
    area_m2_empty: float


@dataclass(frozen=True)
class StationAttributes:
    """Attribute distributions of the synthetic Hangzhou stations, by station type."""

    types: tuple[str, ...]
    amenities: tuple[str, ...]
    amenity_yes: dict[str, tuple[float, ...]]
    opening_hours: dict[str, Weighted]
    opening_hours_by_kind: dict[str, Weighted]
    statuses: Weighted
    sizes: dict[str, Size]


@dataclass(frozen=True)
class NationalTables:
    """The rule of the synthetic national registry (see ``tables/national.toml``)."""

    no_stations_provinces: tuple[str, ...]
    type_shares: Weighted
    type_names: dict[str, str]
    kind_weight: dict[str, float]
    cluster_sd_km: dict[str, float]


def read_csv(name: str) -> list[dict[str, str]]:
    """The rows of ``data/tables/<name>`` as dicts of text, in file order.

    Parameters
    ----------
    name : str
        File name inside ``data/tables``, e.g. ``"hangzhou_centres.csv"``.

    Returns
    -------
    list of dict
        One dict per row, keyed by the header; values are unparsed strings.
    """
    with (TABLES_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_toml(name: str) -> dict[str, Any]:
    """The document ``data/tables/<name>`` (tables keep the file's key order).

    Parameters
    ----------
    name : str
        File name inside ``data/tables``, e.g. ``"national.toml"``.

    Returns
    -------
    dict
        The parsed TOML document.
    """
    with (TABLES_DIR / name).open("rb") as handle:
        return tomllib.load(handle)


def _names(text: str) -> tuple[str, ...]:
    """A ``;``-separated list cell as a tuple ('' is the empty tuple)."""
    return tuple(text.split(";")) if text else ()


def _weighted(pairs: list[list[Any]]) -> Weighted:
    """TOML ``[value, weight]`` pairs as a tuple of (str, float)."""
    return tuple((str(value), float(weight)) for value, weight in pairs)


def _by_adcode(rows: list[dict[str, str]], make: Any) -> dict[str, tuple[Any, ...]]:
    """Rows grouped by their ``adcode`` column (first-seen order), each made into an object by ``make``."""
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row["adcode"], []).append(make(row))
    return {code: tuple(items) for code, items in grouped.items()}


def _centre(row: dict[str, str]) -> Centre:
    return Centre(
        row["place"],
        float(row["lon_gcj02"]),
        float(row["lat_gcj02"]),
        float(row["sd_km"]),
        float(row["weight"]),
        _names(row["streets"]),
        _names(row["roads"]),
        _names(row["metro"]),
        _names(row["hubs"]),
    )


def _demand_centre(row: dict[str, str]) -> DemandCentre:
    lon, lat = float(row["lon_gcj02"]), float(row["lat_gcj02"])
    return DemandCentre(row["place"], lon, lat, float(row["sd_km"]), float(row["weight"]))


@cache
def hangzhou_places() -> HangzhouPlaces:
    """Districts, cluster centres, driver homes, new demand areas and masked water of the Hangzhou sample.

    Returns
    -------
    HangzhouPlaces
        Read from ``hangzhou_districts.csv``, ``hangzhou_centres.csv``, ``hangzhou_driver_homes.csv``,
        ``hangzhou_new_areas.csv`` and ``hangzhou_water.toml``; coordinates in GCJ-02 degrees.
    """
    districts = read_csv("hangzhou_districts.csv")
    water = read_toml("hangzhou_water.toml")
    homes = tuple(
        DriverHome(r["adcode"], r["name"], r["host"], float(r["lon_gcj02"]), float(r["lat_gcj02"]), r["road"])
        for r in read_csv("hangzhou_driver_homes.csv")
    )
    return HangzhouPlaces(
        names_en={r["adcode"]: r["name_en"] for r in districts},
        outdoor_counts={r["adcode"]: int(r["outdoor_stations"]) for r in districts},
        nursing_counts={r["adcode"]: int(r["nursing_rooms"]) for r in districts},
        demand_counts={r["adcode"]: int(r["demand_points"]) for r in districts},
        demand_level={r["adcode"]: float(r["demand_orders_median"]) for r in districts},
        centres=_by_adcode(read_csv("hangzhou_centres.csv"), _centre),
        driver_homes=homes,
        new_areas=_by_adcode(read_csv("hangzhou_new_areas.csv"), _demand_centre),
        west_lake_gcj02=tuple((float(lon), float(lat)) for lon, lat in water["west_lake_gcj02"]),
        river_borders=tuple((str(a), str(b)) for a, b in water["river_borders"]),
    )


@cache
def station_names() -> StationNames:
    """Name parts and templates of the synthetic Hangzhou stations.

    Returns
    -------
    StationNames
        Read from ``station_names.toml``.
    """
    table = read_toml("station_names.toml")
    kinds = table["nursing_kinds"]
    return StationNames(
        banks=tuple(table["banks"]),
        mall_brands=tuple(table["mall_brands"]),
        towers=tuple(table["towers"]),
        communities=tuple(table["communities"]),
        hospital_kinds=tuple(table["hospital_kinds"]),
        outdoor_templates=tuple((str(t), str(h), float(w)) for t, h, w in table["outdoor_templates"]),
        nursing_kinds={kind: tuple((str(t), str(h)) for t, h in k["names"]) for kind, k in kinds.items()},
        nursing_kind_weights={kind: float(k["weight"]) for kind, k in kinds.items()},
    )


@cache
def station_attributes() -> StationAttributes:
    """Amenity probabilities, opening hours, statuses and sizes of the synthetic Hangzhou stations.

    Returns
    -------
    StationAttributes
        Read from ``amenities.csv`` (P(yes | known) per amenity and type; its columns after the first give the
        type order) and ``station_attributes.toml``.
    """
    amenity_rows = read_csv("amenities.csv")
    types = tuple(column for column in amenity_rows[0] if column != "amenity")
    table = read_toml("station_attributes.toml")
    sizes = {
        kind: Size(
            (int(s["capacity"][0]), int(s["capacity"][1])),
            (int(s["area_m2"][0]), int(s["area_m2"][1])),
            float(s["capacity_empty"]),
            float(s["area_m2_empty"]),
        )
        for kind, s in table["sizes"].items()
    }
    return StationAttributes(
        types=types,
        amenities=tuple(r["amenity"] for r in amenity_rows),
        amenity_yes={r["amenity"]: tuple(float(r[t]) for t in types) for r in amenity_rows},
        opening_hours={kind: _weighted(pairs) for kind, pairs in table["opening_hours"].items()},
        opening_hours_by_kind={kind: _weighted(pairs) for kind, pairs in table["opening_hours_by_kind"].items()},
        statuses=_weighted(table["statuses"]),
        sizes=sizes,
    )


@cache
def national_tables() -> NationalTables:
    """The rule of the synthetic national registry.

    Returns
    -------
    NationalTables
        Read from ``national.toml``.
    """
    table = read_toml("national.toml")
    return NationalTables(
        no_stations_provinces=tuple(table["no_stations_provinces"]),
        type_shares=tuple((str(kind), float(share)) for kind, share, _ in table["types"]),
        type_names={str(kind): str(name) for kind, _, name in table["types"]},
        kind_weight={kind: float(w) for kind, w in table["kind_weight"].items()},
        cluster_sd_km={kind: float(sd) for kind, sd in table["cluster_sd_km"].items()},
    )
