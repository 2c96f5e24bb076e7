"""Dependencies for routes: the settings, the registry and its current snapshot (built in the lifespan)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.settings import Settings
from stations.errors import InvalidValue
from stations.planning import Planner
from stations.registry import Registry
from stations.snapshot import Snapshot


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_registry(request: Request) -> Registry:
    return request.app.state.registry


def get_planner(request: Request) -> Planner:
    planner = request.app.state.planner
    if planner is None:
        raise InvalidValue("districts", None, "coverage needs district boundaries: set YIZHAN_DISTRICTS_PATH")
    return planner


def get_snapshot(registry: Annotated[Registry, Depends(get_registry)]) -> Snapshot:
    return registry.snapshot()


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]
PlannerDep = Annotated[Planner, Depends(get_planner)]
