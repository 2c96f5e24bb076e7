"""Weight and speed (issue 14 item 5): Brotli/gzip negotiated for text, never for XLSX, short or partial answers;
streamed bodies still stream; HEAD, ETags and the security headers unchanged by compression; ETag + 304 +
Cache-Control on the rider page, ``/districts`` (and its light list) and ``/stations``, changing with the
registry version; the drop-down's list a small fraction of the boundaries."""

from __future__ import annotations

import gzip
import json
import random
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import brotli
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from api.app import create_app
from api.caching import IMMUTABLE, REVALIDATE, etag_matches
from api.compression import SMALL_BODY, Compression, _compress_kept, compress, compressible, negotiate
from stations.settings import SAMPLE_DIR, Settings
from tests.event_loop import run_isolated

CSV = (
    "id,name,types,lon,lat,opening_hours\n"
    "HZ-1,湖滨驿站,outdoor_worker,120.1612,30.2509,24/7\n"
    "HZ-2,钱江司机之家,driver_home,120.2100,30.2450,Mo-Su 08:00-20:00\n"
).encode()
MORE = "id,name,types,lon,lat\nHZ-3,龙翔桥驿站,outdoor_worker,120.1700,30.2600\n".encode()
BR = {"Accept-Encoding": "gzip, deflate, br"}
GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path: Path = tmp_path_factory.mktemp("weight") / "w.sqlite3"
    app = create_app(Settings(database_url=f"sqlite:///{path}", demand_path=None))
    with TestClient(app) as client:
        assert app.state.registry.import_file((SAMPLE_DIR / "stations.csv").read_bytes(), "w.csv").committed
        app.state.registry.refresh()
        yield client


def raw(client: TestClient, path: str, headers: dict[str, str], method: str = "GET") -> tuple[Any, bytes]:
    """The response and its body as sent (not decoded)."""
    with client.stream(method, path, headers=headers) as response:
        body = b"".join(response.iter_raw())
    return response, body


def decode(body: bytes, coding: str | None) -> bytes:
    if coding == "br":
        return brotli.decompress(body)
    if coding == "gzip":
        return gzip.decompress(body)
    assert coding is None
    return body


# ------------------------------------------------------------------------------------------------ negotiation


def test_negotiation_follows_the_clients_weights() -> None:
    assert negotiate("gzip, deflate, br, zstd") == "br"  # Chromium's header: Brotli first when both are fine
    assert negotiate("gzip") == "gzip" and negotiate("deflate") is None and negotiate("") is None
    assert negotiate("br;q=0.1, gzip;q=0.9") == "gzip"
    assert negotiate("br;q=0, gzip;q=0") is None and negotiate("*;q=0") is None
    assert negotiate("br;q=0, *") == "gzip" and negotiate("*") == "br"
    assert negotiate("br", ("gzip",)) is None  # Brotli turned off
    assert negotiate("BR; Q=1") == "br" and negotiate("gzip;q=oops, br;q=0") is None


def _reference(header: str, offered: tuple[str, ...]) -> str | None:
    """Brute force: every offered coding's weight from the last entry naming it (or ``*``), best weight, then order."""
    entries = []
    for part in header.split(","):
        name, *params = [piece.strip().lower() for piece in part.split(";")]
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        entries.append((name, q))
    scored = []
    for rank, coding in enumerate(offered):
        named = [q for name, q in entries if name == coding]
        star = [q for name, q in entries if name == "*"]
        q = named[-1] if named else star[-1] if star else 0.0
        if q > 0:
            scored.append((-q, rank, coding))
    return min(scored)[2] if scored else None


CODINGS = st.sampled_from(["br", "gzip", "deflate", "identity", "*", "zstd", "BR", "Gzip"])
ENTRY = st.tuples(CODINGS, st.one_of(st.none(), st.sampled_from(["0", "0.5", "1", "0.001", "x", "1.0"])))


