"""Liveness and readiness."""

from __future__ import annotations

import os
from functools import lru_cache

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from api.deps import get_registry
from stations.registry import Registry

router = APIRouter(tags=["health"])


# The registry is taken by calling api/deps.py's dependency, not declared as a parameter: FastAPI's resolution of
# dependencies was ~40% of this route's time in-process (cProfile, FastAPI 0.165: 100 -> 65 µs CPU per request),
# and a plain GET is answered by the lane (healthz_lane, api.hot_routes) without FastAPI's routing at all (~20 µs).
# Overriding those dependencies therefore does not reach /healthz.
@router.get("/healthz")
async def healthz(request: Request) -> dict[str, object]:
    """``ok`` with the number of stations and the registry version this worker process serves; ``degraded`` while
    the latest background refresh of the snapshot failed (the previous snapshot still serves), with its cause."""
    return health(await get_registry(request))


def health(registry: Registry) -> dict[str, object]:
    """What ``GET /healthz`` answers, for the route and its lane (``healthz_lane``)."""
    snapshot = registry.snapshot()
    answer: dict[str, object] = {
        "status": "ok", "stations": len(snapshot), "registry_version": snapshot.version, "worker": os.getpid(),
    }  # fmt: skip
    refresh = registry.refresh_status()
    if refresh.degraded:
        answer.update(status="degraded", refresh_error=refresh.error, refresh_failures=refresh.failures)
    return answer


def healthz_lane(scope: Scope) -> Response:
    """``GET /healthz`` as the route answers it, without FastAPI's routing (``api.hot_routes``), its JSON text
    kept per answer (a load balancer asks every few seconds, and it changes only with the registry)."""
    answer = health(scope["app"].state.registry)
    return Response(_json_text(tuple(answer.items())), media_type=JSONResponse.media_type)


@lru_cache(maxsize=64)
def _json_text(items: tuple[tuple[str, object], ...]) -> bytes:
    """The text ``JSONResponse`` writes of the dict of ``items``."""
    return bytes(JSONResponse(dict(items)).body)
