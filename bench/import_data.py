"""Synthetic import files for ``bench/imports.py`` and the import tests: dense stations inside Hangzhou.

Run from the repository root to write one::

    .venv/bin/python bench/import_data.py 100000 /tmp/import-100k.csv

Rows are canonical CSV (the exporters' columns) over central Hangzhou (lon 120.08-120.25, lat 30.22-30.33,
about 16 km by 12 km), seeded: 100,000 rows put one station every ~45 m on average, so many rows are likely
duplicates of another row or of a sample station. One row in twenty is a copy of an earlier row moved 1-40 m
with a similar name (a union that listed the same station twice), one in fifty sits within 0.3-12 m of a sample
station; one row in three has no id (the importer derives one), one in ten is in GCJ-02 (``crs`` column).
"""

from __future__ import annotations

import csv
import io
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, so `stations` imports uninstalled

from geo.crs import transform
from stations.exporters import CSV_COLUMNS

LON_RANGE = (120.08, 120.25)
LAT_RANGE = (30.22, 30.33)
EARTH_RADIUS_M = 6_371_008.8
STREETS = ("武林", "文三", "古荡", "湖滨", "南星", "九堡", "笕桥", "翠苑", "西溪", "蒋村", "三墩", "半山", "闸弄口")
KINDS = (("工会驿站", "outdoor_worker"), ("爱心驿站", "outdoor_worker"), ("骑士之家", "outdoor_worker"),
         ("司机之家", "driver_home"), ("母婴室", "nursing_room"))  # fmt: skip
HOURS = ("24/7", "Mo-Fr 08:30-17:30", "Mo-Su 06:00-22:00", "")


def _moved(lon: float, lat: float, metres: float, bearing: float) -> tuple[float, float]:
    north, east = metres * math.cos(bearing), metres * math.sin(bearing)
    d_lat = math.degrees(north / EARTH_RADIUS_M)
    d_lon = math.degrees(east / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lon + d_lon, lat + d_lat


def import_csv(n: int, seed: int = 1, sample: list[tuple[float, float, str]] | None = None) -> bytes:
    """``n`` synthetic station rows as canonical CSV bytes (UTF-8), the same for the same ``n`` and ``seed``.

    ``sample``: (lon, lat, name) of stations already in the registry, some of which rows then duplicate.

    >>> import_csv(3).decode().splitlines()[0].startswith("id,name,types")
    True
    """
    rng = np.random.default_rng(seed)
    lon = rng.uniform(*LON_RANGE, n)
    lat = rng.uniform(*LAT_RANGE, n)
    roll = rng.random(n)
    kinds = rng.integers(0, len(KINDS), n)
    streets = rng.integers(0, len(STREETS), n)
    metres = rng.uniform(1, 40, n)  # at least 1 m: a copy never lands on its original (same generated id)
    bearings = rng.uniform(0, 2 * math.pi, n)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    names: list[str] = []
    for i in range(n):
        street, (kind_name, kind) = STREETS[streets[i]], KINDS[kinds[i]]
        name = f"{street}街道{i}号{kind_name}"
        x, y = float(lon[i]), float(lat[i])
        if roll[i] < 0.05 and i > 0:  # a second listing of an earlier row
            earlier = int(rng.integers(0, i))
            name = names[earlier].replace("工会驿站", "爱心驿站")
            x, y = _moved(float(lon[earlier]), float(lat[earlier]), float(metres[i]), float(bearings[i]))
        elif roll[i] < 0.07 and sample:  # next to a station already in the registry (always with an id: rows
            x, y, name = sample[int(rng.integers(0, len(sample)))]  # of one name so close could share one)
            x, y = _moved(x, y, float(metres[i]) * 0.3, float(bearings[i]))
        lon[i], lat[i] = x, y
        names.append(name)
        crs = "gcj02" if roll[i] > 0.9 else "wgs84"
        if crs == "gcj02":
            gx, gy = transform(x, y, "wgs84", "gcj02")
            x, y = float(gx[()]), float(gy[()])
        writer.writerow(
            {
                "id": "" if roll[i] % 0.1 < 0.033 and not 0.05 <= roll[i] < 0.07 else f"BENCH-{seed}-{i:07d}",
                "name": name,
                "types": kind,
                "host": "合成测试" if i % 2 else "",
                "lon": f"{x:.6f}",
                "lat": f"{y:.6f}",
                "crs": crs,
                "address": f"杭州市{street}路{i % 997}号",
                "opening_hours": HOURS[i % len(HOURS)],
                "phone": f"0571-{i:08d}" if i % 3 else "",
                "source": "synthetic",
                "hot_water": ("yes", "no", "")[i % 3],
                "wifi": ("", "yes")[i % 2],
            }
        )
    return buffer.getvalue().encode("utf-8")


if __name__ == "__main__":
    rows, target = int(sys.argv[1]), Path(sys.argv[2])
    target.write_bytes(import_csv(rows))
    print(f"wrote {rows:,} rows to {target} ({target.stat().st_size / 1e6:.1f} MB)")
