"""The XLSX tables Yizhan writes itself (``stations.xlsx_writer``) read back as written, by openpyxl (what a
spreadsheet user's tools are built on) and by the import's own hardened reader, on any values."""

from __future__ import annotations

import io
import math
import re
import zipfile
from typing import Any

import numpy as np
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stations.exporters import table_xlsx
from stations.xlsx import worksheet_rows
from stations.xlsx_writer import CELL_TEXT_LIMIT, column_letters, xlsx_table

NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

texts = st.text(st.characters(codec=None), max_size=40) | st.sampled_from(
    ["", " ", " 前后有空格 ", "a\r\nb\rc", "<script>x</script>", "{{ 7*7 }}", "=1+1", "&amp;", "\u202e\u200f", "\ud800"]
)
values = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(width=64) | texts


def expected(value: Any) -> Any:
    """What reading a written cell gives: text with what XML cannot hold as U+FFFD; no cell for None or non-finite."""
    if isinstance(value, str):
        return NOT_IN_XML.sub("\ufffd", value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def trimmed(row: list[Any]) -> list[Any]:
    """A row without its trailing empty cells (readers end a row at its last cell)."""
    while row and row[-1] is None:
        row = row[:-1]
    return row


@settings(max_examples=60, deadline=None)
@given(
    header=st.lists(texts.filter(bool), max_size=6),
    rows=st.lists(st.lists(values, max_size=6), max_size=8),
    sheet=st.sampled_from(["stations", "站点", "national coverage", 'a&b<"c">']),
)
def test_what_is_written_reads_back_the_same_in_openpyxl_and_the_import_reader(
    header: list[str], rows: list[list[Any]], sheet: str
) -> None:
    data = xlsx_table(header, rows, sheet)
    written = [header, *rows] if header else rows
    want = [trimmed([expected(v) for v in row]) for row in written]
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == [sheet]
    height = len(written)
    read = [trimmed(list(row)) for row in book[sheet].iter_rows(min_row=1, max_row=height, values_only=True)]
    assert read[:height] == want if height else book[sheet].max_row == 1
    ours = list(worksheet_rows(data))
    assert ours + [[]] * (height - len(ours)) == want
    # a number stays a number, a boolean a boolean (True == 1 in Python: compare the types too)
    assert [[type(v) for v in row] for row in ours] == [[type(v) for v in row] for row in want[: len(ours)]]


def test_types_survive_exactly() -> None:
    rows = [[True, False, 0, -7, 2**53, 0.1, 1e-300, -0.0, "0.1", "TRUE", None, "x"]]
    (row,) = worksheet_rows(xlsx_table([], rows, "t"))
    assert [(type(v), v) for v in row] == [(type(v), v) for v in rows[0][:-2]] + [(type(None), None), (str, "x")]


def test_numpy_numbers_and_str_subclasses_are_cells_other_types_refused() -> None:
    class Name(str):
        pass

    (row,) = worksheet_rows(xlsx_table([], [[np.int64(3), np.float64(2.5), np.float32(np.nan), Name("名")]], "t"))
    assert row == [3, 2.5, None, "名"]
    with pytest.raises(TypeError, match="not dict"):
        xlsx_table([], [[{"a": 1}]], "t")


@pytest.mark.parametrize("sheet", ["", "a" * 32, "a/b", "[x]", "a:b", "a*", "a?", "a\\b"])
def test_a_sheet_name_excel_refuses_is_refused(sheet: str) -> None:
    with pytest.raises(ValueError, match="not a worksheet name"):
        xlsx_table(["a"], [[1]], sheet)


def test_the_header_is_bold_and_stays_in_view_rows_are_plain() -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_table(["名称", "经度"], [["西湖驿站", 120.13]], "t")))["t"]
    assert sheet.freeze_panes == "A2"
    assert [cell.font.b for cell in sheet[1]] == [True, True] and [cell.font.b for cell in sheet[2]] == [False, False]
    bare = openpyxl.load_workbook(io.BytesIO(xlsx_table([], [["西湖驿站", 120.13]], "t")))["t"]
    assert bare.freeze_panes is None and not bare["A1"].font.b


def test_a_table_with_nothing_is_a_workbook_with_an_empty_sheet() -> None:
    data = xlsx_table([], [], "stations")
    assert list(worksheet_rows(data)) == []
    assert openpyxl.load_workbook(io.BytesIO(data)).sheetnames == ["stations"]


def test_a_text_up_to_excels_cell_limit_is_written_whole_a_longer_one_cut_with_an_ellipsis() -> None:
    whole = "驿" * (CELL_TEXT_LIMIT - 3) + "<&>"
    astral = "𠀀" * (CELL_TEXT_LIMIT // 2) + "ab"  # two UTF-16 code units each, as Excel counts
    big = "驿" * 1_000_000 + "<&>"
    header = [f"c{i}" for i in range(60)]
    data = xlsx_table(header, [[whole, astral, big, *range(57)]], "t")
    head, row = worksheet_rows(data, limits=_generous())
    assert head == header and row[0] == whole and row[-1] == 56
    assert row[1] == "𠀀" * (CELL_TEXT_LIMIT // 2) + "…"  # 32,766 units and the ellipsis; no pair split
    assert row[2] == "驿" * (CELL_TEXT_LIMIT - 1) + "…"
    assert [len(text.encode("utf-16-le")) // 2 for text in row[:3]] == [CELL_TEXT_LIMIT] * 3
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert '<c r="BH2">' in sheet  # the 60th column's name


def test_text_is_shared_once_and_formulas_stay_text_in_table_xlsx() -> None:
    rows = [{"name": '=HYPERLINK("x")', "district": "西湖区"}, {"name": "@SUM(A1)", "district": "西湖区"}]
    data = table_xlsx(rows, sheet="stations")
    strings = zipfile.ZipFile(io.BytesIO(data)).read("xl/sharedStrings.xml").decode()
    assert strings.count("西湖区") == 1
    sheet = openpyxl.load_workbook(io.BytesIO(data))["stations"]
    assert [cell.data_type for cell in sheet[2]] == ["s", "s"]
    assert not any(str(cell.value).startswith(("=", "@")) for row in sheet.iter_rows(min_row=2) for cell in row)


def test_column_letters_match_openpyxl() -> None:
    from openpyxl.utils import get_column_letter

    assert column_letters(800) == [get_column_letter(i) for i in range(1, 801)]


def _generous() -> Any:
    from dataclasses import replace

    from stations.xlsx import DEFAULT_LIMITS

    return replace(DEFAULT_LIMITS, max_cell_chars=2_000_000, max_compression_ratio=10_000)  # one repeated character
