"""HTTP hardening found by attacking a running server (issue 12 items 6, 7, 8, 10, 12): station ids that are not
Latin-1 or are path steps, lone surrogates in JSON, X-Forwarded-For from anyone, a 500 without the security
headers, redirects built from ``Host``, HEAD, 422 before 401, and a read-only database.

Every answer here is checked for what a client gets: status, body (always UTF-8 JSON), headers; and for what
was written (nothing, when the answer is an error).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from served import free_port
from sqlalchemy.engine import make_url

from api.app import create_app
from api.deps import get_registry
from api.errors import body_problem, error_response, send_domain_error
from api.security import path_segment
from stations.accounts import Accounts
from stations.errors import Forbidden
from stations.settings import Settings
from tests.event_loop import run_isolated

ADMIN_TOKEN = "hz-admin-token-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CSV = (
    "id,name,types,lon,lat,opening_hours\n"
    "HZ-1,湖滨驿站,outdoor_worker,120.1612,30.2509,24/7\n"
    "HZ-2,钱江司机之家,driver_home,120.2100,30.2450,Mo-Su 08:00-20:00\n"
).encode()
NEW = {"name": "测试驿站", "types": ["outdoor_worker"], "lon": 120.17, "lat": 30.26}
JSON = {"Content-Type": "application/json"}


def settings_for(database_url: str, **overrides: object) -> Settings:
    return Settings(database_url=database_url, demand_path=None, admin_token=ADMIN_TOKEN, **overrides)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the two stations of ``CSV``."""
    path = tmp_path_factory.mktemp("hardening_http") / "h.sqlite3"
    with TestClient(create_app(settings_for(f"sqlite:///{path}"))) as client:
        assert client.app.state.registry.import_file(CSV, "h.csv").committed
    return path


@pytest.fixture(scope="module")
def client(database: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(f"sqlite:///{database}")), raise_server_exceptions=False) as running:
        yield running


def stored(client: TestClient, station_id: str) -> object:
    return client.app.state.registry.store.get(station_id)


def utf8_json(response: httpx.Response) -> dict:
    """The body as JSON, decoded strictly as UTF-8 (a body that is not fails here)."""
    return json.loads(response.content.decode("utf-8"))


# --- 6, 12: station ids --------------------------------------------------------------------------------------


