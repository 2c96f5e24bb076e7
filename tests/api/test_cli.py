"""The ``yizhan`` command line on a real SQLite file named by YIZHAN_DATABASE_URL."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from api import cli, cli_planning, cli_riders
from geo.crs import transform
from geo.distance import haversine_m
from stations.importers import parse_file
from stations.model import STATION_TYPES
from stations.settings import SAMPLE_DIR, get_settings
from stations.store import Store

HEADER = ["id", "name", "types", "lon", "lat", "opening_hours", "operating_status", "hot_water", "microwave"]
MARKUP_NAME = "[bold]X[/bold]"
HOSTILE_IMG = "<img src=x onerror=alert(1)>"
HOSTILE_SCRIPT = '"</script>'
STATIONS = [
    ["A", MARKUP_NAME, "outdoor_worker", "120.15", "30.2505", "24/7", "normal", "yes", ""],
    ["B", HOSTILE_IMG, "outdoor_worker;driver_home", "120.15", "30.2510", "", "normal", "no", "yes"],
    ["C", HOSTILE_SCRIPT, "nursing_room", "120.15", "30.2520", "Mo-Su 08:00-20:00", "limited", "", ""],
    ["D", "已关闭驿站", "outdoor_worker", "120.15", "30.2501", "24/7", "closed", "yes", "yes"],
    ["E", "西湖边驿站", "outdoor_worker", "120.13", "30.26", "24/7", "temporarily_closed", "yes", "no"],
    ["F", "远处驿站", "driver_home", "120.25", "30.35", "24/7", "normal", "yes", "yes"],
]
P = (120.15, 30.25)


def csv_bytes(rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


@pytest.fixture
def database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """YIZHAN_DATABASE_URL points at a fresh SQLite file; settings are re-read on both sides of the test."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("YIZHAN_DATABASE_URL", url)
    monkeypatch.setenv("YIZHAN_DISTRICTS_PATH", str(SAMPLE_DIR / "districts.geojson"))
    # a wide console, so that table cells are not folded across lines (rendering is otherwise unchanged)
    for module in (cli, cli_planning, cli_riders):
        monkeypatch.setattr(module, "out", Console(width=250))
        monkeypatch.setattr(module, "err", Console(stderr=True, width=250))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(cli.app, list(args), catch_exceptions=False)


def store_state(url: str) -> tuple[int, int]:
    store = Store(url)
    try:
        return store.count(), store.version()
    finally:
        store.engine.dispose()


@pytest.fixture
def stations_file(tmp_path: Path) -> Path:
    path = tmp_path / "stations.csv"
    path.write_bytes(csv_bytes(STATIONS))
    return path


@pytest.fixture
def imported(runner: CliRunner, database_file: str, stations_file: Path) -> str:
    result = invoke(runner, "import", str(stations_file))
    assert result.exit_code == 0, result.output
    return database_file


def brute_force_nearest(lon: float, lat: float) -> list[str]:
    """Ids of the stations that may be answered (not closed for good), nearest first, by haversine."""
    open_rows = [r for r in STATIONS if r[6] != "closed"]
    return [r[0] for r in sorted(open_rows, key=lambda r: float(haversine_m(lon, lat, float(r[3]), float(r[4]))))]


# ------------------------------------------------------------------------------------------------ import


