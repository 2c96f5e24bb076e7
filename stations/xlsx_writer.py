"""Write one table as an XLSX workbook: the worksheet's XML written as text, a cell at a time.

openpyxl (without lxml, which Yizhan does not install) serialises every cell through et_xmlfile's pure-Python
element tree, ~12 µs a cell: the open data's 47 columns took ~1 s for the sample's 1,614 stations and would take
minutes at a national registry's 200,000. An XLSX file is a zip of a few XML parts, and a table needs only the
smallest of them (ECMA-376 part 1, SpreadsheetML): the package's content types and relationships, the workbook
naming its one sheet, a stylesheet (the default style and a bold one), the sheet's rows — a header in bold that
stays in view as the table scrolls —, and its text once each in the shared strings. Cells hold numbers (``n``),
booleans (``b``) and shared strings (``s``); an empty value writes no cell.

XML cannot hold the control characters U+0000–U+0008, U+000B, U+000C, U+000E–U+001F, lone surrogates, U+FFFE and
U+FFFF: each is written as U+FFFD (�), as ``table_xlsx`` always said. A carriage return is written as ``&#13;``
(XML readers turn a bare one into a line feed), so text reads back as it was written. A cell holds at most
``CELL_TEXT_LIMIT`` characters in Excel (which repairs a longer one on opening, with a warning): a longer text
is cut to fit and ends in "…" (``xlsx_safe``).

>>> import io, openpyxl
>>> book = openpyxl.load_workbook(io.BytesIO(xlsx_table(["名称", "经度"], [["西湖驿站", 120.13]], "站点")))
>>> book.sheetnames, [[cell.value for cell in row] for row in book["站点"].iter_rows()]
(['站点'], [['名称', '经度'], ['西湖驿站', 120.13]])
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import Any

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_A_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
CELL_TEXT_LIMIT = 32_767
"""Most characters (UTF-16 code units, as Excel counts) a cell's text may have: Excel's specification limit."""
_ROWS_PER_WRITE = 256
"""Rows of sheet XML put together before a write to the zip (its deflate runs as they come)."""

_CONTENT_TYPES = (
    f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_TYPE}.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_TYPE}.sharedStrings+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_TYPE}.styles+xml"/></Types>'
)
_PACKAGE_RELS = (
    f'{_HEAD}<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">'
    f'<Relationship Id="rId1" Type="{_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK_RELS = (
    f'{_HEAD}<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">'
    f'<Relationship Id="rId1" Type="{_RELATIONSHIPS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_RELATIONSHIPS}/sharedStrings" Target="sharedStrings.xml"/>'
    f'<Relationship Id="rId3" Type="{_RELATIONSHIPS}/styles" Target="styles.xml"/></Relationships>'
)
_STYLES = (  # the default style, and the header's (bold); the two fills every stylesheet has, one border
    f'{_HEAD}<styleSheet xmlns="{MAIN_NS}"><fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
_FROZEN_HEADER = (  # the first row stays in view as the table scrolls
    '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
    'state="frozen"/><selection pane="bottomLeft"/></sheetView></sheetViews>'
)


def xml_text(value: str) -> str:
    r"""``value`` as XML character data: what XML cannot hold as U+FFFD, markup and carriage returns escaped.

    >>> xml_text("a<b & \x07c\r")
    'a&lt;b &amp; �c&#13;'
    """
    return xlsx_safe(value).translate(_ESCAPES)


def xlsx_safe(text: str) -> str:
    r"""``text`` as an XLSX cell can hold it (for openpyxl's writer too): each character XML cannot hold as U+FFFD,
    and, past ``CELL_TEXT_LIMIT`` UTF-16 code units, cut to its first ``CELL_TEXT_LIMIT - 1`` (a pair never split)
    and "…".

    >>> xlsx_safe("a\x00b\ud800")
    'a�b�'
    >>> cut = xlsx_safe("驿" * 40_000)
    >>> len(cut), cut[-2:]
    (32767, '驿…')
    """
    text = _NOT_IN_XML.sub("\ufffd", text)
    if len(text) <= CELL_TEXT_LIMIT // 2:  # two code units a character at most: within the limit
        return text
    units = text.encode("utf-16-le", "surrogatepass")
    if len(units) <= 2 * CELL_TEXT_LIMIT:
        return text
    # a pair cut in two leaves half a character, dropped by "ignore"
    return units[: 2 * (CELL_TEXT_LIMIT - 1)].decode("utf-16-le", "ignore") + "…"


def column_letters(count: int) -> list[str]:
    """The first ``count`` column names (A … Z, AA … AZ, BA …).

    >>> column_letters(28)[-3:]
    ['Z', 'AA', 'AB']
    """
    names = []
    for number in range(1, count + 1):
        name = ""
        while number:
            number, rest = divmod(number - 1, 26)
            name = chr(65 + rest) + name
        names.append(name)
    return names


def xlsx_table(header: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str) -> bytes:
    r"""A workbook of one sheet named ``sheet`` (≤ 31 characters, none of ``[]:*?/\``): ``header`` (none if empty)
    then ``rows``, each of values that are None (no cell), bool, integral or real numbers (non-finite ones: no
    cell) or text. Any other value is a TypeError; a sheet name Excel would refuse, a ValueError."""
    if not 0 < len(sheet) <= 31 or _NOT_A_SHEET_NAME.search(sheet):
        raise ValueError(f"not a worksheet name: {sheet!r} (1-31 characters, none of []:*?/\\)")
    strings: dict[str, int] = {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        with package.open("xl/worksheets/sheet1.xml", "w") as part:
            letters = column_letters(len(header))
            views = f"{_FROZEN_HEADER}<sheetData>{_header_xml(header, letters, strings)}" if header else "<sheetData>"
            part.write(f'{_HEAD}<worksheet xmlns="{MAIN_NS}">{views}'.encode())
            chunk: list[str] = []
            for number, row in enumerate(rows, start=2 if header else 1):
                if len(row) > len(letters):
                    letters = column_letters(len(row))
                chunk.append(_row_xml(row, number, letters, strings))
                if len(chunk) == _ROWS_PER_WRITE:
                    part.write("".join(chunk).encode())
                    chunk.clear()
            part.write(("".join(chunk) + "</sheetData></worksheet>").encode())
        package.writestr("xl/sharedStrings.xml", _shared_strings(strings))
        package.writestr("[Content_Types].xml", _CONTENT_TYPES)
        package.writestr("_rels/.rels", _PACKAGE_RELS)
        package.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        package.writestr("xl/styles.xml", _STYLES)
        package.writestr(
            "xl/workbook.xml",
            f'{_HEAD}<workbook xmlns="{MAIN_NS}" xmlns:r="{_RELATIONSHIPS}"><sheets>'
            f'<sheet name="{xml_text(sheet).replace(chr(34), "&quot;")}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
    return buffer.getvalue()


def _header_xml(header: Sequence[str], letters: list[str], strings: dict[str, int]) -> str:
    """The first row: the column names, in bold (style 1)."""
    cells = "".join(
        f'<c r="{letter}1" s="1" t="s"><v>{strings.setdefault(str(name), len(strings))}</v></c>'
        for letter, name in zip(letters, header, strict=True)
    )
    return f'<row r="1">{cells}</row>'


def _row_xml(row: Sequence[Any], number: int, letters: list[str], strings: dict[str, int]) -> str:
    """One ``<row>`` of the sheet (its text put among ``strings``: text → index in the shared strings)."""
    cells = [f'<row r="{number}">']
    for letter, value in zip(letters, row, strict=False):
        if value is None:
            continue
        if type(value) is str:
            index = strings.get(value)
            if index is None:
                index = strings[value] = len(strings)
            cells.append(f'<c r="{letter}{number}" t="s"><v>{index}</v></c>')
        elif type(value) is float or type(value) is int:
            if value == value and value not in (math.inf, -math.inf):
                cells.append(f'<c r="{letter}{number}"><v>{value!r}</v></c>')
        else:
            cells.append(_other_cell(value, f"{letter}{number}", strings))
    cells.append("</row>")
    return "".join(cells)


def _other_cell(value: Any, reference: str, strings: dict[str, int]) -> str:
    """A cell of a value not a plain str, int or float: bool, a subclass of str, a numpy number..."""
    if isinstance(value, bool):
        return f'<c r="{reference}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, str):
        text = str.__str__(value)
        index = strings.setdefault(text, len(strings))
        return f'<c r="{reference}" t="s"><v>{index}</v></c>'
    if isinstance(value, Integral):
        return f'<c r="{reference}"><v>{int(value)}</v></c>'
    if isinstance(value, Real):
        number = float(value)
        return f'<c r="{reference}"><v>{number!r}</v></c>' if math.isfinite(number) else ""
    raise TypeError(f"an XLSX cell holds text, a number or a boolean, not {type(value).__name__}")


def _shared_strings(strings: dict[str, int]) -> bytes:
    """The shared strings part: each text once, in the order of its index (dicts keep insertion order)."""
    items = "".join(f'<si><t xml:space="preserve">{xml_text(text)}</t></si>' for text in strings)
    count = len(strings)
    return f'{_HEAD}<sst xmlns="{MAIN_NS}" count="{count}" uniqueCount="{count}">{items}</sst>'.encode()
