"""Several server processes on one database: an edit made through one worker reaches the other's index.

A real ``yizhan serve --workers 2`` on a loopback port and a real SQLite file. Each worker checks the registry
version in the database every ``YIZHAN_CHECK_INTERVAL_S`` (1 s) and reloads its snapshot when it changed;
the test waits (a hang guard, not a speed limit) until both workers serve the edit, and reports how long it took.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from served import HANG_GUARD_S, free_port, wait_until

from geo.districts import Districts
from stations.accounts import Accounts
from stations.registry import Registry
from stations.settings import SAMPLE_DIR
from stations.store import Store

pytestmark = pytest.mark.slow

YIZHAN = str(Path(sys.executable).with_name("yizhan"))
MOVED_TO = (120.3, 30.05)  # open country south-east of the city, far from every sample station


def _get(url: str, **kwargs) -> httpx.Response:
    """A request on a new connection, so the kernel may hand it to either worker."""
    with httpx.Client(timeout=10) as client:
        return client.get(url, **kwargs)


@pytest.fixture
def server(tmp_path: Path, districts: Districts) -> Iterator[tuple[str, str]]:
    env = {
        **os.environ,
        "YIZHAN_DATABASE_URL": f"sqlite:///{tmp_path / 'workers.sqlite3'}",
        "YIZHAN_CHECK_INTERVAL_S": "1",
    }
    store = Store(env["YIZHAN_DATABASE_URL"])  # the sample and a token written in this process: two CLI start-ups saved
    Registry(store, districts).import_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv")
    token, _ = Accounts(store).create("worker test", "editor")
    store.engine.dispose()
    port = free_port()
    process = subprocess.Popen(
        [YIZHAN, "serve", "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _workers(base, tries=1), what="the server to answer")
        yield base, token
    finally:
        process.terminate()
        process.wait(timeout=30)


def _workers(base: str, tries: int = 400) -> dict[int, int]:
    """Registry version served by each worker process seen over ``tries`` new connections."""
    seen: dict[int, int] = {}
    for _ in range(tries):
        health = _get(f"{base}/healthz").json()
        seen[health["worker"]] = health["registry_version"]
        if len(seen) == 2 and tries > 1:
            break
    return seen


def test_an_edit_through_one_worker_reaches_the_other(server: tuple[str, str]) -> None:
    base, token = server
    before = wait_until(lambda: len(_workers(base)) == 2, what="requests reaching both workers")
    assert before < HANG_GUARD_S
    station = _get(f"{base}/stations/HZ-SYN-00001")
    assert station.status_code == 200
    with httpx.Client(timeout=10) as client:
        moved = client.patch(
            f"{base}/stations/HZ-SYN-00001",
            json={"lon": MOVED_TO[0], "lat": MOVED_TO[1]},
            headers={"Authorization": f"Bearer {token}", "If-Match": station.headers["ETag"]},
        )
    assert moved.status_code == 200, moved.text
    edited_at = time.monotonic()
    version = max(_workers(base).values())

    def both_serve_the_edit() -> bool:
        seen = _workers(base)
        return len(seen) == 2 and min(seen.values()) >= version

    waited = wait_until(both_serve_the_edit, what="both workers to serve the edit")
    print(f"both workers served the edit {time.monotonic() - edited_at:.2f} s after it was committed ({waited:.2f} s)")
    for _ in range(20):  # whichever worker answers, the moved station is the nearest to its new place
        nearest = _get(f"{base}/stations/nearby", params={"lon": MOVED_TO[0], "lat": MOVED_TO[1], "k": 1}).json()
        assert nearest["features"][0]["id"] == "HZ-SYN-00001"
        assert nearest["features"][0]["properties"]["distance_m"] < 1.0
