"""HTTP hardening end to end: cross-origin rules, security headers and page policies, body limits, the access
log, and the cap on concurrent planning requests.

Page policies are checked against the pages' inline code as Python's own HTML tokenizer (``html.parser``)
reads it, not against the regular expression under test; that the policies let the pages run (and nothing
else) is checked in Chromium by ``tests/e2e/test_content_security_policy.py``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from served import free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from api.access_log import AccessLog, log_query
from api.app import create_app
from api.concurrency import ConcurrencyLimit
from api.security import SecurityHeaders, inline_code, tile_sources
from maps.stations import StationPage, station_page
from maps.stations import station_assets as assets
from stations.reports import Reports, client_key
from stations.settings import REPO_ROOT, Settings
from tests.event_loop import run_isolated

ADMIN_TOKEN = "hz-admin-token-0123456789abcdef"
SAME = "http://testserver"  # TestClient's Host is "testserver"
OTHER = "https://union.example.cn"
FRIEND = "https://planner.example.cn"
CSV = (
    "id,name,types,lon,lat,opening_hours\n"
    "HZ-1,湖滨驿站,outdoor_worker,120.1612,30.2509,24/7\n"
    "HZ-2,钱江司机之家,driver_home,120.2100,30.2450,Mo-Su 08:00-20:00\n"
).encode()
PAGES = ["/", "/embed", "/embed/builder", "/maps/coverage?adcode=330102&limit=3", "/docs", "/redoc"]
JSON_PATHS = ["/healthz", "/districts", "/stations/nearby?lon=120.16&lat=30.25&k=2", "/stations/nope"]


def make_client(tmp: Path, **overrides: object) -> TestClient:
    defaults: dict[str, object] = {"database_url": f"sqlite:///{tmp / 'h.sqlite3'}", "demand_path": None}
    app = create_app(Settings(**{**defaults, "admin_token": ADMIN_TOKEN, **overrides}))
    return TestClient(app)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with make_client(tmp_path_factory.mktemp("hardening")) as running:
        registry = running.app.state.registry
        assert registry.import_file(CSV, "h.csv").committed
        registry.refresh()
        yield running


def reports_of(client: TestClient, station_id: str) -> list:
    return Reports(client.app.state.registry.store).list(station_id=station_id)


def directives(policy: str) -> dict[str, list[str]]:
    return {name: sources for name, *sources in (part.split() for part in policy.split(";"))}


# --------------------------------------------------------------------------- cross-origin rules


def test_reads_from_any_origin_are_granted(client: TestClient) -> None:
    response = client.get("/healthz", headers={"Origin": OTHER})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = response.headers["access-control-expose-headers"]
    assert "ETag" in exposed and "X-Request-ID" in exposed and "X-Total-Count" in exposed
    assert "access-control-allow-credentials" not in response.headers
    preflight = client.options(
        "/stations",
        headers={"Origin": OTHER, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "accept"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert preflight.headers["access-control-allow-methods"] == "GET, HEAD"
    assert preflight.headers["access-control-allow-headers"] == "accept"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/stations/HZ-1"),
        ("DELETE", "/stations/HZ-1"),
        ("POST", "/stations/HZ-1/reports"),
        ("POST", "/siting"),
    ],
)
def test_a_write_preflight_from_another_origin_is_denied(client: TestClient, method: str, path: str) -> None:
    response = client.options(
        path,
        headers={
            "Origin": OTHER,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert not [name for name in response.headers if name.startswith("access-control-")]


def test_a_simple_write_from_another_origin_is_refused_before_it_acts(client: TestClient) -> None:
    """A text/plain POST needs no preflight: CORS alone would hide the answer after the report was filed."""
    before = len(reports_of(client, "HZ-2"))
    response = client.post(
        "/stations/HZ-2/reports",
        content=json.dumps({"kind": "closed"}),
        headers={"Origin": OTHER, "Content-Type": "text/plain"},
    )
    assert response.status_code == 403 and "YIZHAN_CORS_WRITE_ORIGINS" in response.json()["detail"]
    assert len(reports_of(client, "HZ-2")) == before


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": SAME},  # the rider page and /embed (an iframe of this server) are same-origin
        {"Origin": "http://testserver:80"},
        {"Origin": "https://yizhan.example.cn", "Sec-Fetch-Site": "same-origin"},  # behind a proxy rewriting Host
        {},  # no Origin: curl, scripts, servers
    ],
)
def test_same_origin_and_non_browser_writes_pass(tmp_path: Path, headers: dict[str, str]) -> None:
    with make_client(tmp_path) as client:
        client.app.state.registry.import_file(CSV, "h.csv")
        client.app.state.registry.refresh()
        response = client.post("/stations/HZ-1/reports", json={"kind": "closed"}, headers=headers)
        assert response.status_code == 201, response.text
        assert "access-control-allow-origin" not in response.headers
        assert len(reports_of(client, "HZ-1")) == 1


def test_listed_write_origins_and_restricted_read_origins(tmp_path: Path) -> None:
    with make_client(tmp_path, cors_origins=f"{OTHER}, {FRIEND}", cors_write_origins=FRIEND) as client:
        preflight = client.options(
            "/stations/HZ-1", headers={"Origin": FRIEND, "Access-Control-Request-Method": "PATCH"}
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == FRIEND
        assert "PATCH" in preflight.headers["access-control-allow-methods"] and preflight.headers["vary"] == "Origin"
        denied = client.options("/stations/HZ-1", headers={"Origin": OTHER, "Access-Control-Request-Method": "PATCH"})
        assert denied.status_code == 403
        write = client.patch("/stations/HZ-1", json={"name": "x"}, headers={"Origin": FRIEND})
        assert write.status_code == 401  # reaches the route (no token), and the page may read why
        assert write.headers["access-control-allow-origin"] == FRIEND

        listed = client.get("/healthz", headers={"Origin": OTHER})
        assert listed.headers["access-control-allow-origin"] == OTHER and listed.headers["vary"] == "Origin"
        unlisted = client.get("/healthz", headers={"Origin": "https://elsewhere.example"})
        assert unlisted.status_code == 200 and "access-control-allow-origin" not in unlisted.headers
        assert unlisted.headers["vary"] == "Origin"
        assert client.get("/healthz").headers["vary"] == "Origin"  # caches keep one answer per origin
        refused = client.options(
            "/healthz", headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"}
        )
        assert refused.status_code == 403


def test_origin_settings_are_checked_and_normalised() -> None:
    settings_ = Settings(
        cors_origins="HTTPS://Union.Example.cn:443/ http://127.0.0.1:8080", cors_write_origins=[FRIEND]
    )
    assert settings_.cors_origins == (OTHER, "http://127.0.0.1:8080")
    assert settings_.cors_write_origins == (FRIEND,)
    assert Settings().cors_origins == ("*",) and Settings().cors_write_origins == ()
    for bad in (
        {"cors_write_origins": "*"},
        {"cors_origins": "union.example.cn"},
        {"cors_origins": f"*, {OTHER}"},
        {"cors_origins": "https://union.example.cn/path"},
        {"planning_concurrency": 0},
    ):
        with pytest.raises(ValidationError):
            Settings(**bad)


def test_origin_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIZHAN_CORS_ORIGINS", f"{OTHER},{FRIEND}")
    monkeypatch.setenv("YIZHAN_CORS_WRITE_ORIGINS", FRIEND)
    assert Settings().cors_origins == (OTHER, FRIEND) and Settings().cors_write_origins == (FRIEND,)


# --------------------------------------------------------------------------- headers and page policies


class _InlineCode(HTMLParser):
    """Reference: the text of each inline script and style as Python's HTML tokenizer reads it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._open: tuple[list[str], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            external = tag == "script" and any(name == "src" for name, _ in attrs)
            self._open = (self.scripts if tag == "script" else self.styles, []) if not external else None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._open is not None:
            self._open[0].append("".join(self._open[1]))
            self._open = None


