"""Planners' commands: ``yizhan coverage``, ``gaps``, ``site`` and ``map coverage``.

Each takes its inputs as declared once in ``stations.inputs`` (the same names, defaults, bounds and help as the
API), calls ``stations.service.Service`` and prints or writes the result. The planner, scipy, shapely and the
map builders load only when a command runs, not for ``yizhan --help``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from api.cli_inputs import with_inputs, with_query
from api.cli_support import err, out, row, service
from stations.errors import InvalidValue
from stations.inputs import SITING_INPUTS
from stations.queries import CoverageMapQuery, CoverageQuery, GapsQuery

if TYPE_CHECKING:
    from geo.crs import CrsName
    from stations.planning import SitingReport
    from stations.planning.exports import Lang

STATION_COLUMNS = {"outdoor_worker": "outdoor", "driver_home": "driver", "nursing_room": "nursing"}


def register(app: typer.Typer, map_app: typer.Typer) -> None:
    """Add the planning commands to ``app`` and ``map coverage`` to ``map_app``."""
    app.command()(coverage)
    app.command()(gaps)
    app.command()(site)
    map_app.command("coverage")(map_coverage)
    from api.cli_hotspots import hotspots  # gaps a station can close

    app.command()(hotspots)
    from api import cli_hours  # coverage-profile, night-gaps

    cli_hours.register(app)


def percent(value: float | None) -> str:
    """A share as a percentage with one decimal, or nothing.

    >>> percent(0.4237), percent(None)
    ('42.4%', '')
    """
    return "" if value is None else f"{value:.1%}"


def metres(value: float | None) -> str:
    """A distance in metres, or kilometres from 10 km.

    >>> metres(812.4), metres(15_300), metres(None)
    ('812 m', '15.3 km', 'no station')
    """
    if value is None:
        return "no station"
    return f"{value:,.0f} m" if value < 10_000 else f"{value / 1000:,.1f} km"


@with_query(CoverageQuery)
def coverage(
    query: CoverageQuery,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON rows")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="print CSV")] = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="write an XLSX workbook to this file")] = None,
) -> None:
    """Coverage per district: the share within RADIUS metres of a station, with distances and demand.

    --csv and --xlsx write the report: headers in --lang with units, the metadata first (CSV) or on a sheet of
    its own (XLSX), coordinates in --crs."""
    from stations.model import STATION_TYPES
    from stations.planning.exports import coverage_table, report_csv, report_xlsx

    request = query.request
    with err.status(f"computing coverage on a {request.cell_m:g} m grid…"):
        report = service().coverage(query)
    rows = report.rows(query.adcode)
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    context = service().report_context(request, report.version, query.lang, query.crs, getattr(query, "filters", None))
    if as_csv:
        sys.stdout.write(report_csv(coverage_table(report, query.adcode), context))
        return
    if xlsx is not None:
        xlsx.write_bytes(report_xlsx([coverage_table(report, query.adcode)], context))
        err.print(f"wrote {len(rows)} districts to {xlsx}")
        return
    kinds = ", ".join(request.types) if request.types else "all types"
    title = f"coverage within {request.radius_m:,.0f} m of a station ({kinds}; {request.cell_m:g} m cells)"
    table = Table(title=title, title_justify="left")
    demand = service().planner.demand is not None
    headers = ["adcode", "district", "km²", *STATION_COLUMNS.values(), "covered", "uncovered km²", "median", "p90"]
    if demand:
        headers.append("demand covered")
    for header in headers:
        table.add_column(header, justify="left" if header in ("adcode", "district") else "right")
    for record in rows:
        counts = [str(record[f"stations_{kind}"]) for kind in STATION_TYPES]
        distances = [metres(record["median_distance_m"]), metres(record["p90_distance_m"])]
        share, uncovered = percent(record["covered_share"]), f"{record['uncovered_km2']:,.1f}"
        cells = [record["adcode"], record["name"], f"{record['area_km2']:,.1f}", *counts, share, uncovered, *distances]
        if demand:
            cells.append(percent(record.get("demand_covered_share")))
        row(table, *cells)
    out.print(table)
    describe = getattr(report, "describe", None)  # open at a time, with amenities (stations.planning.timed)
    if describe is not None:
        said = describe()
        out.print(f"open at {said['open_at'] or 'any time'}; amenities: {', '.join(said['amenities']) or 'any'}; "
                  f"{said['open_stations']} stations open, {said['unknown_stations']} of unknown hours "
                  f"({said['unknown_hours']}). {said['open_at_note'] or ''}", highlight=False)  # fmt: skip


@with_query(GapsQuery)
def gaps(
    query: GapsQuery,
    as_json: Annotated[bool, typer.Option("--json", help="print GeoJSON")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="print CSV")] = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="write an XLSX workbook to this file")] = None,
) -> None:
    """The largest service gaps: connected areas farther than RADIUS metres from every station."""
    from dataclasses import replace

    from stations.planning.exports import gaps_geojson, gaps_table, report_csv, report_xlsx

    with err.status("finding gaps…"):
        found, serving = service().gaps(query)
    version = service().registry.snapshot().version  # what the gaps were found in
    context = service().report_context(query.request, version, query.lang, query.crs, getattr(query, "filters", None))
    context = replace(context, report=("服务空白", "Service gaps"))
    if as_json:
        sys.stdout.write(json.dumps(gaps_geojson(found, serving, context), ensure_ascii=False) + "\n")
        return
    if as_csv:
        sys.stdout.write(report_csv(gaps_table(found, serving, query.crs), context))
        return
    if xlsx is not None:
        xlsx.write_bytes(report_xlsx([gaps_table(found, serving, query.crs)], context))
        err.print(f"wrote {len(found)} gaps to {xlsx}")
        return
    ranked_by = "uncovered demand" if service().planner.demand is not None else "area"
    table = Table(title=f"service gaps beyond {query.request.radius_m:,.0f} m, by {ranked_by}", title_justify="left")
    for header in ("#", "district", "km²", "demand", "centroid lon, lat", "nearest station", "distance"):
        table.add_column(header, justify="right" if header in ("#", "km²", "demand", "distance") else "left")
    for gap in found:
        nearest = serving[gap.nearest_station].name if gap.nearest_station >= 0 else ""
        demand = "" if gap.demand is None else f"{gap.demand:,.0f}"
        row(table, str(gap.rank), gap.district, f"{gap.area_km2:,.2f}", demand,
            f"{gap.centroid_lon:.5f}, {gap.centroid_lat:.5f}", nearest, metres(gap.nearest_station_m))  # fmt: skip
    out.print(table if found else "no gaps: every cell is covered")


@with_inputs(SITING_INPUTS)
def site(
    values: dict[str, Any],
    candidates: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="CSV/XLSX/GeoJSON of feasible sites (lon, lat, name)"),
    ] = None,
    crs: Annotated[
        str,
        typer.Option("--crs", help="coordinate system of the candidates and sites: wgs84, gcj02 or bd09"),
    ] = "wgs84",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write sites: .geojson, .csv or .xlsx")] = None,
    map_file: Annotated[Path | None, typer.Option("--map", help="write the coverage map with the proposals")] = None,
) -> None:
    """Where new stations help most: ranked sites with their gains and coverage before and after."""
    from stations.importers import parse_candidates
    from stations.planning import Candidate
    from stations.queries import crs_name, report_lang, siting_request

    lang, out_crs = report_lang(values.pop("lang", "zh")), crs_name(crs)
    sites: tuple[Candidate, ...] = ()
    if candidates is not None:
        parsed = parse_candidates(candidates.read_bytes(), candidates.name, limits=service().settings.import_limits())
        sites = tuple(Candidate(lon, lat, name) for lon, lat, name in parsed)
    request = siting_request(**values, candidates=sites, crs=crs)
    with err.status(f"siting ({request.method})…"):
        report = service().site(request)
    print_siting(report)
    if output is not None:
        write_sites(report, output, lang, out_crs)
    if map_file is not None:
        query = CoverageMapQuery(request.coverage, None, 20)
        html = service().coverage_map(query, report)
        map_file.write_text(html, encoding="utf-8")
        err.print(f"wrote {map_file}")


def print_siting(report: SitingReport) -> None:
    """The proposed sites, the solvers' figures and coverage per district before → after, as tables."""
    radius = report.request.coverage.radius_m
    unit = "people" if report.weight_unit == "demand" else "km²"  # the demand layer counts people (需求 人)
    table = Table(title=f"proposed sites (gain: {unit} newly within {radius:,.0f} m; WGS84)", title_justify="left")
    for header in ("#", "district", "lon, lat", "name", f"gain, {unit}"):
        table.add_column(header, justify="right" if header in ("#", f"gain, {unit}") else "left")
    for proposal in report.sites:
        row(table, str(proposal["rank"]), proposal["district"] or "", f"{proposal['lon']:.5f}, {proposal['lat']:.5f}",
            proposal["name"] or "", f"{proposal['gain']:,.1f}")  # fmt: skip
    out.print(table)
    for name, solution in report.solutions.items():
        proven = (
            "proven optimal" if solution["optimal"] else f"bound {solution['bound']:,.1f}, gap {solution['gap']:.2%}"
        )
        out.print(f"{name}: {solution['sites']} sites cover {solution['objective']:,.1f} more; {proven}; "
                  f"{solution['seconds']:.2f} s", highlight=False)  # fmt: skip
    out.print(f"covered share of all {report.weight_unit}: {report.total_before:.1%} → {report.total_after:.1%}")
    districts = Table(title="coverage per district, before → after", title_justify="left")
    for header in ("district", "covered area", "covered demand", "new sites"):
        districts.add_column(header, justify="left" if header == "district" else "right")
    for before, after in zip(report.before, report.after, strict=True):
        demand = ""
        if before.get("demand_covered_share") is not None:
            demand = f"{percent(before['demand_covered_share'])} → {percent(after['demand_covered_share'])}"
        new = sum(proposal["adcode"] == before["adcode"] for proposal in report.sites)
        row(districts, before["name"], f"{percent(before['covered_share'])} → {percent(after['covered_share'])}",
            demand, str(new))  # fmt: skip
    out.print(districts)