def test_a_chinese_id_round_trips_through_its_percent_encoded_location(client: TestClient) -> None:
    created = client.post("/stations", json={**NEW, "id": "驿站-RT-1"}, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/stations/%E9%A9%BF%E7%AB%99-RT-1"
    assert created.headers["location"].isascii()
    found = client.get(created.headers["location"])
    assert found.status_code == 200
    assert found.json()["id"] == "驿站-RT-1"
    assert found.headers["etag"] == created.headers["etag"]
    again = client.post("/stations", json={**NEW, "id": "驿站-RT-1"}, headers=ADMIN)
    assert again.status_code == 409  # it was written once, by the first request, which said so


@pytest.mark.parametrize(
    ("station_id", "reason"),
    [
        ("..", "path step"),
        (".", "path step"),
        ("a/b", "pattern"),
        ("a\u202eb", "U+202E"),  # right-to-left override
        ("a\u200bb", "U+200B"),  # zero-width space
        ("x" * 65, "at most 64"),
    ],
)
def test_ids_no_url_can_carry_are_refused_and_nothing_is_written(
    client: TestClient, station_id: str, reason: str
) -> None:
    before = client.app.state.registry.store.count()
    response = client.post("/stations", json={**NEW, "id": station_id}, headers=ADMIN)
    assert response.status_code == 422
    (problem,) = [p for p in utf8_json(response)["detail"] if p["field"] == "id"]
    assert reason in problem["reason"]
    assert client.app.state.registry.store.count() == before
    assert stored(client, station_id) is None


@pytest.mark.parametrize(
    "path", ["/stations/%2E%2E", "/stations/a%E2%80%AEb", "/stations/%00", "/stations/" + "x" * 65]
)
def test_paths_naming_impossible_ids_are_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert utf8_json(response)["error"] == "not_found"
    assert client.patch(path, json={"name": "x"}, headers={**ADMIN, "If-Match": "*"}).status_code == 404


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(station_id=st.text(min_size=1, max_size=70))
def test_hostile_ids_never_make_a_5xx_and_a_created_one_is_found_at_its_location(
    client: TestClient, station_id: str
) -> None:
    body = json.dumps({**NEW, "id": station_id, "lon": 120.3, "lat": 30.3}).encode()  # ASCII: \\u escapes
    response = client.post("/stations", content=body, headers={**ADMIN, **JSON})
    assert response.status_code in (201, 409, 422), response.text
    utf8_json(response)
    if response.status_code == 201:
        found = client.get(response.headers["location"])
        assert found.status_code == 200
        assert found.json()["id"] == station_id.strip()


@pytest.mark.parametrize(
    "headers",
    [
        {"If-Match": b'"1\xe9\xff"'},
        {"If-Match": b"\xe9\xa9\xbf"},
        {"X-Request-ID": b"\xff\xfe<script>"},
        {"Authorization": b"Bearer \xe9\xa9\xbf"},
    ],
)
def test_hostile_header_values_never_make_a_5xx(client: TestClient, headers: dict[str, bytes]) -> None:
    merged = {"Authorization": ADMIN["Authorization"].encode(), **headers}
    response = client.patch("/stations/HZ-2", json={"phone": "0571-1"}, headers=merged)
    assert response.status_code < 500
    assert utf8_json(response)["error"] in ("invalid_value", "unauthorized", "revision_required")


def test_percent_encoded_locations_are_ascii_and_reversible() -> None:
    from urllib.parse import unquote

    for text in ["驿站-RT-1", "a;b=c@d:e", "%41", "x'y(z)*", "🚲"]:
        segment = path_segment(text)
        assert segment.isascii() and "/" not in segment and unquote(segment) == text


# --- 7: lone surrogates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/stations",
            b'{"id": "S-1", "name": "a\\ud800", "types": ["outdoor_worker"], "lon": 120, "lat": 30}',
            "body.name",
        ),
        (
            "/stations",
            b'{"id": "S-2", "name": "x", "types": ["outdoor_worker"], "lon": 120, "lat": 30, "\\udfff": 1}',
            "body",
        ),
        ("/stations/HZ-1/reports", b'{"kind": "other", "message": "\\uDC00 tail"}', "body.message"),
        ("/stations/HZ-1/reports", b'{"kind": "other", "message": ["\\ud83d"]}', "body.message.0"),
    ],
)
def test_lone_surrogates_in_json_get_422_with_a_utf8_body(
    client: TestClient, path: str, body: bytes, field: str
) -> None:
    reports_before = client.get("/reports", headers=ADMIN).json()["reports"]
    response = client.post(path, content=body, headers={**ADMIN, **JSON})
    assert response.status_code == 422
    (problem,) = utf8_json(response)["detail"]
    assert problem["field"] == field
    assert "surrogate" in problem["reason"]
    assert "\ufffd" in json.dumps(problem["value"], ensure_ascii=False)
    assert stored(client, "S-1") is None and stored(client, "S-2") is None
    assert client.get("/reports", headers=ADMIN).json()["reports"] == reports_before


def test_a_surrogate_pair_is_one_character_and_is_kept(client: TestClient) -> None:
    body = (
        b'{"id": "S-PAIR", "name": "\\ud83d\\udeb2 \\u9a7f\\u7ad9", "types": ["outdoor_worker"], "lon": 120, "lat": 30}'
    )
    response = client.post("/stations", content=body, headers={**ADMIN, **JSON})
    assert response.status_code == 201, response.text
    assert stored(client, "S-PAIR").name == "🚲 驿站"


def test_a_json_body_that_is_not_utf8_gets_422(client: TestClient) -> None:
    body = '{"kind": "other", "message": "坏"}'.encode("gbk")
    response = client.post("/stations/HZ-1/reports", content=body, headers=JSON)
    assert response.status_code == 422
    assert "UTF-8" in utf8_json(response)["detail"][0]["reason"]


def test_error_bodies_are_utf8_whatever_they_echo() -> None:
    response = error_response(422, "invalid_value", [{"field": "name", "value": "a\ud800\udfffb", "reason": "x"}])
    assert json.loads(response.body.decode("utf-8"))["detail"][0]["value"] == "a\ufffd\ufffdb"
    assert body_problem(b'{"a": "\\\\ud800"}') is None  # an escaped backslash, then text: no surrogate

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    run_isolated(send_domain_error, send, Forbidden("token 'a\ud800' is a viewer"))
    assert sent[0]["status"] == 403
    assert json.loads(sent[1]["body"].decode("utf-8"))["detail"] == "token 'a\ufffd' is a viewer"


