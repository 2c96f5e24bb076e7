"""Station photos under the pages' Content-Security-Policy: the rider page and the embed may load images from the
hosts of the registry's https photo URLs as they are now (or the operator's YIZHAN_PHOTO_SOURCES), from no other
host, and every other page stays as it was."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from api.app import create_app
from api.routes.pages import PHOTO_ORIGINS_MAX, photo_origins
from stations.settings import Settings


def stations_csv(photos: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "name", "types", "lon", "lat", "photo_url"])
    for number, url in enumerate(photos):
        writer.writerow([f"P-{number}", f"驿站{number}", "outdoor_worker", 120.16 + number / 1000, 30.25, url])
    return out.getvalue().encode("utf-8")


def img_sources(client: TestClient, path: str) -> list[str]:
    policy = client.get(path).headers["content-security-policy"]
    (img,) = [d.split()[1:] for d in policy.split("; ") if d.startswith("img-src ")]
    return img


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[object]:
    clients: list[TestClient] = []

    def make(photos: list[str], **overrides: object) -> tuple[TestClient, object]:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / f'db{len(clients)}.sqlite3'}", demand_path=None, **overrides
        )
        app = create_app(settings)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        report = app.state.registry.import_file(stations_csv(photos), "photos.csv")
        assert report.committed and not report.problems
        app.state.registry.refresh()
        return client, app

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_the_pages_load_photos_from_the_registrys_photo_hosts_only(make_client) -> None:  # type: ignore[no-untyped-def]
    client, app = make_client(
        ["https://img.union.example.cn/a.jpg", "https://img.union.example.cn/b.jpg", "http://plain.example.cn/c.jpg",
         "https://cdn.example.com:8443/d.png", ""]
    )  # fmt: skip
    for path in ("/", "/embed"):
        sources = img_sources(client, path)
        assert "https://img.union.example.cn" in sources and "https://cdn.example.com:8443" in sources
        assert not {"https:", "http:", "*", "http://plain.example.cn"} & set(sources)
    assert "https://img.union.example.cn" not in img_sources(client, "/embed/builder")
    # a new photo host is allowed once the registry has it
    report = app.state.registry.import_file(stations_csv(["https://new.example.org/x.jpg"] * 6), "more.csv")
    assert report.committed
    app.state.registry.refresh()
    assert "https://new.example.org" in img_sources(client, "/")


def test_the_operator_may_list_the_photo_hosts(make_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = make_client(["https://img.union.example.cn/a.jpg"], photo_sources="https://photos.example.cn")
    sources = img_sources(client, "/")
    assert "https://photos.example.cn" in sources and "https://img.union.example.cn" not in sources
    with pytest.raises(ValueError, match="not a photo source"):
        Settings(photo_sources="http://plain.example.cn")
    with pytest.raises(ValueError, match="not a photo source"):
        Settings(photo_sources="https://x.cn; script-src *")


HOST = st.from_regex(r"[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){0,2}", fullmatch=True)
URL = st.one_of(
    st.builds(lambda host, path: f"https://{host}/{path}", HOST, st.text(max_size=10)),
    st.builds(lambda host: f"http://{host}/x", HOST),
    st.text(max_size=30),
    st.none(),
)


@given(st.lists(URL, max_size=80))
def test_photo_origins_are_the_https_hosts_most_used_first(urls: list[str | None]) -> None:
    found = photo_origins(urls)
    counts: dict[str, int] = {}
    for url in urls:  # brute force: every https URL of a plain host name counts for https://host
        if url and url.startswith("https://"):
            host = re.split(r"[/?#\\]", url[len("https://") :])[0].lower()
            if re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*", host):
                counts[f"https://{host}"] = counts.get(f"https://{host}", 0) + 1
    plain = {source for source in found if ":" not in source[len("https://") :]}
    assert len(found) <= PHOTO_ORIGINS_MAX and len(set(found)) == len(found)
    assert all(source.startswith("https://") and " " not in source and ";" not in source for source in found)
    if len(counts) <= PHOTO_ORIGINS_MAX:
        assert plain == set(counts)
    ranks = [counts.get(source, 0) for source in found if source in counts]
    assert ranks == sorted(ranks, reverse=True)
