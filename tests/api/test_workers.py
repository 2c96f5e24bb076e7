"""Several server processes on one database: an edit made through one worker reaches the other's index, and
new connections reach every worker.

A real ``yizhan serve --workers 2`` on a loopback port and a real SQLite file. Each worker checks the registry
version in the database every ``YIZHAN_CHECK_INTERVAL_S`` (1 s) and reloads its snapshot when it changed;
the test waits (a hang guard, not a speed limit) until both workers serve the edit, and reports how long it took.
Each worker listens on a socket of its own (``api.serving.run_workers``): connections that arrive while both are
busy wait in both workers' queues, not all for the one that is free first.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, districts: Districts) -> Iterator[tuple[str, str]]:
    env = {
        **os.environ,
        "YIZHAN_DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('workers') / 'workers.sqlite3'}",
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


def _ask_healthz(port: int, connections: int) -> list[socket.socket]:
    """``connections`` new connections, each sent ``GET /healthz`` (the kernel accepts them for the workers)."""
    opened = [socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD_S) for _ in range(connections)]
    for connection in opened:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
    return opened


def _answered_by(opened: list[socket.socket]) -> Counter[int]:
    """How many of the connections each worker process answered (the ``worker`` of its ``/healthz`` answer)."""
    answered: Counter[int] = Counter()
    for connection in opened:
        with connection, connection.makefile("rb") as answer:
            head, _, body = answer.read().partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            answered[json.loads(body)["worker"]] += 1
    return answered


def test_connections_that_arrive_while_both_workers_are_busy_wait_for_both(server: tuple[str, str]) -> None:
    """40 connections arrive while both workers are held (SIGSTOP); then one is let go 0.3 s before the other.
    With one shared listening socket the first would accept all 40 (asyncio accepts every waiting connection
    when it wakes); with a socket per worker the kernel has already queued about half for each."""
    base, _ = server
    wait_until(lambda: len(_workers(base)) == 2, what="both workers to answer")  # each listens once it has started
    workers, connections = sorted(_workers(base)), 40
    try:
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)
        opened = _ask_healthz(int(base.rsplit(":", 1)[1]), connections)
        for pid in workers:
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.3)  # the first worker alone, long enough to accept every connection it can reach
    finally:
        for pid in workers:
            os.kill(pid, signal.SIGCONT)
    answered = _answered_by(opened)
    print(f"answers per worker: {dict(answered)}")
    assert set(answered) == set(workers)
    # the kernel hashes each connection's addresses: fewer than 8 of 40 for one worker has odds ~2e-5
    assert min(answered.values()) >= connections // 5, answered


@pytest.mark.parametrize("reuse_port", [False, True], ids=["plain", "SO_REUSEPORT"])
def test_a_port_in_use_is_one_line_and_a_failed_exit(tmp_path: Path, reuse_port: bool) -> None:
    """A port another process listens on (with or without SO_REUSEPORT, as another ``yizhan serve`` would) stops
    ``serve --workers 2`` at once, naming the address, rather than start workers that cannot listen."""
    with socket.socket() as foreign:
        foreign.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, int(reuse_port))
        foreign.bind(("127.0.0.1", 0))
        foreign.listen()
        port = foreign.getsockname()[1]
        done = subprocess.run(
            [YIZHAN, "serve", "--port", str(port), "--workers", "2"],
            env={**os.environ, "YIZHAN_DATABASE_URL": f"sqlite:///{tmp_path / 'in-use.sqlite3'}"},
            capture_output=True, text=True, timeout=HANG_GUARD_S,
        )  # fmt: skip
    assert done.returncode != 0
    (line,) = done.stderr.strip().splitlines()
    assert f"127.0.0.1:{port}" in line and "in use" in line, line