def reference_hashes(html: str) -> tuple[set[str], set[str]]:
    parser = _InlineCode()
    parser.feed(html)

    def source(text: str) -> str:
        normalised = text.replace("\r\n", "\n").replace("\r", "\n").encode()  # the HTML input stream's newlines
        return f"'sha256-{base64.b64encode(hashlib.sha256(normalised).digest()).decode()}'"

    return {source(t) for t in parser.scripts}, {source(t) for t in parser.styles}


@pytest.mark.parametrize("path", PAGES)
def test_each_page_allows_exactly_its_own_inline_code(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    policy = directives(response.headers["content-security-policy"])
    scripts, styles = reference_hashes(response.text)
    assert scripts or path == "/redoc", "every page but ReDoc's runs some inline code"
    assert {s for s in policy["script-src"] if s.startswith("'sha256-")} == scripts
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["default-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"] and policy["form-action"] == ["'self'"]
    assert policy["img-src"][:3] == ["'self'", "data:", "https://tile.openstreetmap.org"]
    if path.startswith("/docs") or path.startswith("/redoc"):
        assert policy["style-src"][0] == "'unsafe-inline'"  # ReDoc injects <style> at run time
        assert [s for s in policy["script-src"] if not s.startswith("'sha256-")] == ["https://cdn.jsdelivr.net"]
    else:
        assert set(policy["style-src"]) == styles
    framed = path.startswith("/embed?") or path == "/embed"
    assert policy["frame-ancestors"] == (["*"] if framed else ["'none'"])
    assert ("x-frame-options" in response.headers) is not framed


@pytest.mark.parametrize("path", JSON_PATHS)
def test_other_responses_get_a_closed_policy(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/healthz", {}),
        ("GET", "/", {}),
        ("GET", "/nope", {}),  # 404
        ("GET", "/stations/nearby?lon=500&lat=0", {}),  # 422
        ("POST", "/stations/HZ-1/reports", {"content": b"x" * 1_000_001}),  # 413 from the body limit
        ("POST", "/stations/HZ-1/reports", {"headers": {"Origin": OTHER}, "json": {"kind": "closed"}}),  # 403
    ],
)
def test_every_response_says_nosniff_referrer_policy_and_its_request_id(
    client: TestClient, method: str, path: str, kwargs: dict
) -> None:
    response = client.request(method, path, **kwargs)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert len(response.headers["x-request-id"]) == 16
    assert response.headers["content-security-policy"]


