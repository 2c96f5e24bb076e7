"""Printable reports: ``yizhan report district ADCODE -o report.html`` (``stations.district_report``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli_inputs import with_query
from api.cli_support import err, service
from stations.district_report import DistrictReportQuery

app = typer.Typer(help="Write printable planning reports (HTML for A4).", no_args_is_help=True)


@app.command("district")
@with_query(DistrictReportQuery)
def district(
    query: DistrictReportQuery,
    adcode: Annotated[str, typer.Argument(help="the district's adcode, e.g. 330106")],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write")] = Path("district.html"),
) -> None:
    """One district's coverage, map, hour profile, gaps and proposed sites, as HTML that prints on A4."""
    from stations.district_report import district_report

    with err.status(f"writing the report of {adcode}…"):
        html = district_report(service(), adcode, query)
    output.write_text(html, encoding="utf-8")
    err.print(f"wrote {output} ({len(html) / 1e3:.0f} kB); print it to PDF from a browser (A4)")