def test_dry_run_on_a_clean_file_exits_0_and_writes_nothing(
    runner: CliRunner, database_file: str, stations_file: Path
) -> None:
    result = invoke(runner, "import", str(stations_file), "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"{len(STATIONS)} rows, {len(STATIONS)} valid; would add {len(STATIONS)}" in result.stdout
    assert "0 rejected" in result.stdout
    assert store_state(database_file) == (0, 0)


def test_import_writes_every_station(runner: CliRunner, database_file: str, stations_file: Path) -> None:
    result = invoke(runner, "import", str(stations_file))
    assert result.exit_code == 0, result.output
    assert f"added {len(STATIONS)}, updated 0" in result.stdout
    assert store_state(database_file) == (len(STATIONS), 1)
    again = invoke(runner, "import", str(stations_file))
    assert again.exit_code == 0 and f"added 0, updated 0, {len(STATIONS)} unchanged" in again.stdout
    assert store_state(database_file) == (len(STATIONS), 1)  # nothing changed: nothing written


def test_a_half_bad_file_exits_1_names_the_rows_and_writes_nothing(
    runner: CliRunner, imported: str, tmp_path: Path
) -> None:
    before = store_state(imported)
    rows = [
        ["G1", "好站一", "outdoor_worker", "120.1", "30.2", "", "", "", ""],
        ["G2", "坏纬度", "outdoor_worker", "120.1", "north", "", "", "", ""],
        ["G3", "好站二", "outdoor_worker", "120.2", "30.2", "", "", "", ""],
        ["G4", "坏类型", "spaceship", "120.2", "30.2", "", "", "", ""],
        ["G5", "坏热水", "outdoor_worker", "120.3", "30.2", "", "", "maybe", ""],
    ]
    path = tmp_path / "half.csv"
    path.write_bytes(csv_bytes(rows))
    for args in (("import", str(path)), ("import", str(path), "--dry-run")):
        result = invoke(runner, *args)
        assert result.exit_code == 1, result.output
        problems = re.findall(r"│\s*(\d+)\s*│\s*(\w+)\s*│\s*(\S+)\s*│", result.output)
        assert problems == [("3", "lat", "north"), ("5", "types", "spaceship"), ("6", "hot_water", "maybe")]
        assert "nothing" in result.output and "imported" in result.output
        assert store_state(imported) == before
    assert "G1" not in {s.id for s in Store(imported).all()}


def test_a_gbk_csv_with_chinese_headers_imports(runner: CliRunner, database_file: str, tmp_path: Path) -> None:
    header = ["名称", "类型", "经度", "纬度", "地址", "开放时间", "热水"]
    rows = [
        ["武林街道工会驿站", "爱心驿站", "120.16", "30.27", "杭州市拱墅区武林路1号", "24小时", "是"],
        ["滨江司机之家", "司机之家", "120.21", "30.21", "杭州市滨江区江南大道2号", "Mo-Fr 08:00-18:00", "否"],
        ["西湖母婴室", "母婴室", "120.13", "30.26", "杭州市西湖区", "", ""],
    ]
    data = csv_bytes(rows, header, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really GBK bytes, not UTF-8
    path = tmp_path / "工会驿站.csv"
    path.write_bytes(data)
    result = invoke(runner, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "3 rows, 3 valid; added 3" in result.stdout
    stations = {s.name: s for s in Store(database_file).all()}
    assert set(stations) == {r[0] for r in rows}
    wulin, driver, nursing = (stations[r[0]] for r in rows)
    assert (wulin.types, wulin.opening_hours, wulin.amenities) == (("outdoor_worker",), "24/7", {"hot_water": "yes"})
    assert (driver.types, driver.amenities) == (("driver_home",), {"hot_water": "no"})
    assert (nursing.types, nursing.amenities, nursing.opening_hours) == (("nursing_room",), {}, None)
    assert wulin.address == "杭州市拱墅区武林路1号" and (wulin.lon, wulin.lat) == (120.16, 30.27)
    assert nursing.adcode == "330106" and nursing.district == "西湖区"


def test_import_of_a_missing_file_is_a_usage_error(runner: CliRunner, database_file: str, tmp_path: Path) -> None:
    result = invoke(runner, "import", str(tmp_path / "missing.csv"))
    assert result.exit_code == 2
    assert store_state(database_file) == (0, 0)


def test_import_of_an_unsupported_file_type_exits_1_naming_the_supported_ones(
    runner: CliRunner, database_file: str, tmp_path: Path
) -> None:
    path = tmp_path / "stations.pdf"
    path.write_bytes(b"%PDF-1.4")
    result = invoke(runner, "import", str(path))
    assert result.exit_code == 1
    assert all(needle in result.stderr for needle in ("stations.pdf", ".csv", ".xlsx", ".geojson"))
    assert store_state(database_file) == (0, 0)


def test_import_in_gcj02_stores_wgs84(runner: CliRunner, database_file: str, tmp_path: Path) -> None:
    gx, gy = transform(120.15, 30.25, "wgs84", "gcj02")
    path = tmp_path / "amap.csv"
    path.write_bytes(csv_bytes([["G", "高德站", "outdoor_worker", repr(float(gx)), repr(float(gy)), "", "", "", ""]]))
    result = invoke(runner, "import", str(path), "--crs", "gcj02")
    assert result.exit_code == 0, result.output
    (station,) = Store(database_file).all()
    assert (station.lon, station.lat) == pytest.approx((120.15, 30.25), abs=1e-6)


# ------------------------------------------------------------------------------------------------ nearby


@pytest.mark.usefixtures("imported")
def test_nearby_json_is_geojson_ranked_like_brute_force(runner: CliRunner) -> None:
    result = invoke(runner, "nearby", str(P[0]), str(P[1]), "--json", "-k", "10")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["type"] == "FeatureCollection" and body["coordinate_system"] == "wgs84"
    expected = brute_force_nearest(*P)
    assert body["features"][0]["id"] == expected[0] == "A"
    assert [f["id"] for f in body["features"]] == expected
    assert "D" not in expected  # closed for good
    for feature in body["features"]:
        row = next(r for r in STATIONS if r[0] == feature["id"])
        distance = float(haversine_m(*P, float(row[3]), float(row[4])))
        assert feature["properties"]["distance_m"] == pytest.approx(distance, abs=0.051)
        assert feature["properties"]["name"] == row[1]
        assert set(feature["properties"]["navigation"]) == {"amap", "baidu", "tencent", "geo"}


@pytest.mark.usefixtures("imported")
def test_nearby_mode_sets_the_way_of_travel_of_the_links(runner: CliRunner) -> None:
    result = invoke(runner, "nearby", str(P[0]), str(P[1]), "--json", "--mode", "walk")
    assert result.exit_code == 0, result.output
    for feature in json.loads(result.stdout)["features"]:
        assert feature["properties"]["travel_mode"] == "walk"
        assert "mode=walking" in feature["properties"]["navigation"]["baidu"]
        assert "type=walk&" in feature["properties"]["navigation"]["tencent"]
    refused = invoke(runner, "nearby", str(P[0]), str(P[1]), "--mode", "fly")
    assert refused.exit_code != 0
    assert all(name in refused.output for name in ("mode", "fly", "walk", "ride", "drive"))


@pytest.mark.parametrize(("lon", "lat"), [(120.2, 30.3), (120.14, 30.255), (119.9, 30.0)])
@pytest.mark.usefixtures("imported")
def test_nearby_first_answer_is_the_brute_force_nearest(runner: CliRunner, lon: float, lat: float) -> None:
    result = invoke(runner, "nearby", str(lon), str(lat), "--json", "-k", "1")
    assert result.exit_code == 0, result.output
    assert [f["id"] for f in json.loads(result.stdout)["features"]] == brute_force_nearest(lon, lat)[:1]


@pytest.mark.usefixtures("imported")
def test_nearby_filters(runner: CliRunner) -> None:
    def answer(*options: str) -> list[str]:
        result = invoke(runner, "nearby", str(P[0]), str(P[1]), "--json", "-k", "10", *options)
        assert result.exit_code == 0, result.output
        return [f["id"] for f in json.loads(result.stdout)["features"]]

    assert answer("--types", "driver_home") == ["B", "F"]
    assert answer("--amenities", "hot_water") == ["A", "E", "F"]
    assert answer("--amenities", "hot_water,microwave") == ["F"]
    assert answer("--radius", "120") == ["A", "B"]
    assert answer("--radius", "100") == ["A"]
    assert answer("--open-at", "2026-11-23T21:00") == ["A", "F"]  # C's hours end at 20:00, B unknown, E paused
    assert answer("--open-at", "2026-11-23T21:00", "--include-unknown-hours") == ["A", "B", "F"]


@pytest.mark.usefixtures("imported")
def test_nearby_in_gcj02(runner: CliRunner) -> None:
    gx, gy = transform(120.15, 30.2510, "wgs84", "gcj02")
    result = invoke(runner, "nearby", repr(float(gx)), repr(float(gy)), "--crs", "gcj02", "--json", "-k", "1")
    assert result.exit_code == 0, result.output
    (feature,) = json.loads(result.stdout)["features"]
    assert feature["id"] == "B" and feature["properties"]["distance_m"] <= 0.1
    assert feature["geometry"]["coordinates"] == pytest.approx([float(gx), float(gy)], abs=1e-7)


@pytest.mark.usefixtures("imported")
def test_nearby_table_prints_names_literally_not_as_markup(runner: CliRunner) -> None:
    result = invoke(runner, "nearby", str(P[0]), str(P[1]), "-k", "10")
    assert result.exit_code == 0, result.output
    for name in (MARKUP_NAME, HOSTILE_IMG, HOSTILE_SCRIPT):
        assert name in result.stdout, name
    assert result.stdout.index(MARKUP_NAME) < result.stdout.index(HOSTILE_IMG) < result.stdout.index(HOSTILE_SCRIPT)
    assert "已关闭驿站" not in result.stdout
    assert re.search(r"│\s*1\s*│\s*56 m\s*│\s*\[bold\]X\[/bold\]\s*│", result.stdout), result.stdout


@pytest.mark.usefixtures("database_file")
def test_import_problems_are_printed_literally(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "markup.csv"
    path.write_bytes(csv_bytes([["M", "名", "outdoor_worker", "120.1", "[red]north[/red]", "", "", "", ""]]))
    result = invoke(runner, "import", str(path))
    assert result.exit_code == 1
    assert "[red]north[/red]" in result.output


@pytest.mark.parametrize(
    ("options", "needles"),
    [
        (("--types", "bogus"), ("types", "bogus", *STATION_TYPES)),
        (("--amenities", "jacuzzi"), ("amenities", "jacuzzi", "hot_water")),
        (("--open-at", "yesterday"), ("open_at", "yesterday")),
        (("--crs", "epsg3857"), ("crs", "epsg3857", "wgs84", "gcj02", "bd09")),
    ],
)
@pytest.mark.usefixtures("imported")
def test_nearby_bad_values_exit_1_naming_them(
    runner: CliRunner, options: tuple[str, ...], needles: tuple[str, ...]
) -> None:
    result = invoke(runner, "nearby", str(P[0]), str(P[1]), *options)
    assert result.exit_code == 1
    assert result.stdout == ""
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


@pytest.mark.usefixtures("imported")
def test_nearby_open_at_out_of_range_after_conversion_exits_1_naming_it(runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["nearby", "120.15", "30.25", "--open-at", "0001-01-01T00:00+14:00"])
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1
    assert "open_at" in result.stderr


@pytest.mark.usefixtures("imported")
def test_nearby_out_of_range_coordinates_exit_1(runner: CliRunner) -> None:
    result = invoke(runner, "nearby", "120", "91")
    # the bound is declared once (stations.inputs) and named as the API names it: lat=91.0: must be at most 90
    assert result.exit_code == 1 and "lat=91" in result.stderr and "90" in result.stderr


@pytest.mark.usefixtures("database_file")
def test_nearby_on_an_empty_registry(runner: CliRunner) -> None:
    result = invoke(runner, "nearby", str(P[0]), str(P[1]), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["features"] == []
    table = invoke(runner, "nearby", str(P[0]), str(P[1]))
    assert table.exit_code == 0 and "no station matches" in table.stdout


# ------------------------------------------------------------------------------------------------ export


def test_export_geojson_to_a_file(runner: CliRunner, imported: str, tmp_path: Path) -> None:
    target = tmp_path / "out.geojson"
    result = invoke(runner, "export", "--format", "geojson", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert f"wrote {len(STATIONS)} stations" in result.stderr
    body = json.loads(target.read_text(encoding="utf-8"))
    assert body["type"] == "FeatureCollection" and len(body["features"]) == len(STATIONS)
    by_id = {f["id"]: f for f in body["features"]}
    for row in STATIONS:
        feature = by_id[row[0]]
        assert feature["properties"]["name"] == row[1]
        assert feature["geometry"]["coordinates"] == [float(row[3]), float(row[4])]
    assert parse_file(target.read_bytes(), "out.geojson").stations == Store(imported).all()


def test_export_csv_to_stdout_imports_back_unchanged(runner: CliRunner, imported: str) -> None:
    result = invoke(runner, "export")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["id"] for r in rows] == [r[0] for r in STATIONS]
    assert [r["name"] for r in rows] == [r[1] for r in STATIONS]
    parsed = parse_file(result.stdout.encode(), "export.csv")
    assert not parsed.problems and parsed.stations == Store(imported).all()


@pytest.mark.usefixtures("imported")
def test_export_csv_in_gcj02(runner: CliRunner) -> None:
    result = invoke(runner, "export", "--crs", "gcj02")
    assert result.exit_code == 0
    row = next(r for r in csv.DictReader(io.StringIO(result.stdout)) if r["id"] == "A")
    gx, gy = transform(120.15, 30.2505, "wgs84", "gcj02")
    assert row["crs"] == "gcj02"
    assert (float(row["lon"]), float(row["lat"])) == pytest.approx((float(gx), float(gy)), abs=1e-7)


@pytest.mark.usefixtures("imported")
def test_export_bad_format_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "out.xml"
    result = invoke(runner, "export", "--format", "xml", "-o", str(target))
    assert result.exit_code == 1 and "xml" in result.stderr and "geojson" in result.stderr
    assert not target.exists()


@pytest.mark.usefixtures("database_file")
def test_export_of_an_empty_registry_is_just_the_header(runner: CliRunner) -> None:
    result = invoke(runner, "export")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("id,name,types,") and len(result.stdout.splitlines()) == 1
