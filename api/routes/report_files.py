"""Planning reports as downloads: a CSV (the first table, UTF-8 with a BOM for Excel and WPS) or an XLSX workbook,
written by ``stations.planning.exports``; shared by the coverage, gaps, siting and hot spots routes."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.responses import Response

from stations.planning.exports import ReportContext, Table, report_csv, report_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_file(tables: Sequence[Table], context: ReportContext, format: str, name: str) -> Response:
    """A report as a CSV (its first table, UTF-8 with a BOM for Excel and WPS) or XLSX download named ``name``."""
    if format == "csv":
        headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
        return Response(
            "\ufeff" + report_csv(tables[0], context), media_type="text/csv; charset=utf-8", headers=headers
        )
    headers = {"Content-Disposition": f'attachment; filename="{name}.xlsx"'}
    return Response(report_xlsx(tables, context), media_type=XLSX, headers=headers)