# --- 10: 500s, redirects, HEAD, 401 before 422 ---------------------------------------------------------------


def test_an_unhandled_error_is_a_json_500_with_the_security_headers_and_request_id(database: Path) -> None:
    app = create_app(settings_for(f"sqlite:///{database}"))

    def broken() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    app.dependency_overrides[get_registry] = broken
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/stations/HZ-1", headers={"X-Request-ID": "trace-500"})
    assert response.status_code == 500
    body = utf8_json(response)
    assert body["error"] == "internal_error"
    assert body["detail"]["request_id"] == response.headers["x-request-id"] == "trace-500"
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/stations/", "/stations"),
        ("/stations/?limit=1&types=driver_home", "/stations?limit=1&types=driver_home"),
        ("/stations/HZ-1/", "/stations/HZ-1"),
        ("/healthz/", "/healthz"),
    ],
)
def test_slash_redirects_are_relative_whatever_the_host(client: TestClient, path: str, location: str) -> None:
    response = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == location
    assert client.get(location).status_code == 200


@pytest.mark.parametrize("path", ["//evil.example/", "/\\evil.example/", "/nope/", "//evil.example/stations/"])
def test_no_redirect_leaves_the_site(client: TestClient, path: str) -> None:
    response = client.get(f"http://testserver{path}", headers={"Host": "evil.example"}, follow_redirects=False)
    assert response.status_code == 404
    assert "location" not in response.headers


@pytest.mark.parametrize("path", ["/healthz", "/stations/HZ-1", "/stations?limit=1", "/stations.csv", "/"])
def test_head_answers_as_get_without_a_body(client: TestClient, path: str) -> None:
    get = client.get(path)
    head = client.head(path)
    assert get.status_code == head.status_code == 200
    assert head.content == b""
    for name in (
        "content-type",
        "content-length",
        "etag",
        "content-security-policy",
        "x-total-count",
        "x-frame-options",
    ):
        assert head.headers.get(name) == get.headers.get(name), name


def test_head_of_a_page_gets_the_page_policy(client: TestClient) -> None:
    """/embed's map has fresh element ids on every build, so its hashes differ from one GET to the next; a HEAD
    gets a policy made the same way, for the page it would have sent."""
    head = client.head("/embed")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"].startswith("text/html")
    assert "script-src 'sha256-" in head.headers["content-security-policy"]


