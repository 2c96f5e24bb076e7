"""Liveness and readiness."""

from __future__ import annotations

import os

from fastapi import APIRouter

from api.deps import SnapshotDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(snapshot: SnapshotDep) -> dict[str, object]:
    """``ok`` with the number of stations and the registry version this worker process serves."""
    return {"status": "ok", "stations": len(snapshot), "registry_version": snapshot.version, "worker": os.getpid()}
