"""Read the first worksheet of an XLSX workbook as rows of values: streamed, and within limits.

An XLSX file is a zip of XML parts, and a small upload can unpack to gigabytes: a 105 KB file held one row of
2,000,000 cells, another a single cell of 300 MB. So, before any XML is parsed, the zip's directory is checked
(number of parts, unpacked size, compression ratio) and every part is refused if it declares a DTD (entities
that expand); then the shared strings and the worksheet are read as a stream of XML events, holding at most
one row, with limits on rows, cells per row and characters per cell. openpyxl reads the workbook's small parts
(which sheet comes first, which styles are dates) and converts each cell's value as it always did
(``WorkSheetParser.parse_cell``), so a workbook within the limits reads exactly as with
``openpyxl.load_workbook(read_only=True, data_only=True)``.

>>> from openpyxl import Workbook
>>> book = Workbook()
>>> book.active.append(["名称", "经度"]); book.active.append(["西湖驿站", 120.13])
>>> buffer = io.BytesIO(); book.save(buffer)
>>> list(worksheet_rows(buffer.getvalue()))
[['名称', '经度'], ['西湖驿站', 120.13]]
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import IO, Any
from xml.etree.ElementTree import Element, XMLPullParser
from xml.parsers import expat

from openpyxl.cell.text import Text
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS

from stations.errors import FileUnreadable, LimitExceeded, UnpackedTooLarge, YizhanError
from stations.limits import DEFAULT_LIMITS as DEFAULT_LIMITS  # re-exported for the importers
from stations.limits import ReadLimits as ReadLimits

CHUNK_BYTES = 64 * 1024
"""Bytes of a part unpacked and parsed at a time."""
RATIO_GRACE_BYTES = 1_000_000
"""Parts smaller than this (unpacked) are not held to the compression ratio (as Apache POI's ZipSecureFile)."""
PROLOG_BYTES = 1_000_000
"""Most bytes a part may have before its first element (declaration, comments)."""

ROW_TAG = f"{{{SHEET_MAIN_NS}}}row"
STRING_TAG = f"{{{SHEET_MAIN_NS}}}si"


def worksheet_rows(data: bytes, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[list[Any]]:
    """The first worksheet's rows as lists of cell values (openpyxl's: str, int, float, bool, datetime, None),
    one list per row number from 1 (missing rows are empty lists; a row ends at its last cell).

    Raises UnpackedTooLarge (the archive), LimitExceeded (rows, cells, characters) or FileUnreadable (not a
    workbook, a DTD, damaged XML), each before the part concerned is parsed further.
    """
    archive = _checked_archive(data, limits)
    try:
        try:
            reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
            reader.read_manifest()
            strings_part = reader.package.find(SHARED_STRINGS)  # type: ignore[no-untyped-call]  # untyped in the stub
            reader.read_workbook()
            apply_stylesheet(reader.archive, reader.wb)
            sheet_path = next(
                (
                    rel.target
                    for _sheet, rel in reader.parser.find_sheets()
                    if rel.target in reader.valid_files and "chartsheet" not in rel.Type
                ),
                None,
            )
        except Exception as exc:  # openpyxl raises many types for a non-workbook (zip, xml, key errors)
            raise FileUnreadable(f"not a readable XLSX workbook: {exc}") from exc
        if sheet_path is None:
            raise FileUnreadable("not a readable XLSX workbook: it has no worksheet")
        strings: list[str] = []
        if strings_part is not None:
            with _opened(archive, strings_part.PartName[1:]) as stream:
                try:
                    strings = _shared_strings(stream, strings_part.PartName[1:], limits)
                except YizhanError:
                    raise
                except Exception as exc:  # what openpyxl's Text raises for a damaged entry (type, value errors)
                    raise FileUnreadable(f"not a readable XLSX workbook: shared strings: {exc}") from exc
        # openpyxl's internals, which types-openpyxl does not describe: no source (rows are fed to parse_row one
        # by one) and the workbook's private format sets, as openpyxl's own reader passes them
        cells = WorkSheetParser(
            None,  # type: ignore[arg-type]
            strings,
            data_only=True,
            epoch=reader.wb.epoch,
            date_formats=reader.wb._date_formats,  # type: ignore[attr-defined]
            timedelta_formats=reader.wb._timedelta_formats,  # type: ignore[attr-defined]
        )
        with _opened(archive, sheet_path) as stream:
            yield from _sheet_rows(stream, sheet_path, cells, limits)
    finally:
        archive.close()


def _checked_archive(data: bytes, limits: ReadLimits) -> zipfile.ZipFile:
    """The zip, once its directory is within the limits and no part declares a DTD.

    The sizes checked are those the directory declares: Python's zipfile never unpacks more than the declared
    size of a part (it stops there and the CRC check fails), so a part cannot lie its way past them.
    """
    # ZipFile reads the whole directory into objects: count its entries (each begins PK\1\2) before it does
    entries = data.count(b"PK\x01\x02")
    if entries > limits.max_parts:
        raise UnpackedTooLarge("max_parts", limits.max_parts, f"about {entries:,} parts", "XLSX archive")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except Exception as exc:  # zipfile raises many types for a damaged archive (BadZipFile, struct, EOF errors)
        raise FileUnreadable(f"not a readable XLSX workbook: {exc}") from exc
    if len(infos) > limits.max_parts:
        raise UnpackedTooLarge("max_parts", limits.max_parts, f"{len(infos):,} parts", "XLSX archive")
    unpacked = sum(info.file_size for info in infos)
    if unpacked > limits.max_unpacked_bytes:
        found = f"{unpacked:,} bytes unpacked (from {len(data):,})"
        raise UnpackedTooLarge("max_unpacked_bytes", limits.max_unpacked_bytes, found, "XLSX archive")
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_GRACE_BYTES and ratio > limits.max_compression_ratio:
            found = f"{info.file_size:,} bytes packed into {info.compress_size:,} ({ratio:,.0f}:1)"
            raise UnpackedTooLarge("max_compression_ratio", limits.max_compression_ratio, found, info.filename)
    try:
        for info in infos:
            _refuse_dtd(archive, info)
    except YizhanError:
        raise
    except Exception as exc:  # zlib errors, BadZipFile (a CRC that does not match what a part declares)
        raise FileUnreadable(f"not a readable XLSX workbook: {exc}") from exc
    return archive


class _RootReached(Exception):
    """The first element of a part: its prolog is over, and it declared no DTD."""


def _refuse_dtd(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """FileUnreadable if the part declares a DTD (internal entities expand, external ones fetch); only the prolog,
    before the first element, is read. Parts that are not XML (images) pass: a parser stops on them at once."""

    def doctype(*_: object) -> None:
        raise FileUnreadable(
            f"not a readable XLSX workbook: part {info.filename} declares a DTD (<!DOCTYPE>), which no XLSX part"
            " needs; refused so that no entity is expanded"
        )

    def root(*_: object) -> None:
        raise _RootReached

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = root
    read = 0
    with _opened(archive, info.filename) as stream:
        while chunk := stream.read(CHUNK_BYTES):
            try:
                parser.Parse(chunk, False)
            except _RootReached:
                return
            except expat.ExpatError:
                return  # not XML where this parser stops: openpyxl's (the same expat) stops there too
            read += len(chunk)
            if read > PROLOG_BYTES:
                raise FileUnreadable(
                    f"not a readable XLSX workbook: part {info.filename} has no element"
                    f" in its first {PROLOG_BYTES:,} bytes"
                )


def _opened(archive: zipfile.ZipFile, name: str) -> IO[bytes]:
    try:
        return archive.open(name)
    except Exception as exc:  # KeyError (no such part), BadZipFile, NotImplementedError (compression)
        raise FileUnreadable(f"not a readable XLSX workbook: part {name}: {exc}") from exc


def _events(stream: IO[bytes], part: str, limits: ReadLimits) -> Iterator[tuple[str, Element]]:
    """Start and end events of an XML part, unpacked and parsed ``CHUNK_BYTES`` at a time.

    Text is only seen whole at the event after it, so the bytes fed since the last event are counted: past
    what ``max_cell_chars`` characters of UTF-8 take (4 bytes each) and a chunk, some text (or tag) is too long,
    and reading stops before the parser holds more of it.
    """
    parser: XMLPullParser[Element] = XMLPullParser(events=("start", "end"))
    most = 4 * limits.max_cell_chars + CHUNK_BYTES
    quiet = 0
    try:
        while chunk := stream.read(CHUNK_BYTES):
            parser.feed(chunk)
            quiet += len(chunk)
            for event in parser.read_events():
                quiet = 0
                yield event  # type: ignore[misc]  # start and end events only: (str, Element)
            if quiet > most:
                found = f"a text or tag of more than {limits.max_cell_chars:,} characters"
                raise LimitExceeded("max_cell_chars", limits.max_cell_chars, found, part)
        parser.close()
        yield from parser.read_events()  # type: ignore[misc]  # as above
    except YizhanError:
        raise
    except Exception as exc:  # ParseError, zlib errors, BadZipFile (a CRC that does not match)
        raise FileUnreadable(f"not a readable XLSX worksheet: {part}: {exc}") from exc


def _too_long(chars: int, limits: ReadLimits, where: str) -> LimitExceeded:
    return LimitExceeded("max_cell_chars", limits.max_cell_chars, f"a cell of {chars:,} characters or more", where)


def _shared_strings(stream: IO[bytes], part: str, limits: ReadLimits) -> list[str]:
    """The shared-string table as openpyxl reads it (``read_string_table``), one entry held at a time."""
    strings: list[str] = []
    stack: list[Element] = []
    entry_depth = 0  # depth of the <si> being read; 0: none
    chars = 0
    for event, element in _events(stream, part, limits):
        if event == "start":
            stack.append(element)
            if element.tag == STRING_TAG and not entry_depth:
                entry_depth, chars = len(stack), 0
            continue
        stack.pop()
        if entry_depth and len(stack) >= entry_depth:  # inside an entry: kept until the entry ends
            chars += len(element.text or "")
            if chars > limits.max_cell_chars:
                raise _too_long(chars, limits, f"{part} entry {len(strings) + 1:,}")
            continue
        if element.tag == STRING_TAG and entry_depth == len(stack) + 1:
            entry_depth = 0
            if len(strings) >= limits.max_shared_strings:
                found = f"more than {limits.max_shared_strings:,} entries"
                raise UnpackedTooLarge("max_shared_strings", limits.max_shared_strings, found, part)
            # an ElementTree element, as openpyxl's reader passes (the stub wants its own protocol); never None here
            text = Text.from_tree(element).content.replace("x005F_", "")  # type: ignore[arg-type, union-attr]
            if len(text) > limits.max_cell_chars:
                raise _too_long(len(text), limits, f"{part} entry {len(strings) + 1:,}")
            strings.append(text)
        if stack:
            stack[-1].clear()  # done with it (and its earlier siblings)
    return strings


def _sheet_rows(stream: IO[bytes], part: str, cells: WorkSheetParser, limits: ReadLimits) -> Iterator[list[Any]]:
    """Rows of a worksheet part as openpyxl's read-only worksheet gives them with ``values_only`` and no
    dimensions: numbered by their ``r`` (gaps are empty rows, a row out of order is dropped), each as long as
    its last cell's column. Any child of a ``<row>`` is a cell, as in ``WorkSheetParser.parse_row``."""
    stack: list[Element] = []
    row_depth = 0  # depth of the <row> being read; 0: none
    row: list[tuple[int, Any]] = []
    number = 0
    next_number = 1  # the row number the next row yielded has
    chars = 0
    try:
        for event, element in _events(stream, part, limits):
            if event == "start":
                stack.append(element)
                if element.tag == ROW_TAG and not row_depth:
                    row_depth, row = len(stack), []
                    # the number, as openpyxl reads it (an ElementTree element: the stub wants its own protocol)
                    number, _ = cells.parse_row(Element(ROW_TAG, element.attrib))  # type: ignore[arg-type]
                    cells.row_dimensions.clear()
                    if number > limits.max_rows + 1:  # the header is row 1
                        found = f"row {number:,}: more than {limits.max_rows:,} rows below the header"
                        raise LimitExceeded("max_rows", limits.max_rows, found, part)
                elif row_depth and len(stack) == row_depth + 1:  # a cell
                    chars = 0
                    if len(row) >= limits.max_columns:
                        found = f"more than {limits.max_columns:,} cells"
                        raise LimitExceeded("max_columns", limits.max_columns, found, f"{part} row {number:,}")
                continue
            stack.pop()
            depth = len(stack)  # of the parent
            if row_depth and depth > row_depth:  # inside a cell: kept until the cell ends
                chars += len(element.text or "")
                if chars > limits.max_cell_chars:
                    raise _too_long(chars, limits, f"{part} row {number:,}")
                continue
            if row_depth and depth == row_depth:  # a cell ends
                cell = cells.parse_cell(element)
                value, column = cell["value"], cell["column"]
                if isinstance(value, str) and len(value) > limits.max_cell_chars:
                    raise _too_long(len(value), limits, f"{part} row {number:,} column {column:,}")
                if column > limits.max_columns:
                    found = f"a cell in column {column:,}"
                    raise LimitExceeded("max_columns", limits.max_columns, found, f"{part} row {number:,}")
                row.append((column, value))
            elif row_depth and depth == row_depth - 1:  # the row ends
                row_depth = 0
                if next_number <= number:
                    while next_number < number:
                        next_number += 1
                        yield []
                    next_number += 1
                    yield _values(row)
            if stack:
                stack[-1].clear()  # done with it (and its earlier siblings)
    except YizhanError:
        raise
    except Exception as exc:  # what parse_cell/parse_row raise for damaged cells (value, index, key errors)
        raise FileUnreadable(f"not a readable XLSX worksheet: {exc}") from exc


def _values(row: list[tuple[int, Any]]) -> list[Any]:
    """A row's values by column from 1 to its last cell's (openpyxl's ``_get_row``)."""
    if not row:
        return []
    width = row[-1][0]
    values: list[Any] = [None] * width
    for column, value in row:
        if 1 <= column <= width:
            values[column - 1] = value
    return values
