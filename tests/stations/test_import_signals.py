"""``yizhan import`` stopped by SIGINT or SIGTERM: one clear line, exit status 130 or 143, and the registry exactly
as it was (every table, row for row, and its version) — whether the signal lands while rows are validated or
while the import's transaction is writing. The same file then imports to the end.

Real subprocesses on a real SQLite file, started as tests/stations/test_crash_safety.py starts them. A signal
"while writing" is sent once the import's transaction has put pages in the write-ahead log (emptied first).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

from geo.districts import Districts
from stations.registry import Registry
from stations.settings import SAMPLE_DIR
from stations.store import Base, Store
from tests.bench_scripts import bench_module

ROWS = 6_000
"""Rows of the import: enough that it validates for a second or more and writes for a while, few enough that
the test takes seconds."""
YIZHAN = Path(sys.executable).with_name("yizhan")
POLL_S = 0.002


def registry_state(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every registry table, in key order (as tests/stations/test_crash_safety.py takes it)."""
    with engine.connect() as connection:
        return {
            table.name: [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))]
            for table in Base.metadata.sorted_tables
        }


def import_file(folder: Path) -> Path:
    """ROWS synthetic stations over Hangzhou (bench/import_data.py), some near sample stations."""
    import_csv = bench_module("import_data").import_csv
    path = folder / "big.csv"
    path.write_bytes(import_csv(ROWS, seed=7))
    return path


@pytest.fixture
def database(tmp_path: Path, districts: Districts) -> Iterator[Path]:
    """A SQLite registry holding the sample stations."""
    path = tmp_path / "yizhan.sqlite3"
    store = Store(f"sqlite:///{path}")
    Registry(store, districts).import_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv")
    store.engine.dispose()
    yield path


def start(database: Path, csv_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "YIZHAN_DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.Popen(
        [str(YIZHAN), "import", str(csv_path), *extra],
        env=env,
        cwd=csv_path.parent,  # no .env of the repository is read
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_until_working(process: subprocess.Popen[bytes], database: Path) -> None:
    """Until the command has opened the database: its signal handlers are installed by then."""
    fds = Path(f"/proc/{process.pid}/fd")
    while True:
        assert process.poll() is None, "the import ended before it opened the database"
        try:
            if any(os.readlink(fd) == str(database) for fd in fds.iterdir()):
                return
        except (FileNotFoundError, ProcessLookupError):
            pass
        time.sleep(POLL_S)


def wait_until_writing(process: subprocess.Popen[bytes], database: Path) -> None:
    """Until the import's transaction has written pages to the (emptied) write-ahead log."""
    wal = Path(f"{database}-wal")
    while not wal.exists() or wal.stat().st_size <= 32:
        assert process.poll() is None, "the import ended before it wrote anything"
        time.sleep(POLL_S)


def empty_wal(database: Path) -> None:
    with sqlite3.connect(database) as connection:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0


@pytest.mark.parametrize(
    ("sent", "status", "when"),
    [
        (signal.SIGINT, 130, "validating"),
        (signal.SIGTERM, 143, "validating"),
        (signal.SIGINT, 130, "writing"),
        (signal.SIGTERM, 143, "writing"),
    ],
)
def test_a_signal_stops_the_import_and_nothing_is_written(
    database: Path, tmp_path: Path, sent: signal.Signals, status: int, when: str
) -> None:
    csv_path = import_file(tmp_path)
    engine = create_engine(f"sqlite:///{database}")
    try:
        before = registry_state(engine)
        empty_wal(database)
        process = start(database, csv_path)
        try:
            if when == "validating":
                wait_until_working(process, database)
            else:
                wait_until_writing(process, database)
            process.send_signal(sent)
            stdout, stderr = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == status, stderr.decode(errors="replace")
        lines = [line for line in stderr.decode().splitlines() if line.strip()]
        assert lines == [f"big.csv: import cancelled ({sent.name}); nothing was written"], lines
        assert b"added" not in stdout
        engine.dispose()
        assert registry_state(engine) == before
        with sqlite3.connect(database) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)

        if (sent, when) == (signal.SIGTERM, "writing"):  # once: the stopped import was whole and can run to the end
            finished = start(database, csv_path)
            stdout, stderr = finished.communicate(timeout=600)
            assert finished.returncode == 0, stderr.decode(errors="replace")[-2000:]
            assert len(registry_state(engine)["stations"]) == len(before["stations"]) + ROWS
    finally:
        engine.dispose()
