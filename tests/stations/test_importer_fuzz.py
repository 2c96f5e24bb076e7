"""Fuzzing the importers and exporters: whatever bytes arrive, ``parse_file`` answers with stations and
problems or refuses with a YizhanError, never another exception; exports import back unchanged; and no cell of
an exported CSV or XLSX can run as a spreadsheet formula.

Inputs: random bytes under every extension, valid station tables (canonical and Chinese headers, mixed
newlines, full-width digits, NUL bytes, huge fields, formula-like text) in every encoding the importers read
and in some they do not, and XLSX workbooks that are valid zips with damaged worksheets.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
import zipfile
from datetime import date
from typing import Any

import openpyxl
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from stations.errors import FileUnreadable, ImportRejected, InvalidValue, LimitExceeded, YizhanError
from stations.exporters import (
    CSV_COLUMNS,
    FORMULA_START,
    external_id_columns,
    feature_collection,
    guard_formula,
    station_feature,
    station_rows,
    table_csv,
    table_xlsx,
    to_csv,
    unguard_formula,
)
from stations.importers import ParsedFile, parse_file
from stations.model import AMENITIES, OPERATING_STATUSES, STATION_TYPES, Station, id_problem

EXTENSIONS = (".csv", ".txt", ".xlsx", ".geojson", ".json")
HYPERLINK = '=HYPERLINK("http://x","y")'
NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?")


def to_xlsx(stations: list[Station]) -> bytes:
    """Stations as a workbook the way the exports write one: station rows, the canonical columns, ``table_xlsx``."""
    return table_xlsx(station_rows(stations), "stations", (*CSV_COLUMNS, *external_id_columns(stations)))


def to_geojson(stations: list[Station]) -> dict:
    """Stations as a FeatureCollection the way ``GET /stations`` writes one (WGS84)."""
    return feature_collection(station_feature(s, s.lon, s.lat) for s in stations)


def parse_or_refuse(data: bytes, filename: str) -> ParsedFile | YizhanError:
    """What ``parse_file`` answers: a ParsedFile that is consistent with itself, or the YizhanError it raised
    (LimitExceeded for a file past the readers' limits, e.g. a cell of 200,000 characters).

    Any other exception propagates and fails the test.
    """
    try:
        parsed = parse_file(data, filename)
    except (ImportRejected, FileUnreadable, InvalidValue, LimitExceeded) as error:
        assert str(error)  # every refusal says why
        return error
    assert len(parsed.stations) == len(parsed.station_rows) <= parsed.rows
    assert all(isinstance(s, Station) for s in parsed.stations)
    assert len({s.id for s in parsed.stations}) == len(parsed.stations)
    assert all(len(p.value) <= 200 for p in parsed.problems)  # a huge bad cell is not echoed whole
    if not parsed.stations:
        assert parsed.rows == 0 or parsed.problems
    return parsed


# --- random and damaged bytes ---------------------------------------------------------------------------------


@given(data=st.binary(max_size=2000), extension=st.sampled_from(EXTENSIONS))
@example(data=b"[" * 100_000, extension=".json")  # nesting deeper than the JSON decoder's recursion limit
@example(data=b'{"type": "FeatureCollection", "features": 1' + b"0" * 5000 + b"}", extension=".geojson")
@example(data=b'{"type": "FeatureCollection", "features": "abc"}', extension=".geojson")
@example(data=b"\xff\xfe" + "name,types,lon,lat\n".encode("utf-16-le") + b"\x00\xd8", extension=".csv")
@example(data=b"PK\x03\x04" + b"\x00" * 100, extension=".xlsx")
def test_random_bytes_give_stations_or_a_yizhan_error(data: bytes, extension: str) -> None:
    parse_or_refuse(data, "fuzz" + extension)


FEATURE_JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
POINT = st.fixed_dictionaries(
    {"type": st.just("Point"), "coordinates": st.lists(st.floats() | st.integers() | st.text(max_size=8), max_size=3)}
)
PROPERTIES = st.dictionaries(
    st.sampled_from(["name", "名称", "types", "类型", "amenities", "capacity", "opening_hours", "id", "crs"]),
    FEATURE_JUNK,
)


@given(
    features=st.lists(
        FEATURE_JUNK
        | st.fixed_dictionaries(
            {"type": st.just("Feature"), "geometry": POINT | FEATURE_JUNK, "properties": PROPERTIES | FEATURE_JUNK}
        ),
        max_size=5,
    )
)
def test_geojson_of_any_shape_gives_stations_or_a_yizhan_error(features: list) -> None:
    document = {"type": "FeatureCollection", "features": features}
    parse_or_refuse(json.dumps(document, allow_nan=True).encode(), "fuzz.geojson")


def _workbook(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _replace_part(xlsx: bytes, name: str, change: Any) -> bytes:
    """The workbook with zip member ``name`` replaced by ``change(its bytes)``: still a valid zip."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            target.writestr(item, change(content) if item.filename == name else content)
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"
GOOD_XLSX = _workbook([["name", "types", "lon", "lat"], ["西湖驿站", "outdoor_worker", 120.16, 30.25]])
BAD_CELLS = [
    b'<c r="C2" t="s"><v>99</v></c>',  # a shared string that does not exist
    b'<c r="C2" t="n"><v>abc</v></c>',  # a number that is not one
    b'<c r="C2" t="d"><v>yesterday</v></c>',  # a date that is not one
    b'<c r="C2" t="b"><v>maybe</v></c>',
    b'<c r="C2" t="e"><v>#REF!</v></c>',
    b'<c r="ZZZZZ2"><v>1</v></c>',  # a column beyond XFD
    b'<c r="C0"><v>1</v></c>',
    b"<c><v>1</v></c>",  # no reference at all
]


@given(
    offset=st.integers(min_value=0, max_value=len(zipfile.ZipFile(io.BytesIO(GOOD_XLSX)).read(SHEET))),
    junk=st.binary(max_size=40) | st.sampled_from(BAD_CELLS),
    cut=st.integers(min_value=0, max_value=40),
)
def test_xlsx_with_a_damaged_worksheet_gives_stations_or_a_yizhan_error(offset: int, junk: bytes, cut: int) -> None:
    damaged = _replace_part(GOOD_XLSX, SHEET, lambda xml: xml[:offset] + junk + xml[offset + cut :])
    parse_or_refuse(damaged, "damaged.xlsx")


def test_xlsx_claiming_a_huge_used_range_is_read_by_its_cells() -> None:
    """A sheet whose declared dimension is A1:XFD1048576 (some writers do this) would pad every row to 16,384
    cells in openpyxl's read-only mode; the importer reads the cells that are there."""
    rows = [["name", "types", "lon", "lat"]] + [[f"驿站{i}", "outdoor_worker", 120 + i / 1e4, 30.2] for i in range(500)]
    xlsx = _workbook(rows)
    huge = _replace_part(
        xlsx, SHEET, lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', xml)
    )
    assert huge != xlsx
    assert parse_file(huge, "huge.xlsx").stations == parse_file(xlsx, "plain.xlsx").stations


def test_header_of_many_brackets_is_read_in_linear_time() -> None:
    """The unit-stripping of headers ("经度(°)") was a backtracking regex, quadratic in a header of many "("
    (a 1 MB GeoJSON property name took hours). It must come back at once; the test only asserts the answer."""
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.1, 30.2]}}
    feature["properties"] = {"name": "x", "types": "outdoor_worker", "(" * 1_000_000: "y"}
    parsed = parse_file(json.dumps({"type": "FeatureCollection", "features": [feature]}).encode(), "a.geojson")
    assert [s.name for s in parsed.stations] == ["x"]


