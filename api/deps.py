"""Dependencies for routes: the settings, the service, its registry and the registry's current snapshot (built in
the lifespan)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from stations.registry import Registry
from stations.service import Service
from stations.settings import Settings
from stations.snapshot import Snapshot


# app.state is untyped: each value is the one the lifespan put there
def get_settings(request: Request) -> Settings:
    """The settings the lifespan built."""
    settings: Settings = request.app.state.settings
    return settings


def get_registry(request: Request) -> Registry:
    """The registry the lifespan built."""
    registry: Registry = request.app.state.registry
    return registry


def get_service(request: Request) -> Service:
    """The service the lifespan built."""
    service: Service = request.app.state.service
    return service


def get_snapshot(registry: Annotated[Registry, Depends(get_registry)]) -> Snapshot:
    """The registry's current snapshot, taken once per request."""
    return registry.snapshot()


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]
ServiceDep = Annotated[Service, Depends(get_service)]
