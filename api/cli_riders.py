"""Riders' commands: ``yizhan nearby`` and ``yizhan map stations``.

Inputs as declared once in ``stations.inputs`` (the same as ``GET /stations/nearby`` and ``GET /embed``); the
answer from ``stations.service.Service``. The map builders load only when a map is written.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli_inputs import with_query
from api.cli_support import err, out, row, service
from stations.queries import NearbyRequest, StationMapQuery


def register(app: typer.Typer, map_app: typer.Typer) -> None:
    """Add ``nearby`` to ``app`` and ``map stations`` to ``map_app``."""
    app.command()(nearby)
    map_app.command("stations")(map_stations)


@with_query(NearbyRequest)
def nearby(
    query: NearbyRequest,
    as_json: Annotated[bool, typer.Option("--json", help="print the API's GeoJSON instead of a table")] = False,
) -> None:
    """The nearest stations to LON LAT, with distances and opening status."""
    yizhan = service()
    results = yizhan.nearby(query)
    if as_json:
        from stations.exporters import nearby_geojson, query_point
        from stations.navigation import Trip

        trip = Trip(query.mode, (query.query.lon, query.query.lat), yizhan.settings.navigation_apps())
        answer = nearby_geojson(results, query.crs, trip, query=query_point(query.query, query.crs))
        sys.stdout.write(json.dumps(answer, ensure_ascii=False, indent=2) + "\n")
        return
    from stations import hours

    when = query.query.open_at or datetime.now(hours.TIMEZONE)
    at = f"{query.query.lon:.6f}, {query.query.lat:.6f}"
    order = ", open ones first" if query.query.order == "open_first" else ""
    table = Table(title=f"nearest stations to {at} (WGS84){order}", title_justify="left")
    for column, justify in (("#", "right"), ("distance", "right"), ("name", "left"), ("types", "left"),
                            ("status", "left"), ("hours", "left"), ("district", "left"), ("id", "left")):  # fmt: skip
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]  # rich wants a Literal
    for rank, result in enumerate(results, start=1):
        s = result.station
        distance = (
            f"{result.distance_m:,.0f} m" if result.distance_m < 10_000 else f"{result.distance_m / 1000:,.1f} km"
        )
        change = result.closes_at or result.opens_at
        status = result.open_status + (f", {hours.change_words(change, when, change is result.opens_at, 'en')}"
                                       if change else "")  # fmt: skip
        row(table, str(rank), distance, s.name, ",".join(s.types), status, s.opening_hours or "unknown",
            s.district or "", s.id)  # fmt: skip
    out.print(table if results else "no station matches")


@with_query(StationMapQuery)
def map_stations(
    query: StationMapQuery,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write")] = Path("stations.html"),
) -> None:
    """Write a map of the stations (hours, navigation links) as one self-contained HTML file for any web host."""
    html = service().station_map(query)
    output.write_text(html, encoding="utf-8")
    err.print(f"wrote {output} ({len(html) / 1e6:.1f} MB)")
