"""Errors geo raises, and the planning limits of the settings, end the same way through both doors: mapped
once (``stations.errors.domain_error``) to an HTTP status and body, and to one CLI line with exit 1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import cli
from api import errors as api_errors
from api.app import create_app
from api.cli_support import describe_error
from geo.errors import DistrictFileError, GeoError, GridTooLarge, TargetUnreachable
from stations.errors import domain_error
from stations.settings import SAMPLE_DIR, Settings, get_settings

GRID_TOO_LARGE = GridTooLarge("cell_m=5 gives 9 cells, more than the limit of 4; use cell_m ≥ 8", 5.0, 8.0)


@pytest.mark.parametrize(
    ("error", "status", "code", "field"),
    [
        (GRID_TOO_LARGE, 422, "invalid_value", "cell_m"),
        (DistrictFileError("districts.geojson: no district features"), 422, "invalid_district_file", None),
        (
            TargetUnreachable("target 3 not reachable under the spacing and quotas"),
            422,
            "invalid_value",
            "target_share",
        ),
    ],
)
def test_a_geo_error_is_one_status_over_http_and_one_line_from_the_cli(
    error: GeoError, status: int, code: str, field: str | None
) -> None:
    app = FastAPI()
    api_errors.install(app)

    @app.get("/fail")
    def fail() -> None:
        raise error

    response = TestClient(app).get("/fail")
    mapped = domain_error(error)
    assert mapped is not None and mapped.code == code
    assert response.status_code == status == api_errors.status_of(mapped)
    assert response.json() == {"error": code, "detail": mapped.detail()}
    if field is not None:
        assert response.json()["detail"][0]["field"] == field
    assert describe_error(error) == (1, str(mapped), None)  # the very same words, one line, exit 1
    assert str(error) in str(mapped)


@pytest.fixture
def registry_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A SQLite file holding the sample registry; YIZHAN_DATABASE_URL points at it for the CLI."""
    path = tmp_path / "sample.sqlite3"
    monkeypatch.setenv("YIZHAN_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("YIZHAN_DISTRICTS_PATH", str(SAMPLE_DIR / "districts.geojson"))
    monkeypatch.delenv("YIZHAN_DEBUG", raising=False)
    get_settings.cache_clear()
    assert cli.main(["import", str(SAMPLE_DIR / "stations.csv")]) in (0, None)
    yield path
    get_settings.cache_clear()


@pytest.fixture
def yizhan(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, list[str]]]:
    """Run ``yizhan ARGS...`` in this process: exit status and the non-empty lines of stderr."""

    def run(*args: str) -> tuple[int, list[str]]:
        capsys.readouterr()
        status = cli.main(list(args))
        return status, [line for line in capsys.readouterr().err.splitlines() if line.strip()]

    return run


def one_line(outcome: tuple[int, list[str]]) -> str:
    status, lines = outcome
    assert status == 1 and len(lines) == 1 and lines[0].startswith("yizhan: error: "), lines
    return lines[0].removeprefix("yizhan: error: ")


def test_a_grid_too_large_reads_the_same_from_both_doors(registry_file: Path, yizhan: Callable[..., tuple]) -> None:
    line = one_line(yizhan("coverage", "--cell", "5"))
    with TestClient(create_app(Settings(database_url=f"sqlite:///{registry_file}", check_interval_s=0))) as client:
        response = client.get("/coverage", params={"cell_m": 5})
    assert response.status_code == 422
    problem = response.json()["detail"][0]
    assert problem["field"] == "cell_m" and "use cell_m ≥" in problem["reason"]
    assert line == f"cell_m=5.0: {problem['reason']}"


@pytest.mark.usefixtures("registry_file")
def test_a_bad_district_file_is_one_line_from_the_batch_command(tmp_path: Path, yizhan: Callable[..., tuple]) -> None:
    districts = tmp_path / "districts.geojson"
    districts.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    args = ["--stations", str(SAMPLE_DIR / "stations.csv"), "-o", str(tmp_path / "o.csv")]
    line = one_line(yizhan("batch", "national-coverage", *args, "--districts", str(districts)))
    assert line == f"{districts}: no district features"


@pytest.mark.parametrize(
    ("body", "cli_args", "field", "setting"),
    [
        ({"add": 4}, ("--add", "4"), "add", "YIZHAN_MAX_NEW_SITES"),
        ({"add": 1, "time_limit_s": 9}, ("--add", "1", "--time-limit", "9"), "time_limit_s", "YIZHAN_MAX_TIME_LIMIT_S"),
        ({"add": 1, "radius_m": 2500}, ("--add", "1", "--radius", "2500"), "radius_m", "YIZHAN_PLANNING_MAX_RADIUS_M"),
    ],
)
def test_the_planning_limits_are_the_settings_in_both_doors(
    registry_file: Path,
    yizhan: Callable[..., tuple],
    monkeypatch: pytest.MonkeyPatch,
    body: dict,
    cli_args: tuple[str, ...],
    field: str,
    setting: str,
) -> None:
    limits = {"max_new_sites": 3, "max_time_limit_s": 8, "planning_max_radius_m": 2000}
    for name, value in limits.items():
        monkeypatch.setenv(f"YIZHAN_{name.upper()}", str(value))
    get_settings.cache_clear()
    line = one_line(yizhan("site", "--cell", "200", *cli_args))
    settings = Settings(database_url=f"sqlite:///{registry_file}", check_interval_s=0, **limits)
    with TestClient(create_app(settings)) as client:
        response = client.post("/siting", json={"cell_m": 200, **body})
    assert response.status_code == 422, response.text
    problem = response.json()["detail"][0]
    assert problem["field"] == field and setting in problem["reason"]
    assert line.startswith(f"{field}=") and line.endswith(problem["reason"])


def test_a_geo_error_keeps_its_figures_when_pickled() -> None:
    """dask ships a province's GridTooLarge back from its worker: the cell sizes come with it."""
    import pickle

    copy = pickle.loads(pickle.dumps(GRID_TOO_LARGE))
    assert (type(copy), str(copy), copy.cell_m, copy.suggested_cell_m) == (GridTooLarge, str(GRID_TOO_LARGE), 5.0, 8.0)
