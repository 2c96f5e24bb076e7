"""The importers' limits (issue 12, item 3): hostile files meet a limit that names itself, before they cost
memory; ordinary workbooks read exactly as openpyxl's read-only mode reads them.

Memory is measured with tracemalloc (which sees Python's, zlib's and expat's allocations) around the parse only;
the bounds are generous (tens of MB where the unguarded reader took 0.6-0.9 GB). No test measures time.
"""

from __future__ import annotations

import io
import json
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from registries import empty_registry
from xlsx_bombs import (
    HEAD,
    SHEET,
    STRINGS,
    TAIL,
    bomb,
    laughs,
    long_cell,
    lying_sizes,
    sheet,
    wide_row,
    with_parts,
    with_strings,
)
from xlsx_bombs import workbook as make_workbook

from stations.errors import FileUnreadable, LimitExceeded, TooLarge, UnpackedTooLarge
from stations.importers import parse_candidates, parse_file
from stations.registry import Registry
from stations.store import Store
from stations.xlsx import DEFAULT_LIMITS, ReadLimits, worksheet_rows

NO_RATIO = ReadLimits(max_compression_ratio=10**9)
"""The defaults with the compression-ratio limit lifted, so that rows, cells and characters are what stop a file."""
BOUND_BYTES = 50 * 2**20


def peak_bytes(call: Callable[[], Any]) -> tuple[BaseException | None, int]:
    """What ``call`` raised (None if nothing) and the peak of memory traced while it ran."""
    tracemalloc.start()
    try:
        call()
        raised = None
    except Exception as error:  # the tests assert which
        raised = error
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return raised, peak


# --- the files -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wide() -> bytes:
    return wide_row(2_000_000)


@pytest.fixture(scope="module")
def long() -> bytes:
    return long_cell(300)


def test_a_row_of_two_million_cells_is_refused_by_its_packing(wide: bytes) -> None:
    assert len(wide) < 110_000
    error, peak = peak_bytes(lambda: parse_file(wide, "wide.xlsx"))
    assert isinstance(error, UnpackedTooLarge) and isinstance(error, TooLarge)  # HTTP 413
    assert error.limit == "max_compression_ratio" and error.where == SHEET
    assert "YIZHAN_IMPORT_MAX_COMPRESSION_RATIO" in str(error) and "30,000,185 bytes" in str(error)
    assert peak < BOUND_BYTES


def test_a_row_of_two_million_cells_stops_at_the_column_limit(wide: bytes) -> None:
    error, peak = peak_bytes(lambda: parse_file(wide, "wide.xlsx", limits=NO_RATIO))
    assert type(error) is LimitExceeded  # HTTP 422
    assert error.limit == "max_columns" and error.maximum == 1_000 and "row 1" in error.where
    assert peak < BOUND_BYTES


def test_a_cell_of_300_mb_is_refused_by_its_packing(long: bytes) -> None:
    error, peak = peak_bytes(lambda: parse_file(long, "long.xlsx"))
    assert isinstance(error, UnpackedTooLarge) and error.limit == "max_compression_ratio"
    assert peak < BOUND_BYTES


def test_a_cell_of_300_mb_stops_at_the_cell_limit_without_being_held(long: bytes) -> None:
    error, peak = peak_bytes(lambda: parse_file(long, "long.xlsx", limits=NO_RATIO))
    assert type(error) is LimitExceeded and error.limit == "max_cell_chars"
    assert "32,767" in str(error) and "YIZHAN_IMPORT_MAX_CELL_CHARS" in str(error)
    assert peak < BOUND_BYTES


# --- the archive -------------------------------------------------------------------------------------------


def test_a_zip_bomb_part_is_refused_before_it_is_unpacked() -> None:
    data = bomb(50)
    error, peak = peak_bytes(lambda: parse_file(data, "bomb.xlsx"))
    assert isinstance(error, UnpackedTooLarge) and error.limit == "max_compression_ratio"
    assert error.where == "xl/media/zeros.bin" and "52,428,800 bytes" in error.found
    assert peak < 5 * 2**20  # nothing was unpacked
    total = ReadLimits(max_unpacked_bytes=10_000_000, max_compression_ratio=10**9)
    with pytest.raises(UnpackedTooLarge, match="max_unpacked_bytes is 10,000,000") as refused:
        parse_file(data, "bomb.xlsx", limits=total)
    assert refused.value.where == "XLSX archive"