# --- station tables in many spellings and encodings -----------------------------------------------------------

HEADER_SPELLINGS = {
    "name": ("name", "名称", "站点名称", " Name "),
    "types": ("types", "类型", "type"),
    "lon": ("lon", "经度", "经度(°)", "lng", "Longitude"),
    "lat": ("lat", "纬度", "纬度（°）", "latitude"),
    "hot_water": ("hot_water", "热水"),
    "capacity": ("capacity", "容纳人数"),
    "address": ("address", "地址"),
}
FULL_WIDTH = str.maketrans("0123456789.-", "０１２３４５６７８９．－")
NASTY_TEXT = st.sampled_from(
    [HYPERLINK, "=1+1", "+86 571 8888", "-", "@SUM(A1)", "\t=x", "\r=x", "'=x", "'", "a\x00b", "\u3000", "x" * 5000]
)
CELL = st.one_of(
    st.text(max_size=30),
    NASTY_TEXT,
    st.sampled_from(["是", "否", "yes", "no", "", "爱心驿站", "司机之家", "母婴室;户外", "outdoor_worker"]),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(min_value=-200, max_value=200, places=6).map(str),
    st.decimals(min_value=-200, max_value=200, places=6).map(lambda d: str(d).translate(FULL_WIDTH)),
    st.just("x" * 200_000),  # beyond the csv module's field limit
)


