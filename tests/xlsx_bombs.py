"""Hostile XLSX files for the importers' limits, built small: parts are streamed into the zip, so a 300 MB cell
costs the test a few hundred KB of memory, not 300 MB.

A workbook here is openpyxl's own (so the workbook, styles and content types are real) with the worksheet or
the shared strings replaced by the bytes given.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterable

import openpyxl

SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"
HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
TAIL = b"</sheetData></worksheet>"
MB = 1 << 20


def workbook(rows: list[list[object]]) -> bytes:
    """An ordinary XLSX of ``rows`` as openpyxl writes it."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_parts(parts: dict[str, Iterable[bytes]], base: bytes | None = None) -> bytes:
    """``base`` (a small workbook with a shared string) with the named parts' bytes streamed in instead."""
    base = base or workbook([["名称"], ["x"]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        names = [info.filename for info in source.infolist()]
        for name in names + [n for n in parts if n not in names]:
            if name not in parts:
                target.writestr(name, source.read(name))
                continue
            with target.open(name, "w", force_zip64=True) as stream:
                for chunk in parts[name]:
                    stream.write(chunk)
    return out.getvalue()


def sheet(*chunks: bytes) -> dict[str, Iterable[bytes]]:
    return {SHEET: [HEAD, *chunks, TAIL]}


def wide_row(cells: int = 2_000_000) -> bytes:
    """One row of ``cells`` cells (the issue's 105 KB file: 2,000,000 cells)."""
    block = b"<c><v>1</v></c>" * 10_000
    return with_parts(sheet(b'<row r="1">', *([block] * (cells // 10_000)), b"</row>"))


def long_cell(megabytes: int = 300) -> bytes:
    """One inline-string cell of ``megabytes`` MB (the issue's 300 MB cell), below a header row of stations."""
    megabyte = b"x" * MB
    return with_parts(
        sheet(
            b'<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c><c r="B1" t="inlineStr"><is><t>types</t></is>'
            b'</c><c r="C1" t="inlineStr"><is><t>lon</t></is></c><c r="D1" t="inlineStr"><is><t>lat</t></is></c></row>',
            b'<row r="2"><c r="A2" t="inlineStr"><is><t>',
            *([megabyte] * megabytes),
            b"</t></is></c></row>",
        )
    )


def bomb(megabytes: int, name: str = "xl/media/zeros.bin") -> bytes:
    """A workbook with an extra part of ``megabytes`` MB of zeros (packs about 1,000:1)."""
    return with_parts({name: [bytes(MB)] * megabytes})


def lying_sizes(data: bytes, name: str, declared: int) -> bytes:
    """``data`` with the central directory declaring part ``name`` to unpack to ``declared`` bytes."""
    patched = bytearray(data)
    position = 0
    while (position := data.find(b"PK\x01\x02", position)) >= 0:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if data[position + 46 : position + 46 + name_length] == name.encode():
            struct.pack_into("<I", patched, position + 24, declared)
            return bytes(patched)
        position += 4
    raise AssertionError(f"no part {name} in the directory")


def laughs(levels: int = 10) -> bytes:
    """A worksheet whose DTD defines the 'billion laughs' (10**levels copies of "lol")."""
    entities = [b'<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">'.encode() for i in range(1, levels)]
    doctype = b"<!DOCTYPE worksheet [" + b"".join(entities) + b"]>"
    body = f'<row r="1"><c t="inlineStr"><is><t>&l{levels - 1};</t></is></c></row>'.encode()
    return with_parts({SHEET: [b'<?xml version="1.0"?>', doctype, HEAD.split(b"\n", 1)[1], body, TAIL]})


STRINGS_TYPE = (
    b'<Override PartName="/xl/sharedStrings.xml"'
    b' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml" />'
)


def with_strings(strings: Iterable[bytes], sheet_body: bytes) -> bytes:
    """A workbook with a shared-string table (openpyxl writes none: it writes inline strings) and a sheet."""
    base = workbook([["x"]])
    with zipfile.ZipFile(io.BytesIO(base)) as source:
        types = source.read("[Content_Types].xml").replace(b"</Types>", STRINGS_TYPE + b"</Types>")
    return with_parts({"[Content_Types].xml": [types], STRINGS: strings, SHEET: [HEAD, sheet_body, TAIL]}, base)
