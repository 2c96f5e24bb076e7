"""A GIS client in its own process: GDAL's OGC API - Features driver (OAPIF, in pyogrio's wheel) reads every
layer of a server and prints them as JSON (fields, feature rows, geometries as WKB hex).

Its own process because pyogrio holds the GIL while it reads, and the server under test runs in a thread of the
test's process. ``python oapif_client.py URL [PAGE_SIZE]``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pyogrio
from pyogrio.raw import read


def main(url: str, page_size: int | None = None) -> dict[str, Any]:
    """Every layer of the OGC API - Features service at ``url``: geometry type, fields and features."""
    options = {"PAGE_SIZE": str(page_size)} if page_size else {}
    layers: dict[str, Any] = {}
    for name, geometry_type in pyogrio.list_layers("OAPIF:" + url):
        meta, _, geometries, columns = read("OAPIF:" + url, layer=name, **options)
        rows = [[_plain(column[i]) for column in columns] for i in range(len(geometries))]
        layers[str(name)] = {
            "geometry_type": str(geometry_type),
            "crs": meta["crs"],
            "fields": [str(f) for f in meta["fields"]],
            "rows": rows,
            "wkb": [bytes(g).hex() if g is not None else None for g in geometries],
        }
    return layers


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "tolist") and getattr(value, "ndim", 0) > 0:  # a list field (e.g. RealList): GDAL's array
        return [_plain(item) for item in value.tolist()]
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN: GDAL's null for a float column
        return None
    return value if isinstance(value, int | float | str | bool) else str(value)


if __name__ == "__main__":
    size = int(sys.argv[2]) if len(sys.argv) > 2 else None
    sys.stdout.write(json.dumps(main(sys.argv[1], size), ensure_ascii=False))