@st.composite
def station_tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    fields = draw(st.lists(st.sampled_from(list(HEADER_SPELLINGS)), min_size=1, max_size=7, unique=True))
    header = [draw(st.sampled_from(HEADER_SPELLINGS[f])) for f in fields]
    rows = draw(st.lists(st.lists(CELL, min_size=len(header), max_size=len(header)), max_size=6))
    short_or_long = draw(st.sampled_from([None, "short", "long"]))
    if rows and short_or_long == "short":
        rows[0] = rows[0][:-1]
    elif rows and short_or_long == "long":
        rows[0] = [*rows[0], "extra"]
    return header, rows


def _csv_text(header: list[str], rows: list[list[str]], newline: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows([header, *rows])
    return out.getvalue()


@given(table=station_tables(), newline=st.sampled_from(["\n", "\r\n", "\r"]), extra_newlines=st.booleans())
def test_station_tables_in_any_spelling_give_stations_or_a_yizhan_error(
    table: tuple[list[str], list[list[str]]], newline: str, extra_newlines: bool
) -> None:
    header, rows = table
    text = _csv_text(header, rows, newline)
    if extra_newlines:  # blank lines and a mix of line ends
        text = text.replace(newline, "\r\n\n", 1) + "\n\r\n"
    answer = parse_or_refuse(text.encode("utf-8"), "t.csv")
    full_width = all(len(row) == len(header) for row in rows)  # a sheet has no short or long rows: see below
    if full_width and _same_in_a_workbook(rows) and newline != "\r" and not extra_newlines:  # (CR leaves LFs bare)
        # the same table as a workbook gives the same stations and problems. Not for a row shorter or longer than
        # the header: a CSV says so ("expected 7 fields, got 6"), a sheet's missing cells are empty cells and a
        # cell past the header has no column (read with strict_width=False), so its problems are other ones
        assert _same_answer(parse_or_refuse(_workbook([header, *rows]), "t.xlsx"), answer)


def _same_in_a_workbook(rows: list[list[str]]) -> bool:
    """Whether a workbook holds these cells as the same text: openpyxl writes "=..." as a formula, XLSX cannot
    hold most control characters, CRs or more than 32,767 characters in a cell."""
    cells = [cell for row in rows for cell in row]
    return not any(re.search(r"[\x00-\x08\x0b-\x1f]|^=", cell) or len(cell) > 32_767 for cell in cells)


ENCODINGS_READ = ("utf-8", "utf-8-sig", "utf-16", "gb18030")
WRONG_ENCODINGS = ("big5", "shift_jis", "latin-1", "cp1252", "utf-16-le", "utf-16-be", "utf-32", "utf-7")


@given(table=station_tables(), encoding=st.sampled_from(ENCODINGS_READ))
def test_every_encoding_read_gives_what_utf8_gives(table: tuple[list[str], list[list[str]]], encoding: str) -> None:
    """UTF-8 (with or without BOM), UTF-16 with a BOM and GB18030 are read as the same text. GB18030 bytes that
    happen to be valid UTF-8 too are ambiguous (read as UTF-8), so they are left out."""
    header, rows = table
    text = _csv_text(header, rows, "\n")
    encoded = text.encode(encoding)
    if encoding == "gb18030":
        assume(not _is_utf8(encoded))
    assert _same_answer(parse_or_refuse(encoded, "t.csv"), parse_or_refuse(text.encode("utf-8"), "t.csv"))


@given(table=station_tables(), encoding=st.sampled_from(WRONG_ENCODINGS), mojibake=st.booleans())
def test_wrong_encodings_give_stations_or_a_yizhan_error(
    table: tuple[list[str], list[list[str]]], encoding: str, mojibake: bool
) -> None:
    """Files in encodings the importers do not read (or UTF-8 decoded as Latin-1 and saved again) are refused
    or read as whatever text the bytes make; never an error of another kind."""
    header, rows = table
    text = _csv_text(header, rows, "\n")
    data = text.encode("utf-8").decode("latin-1").encode("utf-8") if mojibake else text.encode(encoding, "replace")
    parse_or_refuse(data, "t.csv")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _same_answer(one: ParsedFile | YizhanError, other: ParsedFile | YizhanError) -> bool:
    if isinstance(one, ParsedFile) and isinstance(other, ParsedFile):
        return (one.stations, one.problems, one.rows) == (other.stations, other.problems, other.rows)
    return type(one) is type(other) and str(one) == str(other)


def test_excel_unicode_text_is_read_like_csv() -> None:
    """Excel's "Unicode text" export is UTF-16 with a BOM, tab-separated."""
    rows = [
        ["名称", "类型", "经度", "纬度", "开放时间"],
        ["文三路爱心驿站", "爱心驿站", "120.13", "30.28", "Mo-Fr 08:30-11:00,13:30-17:00"],
    ]
    tsv = "\r\n".join("\t".join(r) for r in rows) + "\r\n"
    from_tsv = parse_file(codecs.BOM_UTF16_LE + tsv.encode("utf-16-le"), "驿站.txt")
    from_csv = parse_file(_csv_text(rows[0], rows[1:], "\n").encode(), "驿站.csv")
    assert from_tsv.problems == [] and from_tsv.stations == from_csv.stations
    assert from_tsv.stations[0].opening_hours == "Mo-Fr 08:30-11:00,13:30-17:00"


def test_full_width_digits_are_numbers() -> None:
    """Chinese input methods type full-width digits; Python reads them as digits, so they are accepted."""
    text = "名称,类型,经度,纬度,容纳人数\n驿站,爱心驿站,１２０.１６,３０.２５,１２\n"
    (station,) = parse_file(text.encode(), "a.csv").stations
    assert (station.lon, station.lat, station.capacity) == (120.16, 30.25, 12)


# --- round trips and formula guards ---------------------------------------------------------------------------

FORMULA_PREFIXES = ["", "=", "+", "-", "@", "\t", "\r", "'", "'=", "''", " =", HYPERLINK]
# Text as a Station keeps it: no control characters other than tab and newline, no surrogates, no carriage
# returns inside (the importers read CR LF and CR as LF: an XLSX cell cannot keep a CR).
SAFE_CHARACTERS = st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(["\n", "\t", " ", ",", '"', "'"])


def station_text(max_size: int) -> st.SearchStrategy[str]:
    """Text a Station keeps as it is: a formula-like prefix, a visible character, then anything safe."""
    visible = st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"))
    rest = st.text(SAFE_CHARACTERS, max_size=max_size - len(HYPERLINK) - 1)
    return st.builds(
        lambda prefix, first, text: prefix + first + text, st.sampled_from(FORMULA_PREFIXES), visible, rest
    )


STATION_ID = st.from_regex(r"\A[^\s/?#%\\\x00-\x1f\x7f]{1,64}\Z").filter(lambda i: id_problem(i) is None)
LON = st.floats(min_value=-180, max_value=180).map(lambda x: round(x, 7))
LAT = st.floats(min_value=-90, max_value=90).map(lambda x: round(x, 7))


STATIONS = st.fixed_dictionaries(
    {
        "id": STATION_ID,
        "name": station_text(200),
        "types": st.lists(st.sampled_from(STATION_TYPES), min_size=1, unique=True),
        "lon": LON,
        "lat": LAT,
        "amenities": st.dictionaries(st.sampled_from(AMENITIES), st.sampled_from(["yes", "no"])),
    },
    optional={
        "host": station_text(200),
        "address": station_text(500),
        "adcode": st.from_regex(r"\A\d{6}\Z"),
        "district": station_text(100),
        "opening_hours": st.sampled_from(["24/7", "Mo-Fr 08:30-11:00,13:30-17:00; PH off", "Mo-Su 18:00-22:00"]),
        "operating_status": st.sampled_from(OPERATING_STATUSES),
        "phone": station_text(100),
        "capacity": st.integers(min_value=0, max_value=10**6),
        # XLSX keeps 16 significant digits (openpyxl writes "%.16g"; Excel shows 15): 13 here
        "area_m2": st.floats(min_value=0.001, max_value=1e9).map(lambda x: round(x, 3)),
        "photo_url": st.from_regex(r"\A[a-z0-9/]{0,40}\Z").map(lambda path: "https://img.example.cn/" + path),
        "verified_at": st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
        "source": station_text(200),
        # system names as a header keeps them (headers are read lower-cased, without spaces or a "(unit)")
        "external_ids": st.dictionaries(st.from_regex(r"\A[a-z0-9_]{1,12}\Z"), station_text(40).map(str.strip)),
    },
).map(lambda fields: Station(**fields))


STATION_LISTS = st.lists(STATIONS, max_size=5, unique_by=lambda s: s.id)
NAMED_LIKE_FORMULAS = [
    Station(
        id=f"F{i}",
        name=name,
        types=["outdoor_worker"],
        lon=120.1,
        lat=30.2,
        phone="+86 571 8888",
        external_ids={"union": name, "amap": "-B0FFX"},
    )
    for i, name in enumerate([HYPERLINK, "=1+1", "+1", "-1", "@x", "\t=x", "\r=x", "'=x", "''", "'"])
]


@given(STATION_LISTS)
@example(NAMED_LIKE_FORMULAS)
def test_csv_export_imports_back_unchanged(stations: list[Station]) -> None:
    parsed = parse_file(to_csv(stations).encode("utf-8"), "export.csv")
    assert parsed.problems == [] and parsed.stations == stations


@settings(max_examples=50)
@given(STATION_LISTS)
@example(NAMED_LIKE_FORMULAS)
def test_xlsx_export_imports_back_unchanged(stations: list[Station]) -> None:
    parsed = parse_file(to_xlsx(stations), "export.xlsx")
    assert parsed.problems == [] and parsed.stations == stations


@given(STATION_LISTS)
@example(NAMED_LIKE_FORMULAS)
def test_geojson_export_imports_back_unchanged(stations: list[Station]) -> None:
    parsed = parse_file(json.dumps(to_geojson(stations), ensure_ascii=False).encode(), "export.geojson")
    assert parsed.problems == [] and parsed.stations == stations


def _csv_cells_are_inert(text: str, numeric_columns: set[int]) -> None:
    for row in csv.reader(io.StringIO(text, newline="")):
        for column, cell in enumerate(row):
            if column in numeric_columns and NUMBER.fullmatch(cell):
                continue  # a plain number such as -73.5 is a number, not a formula
            assert not cell.startswith(FORMULA_START), cell


def _xlsx_cells_are_inert(xlsx: bytes) -> openpyxl.worksheet.worksheet.Worksheet:
    """The workbook's sheet, after asserting that no cell is a formula or text that starts like one."""
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", (cell.coordinate, cell.value)
            assert not (isinstance(cell.value, str) and cell.value.startswith(FORMULA_START)), cell.value
    return sheet


@settings(max_examples=50)
@given(STATION_LISTS)
@example(NAMED_LIKE_FORMULAS)
def test_station_exports_hold_no_formula(stations: list[Station]) -> None:
    coordinates = {CSV_COLUMNS.index("lon"), CSV_COLUMNS.index("lat")}
    _csv_cells_are_inert(to_csv(stations), coordinates)
    _xlsx_cells_are_inert(to_xlsx(stations))


ANY_TEXT = st.text(max_size=40) | NASTY_TEXT
TABLE_ROWS = st.integers(min_value=1, max_value=4).flatmap(
    lambda width: st.lists(
        st.lists(ANY_TEXT | st.integers() | st.floats() | st.none(), min_size=width, max_size=width), max_size=5
    ).map(lambda rows: [{f"c{i}": v for i, v in enumerate(row)} for row in rows])
)


@settings(max_examples=50)
@given(TABLE_ROWS)
def test_any_table_exports_to_inert_csv_and_xlsx(rows: list[dict[str, Any]]) -> None:
    """``table_csv``/``table_xlsx`` (coverage tables, siting proposals named by users) guard every text cell,
    replace the control characters XLSX cannot hold, and leave non-finite numbers empty."""
    text = table_csv(rows)
    numeric = {i for row in rows for i, v in enumerate(row.values()) if not isinstance(v, str)}
    _csv_cells_are_inert(text, numeric)
    assert len(list(csv.reader(io.StringIO(text, newline="")))) == (len(rows) + 1 if rows else 0)
    sheet = _xlsx_cells_are_inert(table_xlsx(rows))
    for number, row in enumerate(rows, start=2):
        for column, value in enumerate(row.values(), start=1):
            written = sheet.cell(number, column).value
            if isinstance(value, str) and value:
                expected = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "\ufffd", guard_formula(value))
                assert written == expected  # carriage returns too (written as &#13;: XML reads a bare one as LF)
            elif isinstance(value, float) and not math.isfinite(value):
                assert written is None


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "'", "''=", "'x", "x", ""])
def test_guard_and_unguard_are_inverses(text: str) -> None:
    guarded = guard_formula(text)
    assert unguard_formula(guarded) == text
    assert not guarded.startswith(FORMULA_START)


# --- text is text ------------------------------------------------------------------------------------------


def test_station_text_refuses_control_characters() -> None:
    with pytest.raises(ValueError):
        Station(id="A", name="a\x00b", types=["outdoor_worker"], lon=120.1, lat=30.2)


def test_external_ids_refuse_control_characters() -> None:
    text = "name,types,lon,lat,external_ids.union\n驿站,outdoor_worker,120.1,30.2,a\x00b\n"
    assert parse_file(text.encode(), "ids.csv").stations == []
