"""The ``yizhan`` command line: serve, import, export, nearby.

Exit codes: 0 success, 1 rejected input (bad rows, bad values, a file or database that cannot be used),
2 usage errors. Every error is one line on stderr, ``yizhan: error: ...`` (``api.cli_support.YizhanGroup``);
``YIZHAN_DEBUG=1`` shows the traceback of unexpected ones.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api import cli_batch, cli_keeper
from api.app import build_planner
from api.cli_progress import EXIT_STATUS, cancellable
from api.cli_support import (
    CLICK_ERRORS,
    YizhanGroup,
    check_database,
    cli_actor,
    err,
    is_help_request,
    out,
    report_error,
)
from api.cli_support import fail as _fail
from api.cli_support import registry as _registry
from api.cli_support import row as _row
from api.routes.coverage import render_coverage_map
from api.settings import get_settings
from geo.crs import CrsName
from stations import opendata, params
from stations.errors import ImportCancelled, ImportRejected, InvalidValue, RowProblem, YizhanError
from stations.exporters import nearby_geojson, table_csv, table_xlsx
from stations.importers import parse_candidates
from stations.model import STATION_TYPES
from stations.planning import (
    Candidate,
    CoverageRequest,
    Planner,
    SitingReport,
    SitingRequest,
    gap_features,
    siting_geojson,
)
from stations.registry import ImportReport

app = typer.Typer(
    help="Yizhan (驿站): find, map and plan union service stations.",
    no_args_is_help=True,
    cls=YizhanGroup,  # every error of every command as one line, never a traceback
    pretty_exceptions_enable=False,  # nor a rich one, should anything get past it
)
map_app = typer.Typer(help="Write maps as self-contained HTML files.", no_args_is_help=True)
app.add_typer(map_app, name="map")

CrsOption = Annotated[str, typer.Option("--crs", help="wgs84, gcj02 (Amap, Tencent) or bd09 (Baidu)")]


def _planner() -> Planner:
    planner = build_planner(get_settings(), _registry())
    if planner is None:
        raise InvalidValue("districts", None, "coverage needs district boundaries: set YIZHAN_DISTRICTS_PATH")
    return planner


RadiusOption = Annotated[float, typer.Option("--radius", help="service distance, metres")]
TypesOption = Annotated[str | None, typer.Option("--types", help=f"comma-separated: {', '.join(STATION_TYPES)}")]
CellOption = Annotated[float, typer.Option("--cell", help="grid cell size, metres")]
AdcodeOption = Annotated[str | None, typer.Option("--adcode", help="only this district, e.g. 330106")]


def _coverage_request(radius: float, types: str | None, cell: float) -> CoverageRequest:
    return CoverageRequest(radius, params.names(types, STATION_TYPES, "types"), cell)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _metres(value: float | None) -> str:
    if value is None:
        return "no station"
    return f"{value:,.0f} m" if value < 10_000 else f"{value / 1000:,.1f} km"


def _crs(value: str) -> CrsName:
    return params.names(value, ("wgs84", "gcj02", "bd09"), "crs")[0]  # type: ignore[return-value]


def _problem_table(title: str, problems: list[RowProblem]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("row", "field", "value", "reason"):
        table.add_column(column, overflow="fold")
    for p in problems:
        _row(table, str(p.row), p.field, p.value, p.reason)
    return table


SHOWN_ROWS = 200
"""Likely duplicates and warnings listed in an import's printed report (rich draws ~700 table rows a second);
``--report FILE`` writes them all."""


def _print_more(count: int, what: str) -> None:
    if count > SHOWN_ROWS:
        out.print(f"... and {count - SHOWN_ROWS:,} more {what} (--report FILE writes them all)", highlight=False)


def _print_report(report: ImportReport) -> None:
    would = "would " if report.dry_run else ""
    add, update = ("would add", "would update") if report.dry_run else ("added", "updated")
    out.print(
        f"{report.file}: {report.rows} rows, {report.valid} valid; {add} {report.added}, "
        f"{update} {report.updated}, {report.unchanged} unchanged; {len(report.problems)} rejected, "
        f"{len(report.duplicates)} likely duplicate(s), {len(report.warnings)} warning(s)",
        highlight=False,
    )
    if report.rows_updated:
        table = Table(title=f"rows that {would}update a station", title_justify="left")
        for column in ("row", "station", "matched by", "fields changed"):
            table.add_column(column, overflow="fold")
        for p in report.rows_updated[:50]:
            _row(table, str(p.row), p.id, p.matched_by or "", ", ".join(p.changes))
        out.print(table)
    if report.duplicates:
        table = Table(title="likely duplicates of stations already there", title_justify="left")
        for column in ("row", "name", "existing", "existing name", "distance", "why"):
            table.add_column(column, overflow="fold")
        for d in report.duplicates[:SHOWN_ROWS]:
            _row(table, str(d.row), d.name, d.existing_id, d.existing_name, f"{d.distance_m:g} m", d.reason)
        out.print(table)
        _print_more(len(report.duplicates), "likely duplicates")
    if report.warnings:
        out.print(_problem_table("warnings", report.warnings[:SHOWN_ROWS]))
        _print_more(len(report.warnings), "warnings")
    if report.problems:
        out.print(_problem_table("rejected rows (nothing is imported while any remain)", report.problems))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Serve the API and the pages with uvicorn (JSON access log on stdout)."""
    check_database()  # a bad URL or an unreachable database is one line here, not a traceback per worker
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from api.access_log import uvicorn_log_config
    from api.serving import uvicorn_options

    config = uvicorn.Config(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_worker_healthcheck=60,  # a worker busy building its index (or a loaded machine) is not hung
        access_log=False,  # api.access_log writes one JSON line per request, without tokens or positions
        log_config=uvicorn_log_config(),
        # X-Forwarded-For only from YIZHAN_TRUSTED_PROXIES (uvicorn's own default trusts 127.0.0.1)
        proxy_headers=bool(get_settings().trusted_proxies),
        forwarded_allow_ips=list(get_settings().trusted_proxies) or None,
        **uvicorn_options(),  # deadlines on request headers; header size and keep-alive bounds
    )
    if workers == 1:
        uvicorn.Server(config).run()
    else:
        Multiprocess(config, sockets=[tcp_listener(config.bind_socket())]).run()


