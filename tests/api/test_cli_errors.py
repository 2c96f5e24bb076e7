"""Every ``yizhan`` error is one line on stderr and a non-zero exit, never a traceback (issues 12 and 13).

Most cases run ``api.cli.main`` — the function the installed ``yizhan`` script calls — in this process, with
the command line as its arguments; a few run the installed script itself as a subprocess.

The tests run as root, for whom ``chmod`` takes nothing away: an unwritable output is a path under a regular
file (``NotADirectoryError`` for anyone) or in ``/proc``, and a read-only database is SQLite's ``mode=ro``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from api import cli
from stations import params
from stations.settings import SAMPLE_DIR, get_settings
from stations.store import Store

YIZHAN = Path(sys.executable).with_name("yizhan")
PASSWORD = "s3cret-pw"
UNREACHABLE_POSTGRES = f"postgresql+psycopg://u:{PASSWORD}@127.0.0.1:1/x"
STATIONS_CSV = "id,name,types,lon,lat,phone\nA,测试驿站,outdoor_worker,120.15,30.25,0571-1\n"


@dataclass(frozen=True)
class Outcome:
    status: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set YIZHAN_ variables for one test; the settings are re-read on both sides of it."""

    def setenv(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(f"YIZHAN_{name.upper()}", value)
        get_settings.cache_clear()

    monkeypatch.setenv("YIZHAN_DISTRICTS_PATH", str(SAMPLE_DIR / "districts.geojson"))
    monkeypatch.delenv("YIZHAN_DEBUG", raising=False)
    get_settings.cache_clear()
    yield setenv
    get_settings.cache_clear()


@pytest.fixture
def yizhan(capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """Run ``yizhan ARGS...`` as the installed script does (``api.cli:main``), in this process."""

    def run(*args: str) -> Outcome:
        capsys.readouterr()
        status = cli.main(list(args))
        captured = capsys.readouterr()
        return Outcome(status, captured.out, captured.err)

    return run


@pytest.fixture
def database(tmp_path: Path, env: Callable[..., None], yizhan: Callable[..., Outcome]) -> Path:
    """A SQLite registry with station A, made by ``yizhan import``; YIZHAN_DATABASE_URL points at it."""
    path = tmp_path / "registry.sqlite3"
    env(database_url=f"sqlite:///{path}")
    stations = tmp_path / "stations.csv"
    stations.write_text(STATIONS_CSV, encoding="utf-8")
    imported = yizhan("import", str(stations))
    assert imported.status == 0, imported.stderr
    return path


def assert_one_line_error(outcome: Outcome, status: int, *needles: str) -> None:
    """Exit ``status``; stderr is ``yizhan: error: ...`` naming every needle, plus at most one hint line."""
    assert outcome.status == status, outcome
    assert "Traceback" not in outcome.stdout + outcome.stderr, outcome.stderr
    assert 1 <= len(outcome.lines) <= 2, outcome.stderr
    assert outcome.lines[0].startswith("yizhan: error: "), outcome.stderr
    for needle in needles:
        assert needle in outcome.lines[0], (needle, outcome.stderr)


# ------------------------------------------------------------------------------------------- databases


@pytest.mark.parametrize(
    "command", [("nearby", "120.15", "30.25"), ("export",), ("edit", "A", "phone=1"), ("history", "A"), ("serve",)]
)
def test_an_unknown_database_url_scheme(
    env: Callable[..., None], yizhan: Callable[..., Outcome], command: tuple[str, ...]
) -> None:
    env(database_url="bogus://x")
    outcome = yizhan(*command)
    assert_one_line_error(outcome, 1, "database URL bogus://x is not usable")
    assert "YIZHAN_DATABASE_URL" in outcome.lines[1]  # the hint says what to set, with examples


@pytest.mark.parametrize("command", [("nearby", "120.15", "30.25"), ("serve", "--port", "1")])
def test_a_sqlite_file_in_a_missing_folder(
    tmp_path: Path, env: Callable[..., None], yizhan: Callable[..., Outcome], command: tuple[str, ...]
) -> None:
    folder = tmp_path / "no" / "such"
    env(database_url=f"sqlite:///{folder / 'x.sqlite3'}")
    assert_one_line_error(yizhan(*command), 1, "cannot use database", f"folder {folder} does not exist")
    assert not folder.exists()


@pytest.mark.parametrize("command", [("nearby", "120.15", "30.25"), ("token", "list"), ("serve",)])
def test_an_unreachable_postgresql_is_named_without_its_password(
    env: Callable[..., None], yizhan: Callable[..., Outcome], command: tuple[str, ...]
) -> None:
    env(database_url=UNREACHABLE_POSTGRES)
    outcome = yizhan(*command)
    assert_one_line_error(outcome, 1, "cannot use database postgresql+psycopg://u:***@127.0.0.1:1/x")
    assert PASSWORD not in outcome.stdout + outcome.stderr


def test_a_schema_newer_than_the_code(database: Path, yizhan: Callable[..., Outcome]) -> None:
    engine = create_engine(f"sqlite:///{database}")
    with engine.begin() as connection:  # as tests/stations/test_migrations.py makes one
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    for command in (("nearby", "120.15", "30.25"), ("serve",)):
        assert_one_line_error(yizhan(*command), 1, str(database), "revision 9999, newer than this Yizhan knows")


def test_a_corrupted_database_file(tmp_path: Path, env: Callable[..., None], yizhan: Callable[..., Outcome]) -> None:
    path = tmp_path / "corrupted.sqlite3"
    path.write_bytes(b"not a database, just garbage " * 200)
    env(database_url=f"sqlite:///{path}")
    assert_one_line_error(yizhan("nearby", "120.15", "30.25"), 1, str(path), "file is not a database")


def test_a_read_only_database_reads_but_refuses_writes_in_one_line(
    database: Path, env: Callable[..., None], yizhan: Callable[..., Outcome]
) -> None:
    env(database_url=f"sqlite:///file:{database}?mode=ro&uri=true")  # read-only for root too, unlike chmod 444
    assert yizhan("nearby", "120.15", "30.25", "--json").status == 0
    assert_one_line_error(yizhan("edit", "A", "phone=2"), 1, "readonly database")
    assert Store(f"sqlite:///{database}").get("A").phone == "0571-1"  # type: ignore[union-attr]


@pytest.mark.usefixtures("database")
def test_an_invalid_setting(env: Callable[..., None], yizhan: Callable[..., Outcome]) -> None:
    env(planning_concurrency="0")
    assert_one_line_error(yizhan("nearby", "120.15", "30.25"), 1, "planning_concurrency", "greater than or equal")


# ----------------------------------------------------------------------------------------------- files


@pytest.mark.usefixtures("database")
def test_export_to_a_path_under_a_regular_file(tmp_path: Path, yizhan: Callable[..., Outcome]) -> None:
    target = tmp_path / "a-file" / "stations.csv"
    target.parent.write_text("I am a file, not a folder")
    assert_one_line_error(yizhan("export", "-o", str(target)), 1, str(target), "Not a directory")


@pytest.mark.usefixtures("database")
def test_export_into_proc(yizhan: Callable[..., Outcome]) -> None:
    assert_one_line_error(yizhan("export", "-f", "geojson", "-o", "/proc/yizhan-export"), 1, "/proc/yizhan-export")


@pytest.mark.parametrize("command", [("map", "stations"), ("coverage", "--radius", "5000", "--cell", "1000", "--xlsx")])
@pytest.mark.usefixtures("database")
def test_writing_over_an_existing_folder(
    tmp_path: Path, yizhan: Callable[..., Outcome], command: tuple[str, ...]
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    option = () if command[0] == "coverage" else ("-o",)
    assert_one_line_error(yizhan(*command, *option, str(folder)), 1, str(folder), "Is a directory")
    assert list(folder.iterdir()) == []


@pytest.mark.usefixtures("database")
def test_site_with_a_missing_candidates_file(yizhan: Callable[..., Outcome]) -> None:
    outcome = yizhan("site", "--add", "1", "--cell", "2000", "--candidates", "/missing.csv")
    assert_one_line_error(outcome, 2, "/missing.csv", "does not exist")


@pytest.mark.usefixtures("database")
def test_import_of_a_missing_file(yizhan: Callable[..., Outcome]) -> None:
    assert_one_line_error(yizhan("import", "/missing.csv"), 2, "/missing.csv", "does not exist")
    assert "yizhan import --help" in yizhan("import", "/missing.csv").lines[1]


@pytest.mark.usefixtures("database")
def test_batch_with_a_missing_station_file(tmp_path: Path, yizhan: Callable[..., Outcome]) -> None:
    outcome = yizhan("batch", "national-coverage", "--stations", "/missing.csv", "-o", str(tmp_path / "t.csv"))
    assert outcome.status != 0 and "Traceback" not in outcome.stderr and len(outcome.lines) <= 2, outcome
    assert "/missing.csv" in outcome.lines[0]


# ------------------------------------------------------------------------------------------ bad values


@pytest.mark.parametrize(
    ("args", "status", "needles"),
    [
        (("nearby", "abc", "30"), 2, ("'lon'",)),
        (("nearby", "120", "91"), 1, ("91",)),
        (("nearby", "120", "30", "-k", "0"), 1, ("k=0", "at least 1")),  # bounds: stations.inputs, as the API
        (("nearby", "120", "30", "--crs", "utm"), 1, ("utm", "gcj02")),
        (("export", "--format", "xml"), 1, ("xml", "geojson")),
        (("map", "stations", "--lang", "fr"), 1, ("fr", "zh")),
        (("no-such-command",), 2, ("no-such-command",)),
        (("--no-such-option",), 2, ("--no-such-option",)),
        (("edit", "NOPE", "phone=1"), 1, ("NOPE",)),
        (("edit", "A", "colour=red"), 1, ("colour", "opening_hours")),
        (("edit", "A", "capacity=lots"), 1, ("capacity", "whole number")),
        (("edit", "A", "amenities.wifi=maybe"), 1, ("amenities.wifi", "yes, no, unknown")),
        (("edit", "A", "amenities.jacuzzi=yes"), 1, ("jacuzzi", "hot_water")),
        (("edit", "A", "operating_status=open"), 1, ("open", "temporarily_closed")),
        (("edit", "A", "types=bus_stop"), 1, ("bus_stop", "driver_home")),
        (("edit", "A", "verified_at=yesterday"), 1, ("verified_at", "YYYY-MM-DD")),
        (("edit", "A", "lon=200"), 1, ("lon",)),
        (("edit", "A", "no-equals-sign"), 1, ("field=value",)),
        (("token", "create", "--name", "x", "--role", "emperor"), 1, ("emperor",)),
        (("reports", "resolve", "999"), 1, ("999",)),
    ],
)
def test_bad_input_is_one_line(
    database: Path, yizhan: Callable[..., Outcome], args: tuple[str, ...], status: int, needles: tuple[str, ...]
) -> None:
    before = Store(f"sqlite:///{database}").get("A")
    assert_one_line_error(yizhan(*args), status, *needles)
    assert Store(f"sqlite:///{database}").get("A") == before


@pytest.mark.usefixtures("database")
def test_an_unexpected_error_is_one_line_with_a_hint_and_its_traceback_with_debug(
    yizhan: Callable[..., Outcome], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the index fell over\nin two lines")

    monkeypatch.setattr(params, "nearby_query", broken)
    outcome = yizhan("nearby", "120.15", "30.25")
    assert_one_line_error(outcome, 1, "unexpected RuntimeError: the index fell over in two lines")
    assert "YIZHAN_DEBUG=1" in outcome.lines[1]
    monkeypatch.setenv("YIZHAN_DEBUG", "1")
    with pytest.raises(RuntimeError, match="fell over"):
        yizhan("nearby", "120.15", "30.25")


# ----------------------------------------------------------------------------------------- yizhan edit


def test_edit_types_values_by_their_field(database: Path, yizhan: Callable[..., Outcome]) -> None:
    outcome = yizhan(
        "edit", "A", "phone=88881234", "name=12345", "capacity=8", "area_m2=12.5", "amenities.wifi=yes",
        "amenities.toilet=no", "types=driver_home,outdoor_worker", "verified_at=2026-12-01", "external_ids.osm=42",
    )  # fmt: skip
    assert outcome.status == 0, outcome.stderr
    station = Store(f"sqlite:///{database}").get("A")
    assert station is not None
    assert (station.phone, station.name, station.external_ids) == ("88881234", "12345", {"osm": "42"})
    assert (station.capacity, station.area_m2) == (8, 12.5)
    assert station.amenities == {"wifi": "yes", "toilet": "no"}
    assert station.types == ("driver_home", "outdoor_worker")
    assert station.verified_at is not None and station.verified_at.isoformat() == "2026-12-01"

    cleared = yizhan("edit", "A", "phone=null", "amenities.wifi=unknown", "capacity=null")
    assert cleared.status == 0, cleared.stderr
    station = Store(f"sqlite:///{database}").get("A")
    assert station is not None
    assert (station.phone, station.capacity, station.amenities) == (None, None, {"toilet": "no"})


# ----------------------------------------------------------------------------- the installed script


def script(args: list[str], database_url: str, tmp_path: Path) -> Outcome:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("YIZHAN_")}
    environment["YIZHAN_DATABASE_URL"] = database_url
    environment["YIZHAN_DISTRICTS_PATH"] = str(SAMPLE_DIR / "districts.geojson")
    done = subprocess.run(
        [str(YIZHAN), *args], capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=120
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize(
    ("args", "url", "status", "needle"),
    [
        (["nearby", "120.15", "30.25"], "bogus://x", 1, "bogus://x"),
        (["serve", "--port", "1"], UNREACHABLE_POSTGRES, 1, "u:***@127.0.0.1:1"),
        (["serve", "--port", "1"], "sqlite:///{tmp}/missing/x.sqlite3", 1, "does not exist"),
        (["export", "-o", "{tmp}/registry.sqlite3/x.csv"], "sqlite:///{tmp}/registry.sqlite3", 1, "Not a directory"),
        (["--no-such-option"], "sqlite:///{tmp}/registry.sqlite3", 2, "--no-such-option"),
    ],
)
def test_the_installed_script(tmp_path: Path, args: list[str], url: str, status: int, needle: str) -> None:
    outcome = script([a.replace("{tmp}", str(tmp_path)) for a in args], url.replace("{tmp}", str(tmp_path)), tmp_path)
    assert_one_line_error(outcome, status, needle)
    assert PASSWORD not in outcome.stdout + outcome.stderr


def test_the_installed_script_edits_a_phone_number_as_text(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    (tmp_path / "stations.csv").write_text(STATIONS_CSV, encoding="utf-8")
    assert script(["import", "stations.csv"], url, tmp_path).status == 0
    outcome = script(["edit", "A", "phone=88881234"], url, tmp_path)
    assert outcome.status == 0, outcome.stderr
    assert Store(url).get("A").phone == "88881234"  # type: ignore[union-attr]
