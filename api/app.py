"""The FastAPI application factory; state (store, districts, registry) is built in the lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api import errors, sessions
from api.access_log import AccessLog
from api.auth import TokenFirst
from api.compression import Compression
from api.concurrency import ConcurrencyLimit
from api.cors import CrossOrigin
from api.head import HeadAsGet
from api.hot_routes import Answer, HotRoutes
from api.limits import BodyLimit, BodyTimeout
from api.routes import (
    console,
    console_keeping,
    console_stations,
    coverage,
    districts,
    editing,
    health,
    hotspots,
    imports,
    ogc,
    opendata,
    pages,
    reports,
    search,
    stations,
)
from api.security import PageRule, SecurityHeaders, docs_rules, tile_sources
from api.young_collections import YoungCollections
from maps.tiles import OSM_TILES
from stations.accounts import Accounts
from stations.people import People
from stations.reports import Reports
from stations.service import Service
from stations.settings import Settings, get_settings

REQUEST_BODY_LIMIT = 1_000_000
"""Largest request body (bytes) anywhere but the uploads (``UPLOAD_PATHS``), whose limit is a setting."""
UPLOAD_PATHS = ("/imports", "/console/imports")
"""Where station files are uploaded: the API's imports and the keeper console's."""

DESCRIPTION = """
Yizhan (驿站) finds union service stations: outdoor-worker stations (户外劳动者服务站, 爱心驿站, 骑士之家),
driver homes (司机之家) and nursing rooms (母婴室). Coordinates are WGS84 unless a `crs` parameter says
`gcj02` (Amap, Tencent) or `bd09` (Baidu); GeoJSON responses put longitude first (RFC 7946).
"""


def create_app(settings: Settings | None = None, *, freeze_at_startup: bool = False) -> FastAPI:
    """A Yizhan API app; ``settings`` default to the environment's.

    ``freeze_at_startup`` (``yizhan serve``'s workers: ``api.serving.serving_app``): once the first snapshot is
    built, everything made so far — modules, classes, the app, the snapshot, ~200,000 objects — is moved out of the
    cyclic garbage collector's way (``gc.freeze``). Otherwise each full collection walks them all again: 130–190 ms
    with every request of the worker waiting, at the sample and at 1M stations alike, and at 1M the caches' churn
    brings one every ~2,000 nearby answers (bench/RESULTS.md: "Start-up frozen out of the garbage collector's
    way"). Only what start-up made is frozen; it is still freed by reference counting when dropped (the first
    snapshot after a refresh). Not for a process that makes and drops app after app (tests): a dropped app is a
    cycle, and a frozen cycle is never collected.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.service = Service(settings)
        app.state.registry = app.state.service.registry
        app.state.registry.snapshot()  # build the index before the first request
        app.state.registry.refresh_in_background()  # another process's writes: readers never wait for them
        app.state.planner = app.state.service.optional_planner
        app.state.accounts = Accounts(app.state.registry.store, settings.admin_token)
        app.state.reports = Reports(app.state.registry.store, settings.reports_per_hour)
        app.state.people = People.from_settings(app.state.registry.store, settings)
        app.state.people.prepare()  # its dummy hash: the first unknown name at sign-in costs what a known one does
        if freeze_at_startup:
            gc.collect()  # no garbage of start-up's frozen with the rest
            gc.freeze()
        yield
        app.state.registry.stop_background()
        app.state.registry.store.engine.dispose()

    app = FastAPI(
        title="Yizhan 驿站",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        telemetry=None if settings.opentelemetry else {"tracing": False, "metrics": False, "logs": False},
        redirect_slashes=False,  # Starlette's redirects name the Host header's host; api.errors redirects relatively
    )
    errors.install(app)
    sessions.install(app)  # the keeper console's sign-in redirects and refusal pages
    # the router tries routes in this order (~10 µs each, FastAPI 0.165): the hot ones first — /healthz and the
    # station routes (/stations/nearby) — which no other route's path overlaps
    for module in (health, stations, opendata, search, editing, imports, reports, districts, coverage, ogc, pages,
                   console, console_stations):  # fmt: skip
        app.include_router(module.router)
    app.include_router(console_keeping.router)  # the keeper console's imports and reports queue
    install_middleware(app, settings)
    return app


def install_middleware(app: FastAPI, settings: Settings, lanes: Mapping[str, Answer] | None = None) -> None:
    """The request pipeline, outermost first: access log and request id; HEAD answered as GET without a body;
    Brotli or gzip for text answers; security headers and page policies; cross-origin rules; a JSON 500 for
    anything unhandled (so it still carries the headers above); the token check of writes, before any body is
    read; the time limit and the size limit on request bodies; JSON bodies that are not Unicode text refused;
    the cap on concurrent planning requests and their memory ceiling, so that a turn is taken only once the body
    is in; innermost, the lane of the hottest routes (``api.hot_routes``). Outside them all, the garbage collector
    run on a schedule counted in requests (``api.young_collections``). All pure ASGI. ``lanes``: the hot routes'
    answers (default ``/healthz`` and ``/stations/nearby``'s; bench/floor_app.py puts its own behind the pipeline)."""

    def relieve() -> None:
        planner = getattr(app.state, "planner", None)
        if planner is not None:
            planner.clear_cache()

    # the planning routers' own routes (a router included in another is not listed among its APIRoutes)
    planning = [
        route.path for r in (coverage.router, hotspots.router) for route in r.routes if isinstance(route, APIRoute)
    ]
    planning += ogc.PLANNING_PATHS  # coverage and gaps as OGC API features
    if lanes is None:
        lanes = {"/healthz": health.healthz_lane, "/stations/nearby": stations.nearby_lane}
    app.add_middleware(HotRoutes, answers=lanes)
    app.add_middleware(
        ConcurrencyLimit,
        paths=planning,
        limit=settings.planning_concurrency,
        wait_s=settings.planning_wait_s,
        memory_bytes=settings.planning_memory_bytes,
        relieve=relieve,
    )
    app.add_middleware(errors.JsonBodies)
    app.add_middleware(
        BodyLimit,
        limit_for=lambda path: settings.max_upload_bytes if path in UPLOAD_PATHS else REQUEST_BODY_LIMIT,
    )
    app.add_middleware(
        BodyTimeout,
        timeout_for=lambda path: settings.upload_timeout_s if path in UPLOAD_PATHS else settings.body_timeout_s,
    )
    app.add_middleware(TokenFirst)
    app.add_middleware(errors.ServerErrors)
    app.add_middleware(CrossOrigin, read_origins=settings.cors_origins, write_origins=settings.cors_write_origins)
    tiles = (*tile_sources(settings.tiles), *tile_sources(OSM_TILES))  # /maps/coverage always draws OpenStreetMap
    rules = {
        **pages.page_rules(settings, pages.live_photo_hosts(lambda: getattr(app.state, "registry", None))),
        **docs_rules(app),
        # the coverage map's legend colours its swatches with style attributes (maps.coverage)
        "/maps/coverage": PageRule(sources={"style-src-attr": ("'unsafe-inline'",)}),
    }
    app.add_middleware(SecurityHeaders, img_sources=tiles, rules=rules)
    app.add_middleware(Compression)
    app.add_middleware(HeadAsGet)
    app.add_middleware(AccessLog, secret=settings.secret)
    app.add_middleware(YoungCollections)