def test_head_where_there_is_no_get_is_405(client: TestClient) -> None:
    assert client.head("/imports").status_code == 405


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/stations"), ("PATCH", "/stations/HZ-1"), ("PATCH", "/reports/1"), ("POST", "/stations/HZ-1/verify")],
)
def test_writes_without_a_token_get_401_before_their_body_is_read(client: TestClient, method: str, path: str) -> None:
    for body in (b"{not json", b'{"name": "\\ud800"}', b"[]"):
        response = client.request(method, path, content=body, headers=JSON)
        assert response.status_code == 401, (body, response.text)
        assert utf8_json(response)["error"] == "unauthorized"
        assert response.headers["www-authenticate"] == 'Bearer realm="yizhan"'
    wrong = client.request(method, path, content=b"{not json", headers={**JSON, "Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_a_too_low_role_gets_403_and_a_good_token_gets_the_422(client: TestClient) -> None:
    secret, _ = Accounts(client.app.state.registry.store).create("viewer of hardening", "viewer")
    viewer = {**JSON, "Authorization": f"Bearer {secret}"}
    assert client.post("/stations", content=b"{not json", headers=viewer).status_code == 403
    response = client.post("/stations", content=b"{not json", headers={**JSON, **ADMIN})
    assert response.status_code == 422
    assert utf8_json(response)["error"] == "invalid_value"
    multipart = client.post("/imports", files={"file": ("a.csv", CSV)})
    assert multipart.status_code == 401


def test_public_writes_still_need_no_token(client: TestClient) -> None:
    response = client.post("/stations/HZ-2/reports", content=b"{not json", headers=JSON)
    assert response.status_code == 422  # a rider's report: no token, so its body is what is wrong


# --- 10: a read-only database ---------------------------------------------------------------------------------


def read_only_url(url: str) -> str:
    """``url`` opened read-only: SQLite's ``mode=ro``; PostgreSQL's ``default_transaction_read_only``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite:///file:{parsed.database}?mode=ro&uri=true"
    options = {"options": "-c default_transaction_read_only=on"}
    return parsed.update_query_dict(options).render_as_string(hide_password=False)


def test_a_read_only_database_answers_writes_503_and_reads_200(database_url: str) -> None:
    with TestClient(create_app(settings_for(database_url))) as client:
        assert client.app.state.registry.import_file(CSV, "h.csv").committed
        client.app.state.registry.store.engine.dispose()
    read_only = read_only_url(database_url)
    with TestClient(create_app(settings_for(read_only)), raise_server_exceptions=False) as client:
        assert client.get("/stations/HZ-1").status_code == 200
        assert client.get("/stations/nearby", params={"lon": 120.16, "lat": 30.25, "k": 1}).status_code == 200
        etag = client.get("/stations/HZ-2").headers["etag"]
        writes = [
            client.post("/stations", json={**NEW, "id": "RO-1"}, headers=ADMIN),
            client.patch("/stations/HZ-2", json={"phone": "0571-2"}, headers={**ADMIN, "If-Match": etag}),
            client.post("/stations/HZ-2/reports", json={"kind": "closed"}),
        ]
        for response in writes:
            assert response.status_code == 503, response.text
            body = utf8_json(response)
            assert body["error"] == "read_only"
            assert "read-only" in body["detail"] and "只读" in body["detail"]
            assert response.headers["x-content-type-options"] == "nosniff"
        assert client.get("/stations/HZ-2").headers["etag"] == etag
        assert client.get("/stations/RO-1").status_code == 404


# --- 8: X-Forwarded-For, through a real server ----------------------------------------------------------------

YIZHAN = str(Path(sys.executable).with_name("yizhan"))
HANG_GUARD_S = 120.0


def _serve(database: Path, **env: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    environment = {
        **os.environ,
        "YIZHAN_DATABASE_URL": f"sqlite:///{database}",
        "YIZHAN_REPORTS_PER_HOUR": "2",
        "FORWARDED_ALLOW_IPS": "*",  # uvicorn's own variable: must not matter
        **env,
    }
    process = subprocess.Popen(
        [YIZHAN, "serve", "--port", str(port)], env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    start = time.monotonic()
    while time.monotonic() - start < HANG_GUARD_S:
        if process.poll() is not None:
            raise AssertionError(process.stderr.read().decode() if process.stderr else "the server stopped")
        try:
            if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.05)
    process.terminate()
    raise AssertionError("the server did not answer")


def _rotating_reports(base: str, station_id: str, count: int) -> list[int]:
    return [
        httpx.post(
            f"{base}/stations/{station_id}/reports",
            json={"kind": "closed"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
            timeout=10,
        ).status_code
        for i in range(count)
    ]


@pytest.mark.slow
@pytest.mark.parametrize(("trusted", "expected"), [(None, [201, 201, 429, 429]), ("127.0.0.1", [201, 201, 201, 201])])
def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
    tmp_path: Path, trusted: str | None, expected: list[int]
) -> None:
    database = tmp_path / "xff.sqlite3"
    with TestClient(create_app(settings_for(f"sqlite:///{database}"))) as client:
        assert client.app.state.registry.import_file(CSV, "h.csv").committed
    process, base = _serve(database, **({"YIZHAN_TRUSTED_PROXIES": trusted} if trusted else {}))
    try:
        assert _rotating_reports(base, "HZ-1", 4) == expected
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_trusted_proxies_are_addresses_or_networks() -> None:
    assert Settings(trusted_proxies="127.0.0.1, 10.0.0.0/8").trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    assert Settings().trusted_proxies == ()
    with pytest.raises(ValueError, match="not an IP address"):
        Settings(trusted_proxies="*")


def test_a_licence_named_in_chinese_is_sent_encoded(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'l.sqlite3'}", demand_path=None, data_licence="知识共享 署名 4.0"
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/stations.csv")
    assert response.status_code == 200
    assert response.headers["x-licence"] == "UTF-8''%E7%9F%A5%E8%AF%86%E5%85%B1%E4%BA%AB%20%E7%BD%B2%E5%90%8D%204.0"


@pytest.mark.parametrize("station_id", ["%2E%2E", "%00x", "a%E2%80%AEb"])
def test_reports_of_impossible_ids_are_404_without_a_query(tmp_path: Path, station_id: str) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'r.sqlite3'}", demand_path=None)
    with TestClient(create_app(settings)) as client:
        response = client.post(f"/stations/{station_id}/reports", json={"kind": "closed"})
    assert response.status_code == 404, response.text