def test_a_part_that_unpacks_to_more_than_it_declares_is_cut_at_the_declared_size() -> None:
    data = lying_sizes(bomb(20), "xl/media/zeros.bin", 1_000)  # declares 1,000 bytes: passes every size limit
    error, peak = peak_bytes(lambda: parse_file(data, "liar.xlsx"))
    assert isinstance(error, FileUnreadable) and "CRC" in str(error)
    assert peak < 5 * 2**20


def test_too_many_parts() -> None:
    data = with_parts({f"xl/media/{i}.bin": [b"x"] for i in range(20)})
    with pytest.raises(UnpackedTooLarge, match="max_parts") as refused:
        parse_file(data, "many.xlsx", limits=ReadLimits(max_parts=10))
    assert refused.value.maximum == 10


@pytest.mark.parametrize("part", [SHEET, "xl/workbook.xml", "[Content_Types].xml", STRINGS])
def test_a_dtd_in_any_part_is_refused_before_an_entity_expands(part: str) -> None:
    data = (
        laughs() if part == SHEET else with_parts({part: [b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>']})
    )
    error, peak = peak_bytes(lambda: parse_file(data, "laughs.xlsx"))
    assert isinstance(error, FileUnreadable) and f"part {part} declares a DTD" in str(error)
    assert peak < 5 * 2**20


def test_a_dtd_behind_a_long_comment_is_found() -> None:
    prolog = b'<?xml version="1.0"?><!--' + b"-" * 0 + b"c" * 200_000 + b"--><!DOCTYPE worksheet [<!ENTITY a 'b'>]>"
    data = with_parts({SHEET: [prolog, HEAD.split(b"\n", 1)[1], TAIL]})
    with pytest.raises(FileUnreadable, match="declares a DTD"):
        parse_file(data, "hidden.xlsx")


# --- rows, cells, shared strings ---------------------------------------------------------------------------


def test_too_many_rows() -> None:
    rows = [["name", "types", "lon", "lat"]] + [[f"驿站{i}", "工会驿站", 120.1, 30.2] for i in range(30)]
    data = make_workbook(rows)
    assert len(parse_file(data, "ok.xlsx", limits=ReadLimits(max_rows=30)).stations) == 30
    with pytest.raises(LimitExceeded, match="max_rows is 29") as refused:
        parse_file(data, "many.xlsx", limits=ReadLimits(max_rows=29))
    assert refused.value.found.startswith("row 31")


def test_a_row_numbered_past_the_limit_is_refused_without_the_rows_before_it() -> None:
    data = with_parts(sheet(b'<row r="1"><c t="inlineStr"><is><t>name</t></is></c></row><row r="1048576"/>'))
    error, peak = peak_bytes(lambda: list(worksheet_rows(data, ReadLimits(max_rows=1_000))))
    assert isinstance(error, LimitExceeded) and error.limit == "max_rows" and "1,048,576" in error.found
    assert peak < 5 * 2**20


def test_a_cell_far_to_the_right_is_past_the_column_limit() -> None:
    data = with_parts(sheet(b'<row r="1"><c r="XFD1" t="inlineStr"><is><t>x</t></is></c></row>'))
    with pytest.raises(LimitExceeded, match="column 16,384"):
        list(worksheet_rows(data))


def test_a_long_shared_string_meets_the_cell_limit() -> None:
    long_string = b"<sst xmlns='http://schemas.openxmlformats.org/spreadsheetml/2006/main'><si><t>" + b"y" * 40_000
    data = with_strings([long_string, b"</t></si></sst>"], b'<row r="1"><c t="s"><v>0</v></c></row>')
    with pytest.raises(LimitExceeded, match="max_cell_chars") as refused:
        parse_file(data, "strings.xlsx")
    assert refused.value.where.startswith(STRINGS)


def test_too_many_shared_strings() -> None:
    table = b"<sst xmlns='http://schemas.openxmlformats.org/spreadsheetml/2006/main'>" + b"<si><t>s</t></si>" * 50
    data = with_strings([table, b"</sst>"], b'<row r="1"><c t="s"><v>0</v></c></row>')
    with pytest.raises(UnpackedTooLarge, match="max_shared_strings"):
        parse_file(data, "strings.xlsx", limits=ReadLimits(max_shared_strings=49))


def test_a_cell_of_many_runs_meets_the_cell_limit() -> None:
    runs = b"<r><t>" + b"z" * 30_000 + b"</t></r>"
    data = with_parts(sheet(b'<row r="1"><c t="inlineStr"><is>', *([runs] * 40), b"</is></c></row>"))
    error, peak = peak_bytes(lambda: list(worksheet_rows(data, NO_RATIO)))
    assert isinstance(error, LimitExceeded) and error.limit == "max_cell_chars"
    assert peak < 5 * 2**20


# --- CSV and GeoJSON ---------------------------------------------------------------------------------------


def test_csv_cells_rows_and_columns() -> None:
    header = "name,types,lon,lat\n"
    with pytest.raises(LimitExceeded, match="max_cell_chars") as refused:
        parse_file((header + "x" * 40_000 + ",工会驿站,120,30\n").encode(), "a.csv")
    assert refused.value.found == "a cell of 40,000 characters" and refused.value.where == "row 2"
    error, peak = peak_bytes(lambda: parse_file((header + "y" * 10_000_000 + ",工会驿站,120,30\n").encode(), "b.csv"))
    assert isinstance(error, LimitExceeded) and error.limit == "max_cell_chars"  # csv's own cap, met as a limit
    assert peak < 100 * 2**20  # the 10 MB of text decoded once, not held per cell
    rows = header + "".join(f"驿站{i},工会驿站,120.1,30.2\n" for i in range(10))
    assert len(parse_file(rows.encode(), "c.csv", limits=ReadLimits(max_rows=10)).stations) == 10
    with pytest.raises(LimitExceeded, match="max_rows"):
        parse_file(rows.encode(), "c.csv", limits=ReadLimits(max_rows=9))
    with pytest.raises(LimitExceeded, match="max_columns"):
        parse_file((header + "," * 2_000 + "\n").encode(), "d.csv")


def test_geojson_values_features_and_properties() -> None:
    def collection(properties: dict[str, Any], count: int = 1) -> bytes:
        feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.1, 30.2]}}
        features = [{**feature, "properties": properties}] * count
        return json.dumps({"type": "FeatureCollection", "features": features}).encode()

    good = {"name": "甲", "types": "母婴室"}
    assert len(parse_file(collection(good), "a.geojson").stations) == 1
    with pytest.raises(LimitExceeded, match="max_cell_chars") as refused:
        parse_file(collection({**good, "address": "路" * 40_000}), "b.geojson")
    assert refused.value.where == "feature 1"
    with pytest.raises(LimitExceeded, match="max_rows"):
        parse_file(collection(good, 11), "c.geojson", limits=ReadLimits(max_rows=10))
    with pytest.raises(LimitExceeded, match="max_columns"):
        parse_file(collection({**good, "external_ids": {str(i): "x" for i in range(2_000)}}), "d.geojson")


