"""Dependencies for routes: the settings, the service, its registry and the registry's current snapshot (built in
the lifespan)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from stations.registry import Registry
from stations.service import Service
from stations.settings import Settings
from stations.snapshot import Snapshot


# app.state is untyped: each value is the one the lifespan put there. The dependencies are coroutines: each is
# a few attribute reads, which a hop to the thread pool (FastAPI's way with a plain function) would cost ~50x.
def get_settings(request: Request) -> Settings:
    """The settings the lifespan built."""
    settings: Settings = request.app.state.settings
    return settings


async def settings_of(request: Request) -> Settings:
    """``get_settings`` as a dependency."""
    return get_settings(request)


async def get_registry(request: Request) -> Registry:
    """The registry the lifespan built."""
    registry: Registry = request.app.state.registry
    return registry


async def get_service(request: Request) -> Service:
    """The service the lifespan built."""
    service: Service = request.app.state.service
    return service


async def get_snapshot(registry: Annotated[Registry, Depends(get_registry)]) -> Snapshot:
    """The registry's current snapshot, taken once per request. Never waits on the store once the lifespan has
    built the first one: a change of the store is applied in the background (``Registry.refresh_in_background``)."""
    return registry.snapshot()


SettingsDep = Annotated[Settings, Depends(settings_of)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]
ServiceDep = Annotated[Service, Depends(get_service)]
