"""GET /reports/district/{adcode} and ``yizhan report district``: the printable report of one district on the
sample registry — its name, figures and sections in the asked language, 422 naming the field for bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sample_client import sample_client
from typer.testing import CliRunner

from api import cli

BASE = {"cell_m": 250, "add": 2, "limit": 3}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sample_client(tmp_path_factory.mktemp("report") / "r.sqlite3", demand_path=None) as test_client:
        yield test_client


def _request() -> object:
    from stations.queries import planning_request

    return planning_request(1000, None, 250)


def test_the_report_of_a_district(client: TestClient) -> None:
    response = client.get("/reports/district/330106", params=BASE)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert page.startswith('<!DOCTYPE html>\n<html lang="zh-CN">')
    for text in ("西湖区 服务站覆盖报告", "覆盖概况", "建议新增站点", "最大的服务空白", "@page { size: A4;"):
        assert text in page
    assert "<script" not in page and '<svg class="map"' in page
    service = client.app.state.service  # type: ignore[attr-defined]
    (row,) = [r for r in service.planner.coverage(_request()).coverage.districts if r.adcode == "330106"]
    assert f'<td class="n">{row.covered_share * 100:.1f}</td>' in page  # the table's share, as the report prints it
    english = client.get("/reports/district/330106", params={**BASE, "lang": "en", "add": 0}).text
    assert '<html lang="en">' in english and "Station coverage report: 西湖区" in english
    assert "Proposed new sites" not in english  # add=0: no siting


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/reports/district/999999", {}, "adcode"),
        ("/reports/district/abc", {}, "adcode"),
        ("/reports/district/330106", {"lang": "fr"}, "lang"),
        ("/reports/district/330106", {"add": -1}, "add"),
        ("/reports/district/330106", {"radius_m": 0}, "radius_m"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(client: TestClient, path: str, params: dict, field: str) -> None:
    response = client.get(path, params={**BASE, **params})
    assert response.status_code == 422, response.text
    assert field in response.text


def test_cli_writes_the_report(sample_runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "xihu.html"
    arguments = ["report", "district", "330106", "--cell", "250", "--add", "1", "-o", str(target)]
    result = sample_runner.invoke(cli.app, arguments)
    assert result.exit_code == 0, result.output
    page = target.read_text(encoding="utf-8")
    assert "西湖区 服务站覆盖报告" in page and "<script" not in page
    bad = sample_runner.invoke(cli.app, ["report", "district", "999999", "--cell", "250", "-o", str(target)])
    assert bad.exit_code == 1 and "adcode" in bad.output