def tcp_listener(sock: socket.socket) -> socket.socket:
    """The shared listening socket of several workers, as an IPPROTO_TCP socket: uvicorn makes it with protocol 0,
    and asyncio sets TCP_NODELAY only on IPPROTO_TCP sockets — without it every answer waits ~40 ms for the
    client's delayed ACK (Nagle), capping 2 workers at ~170 requests/s (Kludex/uvicorn#3149)."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return sock
    return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV, XLSX or GeoJSON file")],
    crs: CrsOption = "wgs84",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check and report; write nothing")] = False,
    report_path: Annotated[
        Path | None, typer.Option("--report", help="also write the whole report (every row) to this JSON file")
    ] = None,
) -> None:
    """Import stations from a file: all rows or none, with a report of every bad row.

    On a terminal a progress bar shows each stage; Ctrl-C (SIGINT) or SIGTERM stops the import cleanly:
    nothing is written, and the exit status is 130 or 143.
    """
    with cancellable(err) as progress:
        try:
            report = _registry().import_file(
                file.read_bytes(), file.name, _crs(crs), dry_run=dry_run, actor=cli_actor(), progress=progress
            )
        except ImportCancelled as cancelled:
            err.print(f"{file.name}: {cancelled}", highlight=False, markup=False)
            raise typer.Exit(EXIT_STATUS.get(cancelled.reason, 1)) from None
        except ImportRejected as rejected:
            err.print(_problem_table(f"{file.name}: nothing was imported", rejected.problems))
            raise typer.Exit(1) from None
        except YizhanError as error:
            _fail(error)
    if report_path is not None:
        report_path.write_text(json.dumps(report.as_dict(), ensure_ascii=False, default=str), encoding="utf-8")
    _print_report(report)
    if progress.cancelled and report.committed:
        err.print(f"{file.name}: {progress.cancelled} came after the commit; the import is complete", highlight=False)
    if report.problems:
        raise typer.Exit(1)


@app.command()
def export(
    format: Annotated[str, typer.Option("--format", "-f", help="csv, geojson or xlsx")] = "csv",
    crs: CrsOption = "wgs84",
    modified_since: Annotated[
        str | None,
        typer.Option(help="only stations changed at or after this ISO date-time, and ids removed for good since"),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file to write (default: stdout)")] = None,
) -> None:
    """Export the open data: every station (closed ones too) with revision, modified_at, licence and attribution;
    with --modified-since, what changed (delta sync; the next cursor is printed to stderr)."""
    settings = get_settings()
    try:
        kind = params.names(format, ("csv", "geojson", "xlsx"), "format")[0]
        since = params.moment(modified_since, field="modified_since")
        data = opendata.dump(_registry().store, settings.data_licence, settings.data_attribution, since)
        if kind == "geojson":
            body: str | bytes = json.dumps(opendata.geojson(data, _crs(crs)), ensure_ascii=False)
        elif kind == "xlsx":
            body = table_xlsx(opendata.table(data, _crs(crs)), sheet="stations")
        else:
            body = table_csv(opendata.table(data, _crs(crs)), opendata.COLUMNS)
    except YizhanError as error:
        _fail(error)
    if output is None:
        if isinstance(body, bytes):
            _fail(InvalidValue("output", None, "XLSX is binary: write it to a file with --output"))
        sys.stdout.write(body)  # type: ignore[arg-type]
    elif isinstance(body, bytes):
        output.write_bytes(body)
    else:
        output.write_text(body, encoding="utf-8")
    cursor = opendata.iso(data.next_modified_since) or "none"
    where = f" to {output}" if output is not None else ""
    err.print(f"wrote {len(data.stations)} stations ({len(data.deleted)} removed){where}")
    err.print(f"next --modified-since {cursor}")


@app.command()
def nearby(
    lon: Annotated[float, typer.Argument(help="longitude, degrees")],
    lat: Annotated[float, typer.Argument(help="latitude, degrees")],
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=100, help="how many stations")] = 5,
    types: Annotated[str | None, typer.Option(help=f"comma-separated: {', '.join(STATION_TYPES)}")] = None,
    amenities: Annotated[str | None, typer.Option(help="comma-separated, all required, e.g. hot_water")] = None,
    radius_m: Annotated[float | None, typer.Option("--radius", min=0.0, help="only within this many metres")] = None,
    open_at: Annotated[str | None, typer.Option(help="ISO date-time or 'now': only stations open then")] = None,
    include_unknown_hours: Annotated[bool, typer.Option(help="with --open-at, keep stations of unknown hours")] = False,
    crs: CrsOption = "wgs84",
    as_json: Annotated[bool, typer.Option("--json", help="print the API's GeoJSON instead of a table")] = False,
) -> None:
    """The nearest stations to LON LAT, with distances and opening status."""
    try:
        crs_name = _crs(crs)
        query = params.nearby_query(
            lon, lat, crs=crs_name, k=k, radius_m=radius_m, types=types, amenities=amenities, open_at=open_at,
            include_unknown_hours=include_unknown_hours,
        )  # fmt: skip
        results = _registry().snapshot().nearby(query)
    except YizhanError as error:
        _fail(error)
    if as_json:
        sys.stdout.write(json.dumps(nearby_geojson(results, crs_name), ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"nearest stations to {lon}, {lat} ({crs_name})", title_justify="left")
    for column, justify in (("#", "right"), ("distance", "right"), ("name", "left"), ("types", "left"),
                            ("status", "left"), ("hours", "left"), ("district", "left"), ("id", "left")):  # fmt: skip
        table.add_column(column, justify=justify, overflow="fold")
    for rank, r in enumerate(results, start=1):
        s = r.station
        distance = f"{r.distance_m:,.0f} m" if r.distance_m < 10_000 else f"{r.distance_m / 1000:,.1f} km"
        _row(table, str(rank), distance, s.name, ",".join(s.types), r.open_status, s.opening_hours or "unknown",
             s.district or "", s.id)  # fmt: skip
    out.print(table if results else "no station matches")


@app.command()
def coverage(
    radius: RadiusOption = 1000.0,
    types: TypesOption = None,
    cell: CellOption = 100.0,
    adcode: AdcodeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON rows")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="print CSV")] = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="write an XLSX workbook to this file")] = None,
) -> None:
    """Coverage per district: the share within RADIUS metres of a station, with distances and demand."""
    try:
        planner = _planner()
        planner.check_adcode(adcode)
        request = _coverage_request(radius, types, cell)
        with err.status(f"computing coverage on a {cell:g} m grid…"):
            report = planner.coverage(request)
    except YizhanError as error:
        _fail(error)
    rows = report.rows(adcode)
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    if as_csv:
        sys.stdout.write(table_csv(rows))
        return
    if xlsx is not None:
        xlsx.write_bytes(table_xlsx(rows))
        err.print(f"wrote {len(rows)} districts to {xlsx}")
        return
    kinds = ", ".join(request.types) if request.types else "all types"
    title = f"coverage within {radius:,.0f} m of a station ({kinds}; {cell:g} m cells)"
    table = Table(title=title, title_justify="left")
    headers = ["adcode", "district", "km²", "outdoor", "driver", "nursing", "covered", "uncovered km²", "median", "p90"]
    if planner.demand is not None:
        headers.append("demand covered")
    for header in headers:
        table.add_column(header, justify="left" if header in ("adcode", "district") else "right")
    for row in rows:
        counts = [str(row[f"stations_{kind}"]) for kind in STATION_TYPES]
        distances = [_metres(row["median_distance_m"]), _metres(row["p90_distance_m"])]
        share, uncovered = _percent(row["covered_share"]), f"{row['uncovered_km2']:,.1f}"
        cells = [row["adcode"], row["name"], f"{row['area_km2']:,.1f}", *counts, share, uncovered, *distances]
        if planner.demand is not None:
            cells.append(_percent(row.get("demand_covered_share")))
        _row(table, *cells)
    out.print(table)


@app.command()
def gaps(
    radius: RadiusOption = 1000.0,
    types: TypesOption = None,
    cell: CellOption = 100.0,
    adcode: AdcodeOption = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="how many gaps")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="print GeoJSON")] = False,
) -> None:
    """The largest service gaps: connected areas farther than RADIUS metres from every station."""
    try:
        planner = _planner()
        request = _coverage_request(radius, types, cell)
        with err.status("finding gaps…"):
            found = planner.gaps(request, adcode, limit)
            serving = planner.coverage(request).stations
    except YizhanError as error:
        _fail(error)
    if as_json:
        sys.stdout.write(json.dumps(gap_features(found, serving), ensure_ascii=False) + "\n")
        return
    ranked_by = "uncovered demand" if planner.demand is not None else "area"
    table = Table(title=f"service gaps beyond {radius:,.0f} m, by {ranked_by}", title_justify="left")
    for header in ("#", "district", "km²", "demand", "centroid lon, lat", "nearest station", "distance"):
        table.add_column(header, justify="right" if header in ("#", "km²", "demand", "distance") else "left")
    for gap in found:
        nearest = serving[gap.nearest_station].name if gap.nearest_station >= 0 else ""
        demand = "" if gap.demand is None else f"{gap.demand:,.0f}"
        _row(table, str(gap.rank), gap.district, f"{gap.area_km2:,.2f}", demand,
             f"{gap.centroid_lon:.5f}, {gap.centroid_lat:.5f}", nearest, _metres(gap.nearest_station_m))  # fmt: skip
    out.print(table if found else "no gaps: every cell is covered")


def _read_candidates(path: Path) -> tuple[Candidate, ...]:
    """Candidate sites from a CSV/XLSX/GeoJSON file with lon/lat (and optionally name) — the importers' formats."""
    parsed = parse_candidates(path.read_bytes(), path.name, limits=get_settings().import_limits())
    return tuple(Candidate(lon, lat, name) for lon, lat, name in parsed)