def test_embed_frame_ancestors_and_tile_servers_follow_the_settings(tmp_path: Path) -> None:
    amap = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&style=8&x={x}&y={y}&z={z}"
    with make_client(
        tmp_path, frame_ancestors="https://union.example.cn", tiles=amap, tiles_attribution="© 高德"
    ) as client:
        embed = client.get("/embed")
        policy = directives(embed.headers["content-security-policy"])
        assert policy["frame-ancestors"] == ["https://union.example.cn"] and "x-frame-options" not in embed.headers
        assert "https://*.is.autonavi.com" in policy["img-src"]
        assert "https://*.is.autonavi.com" in directives(client.get("/").headers["content-security-policy"])["img-src"]


def test_tile_sources() -> None:
    assert tile_sources("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png") == ("https://*.tile.openstreetmap.org",)
    assert tile_sources("http://127.0.0.1:8081/tiles/{z}/{x}/{y}.png") == ("http://127.0.0.1:8081",)
    assert tile_sources("//t{s}.tianditu.gov.cn/vec_w/wmts?x={x}") == ("*.tianditu.gov.cn",)
    assert tile_sources("https://tiles.example.cn:{port}/{z}/{x}/{y}.png") == ("https://tiles.example.cn:*",)
    assert tile_sources("OpenStreetMap") == ("https://tile.openstreetmap.org",)
    assert tile_sources("tiles/{z}/{x}/{y}.png") == ("'self'",)


def _page_app(body: str, **headers: str) -> Starlette:
    async def page(_request: Request) -> Response:
        return HTMLResponse(body, headers=headers)

    return Starlette(routes=[Route("/", page)])


def test_a_response_with_its_own_policy_keeps_it() -> None:
    app = SecurityHeaders(
        _page_app("<script>x()</script>", **{"Content-Security-Policy": "sandbox"}), img_sources=[], rules={}
    )
    response = TestClient(app).get("/")
    assert response.headers["content-security-policy"] == "sandbox"
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["x-frame-options"] == "DENY"


