"""The ``yizhan`` command line: serve, import, export; riders' and planners' commands are in ``api.cli_riders``
and ``api.cli_planning``, keepers' in ``api.cli_keeper``, batch jobs in ``api.cli_batch``.

Commands are thin: they parse their input into the operation's query (``stations.queries``), call
``stations.service.Service`` and print the result. Heavy libraries (FastAPI, folium, the planner's scipy and
shapely) load only inside the commands that need them, so ``yizhan --help`` answers at once.

Exit codes: 0 success, 1 rejected input (bad rows, bad values, a file or database that cannot be used),
2 usage errors. Every error is one line on stderr, ``yizhan: error: ...`` (``api.cli_support.YizhanGroup``);
``YIZHAN_DEBUG=1`` shows the traceback of unexpected ones.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from api import cli_batch, cli_keeper, cli_planning, cli_reports, cli_riders, cli_search, cli_users
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
    service,
)
from api.cli_support import row as _row
from stations.errors import ImportCancelled, ImportRejected, InvalidValue, RowProblem
from stations.queries import crs_name

if TYPE_CHECKING:
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


def _print_more(count: int, what: str, listed: int | None = None) -> None:
    """A line for the ``count - SHOWN_ROWS`` rows not printed; ``listed``: how many the report itself holds,
    when it holds fewer than ``count`` (likely duplicates past ``stations.imports.DUPLICATES_LISTED``)."""
    if count > SHOWN_ROWS:
        where = "writes them all" if listed is None or listed >= count else f"lists the first {listed:,}"
        out.print(f"... and {count - SHOWN_ROWS:,} more {what} (--report FILE {where})", highlight=False)


def _print_report(report: ImportReport) -> None:
    would = "would " if report.dry_run else ""
    add, update = ("would add", "would update") if report.dry_run else ("added", "updated")
    out.print(
        f"{report.file}: {report.rows} rows, {report.valid} valid; {add} {report.added}, "
        f"{update} {report.updated}, {report.unchanged} unchanged; {len(report.problems)} rejected, "
        f"{report.duplicates_total} likely duplicate(s), {len(report.warnings)} warning(s)",
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
        _print_more(report.duplicates_total, "likely duplicates", len(report.duplicates))
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

    from api.access_log import uvicorn_log_config
    from api.serving import run_workers, uvicorn_options

    config = uvicorn.Config(
        "api.serving:serving_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_worker_healthcheck=60,  # a worker busy building its index (or a loaded machine) is not hung
        access_log=False,  # api.access_log writes one JSON line per request, without tokens or positions
        log_config=uvicorn_log_config(),
        # X-Forwarded-For only from YIZHAN_TRUSTED_PROXIES (uvicorn's own default trusts 127.0.0.1)
        proxy_headers=bool(service().settings.trusted_proxies),
        forwarded_allow_ips=list(service().settings.trusted_proxies) or None,
        **uvicorn_options(),  # deadlines on request headers; header size and keep-alive bounds
    )
    if workers == 1:
        uvicorn.Server(config).run()
    else:
        run_workers(config)  # a listening socket per worker (SO_REUSEPORT), under uvicorn's supervisor


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
            report = service().registry.import_file(
                file.read_bytes(), file.name, crs_name(crs), dry_run=dry_run, actor=cli_actor(), progress=progress
            )
        except ImportCancelled as cancelled:
            err.print(f"{file.name}: {cancelled}", highlight=False, markup=False)
            raise typer.Exit(EXIT_STATUS.get(cancelled.reason, 1)) from None
        except ImportRejected as rejected:
            err.print(_problem_table(f"{file.name}: nothing was imported", rejected.problems))
            raise typer.Exit(1) from None
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
    from stations import opendata, params
    from stations.exporters import table_csv, table_xlsx

    settings = service().settings
    kind = params.names(format, ("csv", "geojson", "xlsx"), "format")[0]
    since = params.moment(modified_since, field="modified_since")
    data = opendata.dump(service().registry.store, settings.data_licence, settings.data_attribution, since)
    if kind == "geojson":
        body: str | bytes = json.dumps(opendata.geojson(data, crs_name(crs)), ensure_ascii=False)
    elif kind == "xlsx":
        body = table_xlsx(opendata.table(data, crs_name(crs)), sheet="stations")
    else:
        body = table_csv(opendata.table(data, crs_name(crs)), opendata.COLUMNS)
    if output is None:
        if isinstance(body, bytes):
            raise InvalidValue("output", None, "XLSX is binary: write it to a file with --output")
        sys.stdout.write(body)
    elif isinstance(body, bytes):
        output.write_bytes(body)
    else:
        output.write_text(body, encoding="utf-8")
    cursor = opendata.iso(data.next_modified_since) or "none"
    where = f" to {output}" if output is not None else ""
    err.print(f"wrote {len(data.stations)} stations ({len(data.deleted)} removed){where}")
    err.print(f"next --modified-since {cursor}")


cli_riders.register(app, map_app)
cli_search.register(app)
cli_planning.register(app, map_app)
cli_keeper.register(app)
cli_users.register(app)
app.add_typer(cli_batch.app, name="batch")
app.add_typer(cli_reports.app, name="report")


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
