"""Batch jobs for planners: national per-district coverage on a dask cluster (``geo.national``).

``national-coverage`` reads a district file (default: the 2,875 county-level districts of China in
``data/china``) and a station file in any format the importer takes (CSV/XLSX/GeoJSON, Chinese headers,
GCJ-02/BD-09 coordinates), runs one task per province on a dask cluster — a local one of ``--workers``
processes, or the running scheduler at ``--scheduler`` — and writes the per-district table as CSV or XLSX.

Exit codes: 0 success, 1 rejected input (bad rows, bad values), 2 usage errors (typer's own).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli_support import err, fail, get_settings
from geo.errors import GeoError
from stations.errors import FileUnreadable, ImportRejected, InvalidValue, YizhanError
from stations.vocabulary import STATION_TYPES

if TYPE_CHECKING:
    import pandas as pd

    from stations.model import Station

NATIONAL_DISTRICTS_PATH = Path(__file__).resolve().parent.parent / "data" / "china" / "districts.fgb.zip"

app = typer.Typer(help="Batch jobs for planners: national coverage on a dask cluster.", no_args_is_help=True)


@app.callback()
def batch() -> None:
    """Batch jobs for planners: national coverage on a dask cluster."""  # a group, even with one command


def serving_stations(path: Path, crs: str | None, types: tuple[str, ...]) -> list[Station]:
    """The stations of a registry file that serve: of the chosen types (all when empty), not closed for good.

    The whole file is validated as ``yizhan import`` does; ImportRejected lists every bad row."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileUnreadable(f"cannot read station file {path}: {exc}") from exc
    from stations.importers import parse_file

    parsed = parse_file(data, path.name, crs, limits=get_settings().import_limits())
    if parsed.problems:
        raise ImportRejected(parsed.problems)
    return [s for s in parsed.stations if s.serves(types)]


def table_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The national table for a spreadsheet: areas to 0.001 km², shares to 4 decimals, distances to the metre
    (empty where a district has no station at all)."""

    def metres(value: float) -> float | None:
        return float(round(value)) if math.isfinite(value) else None

    return [
        {
            "province_adcode": r["province_adcode"],
            "adcode": r["adcode"],
            "name": r["name"],
            "area_km2": round(r["area_km2"], 3),
            "stations": int(r["stations"]),
            "covered_share": round(r["covered_share"], 4),
            "uncovered_km2": round(r["uncovered_km2"], 3),
            "median_distance_m": metres(r["median_distance_m"]),
            "p90_distance_m": metres(r["p90_distance_m"]),
        }
        for r in table.to_dict("records")
    ]


@app.command("national-coverage")
def national_coverage_command(
    stations: Annotated[Path, typer.Option("--stations", help="registry file: CSV, XLSX or GeoJSON")],
    output: Annotated[Path, typer.Option("--output", "-o", help="table to write: .csv or .xlsx")],
    districts: Annotated[
        Path, typer.Option("--districts", help="district file (GeoJSON, GeoPackage, FlatGeobuf, zipped...)")
    ] = NATIONAL_DISTRICTS_PATH,
    radius_m: Annotated[float, typer.Option("--radius-m", help="service distance, metres")] = 1000.0,
    cell_m: Annotated[
        float | None, typer.Option("--cell-m", help="grid cell size, metres (default 500: every province fits)")
    ] = None,
    types: Annotated[
        str | None, typer.Option("--types", help=f"comma-separated: {', '.join(STATION_TYPES)} (default all)")
    ] = None,
    crs: Annotated[str | None, typer.Option("--crs", help="of rows without a crs column: wgs84, gcj02, bd09")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="local dask worker processes")] = 2,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="address of a running dask scheduler, e.g. tcp://10.0.0.5:8786")
    ] = None,
    max_cells: Annotated[
        int | None,
        typer.Option(
            "--max-cells", min=1, help="largest grid of one province (raster cells; default YIZHAN_NATIONAL_MAX_CELLS)"
        ),
    ] = None,
) -> None:
    """Coverage of every district within RADIUS-M of a station, one dask task per province, as a table."""
    import numpy as np
    from distributed import Client  # heavy; only this command needs it

    from geo.districts import Districts
    from geo.national import NATIONAL_CELL_M, local_cluster, national_coverage
    from stations import params
    from stations.exporters import table_csv, table_xlsx
    from stations.planning import CoverageRequest, PlanningLimits

    settings = get_settings()
    cell_m = NATIONAL_CELL_M if cell_m is None else cell_m
    max_cells = settings.national_max_cells if max_cells is None else max_cells

    suffix = output.suffix.lower()
    try:
        if suffix not in (".csv", ".xlsx"):
            raise InvalidValue("output", str(output), "unsupported table format", [".csv", ".xlsx"])
        request = CoverageRequest(radius_m, params.names(types, STATION_TYPES, "types"), cell_m)
        PlanningLimits.from_settings(settings).check_coverage(request)
        boundaries = Districts.from_file(districts)
        with err.status(f"reading {stations}…"):
            serving = serving_stations(stations, crs, request.types)
    except (YizhanError, GeoError) as error:  # one line each, geo's errors mapped as everywhere (fail)
        fail(error)
    lon = np.array([s.lon for s in serving])
    lat = np.array([s.lat for s in serving])
    err.print(f"{len(boundaries):,} districts, {len(serving):,} serving stations", highlight=False)

    started = time.perf_counter()
    cluster = None if scheduler else local_cluster(workers)
    try:
        with Client(scheduler or cluster) as client:
            where = scheduler or f"a local cluster of {workers} worker process(es)"
            with err.status(f"computing coverage on {request.cell_m:g} m cells on {where}…"):
                table = national_coverage(client, boundaries, lon, lat, request.radius_m, request.cell_m, max_cells)
    except GeoError as error:  # a province's grid over max_cells: GridTooLarge names it and a cell size that fits
        fail(error)
    finally:
        if cluster is not None:
            cluster.close()
    rows = table_rows(table)
    if suffix == ".xlsx":
        output.write_bytes(table_xlsx(rows, sheet="national coverage"))
    else:
        output.write_text(table_csv(rows), encoding="utf-8-sig")
    covered = float((table["area_km2"] * table["covered_share"]).sum() / table["area_km2"].sum())
    err.print(
        f"wrote {len(rows):,} districts to {output} in {time.perf_counter() - started:,.1f} s; "
        f"{covered:.2%} of the area is within {request.radius_m:g} m of a station",
        highlight=False,
    )


if __name__ == "__main__":  # python -m api.cli_batch national-coverage ... (until `yizhan` registers it)
    app()