@given(st.lists(ENTRY, max_size=5), st.sampled_from([("br", "gzip"), ("gzip",)]))
def test_negotiation_matches_a_brute_force_reading(entries: list[tuple[str, str | None]], offered: Any) -> None:
    header = ", ".join(name if q is None else f"{name};q={q}" for name, q in entries)
    assert negotiate(header, offered) == _reference(header, offered)


def test_what_is_compressible() -> None:
    for kind in ("text/html; charset=utf-8", "application/geo+json", "text/csv; charset=utf-8", "text/javascript"):
        assert compressible(kind.encode())
    for kind in (XLSX, "image/png", "application/zip", "text/event-stream", "application/octet-stream", ""):
        assert not compressible(kind.encode())


# -------------------------------------------------------------------- the middleware on any body, streamed or not


def _streaming_app(chunks: list[bytes], content_type: bytes) -> Any:
    async def app(_scope: Any, _receive: Any, send: Any) -> None:
        headers = [(b"content-type", content_type), (b"etag", b'"e1"')]
        if len(chunks) == 1:
            headers.append((b"content-length", b"%d" % len(chunks[0])))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for i, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1})

    return app


def _run(app: Any, accept: str) -> tuple[dict[bytes, bytes], list[bytes]]:
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"accept-encoding", accept.encode())]}
    run_isolated(Compression(app, minimum_size=64), scope, receive, send)  # a browser test may hold this thread's loop
    start, bodies = sent[0], sent[1:]
    assert all(message["type"] == "http.response.body" for message in bodies)
    assert not bodies[-1].get("more_body", False) and all(m.get("more_body", False) for m in bodies[:-1])
    return dict(start["headers"]), [message["body"] for message in bodies]


TEXTY = st.binary(max_size=3000) | st.text(max_size=1500).map(str.encode)


@given(st.lists(TEXTY, min_size=1, max_size=6), st.sampled_from(["br", "gzip", "identity", "br;q=0, gzip"]))
def test_any_body_comes_back_whole_in_the_encoding_said(chunks: list[bytes], accept: str) -> None:
    headers, bodies = _run(_streaming_app(chunks, b"text/plain; charset=utf-8"), accept)
    coding = headers.get(b"content-encoding", b"").decode() or None
    assert decode(b"".join(bodies), coding) == b"".join(chunks)
    assert headers[b"etag"] == b'"e1"'  # the ETag names the content, whatever the encoding
    if b"content-length" in headers:
        assert int(headers[b"content-length"]) == len(b"".join(bodies))
    if len(chunks) == 1 and len(chunks[0]) < 64:
        assert coding is None and b"vary" not in headers  # too short to gain, the same for every client
    else:
        assert headers[b"vary"] == b"Accept-Encoding"
        assert (coding is None) == (accept == "identity")
    if coding is not None and len(chunks) > 1:
        assert b"content-length" not in headers
        early = [chunk for chunk in chunks[:-1] if chunk]  # an empty chunk has nothing to send
        assert len(bodies) >= len(early)  # still streamed, never gathered into one message
        stream = brotli.Decompressor() if coding == "br" else zlib.decompressobj(16 + zlib.MAX_WBITS)
        seen = b""
        for i, body in enumerate(bodies[: len(early)]):
            seen += stream.process(body) if coding == "br" else stream.decompress(body)
            assert seen == b"".join(early[: i + 1])  # each chunk decodable on arrival: flushed, not held back


@given(st.sampled_from([1200, 20_000, SMALL_BODY - 1, SMALL_BODY, 200_000]), st.integers(0, 2**32 - 1))
def test_small_answers_take_the_faster_brotli_quality(size: int, seed: int) -> None:
    rng = random.Random(seed)
    words = ["驿站", "hot_water", '"lon":120.1', "开放", "{", "}", ","]
    body = "".join(rng.choice(words) for _ in range(size)).encode()[:size]
    headers, bodies = _run(_streaming_app([body], b"application/geo+json"), "br")
    assert headers[b"content-encoding"] == b"br"
    assert b"".join(bodies) == brotli.compress(body, quality=1 if size < SMALL_BODY else 5)
    assert brotli.decompress(b"".join(bodies)) == body


