"""Planners' commands by time: ``yizhan coverage-profile`` and ``yizhan night-gaps``.

Inputs as declared in ``stations.inputs`` (``PROFILE_INPUTS``, ``NIGHT_GAPS_INPUTS``), the same as the API's
``/coverage/profile`` and ``/coverage/night-gaps``. ``yizhan coverage`` and ``yizhan gaps`` take ``--open-at``,
``--hour``/``--day``, ``--amenities`` and ``--unknown-hours`` themselves (``TIME_INPUTS``).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from api.cli_inputs import with_query
from api.cli_support import err, out, row, service
from stations.queries import HourProfileQuery, NightGapsQuery


def register(app: typer.Typer) -> None:
    """Add ``coverage-profile`` and ``night-gaps`` to ``app``."""
    app.command("coverage-profile")(coverage_profile)
    app.command("night-gaps")(night_gaps)


def _percent(value: float | None) -> str:
    """A share as a percentage with one decimal, or nothing.

    >>> _percent(0.4237), _percent(None)
    ('42.4%', '')
    """
    return "" if value is None else f"{value:.1%}"


@with_query(HourProfileQuery)
def coverage_profile(
    query: HourProfileQuery,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON rows")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="print CSV")] = False,
) -> None:
    """Coverage per hour (00:00-23:00, China time) of a representative weekday and public holiday, per
    district; stations of unknown hours as --unknown-hours says (default: a column of their own)."""
    from stations.exporters import table_csv

    with err.status("computing the 24-hour profile…"):
        profile = service().hour_profile(query)
    rows = profile.rows(query.adcode, query.hour)
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    if as_csv:
        sys.stdout.write(table_csv(rows))
        return
    separate = profile.filters.unknown_hours == "separate"
    days = ", ".join(f"{kind} {day.isoformat()}" for kind, day in profile.days)
    table = Table(title=f"coverage per hour within {query.request.radius_m:,.0f} m ({days})", title_justify="left")
    headers = ["day", "hour", "adcode", "district", "covered"]
    headers += ["unknown hours only"] if separate else []
    demand = profile.demand_covered_share is not None
    headers += ["demand covered"] + (["demand, unknown hours only"] if separate else []) if demand else []
    for header in headers:
        table.add_column(header, justify="left" if header in ("day", "adcode", "district") else "right")
    for record in rows:
        cells = [record["day"], f"{record['hour']:02d}:00", record["adcode"], record["name"]]
        cells.append(_percent(record["covered_share"]))
        if separate:
            cells.append(_percent(record.get("unknown_only_share")))
        if demand:
            cells.append(_percent(record.get("demand_covered_share")))
            if separate:
                cells.append(_percent(record.get("unknown_only_demand_share")))
        row(table, *cells)
    out.print(table)


@with_query(NightGapsQuery)
def night_gaps(
    query: NightGapsQuery,
    as_json: Annotated[bool, typer.Option("--json", help="print the night gaps as GeoJSON")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="print the per-district table as CSV")] = False,
) -> None:
    """Night gaps: areas covered at some hour 06:00-21:00 but not at some hour 22:00-05:00 of a day."""
    from stations.exporters import table_csv
    from stations.planning.timed import night_gap_features

    with err.status("finding night gaps…"):
        result = service().night_gaps(query)
    if as_json:
        sys.stdout.write(json.dumps(night_gap_features(result), ensure_ascii=False) + "\n")
        return
    rows = result.rows(query.adcode)
    if as_csv:
        sys.stdout.write(table_csv(rows))
        return
    kind, day = result.day
    title = f"night gaps (22:00-06:00) within {query.request.radius_m:,.0f} m, {kind} {day.isoformat()}"
    table = Table(title=title, title_justify="left")
    separate = result.filters.unknown_hours == "separate"
    headers = ["adcode", "district", "covered by day km²", "night gap km²", "share"]
    headers += ["of it unknown hours km²"] if separate else []
    for header in headers:
        table.add_column(header, justify="left" if header in ("adcode", "district") else "right")
    for record in rows:
        cells = [record["adcode"], record["name"], f"{record['day_covered_km2']:,.1f}",
                 f"{record['night_gap_km2']:,.1f}", _percent(record["night_gap_share"])]  # fmt: skip
        if separate:
            cells.append(f"{record['night_gap_unknown_hours_km2']:,.1f}")
        row(table, *cells)
    out.print(table)