def test_candidates_meet_the_limits_too() -> None:
    with pytest.raises(LimitExceeded, match="max_rows"):
        parse_candidates(b"lon,lat\n120,30\n121,31\n", "sites.csv", limits=ReadLimits(max_rows=1))


# --- ordinary workbooks read as before ---------------------------------------------------------------------


def openpyxl_rows(data: bytes) -> list[list[Any]]:
    """The rows as the importer read them before: openpyxl's read-only worksheet, dimensions reset."""
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def test_an_ordinary_workbook_reads_exactly_as_openpyxl_reads_it() -> None:
    book = openpyxl.Workbook()
    book.active.title = "驿站"
    rows: list[list[Any]] = [
        ["名称", "类型", "经度", "纬度", "开放时间", "容纳人数", "核实日期", "热水", "备注"],
        ["西湖驿站", "工会驿站", 120.13, 30.26, "24小时", 8, datetime(2026, 3, 1), "有", True],
        ["湖滨母婴室", "母婴室", 120.16, 30.25, None, None, datetime(2026, 3, 1, 8, 30), None, "=1+1"],
        [],
        ["司机之家", "司机之家", 120, 30, time(8, 30), 2**40, None, "无", 1.5e-7],
    ]
    for row in rows:
        book.active.append(row)
    book.active["K9"] = "远处的格"
    book.create_sheet("第二页")["A1"] = "not read"
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    assert list(worksheet_rows(data)) == openpyxl_rows(data)
    strings = "<sst xmlns='http://schemas.openxmlformats.org/spreadsheetml/2006/main'><si><t>名称</t></si>"
    strings += "<si><r><t>a</t></r><r><t>b_x005F_c</t></r><rPh sb='0' eb='1'><t>ふりがな</t></rPh></si></sst>"
    body = b'<row r="1"><c t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>'
    shared = with_strings([strings.encode()], body)
    assert list(worksheet_rows(shared)) == openpyxl_rows(shared) == [["名称", None, "ab_c"]]  # phonetics left out
    broken = with_strings([strings.replace("sb='0' ", "").encode()], body)
    with pytest.raises(FileUnreadable, match="shared strings"):
        list(worksheet_rows(broken))
    assert list(worksheet_rows(shared)) == openpyxl_rows(shared)