def test_a_large_body_sent_again_is_encoded_once() -> None:
    page = ("<p>驿站</p>" * 12_000).encode()  # a page's size: kept with its encoding
    other = page.replace("驿站".encode(), "母婴".encode())  # the same size, other bytes
    before = _compress_kept.cache_info()
    first, again, changed = compress(page, "br"), compress(bytes(page), "br"), compress(other, "br")
    after = _compress_kept.cache_info()
    assert first == again and brotli.decompress(first) == page and brotli.decompress(changed) == other
    assert after.hits - before.hits == 1 and after.misses - before.misses == 2
    assert compress(page, "gzip") != first and gzip.decompress(compress(page, "gzip")) == page


def test_compressed_types_pass_untouched() -> None:
    body = bytes(range(256)) * 20
    headers, bodies = _run(_streaming_app([body], XLSX.encode()), "br")
    assert b"content-encoding" not in headers and b"".join(bodies) == body and b"vary" not in headers


# --------------------------------------------------------------------------------------- the app, end to end


def test_the_rider_page_is_compressed_and_keeps_its_policy(client: TestClient) -> None:
    plain, plain_body = raw(client, "/", IDENTITY)
    assert "content-encoding" not in plain.headers and int(plain.headers["content-length"]) == len(plain_body)
    for headers, coding in ((BR, "br"), (GZIP, "gzip")):
        packed, body = raw(client, "/", headers)
        assert packed.headers["content-encoding"] == coding
        assert int(packed.headers["content-length"]) == len(body) < len(plain_body) / 3
        assert decode(body, coding) == plain_body
        for name in ("content-security-policy", "etag", "cache-control", "x-content-type-options", "x-frame-options"):
            assert packed.headers[name] == plain.headers[name], name
        assert "Accept-Encoding" in packed.headers["vary"]
    assert plain.headers["cache-control"] == REVALIDATE


def test_the_rider_page_is_encoded_once_for_every_rider(client: TestClient) -> None:
    raw(client, "/", BR)
    before = _compress_kept.cache_info().hits
    packed, body = raw(client, "/", BR)
    assert _compress_kept.cache_info().hits == before + 1 and packed.headers["content-encoding"] == "br"
    assert decode(body, "br") == raw(client, "/", IDENTITY)[1]


def test_head_says_what_get_would(client: TestClient) -> None:
    get, get_body = raw(client, "/", BR)
    head, head_body = raw(client, "/", BR, method="HEAD")
    assert head.status_code == 200 and head_body == b""
    for name in ("content-encoding", "content-length", "etag", "content-security-policy", "vary"):
        assert head.headers[name] == get.headers[name], name
    assert int(head.headers["content-length"]) == len(get_body)


def test_short_answers_and_ranges_are_not_compressed(client: TestClient) -> None:
    health, _ = raw(client, "/healthz", BR)
    assert "content-encoding" not in health.headers
    ranged, _ = raw(client, "/", {**BR, "Range": "bytes=0-99"})
    assert "content-encoding" not in ranged.headers


def test_downloads_csv_compressed_xlsx_not(client: TestClient) -> None:
    csv_plain, csv_plain_body = raw(client, "/stations.csv", IDENTITY)
    csv_packed, csv_body = raw(client, "/stations.csv", BR)
    assert csv_packed.headers["content-encoding"] == "br" and decode(csv_body, "br") == csv_plain_body
    assert csv_plain_body.startswith("\ufeff".encode())
    assert csv_packed.headers["content-disposition"] == csv_plain.headers["content-disposition"]
    xlsx, xlsx_body = raw(client, "/stations.xlsx", BR)
    assert "content-encoding" not in xlsx.headers and xlsx_body.startswith(b"PK")


