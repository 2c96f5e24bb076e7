"""Slow and vanished clients, and planning memory (issue 12, items 4 and 5).

A real uvicorn server on a loopback port (in a thread, with ``yizhan serve``'s protocol and short deadlines set
here) and raw sockets that send a request slowly: the body deadline answers 408 and closes, the planning turn
is free meanwhile; a siting request whose client hangs up stops; the planning cache stays within its bytes; the
memory ceiling refuses planning with 503. Waits are hang guards polling for a condition, never speed limits.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from served import free_port, wait_until
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from api.app import create_app
from api.concurrency import ConcurrencyLimit
from api.serving import MAX_HEADER_BYTES, TOO_LARGE, DeadlineProtocol, uvicorn_options
from geo.siting import SitingProblem, Stopped, exact
from stations.planning import CoverageRequest, Planner, value_bytes
from stations.service import build_registry
from stations.settings import SAMPLE_DIR, Settings
from tests.event_loop import run_isolated

HANG_GUARD_S = 120.0
BODY_TIMEOUT_S = 1.0
HEADER_TIMEOUT_S = 1.0


class QuickHeaders(DeadlineProtocol):
    header_timeout_s = HEADER_TIMEOUT_S


@dataclass
class Server:
    app: FastAPI
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connect(self) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=HANG_GUARD_S)

    def planning_limit(self) -> ConcurrencyLimit:
        layer = self.app.middleware_stack
        while not isinstance(layer, ConcurrencyLimit):
            layer = layer.app
        return layer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("slow")
    settings = Settings(
        database_url=f"sqlite:///{folder / 'slow.sqlite3'}",
        check_interval_s=0,
        body_timeout_s=BODY_TIMEOUT_S,
        planning_concurrency=1,
        planning_wait_s=0.5,
    )
    app = create_app(settings)
    port = free_port()
    options = {**uvicorn_options(), "http": QuickHeaders}  # yizhan serve's, with a short header deadline
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    wait_until(lambda: running.started, "uvicorn to start")
    assert app.state.registry.import_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv").committed
    app.state.registry.refresh()
    try:
        yield Server(app, "127.0.0.1", port)
    finally:
        running.should_exit = True
        thread.join(timeout=30)


def siting_head(length: int) -> bytes:
    head = "POST /siting HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    return f"{head}Content-Length: {length}\r\n\r\n".encode()


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a hang guard bounds the wait)."""
    sock.settimeout(HANG_GUARD_S)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_a_body_sent_a_byte_at_a_time_gets_408_and_holds_no_planning_turn(server: Server) -> None:
    body = json.dumps({"add": 1, "cell_m": 500}).encode()
    slow = [server.connect() for _ in range(2)]
    for sock in slow:
        sock.sendall(siting_head(len(body)) + body[:1])
    stop = threading.Event()

    def trickle() -> None:  # one more byte every 0.2 s, never the whole body before the deadline
        # and nothing after it: bytes arriving once the server has answered 408 and closed make its kernel
        # reset the connection, which can discard the 408 before the test reads it
        for position in range(1, min(len(body) - 1, int(BODY_TIMEOUT_S / 0.2))):
            if stop.wait(0.2):
                return
            for sock in slow:
                try:
                    sock.sendall(body[position : position + 1])
                except OSError:
                    return

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    try:
        # one planning turn, two slow siting requests: /coverage is answered while their bodies crawl in
        answered = httpx.get(f"{server.url}/coverage", params={"cell_m": 500}, timeout=HANG_GUARD_S)
        assert answered.status_code == 200, answered.text
        replies = [read_until_closed(sock) for sock in slow]
    finally:
        stop.set()
        sender.join(timeout=10)
        for sock in slow:
            sock.close()
    for reply in replies:
        status_line, _, rest = reply.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 408 Request Timeout", reply
        assert b"connection: close" in rest.lower()
        assert json.loads(rest.partition(b"\r\n\r\n")[2])["error"] == "request_timeout"
    assert server.planning_limit().running == 0