def test_the_sample_export_reads_the_same_stations_as_before(sample_xlsx: bytes) -> None:
    assert list(worksheet_rows(sample_xlsx)) == openpyxl_rows(sample_xlsx)
    parsed = parse_file(sample_xlsx, "export.xlsx")
    assert parsed.problems == [] and len(parsed.stations) > 1_000


@pytest.fixture(scope="module")
def sample_xlsx() -> bytes:
    from stations.exporters import station_rows, table_xlsx
    from stations.settings import SAMPLE_DIR

    stations = parse_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv").stations
    return table_xlsx(station_rows(stations), sheet="stations")


def test_the_defaults_are_the_settings_defaults() -> None:
    from stations.settings import Settings

    assert Settings().import_limits() == DEFAULT_LIMITS
    assert Settings(import_max_rows=5).import_limits().max_rows == 5


def test_rows_and_cells_without_references_read_as_openpyxl_reads_them() -> None:
    body = b"<row><c t='inlineStr'><is><t>name</t></is></c><c><v>2</v></c></row><row r='3'><c r='C3'><v>1</v></c></row>"
    data = with_parts({SHEET: [HEAD, body, TAIL]})
    assert list(worksheet_rows(data)) == openpyxl_rows(data) == [["name", 2], [], [None, None, 1]]


def piled_csv(rows: int) -> bytes:
    """``rows`` new stations on one spot (each a different name, so that every pair is a comparison to make)."""
    lines = [f"PILE-{i:06d},合成测试{i}号站,outdoor_worker,120.160000,30.270000" for i in range(rows)]
    return ("id,name,types,lon,lat\n" + "\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(("rows", "most", "refused"), [(40, 780, False), (41, 780, True), (30_000, None, True)])
def test_rows_piled_on_one_spot_meet_the_close_pairs_limit(
    request: pytest.FixtureRequest, tmp_path: Path, rows: int, most: int | None, refused: bool
) -> None:
    """Pairs within 50 m to compare are counted before any is listed: 40 rows on one spot make 780 pairs (within a
    limit of 780), 41 make 820; 30,000 make ~450 million, past the default limit (20 million) in a moment instead of
    the tens of GB listing them would take. Refused in the dry run as in the import, nothing written."""
    limits = DEFAULT_LIMITS if most is None else replace(DEFAULT_LIMITS, max_close_pairs=most)
    with empty_registry(request, "sqlite", tmp_path) as url:
        registry = Registry(Store(url), None, check_interval_s=0, limits=limits)
        for dry_run in (True, False):
            if not refused:
                report = registry.import_file(piled_csv(rows), "piled.csv", dry_run=dry_run)
                assert report.duplicates_total == rows * (rows - 1) // 2
                continue
            with pytest.raises(LimitExceeded, match="max_close_pairs") as caught:
                registry.import_file(piled_csv(rows), "piled.csv", dry_run=dry_run)
            assert caught.value.found == f"{rows * (rows - 1) // 2:,} pairs of stations within 50 m"
            assert registry.store.count() == 0
