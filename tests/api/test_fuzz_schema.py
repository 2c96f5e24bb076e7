"""Fuzzing the HTTP API from its own OpenAPI document (schemathesis): every operation the app has when the
tests run, with no list of endpoints to keep up to date.

Each operation gets the examples in the schema, schemathesis's boundary cases (its "coverage" phase, valid and
invalid) and a fixed number of random requests, from a fixed seed, against the app on a fresh SQLite copy of
the sample registry. Every answer must be no 5xx, a documented status code with the documented content type,
headers and body (errors included: ``{"error", "detail"}``), 401/403 for writes whose token is missing or
wrong, and a 405 that lists every allowed method.

``positive_data_acceptance`` is off: it wants a 2xx for any request the schema allows, but the API checks
more than a schema can say (an adcode must be a known district, ``types`` must name known types, an id must
exist...) and answers 4xx for those, as it should.

Bounds: ``MAX_EXAMPLES`` random requests per operation, and a coverage grid of at most 200,000 cells (cell
sizes below ~300 m are refused with a 422), so that coverage, gaps, the coverage map and siting answer in a
second or two. About 1,400 requests in all; the whole-registry XLSX export (~1.2 s a request) takes a third of
the time.

Each bug the fuzzing found has a small regression test at the end of the file. If a new one is found in code
this file does not own, keep the fuzzing green by letting ``call_and_validate`` report that operation as an
xfail (naming the bug), and add a strict-xfail regression test for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.python import asgi
from starlette.types import Receive, Scope, Send

from api.app import create_app
from stations.registry import Registry
from stations.settings import SAMPLE_DIR, Settings
from stations.store import Store

pytestmark = pytest.mark.slow  # ~1,400 requests: 1.5–2 minutes on two shared cores

MAX_EXAMPLES = 10
SEED = 20261123
TOKEN = "fuzz-admin-token-not-a-secret"


def fuzz_settings(folder: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{folder / 'fuzz.sqlite3'}",
        check_interval_s=0,
        max_cells=200_000,
        admin_token=TOKEN,
    )


class AppUnderTest:
    """The app a fixture builds on a fresh database, behind one ASGI object that exists from import time.

    The schema must be loaded when this module is imported, so that pytest lists one test per operation; the
    app needs a database, which only a fixture should make. schemathesis starts the app's lifespan on the
    first request and keeps it until ``asgi.shutdown_lifespans()``.
    """

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "the app_under_test fixture has not run"
        await self.app(scope, receive, send)


SPEC = create_app(fuzz_settings(Path("unused"))).openapi()  # building the app and its schema touches no database
BEARER = [
    name
    for name, scheme in SPEC.get("components", {}).get("securitySchemes", {}).items()
    if scheme.get("scheme") == "bearer"
]
APP = AppUnderTest()


def _schema(**config: Any) -> schemathesis.BaseSchema:
    loaded = schemathesis.openapi.from_dict(
        SPEC,
        config=schemathesis.Config.from_dict(
            {
                "seed": SEED,
                "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
                "checks": {"positive_data_acceptance": {"enabled": False}},
                **config,
            }
        ),
    )
    loaded.app = APP  # what schemathesis.openapi.from_asgi does: requests go to the app in-process
    return loaded


def call_and_validate(case: schemathesis.Case) -> None:
    """Send ``case`` and run every check: no 5xx, status codes, content types and bodies as documented."""
    case.call_and_validate()


def _needs_a_token(context: Any) -> bool:
    return bool(context.operation.definition.raw.get("security"))


with_token = _schema(auth={"openapi": {name: {"bearer": TOKEN} for name in BEARER}} if BEARER else {})
without_token = _schema().include(func=_needs_a_token)


@pytest.fixture(scope="module", autouse=True)
def app_under_test(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The app on a fresh SQLite file holding the sample registry, and an admin token."""
    settings = fuzz_settings(tmp_path_factory.mktemp("fuzz"))
    store = Store(settings.database_url)
    Registry(store).import_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv")
    store.engine.dispose()
    APP.app = create_app(settings)
    assert APP.app.openapi() == SPEC
    yield APP.app
    asgi.shutdown_lifespans()
    APP.app = None


@with_token.parametrize()
def test_every_operation_with_a_token(case: schemathesis.Case) -> None:
    """Reads, and writes with an admin token; for each write that succeeds, schemathesis also sends it with no
    token and with a wrong one, and wants 401/403."""
    call_and_validate(case)


@pytest.mark.skipif(not BEARER, reason="the API declares no bearer-token security scheme")
@without_token.parametrize()
def test_writes_without_a_token(case: schemathesis.Case) -> None:
    """The operations that need a token, with none or with made-up ones: 401/403 with the error body, never 5xx."""
    call_and_validate(case)


# --- fixed here: regressions of what the fuzzing found in api/errors.py --------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A plain TestClient on its own empty registry, for the regression tests below."""
    app = create_app(fuzz_settings(tmp_path_factory.mktemp("regressions")))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_validation_errors_match_their_documented_schema(client: TestClient) -> None:
    """FastAPI documented 422 as ``{"detail": [{"loc", "msg", "type"}]}``; the API sends ``{"error", "detail":
    [{"field", "value", "reason"}]}``, which the document now says."""
    response = client.get("/stations/nearby", params={"lon": 500, "lat": 30})
    assert response.status_code == 422
    assert response.json() == {
        "error": "invalid_value",
        "detail": [{"field": "lon", "value": "500", "reason": "Input should be less than or equal to 180"}],
    }
    documented = SPEC["paths"]["/stations/nearby"]["get"]["responses"]["422"]["content"]["application/json"]
    assert documented["schema"] == {"$ref": "#/components/schemas/InvalidValueError"}
    assert "HTTPValidationError" not in str(SPEC)
    for path_item in SPEC["paths"].values():
        for operation in path_item.values():
            assert operation["responses"]["4XX"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_405_lists_every_allowed_method(client: TestClient) -> None:
    """Starlette's 405 named the methods of the first route with the path only (GET of /stations, not POST), and
    the error handler dropped even that ``Allow`` header."""
    response = client.request("PUT", "/stations")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}
    response = client.request("TRACE", "/stations/HZ-1")
    assert set(response.headers["allow"].split(", ")) == {"GET", "PATCH", "DELETE"}
    # the resource /stations/nearby is GET only, although a PATCH there would reach /stations/{station_id}
    assert client.request("OPTIONS", "/stations/nearby").headers["allow"] == "GET"


# --- found here, fixed elsewhere: regressions ------------------------------------------------------------


def test_created_station_is_documented_as_geojson() -> None:
    assert "application/geo+json" in SPEC["paths"]["/stations"]["post"]["responses"]["201"]["content"]


@pytest.mark.parametrize(
    ("method", "path", "body"), [("GET", "/coverage?cell_m=5e-324", None), ("POST", "/siting", {"cell_m": 5e-324})]
)
def test_tiny_cell_sizes_are_refused(client: TestClient, method: str, path: str, body: dict | None) -> None:
    assert client.request(method, path, json=body).status_code == 422


def test_pages_find_their_assets_under_pytest(client: TestClient) -> None:
    assert (resources.files("maps") / "static" / "app.css").is_file()  # the station app moved to maps/static
    assert (resources.files("api") / "static" / "builder.css").is_file()
    assert client.get("/embed/builder").status_code == 200
