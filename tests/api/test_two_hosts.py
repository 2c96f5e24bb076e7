"""Several hosts on one PostgreSQL: two ``yizhan serve`` processes on different ports (as two app hosts behind a load
balancer would be) against one throw-away PostGIS database; an edit made through one is served by the other within
its check interval (``YIZHAN_CHECK_INTERVAL_S``) and the background refresh that follows it.

The test waits with a hang guard (a generous deadline, not a speed limit) and prints how long the other host took.
Write stamps come from the database's clock (``clock_timestamp()`` under the write lock), so the hosts' own clocks
play no part; the second host advances its snapshot by the delta since its stamp, not by reading every row back.
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
from postgres_server import PostgresServer
from served import free_port, wait_until
from sqlalchemy.engine import make_url

from stations.registry import Registry
from stations.store import Store

pytestmark = pytest.mark.slow  # two servers start (~15 s here); the PostgreSQL cluster is shared with the session

YIZHAN = str(Path(sys.executable).with_name("yizhan"))
CHECK_INTERVAL_S = 0.5
ADMIN_TOKEN = "two-hosts-admin-token-0123456789abcdef"
MOVED_TO = (120.3, 30.05)  # open country south-east of the city, far from every station below
STATIONS_CSV = """id,name,types,lon,lat,opening_hours,hot_water
HOST-1,西湖驿站,outdoor_worker,120.155,30.274,24/7,yes
HOST-2,拱墅骑士之家,outdoor_worker,120.141,30.319,Mo-Su 08:00-20:00,no
HOST-3,滨江司机之家,driver_home,120.211,30.208,24/7,unknown
"""


@pytest.fixture
def two_hosts(postgres_server: PostgresServer, postgis_registry_template: str) -> Iterator[tuple[str, str, str]]:
    """The base URLs of two servers on one PostGIS database holding ``STATIONS_CSV``, and an admin's token."""
    url = postgres_server.create_database(make_url(postgis_registry_template).database)
    store = Store(url)
    report = Registry(store).import_file(STATIONS_CSV.encode(), "hosts.csv")
    assert report.committed and report.added == 3, report
    store.engine.dispose()
    env = {
        **os.environ,
        "YIZHAN_DATABASE_URL": url,
        "YIZHAN_CHECK_INTERVAL_S": str(CHECK_INTERVAL_S),
        "YIZHAN_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen(
            [YIZHAN, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for port in ports
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base in bases:
            wait_until(
                lambda base=base: httpx.get(f"{base}/healthz", timeout=10).status_code == 200, f"{base} to answer"
            )
        yield bases[0], bases[1], ADMIN_TOKEN
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        postgres_server.drop_database(url)


def _health(base: str) -> dict:
    return httpx.get(f"{base}/healthz", timeout=10).json()


def _nearest_id(base: str) -> str:
    answer = httpx.get(
        f"{base}/stations/nearby", params={"lon": MOVED_TO[0], "lat": MOVED_TO[1], "k": 1}, timeout=10
    ).json()
    return str(answer["features"][0]["id"])


def test_an_edit_through_one_host_is_served_by_the_other(two_hosts: tuple[str, str, str]) -> None:
    first, second, token = two_hosts
    assert _health(first)["worker"] != _health(second)["worker"]  # two processes, one database
    version = _health(first)["registry_version"]
    assert _health(second)["registry_version"] == version
    assert _nearest_id(second) != "HOST-2"
    station = httpx.get(f"{first}/stations/HOST-2", timeout=10)
    moved = httpx.patch(
        f"{first}/stations/HOST-2",
        json={"lon": MOVED_TO[0], "lat": MOVED_TO[1], "name": "搬走的驿站"},
        headers={"Authorization": f"Bearer {token}", "If-Match": station.headers["ETag"]},
        timeout=10,
    )
    assert moved.status_code == 200, moved.text
    edited_at = time.monotonic()
    assert _health(first)["registry_version"] > version  # the writer serves its own write at once
    assert _nearest_id(first) == "HOST-2"

    waited = wait_until(lambda: _nearest_id(second) == "HOST-2", what="the other host to serve the edit")
    took = time.monotonic() - edited_at
    print(f"the other host served the edit {took:.2f} s after its commit (waited {waited:.2f} s)")
    health = _health(second)
    assert health["status"] == "ok"
    assert health["registry_version"] == _health(first)["registry_version"]
    served = httpx.get(f"{second}/stations/HOST-2", timeout=10).json()
    assert served["properties"]["name"] == "搬走的驿站"
    assert served["geometry"]["coordinates"] == pytest.approx(list(MOVED_TO))
    # and back the other way: a removal for good through the second host (a deleted id in the delta) leaves the first
    etag = httpx.get(f"{second}/stations/HOST-3", timeout=10).headers["ETag"]
    removed = httpx.delete(
        f"{second}/stations/HOST-3",
        params={"hard": "true"},
        headers={"Authorization": f"Bearer {token}", "If-Match": etag},
        timeout=10,
    )
    assert removed.status_code == 204, removed.text
    wait_until(lambda: _health(first)["stations"] == 2, "the removal on the first host")
    assert _health(second)["stations"] == 2
    assert _health(first)["registry_version"] == _health(second)["registry_version"]
    assert httpx.get(f"{first}/stations/HOST-3", timeout=10).status_code == 404