def test_a_streamed_page_is_hashed_whole() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for part in ("<!DOCTYPE html><scr", "ipt>var a = 1;\r\n", "go(a);</script>"):
            yield part.encode()

    async def page(_request: Request) -> Response:
        from starlette.responses import StreamingResponse

        return StreamingResponse(chunks(), media_type="text/html; charset=utf-8")

    app = SecurityHeaders(Starlette(routes=[Route("/", page)]), img_sources=[], rules={})
    response = TestClient(app).get("/")
    assert response.text == "<!DOCTYPE html><script>var a = 1;\r\ngo(a);</script>"
    (script,) = reference_hashes(response.text)[0]
    assert directives(response.headers["content-security-policy"])["script-src"] == [script]


_CODE = st.lists(
    st.sampled_from([*"ab <>/='\"\r\n\t;{}()驿站", "</", "<!", "-->", "<p>", "</p>", "&amp;"]), max_size=30
).map("".join)
_ELEMENTS = st.lists(
    st.one_of(
        st.tuples(st.just("script"), _CODE),
        st.tuples(st.just("style"), _CODE),
        st.tuples(st.just("SCRIPT"), _CODE),
        st.tuples(st.just("Style"), _CODE),
        st.tuples(st.just("p"), _CODE),
        st.tuples(st.just("external"), _CODE),
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(_ELEMENTS, st.sampled_from([">", " >", "\n>", "\t >"]))
def test_inline_code_hashes_equal_the_html_tokenizers(elements: list[tuple[str, str]], end: str) -> None:
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"]
    for tag, text in elements:
        if tag == "external":
            parts.append(f'<script src="/x.js" data-x="{text.replace(chr(34), "")}"></script>')
        elif tag == "p":
            parts.append(f"<p>{text.replace('<', '')}</p>")
        else:
            closing = f"</{tag.lower()}"
            if closing in text.lower() or "<!" in text:  # cannot be inlined (the page builders refuse it)
                continue
            parts.append(f"<{tag} type='text/x'>{text}</{tag.lower()}{end}")
    html = "".join(parts) + "</body></html>"
    code = inline_code(html.encode())
    scripts, styles = reference_hashes(html)
    assert (set(code.scripts), set(code.styles)) == (scripts, styles)


_HOSTILE = st.lists(
    st.sampled_from(
        ["</script>", "<script>", "<style>", "</style>", "<!--", "-->", '"', "'", "<", ">", "&", "\u2028", "驿"]
    ),
    min_size=1,
    max_size=6,
).map("".join)


@settings(max_examples=25, deadline=None)
@given(names=st.lists(_HOSTILE, min_size=1, max_size=3), title=_HOSTILE)
def test_station_text_never_adds_code_to_a_page(names: list[str], title: str) -> None:
    """What makes hashing the page as built sound: user text cannot add a script or style element to it."""
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [120.16, 30.25]},
            "properties": {"id": str(i), "name": n, "address": n},
        }
        for i, n in enumerate(names)
    ]
    benign = [{**f, "properties": {"id": f["properties"]["id"], "name": "驿站", "address": ""}} for f in features]
    hostile = station_page(StationPage(assets(), {"mode": "embed", "title": title}, features, title))
    benign_page = station_page(StationPage(assets(), {"mode": "embed", "title": "x"}, benign, "x"))
    hostile_code, benign_code = inline_code(hostile.encode()), inline_code(benign_page.encode())
    assert len(hostile_code.scripts) == len(benign_code.scripts) and len(hostile_code.styles) == len(benign_code.styles)
    assert hostile_code.scripts[:3] == benign_code.scripts[:3]  # the vendored libraries, unchanged


# --------------------------------------------------------------------------- body limits


