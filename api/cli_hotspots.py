"""``yizhan hotspots``: gaps a station can close — hot spots and the stations each gap would take.

Inputs as ``GET /hotspots`` (``stations.inputs.HOTSPOTS_INPUTS``); tables in Chinese unless ``--lang en``,
points in ``--crs``.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from api.cli_inputs import with_query
from api.cli_support import err, out, row, service
from stations.queries import HotspotsQuery

WORDS = {
    "zh": {
        "status": "正在寻找热点…",
        "title": "热点：每处一座新驿站即可服务的未覆盖需求（半径 {radius} 米，共 {count} 处，合计 {total}（{unit}））",
        "gaps_title": "各缺口所需驿站数（贪心方案与已证明的下限）",
        "spot_headers": (
            "#",
            "区县",
            "需求",
            "新覆盖 km²",
            "建议站址 经度, 纬度",
            "最近驿站",
            "距离 m",
            "所在缺口需站数",
        ),
        "gap_headers": ("缺口 #", "区县", "面积 km²", "需求", "需站数", "至少", "标注点 经度, 纬度", "最近驿站距离 m"),
        "none": "没有未覆盖的需求：每处需求都在服务半径内",
        "demand": "需求",
        "km²": "km²",
    },
    "en": {
        "status": "finding hot spots…",
        "title": (
            "hot spots: unserved demand one new station serves each (radius {radius} m, {count} in all, {total} {unit})"
        ),
        "gaps_title": "stations each gap would take (greedy plan and proven least number)",
        "spot_headers": ("#", "district", "demand", "new km²", "site lon, lat", "nearest station", "m", "gap needs"),
        "gap_headers": ("gap #", "district", "km²", "demand", "stations", "at least", "label lon, lat", "nearest m"),
        "none": "no unserved demand: all of it is within the radius",
        "demand": "demand",
        "km²": "km²",
    },
}


@with_query(HotspotsQuery)
def hotspots(
    query: HotspotsQuery,
    as_json: Annotated[bool, typer.Option("--json", help="print GeoJSON (sites as points, with a summary)")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="print the hot spots as CSV (with metadata)")] = False,
    gaps_csv: Annotated[bool, typer.Option("--gaps-csv", help="print the stations needed per gap as CSV")] = False,
) -> None:
    """Gaps a station can close: unserved demand in pieces one new station serves, and what each gap would take."""
    from stations.planning.exports import CRS_LABELS, hotspot_export, report_csv, rows_in
    from stations.planning.hotspots import gap_need_rows, hotspot_rows

    words = WORDS[query.lang]
    with err.status(str(words["status"])):
        planning = service()
        report = planning.hotspots(query)
    if as_json or as_csv or gaps_csv:
        context = planning.report_context(query.request, report.version, query.lang, query.crs, query.filters)
        export = hotspot_export(report, context, query.limit)
        if as_json:
            sys.stdout.write(json.dumps(export.geojson, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(report_csv(export.tables[0 if as_csv else 1], export.context))
        return
    found = report.found
    if not found.spots:
        out.print(words["none"])
        return
    unit = str(words[found.weight_unit])
    title = str(words["title"]).format(
        radius=f"{found.radius_m:,.0f}", count=len(found.spots), total=f"{found.unserved:,.1f}", unit=unit
    )
    table = Table(title=title, title_justify="left")
    system = CRS_LABELS[query.crs][0]  # the coordinates' system, named in their header
    for number, header in enumerate(words["spot_headers"]):
        table.add_column(
            f"{header} ({system})" if number == 4 else header, justify="left" if number in (1, 5) else "right"
        )
    for spot in rows_in(hotspot_rows(report, query.limit), query.crs):
        distance = "" if spot["nearest_station_m"] is None else f"{spot['nearest_station_m']:,.0f}"
        row(table, str(spot["rank"]), spot["district"], f"{spot['demand']:,.1f}", f"{spot['area_km2']:,.2f}",
            f"{spot['site_lon']:.5f}, {spot['site_lat']:.5f}", spot["nearest_station_name"] or "", distance,
            str(spot["gap_stations"]))  # fmt: skip
    out.print(table)
    gaps = Table(title=str(words["gaps_title"]), title_justify="left")
    for number, header in enumerate(words["gap_headers"]):
        gaps.add_column(f"{header} ({system})" if number == 6 else header, justify="left" if number == 1 else "right")
    for need in rows_in(gap_need_rows(report, query.limit), query.crs):
        distance = "" if need["nearest_station_m"] is None else f"{need['nearest_station_m']:,.0f}"
        row(gaps, str(need["gap_rank"] or "—"), need["district"], f"{need['area_km2']:,.1f}", f"{need['demand']:,.1f}",
            str(need["stations"]), str(need["stations_at_least"]), f"{need['label_lon']:.5f}, {need['label_lat']:.5f}",
            distance)  # fmt: skip
    out.print(gaps)
