"""The demand layer planning weighs coverage and gaps by: points (WGS84) with weights, from a CSV."""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from pathlib import Path

from geo.coverage import Demand
from stations.errors import FileUnreadable, InvalidValue


def load_demand(path: str | Path) -> Demand:
    """A demand layer from a CSV with ``lon,lat`` and optional ``weight`` columns (WGS84; weight 1 if empty).

    ``FileUnreadable`` for a file that cannot be read or lacks the columns, ``InvalidValue`` naming the line of
    a value that is no number. Read once per file version (path, size, modification time) in a process: every
    app it builds shares the layer, whose arrays are read-only."""
    try:
        stat = Path(path).stat()
    except OSError as exc:
        raise FileUnreadable(f"cannot read demand file {path}: {exc}") from exc
    return _read_demand(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=4)
def _read_demand(path: str, _size: int, _mtime_ns: int) -> Demand:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileUnreadable(f"cannot read demand file {path}: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"lon", "lat"} <= set(reader.fieldnames):
        raise FileUnreadable(f"{path}: a demand CSV needs lon and lat columns (and optionally weight)")
    lon, lat, weight = [], [], []
    for line, record in enumerate(reader, start=2):
        try:
            lon.append(float(record["lon"]))
            lat.append(float(record["lat"]))
            weight.append(float(record.get("weight") or 1.0))
        except (TypeError, ValueError):
            raise InvalidValue("demand", f"line {line}: {record}", "lon, lat and weight must be numbers") from None
    try:
        demand = Demand.from_arrays(lon, lat, weight)
    except ValueError as exc:
        raise InvalidValue("demand", str(path), str(exc)) from None
    for array in (demand.lon, demand.lat, demand.weight):
        array.setflags(write=False)
    return demand