@app.command()
def site(
    add: Annotated[int | None, typer.Option("--add", min=1, max=500, help="how many new sites")] = None,
    target: Annotated[float | None, typer.Option("--target", help="instead of --add: share of demand to cover")] = None,
    radius: RadiusOption = 1000.0,
    types: TypesOption = None,
    cell: CellOption = 100.0,
    candidates: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="CSV/XLSX/GeoJSON of feasible sites (lon, lat, name)"),
    ] = None,
    method: Annotated[str, typer.Option(help="greedy, exact or both")] = "greedy",
    time_limit: Annotated[float, typer.Option("--time-limit", help="seconds for the exact solver")] = 30.0,
    min_spacing: Annotated[float, typer.Option("--min-spacing", help="metres between new sites")] = 0.0,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write sites: .geojson, .csv or .xlsx")] = None,
    map_file: Annotated[Path | None, typer.Option("--map", help="write the coverage map with the proposals")] = None,
) -> None:
    """Where new stations help most: ranked sites with their gains and coverage before and after."""
    try:
        planner = _planner()
        request = SitingRequest(
            _coverage_request(radius, types, cell), add if target is None else None, target, method,  # type: ignore[arg-type]
            time_limit, min_spacing, (), _read_candidates(candidates) if candidates else (),
        )  # fmt: skip
        with err.status(f"siting ({method})…"):
            report = planner.site(request)
    except YizhanError as error:
        _fail(error)
    table = Table(
        title=f"proposed sites (gain in {report.weight_unit} newly within {radius:,.0f} m)", title_justify="left"
    )
    for header in ("#", "district", "lon, lat", "name", "gain"):
        table.add_column(header, justify="right" if header in ("#", "gain") else "left")
    for row in report.sites:
        _row(table, str(row["rank"]), row["district"] or "", f"{row['lon']:.5f}, {row['lat']:.5f}", row["name"] or "",
             f"{row['gain']:,.1f}")  # fmt: skip
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
            demand = f"{_percent(before['demand_covered_share'])} → {_percent(after['demand_covered_share'])}"
        new = sum(row["adcode"] == before["adcode"] for row in report.sites)
        _row(districts, before["name"], f"{_percent(before['covered_share'])} → {_percent(after['covered_share'])}",
             demand, str(new))  # fmt: skip
    out.print(districts)
    if output is not None:
        _write_sites(report, output)
    if map_file is not None:
        html = render_coverage_map(planner, request.coverage, None, 20, report)
        map_file.write_text(html, encoding="utf-8")
        err.print(f"wrote {map_file}")


