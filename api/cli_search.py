"""``yizhan search``: districts, streets and communities, and stations found by name (as ``GET /search``)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from api.cli_inputs import with_query
from api.cli_support import out, row, service
from stations.queries import SearchQuery

KIND_WORDS = {"district": "区县", "street": "街道/道路", "station": "服务站"}


def register(app: typer.Typer) -> None:
    """Add ``search`` to ``app``."""
    app.command()(search)


@with_query(SearchQuery)
def search(
    query: SearchQuery,
    as_json: Annotated[bool, typer.Option("--json", help="print the API's JSON instead of a table")] = False,
) -> None:
    """Districts, streets and communities, and stations whose name holds Q, with the point a rider starts from."""
    from stations.places import places_json

    found = service().search(query)
    if as_json:
        sys.stdout.write(json.dumps(places_json(query.text, found, query.crs), ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=Text(f"places matching {query.text!r} (points in {query.crs})"), title_justify="left")
    for column in ("kind", "name", "detail", "stations", "lon", "lat", "id"):
        table.add_column(column, overflow="fold")
    answer = places_json(query.text, found, query.crs)["places"]
    for place in answer:
        x, y = place["coordinates"]
        row(table, KIND_WORDS[place["kind"]], place["name"], place["detail"], str(place["stations"]), f"{x:.6f}",
            f"{y:.6f}", place["id"] or "")  # fmt: skip
    out.print(table if answer else "no place matches")