def test_if_none_match_gives_304_on_pages_and_lists(client: TestClient) -> None:
    paths = ["/", "/embed?adcode=330106", "/districts", "/districts?geometry=false", "/stations"]
    paths.append("/stations?format=csv")
    for path in paths:
        first = client.get(path, headers=BR)
        assert first.status_code == 200 and first.headers["cache-control"] == REVALIDATE, path
        etag = first.headers["etag"]
        for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            again = client.get(path, headers={**BR, "If-None-Match": sent})
            assert again.status_code == 304 and again.content == b"", (path, sent)
            assert again.headers["etag"] == etag and again.headers["cache-control"] == REVALIDATE
            assert "Accept-Encoding" in again.headers["vary"]
            assert "content-security-policy" not in again.headers  # it would replace the kept page's own
        assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_list_etags_change_with_the_registry_version(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'v.sqlite3'}", demand_path=None))
    with TestClient(app) as client:
        assert app.state.registry.import_file(CSV, "v.csv").committed
        app.state.registry.refresh()
        paths = ("/districts", "/districts?geometry=false", "/stations", "/embed", "/")
        before = {path: client.get(path).headers["etag"] for path in paths}
        assert len({before["/districts"], before["/districts?geometry=false"]}) == 2  # variants differ
        assert app.state.registry.import_file(MORE, "more.csv").committed  # an edit: one station more
        app.state.registry.refresh()
        for path in paths:
            answer = client.get(path, headers={"If-None-Match": before[path]})
            if path == "/" and answer.status_code == 304:
                continue  # the page changes only when the stations' middle moves; its ETag is its content's
            assert answer.status_code == 200 and answer.headers["etag"] != before[path], path
        ids = [feature["id"] for feature in client.get("/stations").json()["features"]]
        assert ids == ["HZ-1", "HZ-2", "HZ-3"]


def test_the_drop_down_list_is_names_codes_and_boxes(client: TestClient) -> None:
    _, full_body = raw(client, "/districts", IDENTITY)
    _, light_body = raw(client, "/districts?geometry=false", IDENTITY)
    assert len(light_body) < len(full_body) / 20
    full_features, light_features = json.loads(full_body)["features"], json.loads(light_body)["features"]
    assert [f["properties"]["adcode"] for f in light_features] == [f["properties"]["adcode"] for f in full_features]
    for whole, short in zip(full_features, light_features, strict=True):
        assert short["geometry"] is None and short["properties"]["name"] == whole["properties"]["name"]
        assert short["properties"]["stations"] == whole["properties"]["stations"]
        xs, ys = _coordinates(whole["geometry"]["coordinates"])
        west, south, east, north = short["bbox"]
        assert (west, south, east, north) == pytest.approx((min(xs), min(ys), max(xs), max(ys)), abs=1e-6)
    packed, _ = raw(client, "/districts?geometry=false", BR)
    assert packed.headers["content-encoding"] == "br"


def _coordinates(value: Any) -> tuple[list[float], list[float]]:
    if isinstance(value[0], int | float):
        return [value[0]], [value[1]]
    xs: list[float] = []
    ys: list[float] = []
    for part in value:
        x, y = _coordinates(part)
        xs += x
        ys += y
    return xs, ys


def test_an_embed_304_keeps_its_frame_policy(client: TestClient) -> None:
    first = client.get("/embed?adcode=330106")
    again = client.get("/embed?adcode=330106", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and "x-frame-options" not in again.headers  # may still be framed
    assert "frame-ancestors" in first.headers["content-security-policy"]


def test_etag_matching_is_weak() -> None:
    assert etag_matches('W/"a"', '"a"') and etag_matches('"a"', 'W/"a"') and not etag_matches('"a"', '"b"')
    assert not etag_matches("", '"a"') and IMMUTABLE.endswith("immutable")