def write_sites(report: SitingReport, output: Path, lang: Lang = "zh", crs: CrsName = "wgs84") -> None:
    """The proposals as GeoJSON, CSV or XLSX, by the file's suffix: a report in ``lang`` with its metadata,
    points in ``crs`` (``stations.planning.exports``)."""
    from stations.planning.exports import change_table, report_csv, report_xlsx, sites_geojson, siting_context
    from stations.planning.exports import sites_table as table

    coverage = service().planner.coverage(report.request.coverage)  # cached: what the siting started from
    context = siting_context(service().report_context(coverage.request, coverage.version, lang, crs), report)
    stations = service().registry.snapshot().stations  # every station's address may name the site's street
    suffix = output.suffix.lower()
    if suffix in (".geojson", ".json"):
        collection = sites_geojson(report, stations, context)
        output.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    elif suffix == ".csv":
        output.write_text(report_csv(table(report, stations, crs), context), encoding="utf-8-sig")
    elif suffix == ".xlsx":
        output.write_bytes(report_xlsx([table(report, stations, crs), change_table(report)], context))
    else:
        raise InvalidValue("output", str(output), "unsupported file type", [".geojson", ".csv", ".xlsx"])
    err.print(f"wrote {len(report.sites)} sites to {output}")


@with_query(CoverageMapQuery)
def map_coverage(
    query: CoverageMapQuery,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write")] = Path("coverage.html"),
) -> None:
    """Write the coverage map (choropleth, covered area, gaps, stations) as one self-contained HTML file."""
    with err.status("drawing the coverage map…"):
        html = service().coverage_map(query)
    output.write_text(html, encoding="utf-8")
    err.print(f"wrote {output} ({len(html) / 1e6:.1f} MB)")
