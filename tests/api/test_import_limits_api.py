"""Hostile import files over HTTP and on the command line (issue 12, item 3): each limit is a 413 (what an XLSX
unpacks to) or a 422 (rows, cells, characters) naming the limit and its setting, and one line on the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from keeper_support import Keeper, keeper_app
from typer.testing import CliRunner
from xlsx_bombs import wide_row, workbook

from api import cli
from stations.settings import get_settings

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def wide() -> bytes:
    return wide_row(2_000_000)


@pytest.fixture
def keeper(tmp_path: Path) -> Iterator[Keeper]:
    with keeper_app(f"sqlite:///{tmp_path / 'limits.sqlite3'}", import_max_rows=5) as running:
        yield running


def upload(keeper: Keeper, data: bytes, filename: str) -> dict[str, Any]:
    response = keeper.client.post(
        "/imports", files={"file": (filename, data, XLSX)}, params={"dry_run": True}, headers=keeper.auth("editor")
    )
    return {"status": response.status_code, **response.json()}


def test_the_issue_s_two_million_cell_row_is_a_413_naming_the_ratio(keeper: Keeper, wide: bytes) -> None:
    answer = upload(keeper, wide, "wide.xlsx")
    assert answer["status"] == 413 and answer["error"] == "too_large"
    assert answer["detail"]["limit"] == "max_compression_ratio" and answer["detail"]["maximum"] == 100
    assert "YIZHAN_IMPORT_MAX_COMPRESSION_RATIO" in answer["detail"]["message"]


def test_rows_past_the_setting_are_a_422_naming_it(keeper: Keeper) -> None:
    rows = [["名称", "类型", "经度", "纬度"]] + [[f"驿站{i}", "工会驿站", 120.1 + i / 1e3, 30.2] for i in range(6)]
    before = keeper.written()
    answer = upload(keeper, workbook(rows), "rows.xlsx")
    assert answer["status"] == 422 and answer["error"] == "limit_exceeded"
    assert answer["detail"]["limit"] == "max_rows" and answer["detail"]["maximum"] == 5
    assert keeper.written() == before
    fine = upload(keeper, workbook(rows[:6]), "fine.xlsx")  # a normal workbook with Chinese headers still reads
    assert fine["status"] == 200 and fine["valid"] == 5


def test_a_row_of_too_many_cells_with_the_ratio_lifted_is_a_422(tmp_path: Path, wide: bytes) -> None:
    with keeper_app(f"sqlite:///{tmp_path / 'cells.sqlite3'}", import_max_compression_ratio=10**9) as keeper:
        answer = upload(keeper, wide, "wide.xlsx")
    assert answer["status"] == 422 and answer["detail"]["limit"] == "max_columns"
    assert "row 1" in answer["detail"]["where"]


def test_the_cli_says_which_limit_in_one_line_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wide: bytes
) -> None:
    monkeypatch.setenv("YIZHAN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("YIZHAN_IMPORT_MAX_COMPRESSION_RATIO", "1000000000")
    get_settings.cache_clear()
    path = tmp_path / "wide.xlsx"
    path.write_bytes(wide)
    try:
        result = CliRunner().invoke(cli.app, ["import", str(path), "--dry-run"], catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "error: " in lines[0]
    assert "max_columns" in lines[0] and "YIZHAN_IMPORT_MAX_COLUMNS" in lines[0]
