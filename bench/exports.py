"""Benchmark: the open data's XLSX download (``/stations.xlsx``, ``yizhan export --format xlsx``) — Yizhan's own
sheet writer (``stations.xlsx_writer``, through ``stations.exporters.table_xlsx``) against openpyxl's write-only
workbook (what ``table_xlsx`` used before 2026-12-04, with the same guards), and the CSV download for scale.

Rows: the open-data table of the sample's stations (47 columns), then the same rows repeated to ``--rows`` (a
registry of that size, roughly: the stations' text repeats, which only the shared strings notice). Seconds of CPU
per table (process time, best of ``--passes``), µs per cell, bytes, and the ratio to openpyxl's in the same run.

Run from the repository root::

    .venv/bin/python bench/exports.py [--rows 1614 20000] [--passes 3]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, so `stations` imports uninstalled

from report import code_lines, machine_lines, table  # bench/ is on sys.path when a script runs

import stations.exporters
import stations.xlsx_writer
from stations import opendata
from stations.exporters import _spreadsheet_value, table_csv, table_xlsx
from stations.service import Service
from stations.settings import SAMPLE_DIR, Settings

Rows = Sequence[dict[str, Any]]


def openpyxl_xlsx(rows: Rows, sheet: str, columns: Sequence[str]) -> bytes:
    """The baseline: ``table_xlsx`` as it was, openpyxl's write-only workbook with the same guards."""
    workbook = openpyxl.Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)
    worksheet.append(list(columns))
    for row in rows:
        values = [_spreadsheet_value(row.get(column)) for column in columns]
        worksheet.append([ILLEGAL_CHARACTERS_RE.sub("\ufffd", v) if isinstance(v, str) else v for v in values])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def sample_rows() -> Rows:
    """The open-data table of the sample's stations, as ``/stations.xlsx`` makes it."""
    with tempfile.TemporaryDirectory() as folder:
        service = Service(Settings(database_url=f"sqlite:///{folder}/bench.sqlite3"))
        service.registry.import_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv")
        return opendata.table(opendata.dump(service.registry.store, "licence", "attribution"))


def best_s(make: Callable[[], bytes | str], passes: int) -> tuple[float, int]:
    """Least CPU seconds of ``passes`` calls, and the size of what the call made."""
    times, size = [], 0
    for _ in range(passes):
        start = time.process_time()
        size = len(make())
        times.append(time.process_time() - start)
    return min(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1614, 20_000], help="table sizes (stations)")
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    base = sample_rows()
    columns = opendata.COLUMNS
    print("Open data as XLSX (bench/exports.py)")
    print(*machine_lines(f"openpyxl {openpyxl.__version__}"), sep="\n")
    print(*code_lines([stations.xlsx_writer, stations.exporters]), sep="\n")
    body = []
    for count in args.rows:
        rows = [base[i % len(base)] for i in range(count)]
        cells = (count + 1) * len(columns)
        before_s, before_bytes = best_s(lambda rows=rows: openpyxl_xlsx(rows, "stations", columns), args.passes)
        cases = {
            "openpyxl write-only (baseline)": (before_s, before_bytes),
            "ours (table_xlsx)": best_s(lambda rows=rows: table_xlsx(rows, "stations", columns), args.passes),
            "CSV (table_csv)": best_s(lambda rows=rows: table_csv(rows, columns), args.passes),
        }
        for label, (seconds, size) in cases.items():
            body.append([
                f"{count:,}", label, f"{seconds:.3f}", f"{seconds / cells * 1e6:.2f}", f"{size:,}",
                f"{before_s / seconds:.1f}x",
            ])  # fmt: skip
    print(*table(["stations", "writer", "CPU s", "µs per cell", "bytes", "vs openpyxl"], body), sep="\n")


if __name__ == "__main__":
    main()
