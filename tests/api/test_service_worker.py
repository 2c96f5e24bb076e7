"""The rider page's service worker as served (``GET /sw.js``, ``maps.offline``): the script itself, headers that let
it fetch from this server only and reach browsers fresh, the rider page allowed to register it and naming it by the
app's version, and no worker for the embed or the static export (which has no server)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from maps.offline import APP_FILES, SERVICE_WORKER_POLICY, app_version, service_worker_url
from stations.queries import StationMapQuery
from stations.settings import Settings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp: Path = tmp_path_factory.mktemp("sw")
    with TestClient(create_app(Settings(database_url=f"sqlite:///{tmp / 'sw.sqlite3'}", demand_path=None))) as running:
        yield running


def directives(policy: str) -> dict[str, list[str]]:
    return {name: sources for name, *sources in (part.split() for part in policy.split(";"))}


def test_the_worker_is_served_as_a_script_that_fetches_from_this_server_only(client: TestClient) -> None:
    response = client.get("/sw.js?v=whatever")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.text == (resources.files("maps") / "static" / "sw.js").read_text(encoding="utf-8")
    assert response.headers["cache-control"] == "no-cache"  # a browser checking for an update gets the new one
    assert response.headers["service-worker-allowed"] == "/"
    assert response.headers["content-security-policy"] == SERVICE_WORKER_POLICY
    assert directives(SERVICE_WORKER_POLICY) == {"default-src": ["'none'"], "connect-src": ["'self'"]}
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_rider_page_registers_the_worker_of_its_version(client: TestClient) -> None:
    response = client.get("/")
    policy = directives(response.headers["content-security-policy"])
    assert policy["worker-src"] == ["'self'"]
    assert policy["script-src"] and all(source.startswith("'sha256-") for source in policy["script-src"])
    assert f'"service_worker":"{service_worker_url()}"' in response.text
    assert service_worker_url() == f"/sw.js?v={app_version()}"


def test_the_version_changes_with_any_file_of_the_app() -> None:
    files = [(resources.files("maps") / "static" / name).read_bytes() for name in APP_FILES]

    def version(contents: list[bytes]) -> str:
        digest = hashlib.sha256()
        for data in contents:
            digest.update(len(data).to_bytes(8, "big") + data)
        return digest.hexdigest()[:12]

    assert version(files) == app_version()
    for i in range(len(files)):
        changed = [*files[:i], files[i] + b" ", *files[i + 1 :]]
        assert version(changed) != app_version(), APP_FILES[i]


def test_embeds_and_the_static_export_have_no_worker(client: TestClient) -> None:
    embed = client.get("/embed")
    assert embed.status_code == 200 and '"service_worker":' not in embed.text  # the app's code names it
    assert "worker-src" not in embed.headers["content-security-policy"]
    service = client.app.state.service  # type: ignore[attr-defined]  # TestClient.app is the FastAPI app
    static = service.station_map(StationMapQuery.parse(mode="static"))
    assert '"service_worker":' not in static and "/sw.js?" not in static