def test_bodies_declared_over_the_limit_get_413(client: TestClient) -> None:
    too_big = b"{" + b" " * 1_000_000 + b"}"
    declared = client.post("/stations/HZ-1/reports", content=too_big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413 and declared.json()["error"] == "too_large"
    assert declared.headers["x-content-type-options"] == "nosniff" and declared.headers["x-request-id"]
    small = client.post(
        "/stations/HZ-1/reports", content=b'{"kind": "moved"}', headers={"Content-Type": "application/json"}
    )
    assert small.status_code == 201


def _chunks(body: bytes, size: int = 100_000) -> Iterator[bytes]:
    """``body`` sent chunked (no Content-Length): the limit can only be found while the body streams in."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_chunked_bodies_over_the_limit_get_413(tmp_path: Path) -> None:
    with make_client(tmp_path, max_upload_bytes=2_000) as client:
        json_body = client.post(
            "/siting", content=_chunks(b" " * 2_000_000), headers={"Content-Type": "application/json"}
        )
        form = b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n' + b"x" * 5_000
        upload = client.post(
            "/imports",
            content=_chunks(form + b"\r\n--B--\r\n", 1_000),
            headers={"Content-Type": "multipart/form-data; boundary=B", "Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    assert (json_body.status_code, upload.status_code) == (413, 413)


def test_chunked_bodies_over_the_limit_are_refused_unread(client: TestClient) -> None:
    """The body is refused while it streams in: never parsed, nothing filed."""
    before = len(reports_of(client, "HZ-1"))
    body = b'{"kind": "other", "message": "' + b"x" * 1_100_000 + b'"}'
    response = client.post(
        "/stations/HZ-1/reports", content=_chunks(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413 and len(reports_of(client, "HZ-1")) == before


def test_import_uploads_have_their_own_limit(tmp_path: Path) -> None:
    with make_client(tmp_path, max_upload_bytes=2_000) as client:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        response = client.post("/imports", files={"file": ("big.csv", b"x" * 3_000)}, headers=headers)
        assert response.status_code == 413 and "2,000 bytes" in response.json()["detail"]


# --------------------------------------------------------------------------- access log


def logged(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "yizhan.access"]


def test_the_access_log_keeps_no_token_no_position_no_address(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    secret_query = "s3cr3t-query-token"
    with caplog.at_level(logging.INFO, logger="yizhan.access"):
        nearby = client.get(
            "/stations/nearby",
            params={"lon": "120.1612345", "lat": "30.2509876", "k": 2, "token": secret_query},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "User-Agent": "rider-phone/1.0"},
        )
        listing = client.get("/reports", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        report = client.post("/stations/HZ-2/reports", json={"kind": "moved", "lon": 120.2101234, "lat": 30.2456789})
    assert nearby.status_code == 200 and listing.status_code == 200 and report.status_code == 201
    text = "\n".join(r.getMessage() for r in caplog.records)
    for never in (ADMIN_TOKEN, secret_query, "1612345", "2509876", "2101234", "2456789", "testclient", "rider-phone"):
        assert never not in text
    lines = logged(caplog)
    assert [line["path"] for line in lines] == ["/stations/nearby", "/reports", "/stations/HZ-2/reports"]
    first = lines[0]
    assert first["query"] == "lon=120.16&lat=30.25&k=2&token=[redacted]"
    # the bytes as sent: compressed (api.compression) when the client accepts it, as TestClient does
    assert first["method"] == "GET" and first["status"] == 200 and first["bytes"] == nearby.num_bytes_downloaded
    assert first["request_id"] == nearby.headers["x-request-id"] and first["duration_ms"] >= 0
    assert len(first["client"]) == 16 and first["client"] == lines[1]["client"]  # one client, one daily key
    assert set(first) == {"time", "request_id", "method", "path", "query", "status", "duration_ms", "bytes", "client"}
    assert lines[2]["status"] == 201 and lines[2]["query"] == ""


@given(
    method=st.text(max_size=10),
    path=st.text(max_size=60),
    query=st.binary(max_size=80),
    rid=st.text(max_size=20),
    status=st.integers(100, 599),
    sent=st.integers(0, 2**40),
    duration_s=st.floats(0, 1e6),
    client=st.none() | st.tuples(st.text(max_size=20), st.integers(0, 65535)),
)
def test_a_log_line_is_what_json_dumps_writes_of_its_record(
    method: str, path: str, query: bytes, rid: str, status: int, sent: int, duration_s: float, client: Any
) -> None:
    """The line is put together by hand (it is made for every request): the very text json.dumps writes of the
    record, for any path, query, method, id and client (quotes, backslashes, control characters, lone surrogates,
    right-to-left marks), so it still parses as JSON and stays one line."""
    log = AccessLog(app=None, secret="s")  # type: ignore[arg-type]  # the line needs no app
    scope = {"method": method, "path": path, "query_string": query, "client": client}
    line = log.line(scope, rid, status, sent, duration_s)
    record = json.loads(line)
    expected = {
        "time": record["time"],
        "request_id": rid,
        "method": method,
        "path": path,
        "query": log_query(query.decode("latin-1")),
        "status": status,
        "duration_ms": round(duration_s * 1000, 2),
        "bytes": sent,
        "client": log._client(client[0], datetime.fromisoformat(record["time"]).date()) if client else None,
    }
    assert line == json.dumps(expected) and "\n" not in line and line.isascii()
    # the time as datetime.isoformat writes UTC to the millisecond, and now
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", record["time"])
    assert abs((datetime.now(UTC) - datetime.fromisoformat(record["time"])).total_seconds()) < 2


def test_client_hashes_kept_per_day_are_the_reports_keyed_hash() -> None:
    log = AccessLog(app=None, secret="s")  # type: ignore[arg-type]  # the hash needs no app
    days = [datetime(2026, 12, 4, 23, 59, tzinfo=UTC), datetime(2026, 12, 5, 0, 1, tzinfo=UTC)]
    for _ in range(2):  # made, then kept
        assert [log._client("10.0.0.1", d.date()) for d in days] == [client_key("10.0.0.1", "s", d)[:16] for d in days]
    assert log._client("10.0.0.1", days[0]) != log._client("10.0.0.1", days[1]) != log._client("10.0.0.2", days[1])


def test_request_ids_from_a_proxy_are_kept_when_sane(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="yizhan.access"):
        kept = client.get("/healthz", headers={"X-Request-ID": "lb-42.a:b_c"})
        replaced = client.get("/healthz", headers={"X-Request-ID": "x" * 65})
        injected = client.get("/healthz", headers={"X-Request-ID": 'a" , "status": 200'})
    assert kept.headers["x-request-id"] == "lb-42.a:b_c"
    assert len(replaced.headers["x-request-id"]) == 16 and len(injected.headers["x-request-id"]) == 16
    assert [line["request_id"] for line in logged(caplog)] == [
        "lb-42.a:b_c",
        replaced.headers["x-request-id"],
        injected.headers["x-request-id"],
    ]


def test_a_crash_is_logged_as_500() -> None:
    """In the app, Starlette's error middleware (outermost) answers 500 after the exception passes the log."""

    async def crashing(_scope: Scope, _receive: Receive, _send: Send) -> None:
        raise RuntimeError("boom")

    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("yizhan.access")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        with pytest.raises(RuntimeError):
            TestClient(AccessLog(crashing, secret="s")).get("/?lat=1.23456")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    (line,) = [json.loads(r) for r in records]
    assert line["status"] == 500 and line["query"] == "lat=1.23" and line["bytes"] == 0


_NUMBER = st.floats(min_value=-180, max_value=180, allow_nan=False).map(repr)


@settings(max_examples=300)
@given(
    lon=_NUMBER,
    lat=_NUMBER,
    secret=st.text(alphabet="abcdefXYZ0123456789-_.~", min_size=8, max_size=40),
    other=st.text(max_size=300),
)
def test_logged_queries_round_positions_and_hide_secrets(lon: str, lat: str, secret: str, other: str) -> None:
    assume(secret not in other)
    query = str(httpx.QueryParams({"LON": lon, "lat": lat, "api_key": secret, "types": other}))
    logged_query = log_query(query)
    decoded = dict(httpx.QueryParams(logged_query))
    assert abs(float(decoded["LON"]) - float(lon)) <= 0.005 + 1e-9
    assert abs(float(decoded["lat"]) - float(lat)) <= 0.005 + 1e-9
    assert len(decoded["lat"].partition(".")[2]) == 2
    assert decoded["api_key"] == "[redacted]" and secret not in logged_query
    encoded = query.rpartition("types=")[2]
    assert logged_query.rpartition("types=")[2] == (encoded if len(encoded) <= 100 else encoded[:100] + "…")


SERVE = """
import sys, uvicorn
from api.access_log import uvicorn_log_config
uvicorn.run("api.app:create_app", factory=True, host="127.0.0.1", port=int(sys.argv[1]),
            access_log=False, log_config=uvicorn_log_config())
"""
"""What ``yizhan serve`` runs (``api/cli.py``), with uvicorn's access log off in favour of ours."""


@pytest.mark.slow
def test_a_served_app_logs_json_lines_on_stdout_and_nothing_personal(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "YIZHAN_DATABASE_URL": f"sqlite:///{tmp_path / 's.sqlite3'}",
        "YIZHAN_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port)], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        position = {"lon": "120.1612345", "lat": "30.2509876", "k": 3}
        answer = httpx.get(
            f"{url}/stations/nearby", params=position, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        assert answer.status_code == 200
    finally:
        server.terminate()
        out, err = (stream.decode() for stream in server.communicate(timeout=60))
    lines = [json.loads(line) for line in out.splitlines()]  # stdout holds nothing but the access log
    (nearby,) = [line for line in lines if line["path"] == "/stations/nearby"]
    assert nearby["query"] == "lon=120.16&lat=30.25&k=3" and nearby["request_id"] == answer.headers["x-request-id"]
    assert "Uvicorn running on" in err  # uvicorn's own logging is kept...
    assert '"GET /stations/nearby' not in err  # ...but not its access log
    for never in (ADMIN_TOKEN, "1612345", "2509876", "127.0.0.1"):
        assert never not in out


# --------------------------------------------------------------------------- concurrent planning requests


def test_planning_requests_beyond_the_cap_wait_then_get_503() -> None:
    gate = anyio.Event()
    started = anyio.Event()

    async def slow(_request: Request) -> Response:
        started.set()
        await gate.wait()
        return PlainTextResponse("done")

    async def quick(_request: Request) -> Response:
        return PlainTextResponse("quick")

    inner = Starlette(routes=[Route("/siting", slow), Route("/healthz", quick)])
    app = ConcurrencyLimit(inner, paths=["/siting"], limit=1, wait_s=0.2)

    async def scenario() -> tuple[int, int, int, str, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            results: dict[str, httpx.Response] = {}

            async def first() -> None:
                results["first"] = await client.get("/siting")

            async with anyio.create_task_group() as group:
                group.start_soon(first)
                await started.wait()
                busy = await client.get("/siting")  # the one turn is taken for longer than wait_s
                other = await client.get("/healthz")  # other paths are not limited
                gate.set()
            after = await client.get("/siting")
            return (
                busy.status_code,
                other.status_code,
                results["first"].status_code,
                busy.headers["retry-after"],
                after.status_code,
            )

    busy, other, first, retry_after, after = run_isolated(scenario)
    assert (busy, other, first, after) == (503, 200, 200, 200)
    assert retry_after == "1" and app.running == 0


def test_the_app_caps_every_planning_route(client: TestClient) -> None:
    (limit,) = [m for m in client.app.user_middleware if m.cls is ConcurrencyLimit]
    assert set(limit.kwargs["paths"]) == {
        "/coverage",
        "/coverage/profile",
        "/coverage/night-gaps",
        "/gaps",
        "/hotspots",
        "/maps/coverage",
        "/reports/district/{adcode}",
        "/siting",
        *(f"/ogc/collections/{name}/items{tail}" for name in ("coverage", "gaps") for tail in ("", "/{fid}")),
    }
    own = {path for path in limit.kwargs["paths"] if not path.startswith("/ogc/")}  # OGC's are /{collection_id}/
    assert set(client.get("/openapi.json").json()["paths"]) >= own  # each one a route of the app
    assert limit.kwargs["limit"] == 2


def test_a_line_queued_without_a_record_is_what_logging_writes() -> None:
    """``AccessLog`` hands its line straight to the queued handler only when logging would write exactly the message
    there and nowhere else; the text is the same either way, and any other set-up goes through ``Logger.info``."""
    from api.access_log import QueuedStreamHandler, _plain_queue

    out = io.StringIO()
    handler = QueuedStreamHandler(out)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.Logger("yizhan.access.test")
    logger.addHandler(handler)
    logger.propagate = False
    line = '{"path": "/驿站", "query": "{{ 7*7 }}"}'
    assert _plain_queue(logger) is handler
    logger.info(line)
    handler.drain()
    handler.put_line(line)
    handler.drain()
    assert out.getvalue() == line + "\n" + line + "\n"
    logger.propagate = True  # a parent's handlers would see the record too
    assert _plain_queue(logger) is None
    logger.propagate = False
    handler.addFilter(logging.Filter("yizhan"))
    assert _plain_queue(logger) is None
    handler.filters.clear()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    assert _plain_queue(logger) is None
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(logging.NullHandler())
    assert _plain_queue(logger) is None
