"""Dependencies for routes: the settings, the service, its registry and the registry's current snapshot (built in
the lifespan)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from stations.registry import Registry
from stations.service import Service
from stations.settings import Settings
from stations.snapshot import Snapshot


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_registry(request: Request) -> Registry:
    return request.app.state.registry


def get_service(request: Request) -> Service:
    return request.app.state.service


def get_snapshot(registry: Annotated[Registry, Depends(get_registry)]) -> Snapshot:
    return registry.snapshot()


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]
ServiceDep = Annotated[Service, Depends(get_service)]