def _write_sites(report: SitingReport, output: Path) -> None:
    suffix = output.suffix.lower()
    if suffix in (".geojson", ".json"):
        output.write_text(json.dumps(siting_geojson(report), ensure_ascii=False), encoding="utf-8")
    elif suffix == ".csv":
        output.write_text(table_csv(report.sites), encoding="utf-8-sig")
    elif suffix == ".xlsx":
        output.write_bytes(table_xlsx(report.sites, sheet="sites"))
    else:
        _fail(InvalidValue("output", str(output), "unsupported file type", [".geojson", ".csv", ".xlsx"]))
    err.print(f"wrote {len(report.sites)} sites to {output}")


@map_app.command("coverage")
def map_coverage(
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write")] = Path("coverage.html"),
    radius: RadiusOption = 1000.0,
    types: TypesOption = None,
    cell: CellOption = 100.0,
    adcode: AdcodeOption = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="how many gaps to draw")] = 50,
) -> None:
    """Write the coverage map (choropleth, covered area, gaps, stations) as one self-contained HTML file."""
    try:
        planner = _planner()
        with err.status("drawing the coverage map…"):
            html = render_coverage_map(planner, _coverage_request(radius, types, cell), adcode, limit)
    except YizhanError as error:
        _fail(error)
    output.write_text(html, encoding="utf-8")
    err.print(f"wrote {output} ({len(html) / 1e6:.1f} MB)")


