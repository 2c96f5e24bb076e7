"""Limits on what one import file may hold (``ReadLimits``), in a module of their own so that the settings can
name their defaults without loading the readers (openpyxl)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReadLimits:
    """Limits on what one import file may hold; each has a setting ``YIZHAN_IMPORT_<NAME>`` (``stations.settings``).

    Rows, columns, characters and close pairs apply to every format (past them: LimitExceeded, HTTP 422); the
    rest to the XLSX archive (past them: UnpackedTooLarge, HTTP 413).
    """

    max_rows: int = 1_000_000
    """Rows below the header (a row numbered past ``max_rows + 1`` is refused); GeoJSON: features. A national
    registry (~186,000 outdoor stations, and the driver homes and nursing rooms) fits in one file."""
    max_columns: int = 1_000
    """Cells in one row (and the highest column a cell may sit in); GeoJSON: properties of one feature."""
    max_cell_chars: int = 32_767
    """Characters in one cell (Excel's own limit); GeoJSON: in one property value."""
    max_unpacked_bytes: int = 500_000_000
    """Bytes of all the parts of an XLSX archive together, unpacked."""
    max_compression_ratio: int = 100
    """Unpacked over packed size of one part of an XLSX archive (for parts over 1 MB unpacked); spreadsheets
    pack about 10:1."""
    max_parts: int = 1_000
    """Parts (files) in an XLSX archive."""
    max_shared_strings: int = 2_000_000
    """Entries of an XLSX workbook's shared-string table."""
    max_close_pairs: int = 20_000_000
    """Pairs of stations within 50 m that the duplicate report compares: of the file's new rows among themselves,
    and of new rows and stations already there. Real registries hold a few per station; rows piled on one spot
    make billions (100,000 rows on one point: 5 billion), which no report needs and no memory holds. The synthetic
    500,000-row benchmark file, dense over central Hangzhou, has ~5 million."""


DEFAULT_LIMITS = ReadLimits()
