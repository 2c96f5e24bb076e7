"""Liveness and readiness."""

from __future__ import annotations

import os

from fastapi import APIRouter

from api.deps import RegistryDep, SnapshotDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(snapshot: SnapshotDep, registry: RegistryDep) -> dict[str, object]:
    """``ok`` with the number of stations and the registry version this worker process serves; ``degraded`` while
    the latest background refresh of the snapshot failed (the previous snapshot still serves), with its cause."""
    answer: dict[str, object] = {
        "status": "ok", "stations": len(snapshot), "registry_version": snapshot.version, "worker": os.getpid(),
    }  # fmt: skip
    refresh = registry.refresh_status()
    if refresh.degraded:
        answer.update(status="degraded", refresh_error=refresh.error, refresh_failures=refresh.failures)
    return answer