@map_app.command("stations")
def map_stations(
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write")] = Path("stations.html"),
    adcode: AdcodeOption = None,
    types: TypesOption = None,
    lang: Annotated[str, typer.Option("--lang", help="zh or en")] = "zh",
) -> None:
    """Write a map of the stations (hours, navigation links) as one self-contained HTML file for any web host."""
    from api.routes.pages import station_map

    if lang not in ("zh", "en"):
        _fail(InvalidValue("lang", lang, "unknown language", ["zh", "en"]))
    try:
        registry = _registry()
        html = station_map(
            registry, registry.snapshot(), get_settings(), mode="static", adcode=adcode, types=types,
            lang="en" if lang == "en" else "zh",
        )  # fmt: skip
    except YizhanError as error:
        _fail(error)
    output.write_text(html, encoding="utf-8")
    err.print(f"wrote {output} ({len(html) / 1e6:.1f} MB)")


cli_keeper.register(app)
app.add_typer(cli_batch.app, name="batch")


def main(args: list[str] | None = None) -> int:
    """The ``yizhan`` program: run the app on ``args`` (default: the command line) and return the exit status.

    Errors inside a command are one line already (``YizhanGroup``); this also makes one line of a usage error
    before any command is chosen (``yizhan --no-such-option``).
    """
    command = typer.main.get_command(app)
    try:
        status = command.main(args, prog_name="yizhan", standalone_mode=False)
    except typer.Abort:
        typer.echo("Aborted!", err=True)
        return 1
    except CLICK_ERRORS as error:
        if is_help_request(error):  # `yizhan` alone: typer printed the help already
            return error.exit_code
        return report_error(error)
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