def read_one_response(sock: socket.socket) -> bytes:
    """One whole HTTP response with a Content-Length body (a response may arrive in several segments)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, data
        body += chunk
    return head + b"\r\n\r\n" + body


def test_headers_sent_slowly_or_never_get_408_and_the_connection_closed(server: Server) -> None:
    silent = server.connect()
    partial = server.connect()
    partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")  # and never the blank line that ends the headers
    try:
        for sock in (silent, partial):
            reply = read_until_closed(sock)
            assert reply.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), reply
    finally:
        silent.close()
        partial.close()
    # a kept-alive connection: the first request is answered, the next one's headers get the same deadline
    kept = server.connect()
    try:
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        kept.settimeout(HANG_GUARD_S)
        assert read_one_response(kept).startswith(b"HTTP/1.1 200 OK")
        kept.sendall(b"GET /healthz HTTP/1.1\r\n")
        assert read_until_closed(kept).startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    finally:
        kept.close()


def test_unfinished_headers_beyond_the_size_limit_get_400(server: Server) -> None:
    sock = server.connect()
    try:  # more than MAX_HEADER_BYTES without the end of the headers: refused before the deadline
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * (MAX_HEADER_BYTES + 1))
        reply = read_until_closed(sock)
        assert reply.startswith(b"HTTP/1.1 400"), reply
        assert reply.endswith(TOO_LARGE.encode())
    finally:
        sock.close()


def test_headers_within_the_bound_in_many_pieces_and_bodies_of_any_size_are_not_counted(server: Server) -> None:
    sock = server.connect()
    try:
        sock.settimeout(HANG_GUARD_S)
        # a head just under the bound, sent in 1 KB pieces (each its own read): answered
        head = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"p" * (MAX_HEADER_BYTES - 200) + b"\r\n\r\n"
        for start in range(0, len(head), 1024):
            sock.sendall(head[start : start + 1024])
            time.sleep(0.01)
        assert read_one_response(sock).startswith(b"HTTP/1.1 200 OK")
        # then, on the same connection, a request with a body twice the bound, sent after its head: the body's
        # bytes are not the head's; the request after it is answered too
        body = b"b" * (2 * MAX_HEADER_BYTES)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body))
        time.sleep(0.1)
        sock.sendall(body)
        assert read_one_response(sock).startswith(b"HTTP/1.1 200 OK")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_one_response(sock).startswith(b"HTTP/1.1 200 OK")
    finally:
        sock.close()


def test_pipelined_requests_in_one_write_are_all_answered_in_order(server: Server) -> None:
    sock = server.connect()
    try:  # the last asks to close, so that everything the server sends is read (answers may share a segment)
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
            b"GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n"
            b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        replies = read_until_closed(sock)
    finally:
        sock.close()
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", replies) == [b"200", b"404", b"200"], replies


def test_a_siting_request_whose_client_hangs_up_stops(server: Server) -> None:
    # an exact solve that HiGHS cannot finish soon: many candidates, spacing conflicts, a 600 s limit
    body = json.dumps(
        {"add": 60, "cell_m": 100, "radius_m": 1500, "method": "exact", "time_limit_s": 600, "min_spacing_m": 1200}
    ).encode()
    limit = server.planning_limit()
    sock = server.connect()
    try:
        sock.sendall(siting_head(len(body)) + body)
        wait_until(lambda: limit.running == 1, "the siting request to take its turn")
        time.sleep(1.0)  # let it get into the solver
        assert limit.running == 1, "the solve ended on its own: the test needs a harder problem"
    finally:
        sock.close()  # the client hangs up
    waited = wait_until(lambda: limit.running == 0, "the abandoned siting request to stop")
    print(f"the planning turn was free {waited:.1f} s after the client left")
    answered = httpx.get(f"{server.url}/coverage", params={"cell_m": 500}, timeout=HANG_GUARD_S)
    assert answered.status_code == 200


def test_an_exact_solve_in_its_child_process_stops_when_asked() -> None:
    side = 40
    grid = [(x * 100.0, y * 100.0) for x in range(side) for y in range(side)]
    xs, ys = [p[0] for p in grid], [p[1] for p in grid]
    problem = SitingProblem.from_arrays(xs, ys, [1 + (i * 7919) % 13 for i in range(len(grid))], xs, ys, 350.0)
    asked = threading.Event()
    deadline = time.monotonic() + 1.0

    def stop() -> bool:
        asked.set()
        return time.monotonic() > deadline

    try:
        result = exact(problem, 40, time_limit_s=600, stop=stop)
    except Stopped:
        pass
    else:  # HiGHS proved it optimal within the second: then it must have been asked and be right
        assert asked.is_set() and result.optimal
    assert asked.is_set()
    import multiprocessing

    assert not [child for child in multiprocessing.active_children() if child.name == "yizhan-milp"]


# --------------------------------------------------------------------------- planning memory


def test_cell_sizes_are_rounded_to_whole_metres(server: Server) -> None:
    answered = httpx.get(f"{server.url}/coverage", params={"cell_m": 500.001}, timeout=HANG_GUARD_S).json()
    assert answered["cell_m"] == 500
    refused = httpx.get(f"{server.url}/coverage", params={"cell_m": 0.5}, timeout=HANG_GUARD_S)
    assert refused.status_code == 422 and "cell_m" in refused.text
    schema = httpx.get(f"{server.url}/openapi.json", timeout=HANG_GUARD_S).json()
    (cell,) = [p for p in schema["paths"]["/coverage"]["get"]["parameters"] if p["name"] == "cell_m"]
    assert cell["schema"]["minimum"] == 1 and "whole metres" in cell["description"]
    assert CoverageRequest(cell_m=60.4) == CoverageRequest(cell_m=60)


def test_the_planning_cache_stays_within_its_bytes(tmp_path: Path) -> None:
    registry = build_registry(Settings(database_url=f"sqlite:///{tmp_path / 'c.sqlite3'}"))
    registry.import_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv")
    registry.refresh()
    probe = Planner(registry)
    one = value_bytes(probe.coverage(CoverageRequest(cell_m=400)))
    assert one >= probe.grid(400).n_cells * 8  # at least a distance per cell
    budget = 3 * one
    planner = Planner(registry, cache_bytes=budget)
    totals = []
    for cell_m in range(300, 520, 20):
        planner.coverage(CoverageRequest(cell_m=cell_m))
        planner.gaps(CoverageRequest(cell_m=cell_m))
        totals.append(planner.cached_bytes)
    assert max(totals) <= budget
    assert len(planner._cache) < 3 * 11  # older entries were dropped
    newest = CoverageRequest(cell_m=500)
    assert ("coverage", registry.snapshot().version, newest) in planner._cache  # the newest is kept
    planner.clear_cache()
    assert planner.cached_bytes == 0 and not planner._cache
    tiny = Planner(registry, cache_bytes=1_000)  # a value bigger than the budget is answered, not kept
    assert tiny.coverage(CoverageRequest(cell_m=400)).coverage.distance_m.size > 0
    assert tiny.cached_bytes == 0


def _memory_app(memory: list[int], relieved: list[int], ceiling: int) -> ConcurrencyLimit:
    async def plan(_request: Request) -> Response:
        return PlainTextResponse("planned")

    def relieve() -> None:
        relieved.append(1)
        memory[0] = memory[1]  # what emptying the caches gives back

    inner = Starlette(routes=[Route("/coverage", plan)])
    return ConcurrencyLimit(
        inner, paths=["/coverage"], limit=2, wait_s=1, memory_bytes=ceiling, relieve=relieve, memory=lambda: memory[0]
    )


@pytest.mark.parametrize(
    ("before", "relief", "status", "relieved"),
    [(500, 500, 200, 0), (2_000, 500, 200, 1), (2_000, 1_500, 503, 1)],
)
def test_planning_is_refused_above_the_memory_ceiling(before: int, relief: int, status: int, relieved: int) -> None:
    memory, calls = [before, relief], []
    app = _memory_app(memory, calls, ceiling=1_000)

    async def ask() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.get("/coverage")

    response = run_isolated(ask)
    assert (response.status_code, len(calls)) == (status, relieved)
    if status == 503:
        assert response.headers["retry-after"] == "1"
        assert response.json()["error"] == "busy" and "YIZHAN_PLANNING_MEMORY_BYTES" in response.json()["detail"]


def test_the_app_wires_the_memory_ceiling_and_cache_budget(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'm.sqlite3'}", planning_memory_bytes=1, planning_cache_bytes=12_345
    )
    with TestClient(create_app(settings)) as client:
        assert client.app.state.planner.cache_bytes == 12_345
        refused = client.get("/coverage", params={"cell_m": 500})  # any process is above 1 byte
        assert refused.status_code == 503 and refused.headers["retry-after"]
        assert client.get("/healthz").status_code == 200  # only planning is refused
