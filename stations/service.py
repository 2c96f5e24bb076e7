"""Everything Yizhan does, callable without a web framework: the service both doors call.

The HTTP API (``api.app``) and the ``yizhan`` CLI (``api.cli``) are thin adapters: each parses its own input
into the operation's query (``stations.queries``), calls ``Service`` and formats the typed result. Nothing here
imports FastAPI, Starlette or typer; folium and the map builders load only when a map is drawn, and the planner
(grids, demand) only when a planning question is asked, so ``yizhan nearby`` starts quickly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from geo.crs import point_out
from geo.districts import Districts
from stations.errors import InvalidValue
from stations.queries import CoverageMapQuery, CoverageQuery, GapsQuery, NearbyRequest, StationMapQuery
from stations.registry import Registry
from stations.settings import Settings
from stations.snapshot import Nearby
from stations.store import Store

if TYPE_CHECKING:
    from geo.gaps import Gap
    from stations.model import Station
    from stations.planning import CoverageReport, Planner, SitingReport, SitingRequest

TYPE_NAMES = {"outdoor_worker": "骑手/户外劳动者", "driver_home": "司机之家", "nursing_room": "母婴室"}
"""Short Chinese names of the station types, for page titles."""


def build_registry(settings: Settings) -> Registry:
    """The registry for ``settings``: the store at its database URL and its district boundaries."""
    path = settings.districts_path
    districts = Districts.from_file(path) if path is not None and path.exists() else None
    return Registry(Store(settings.database_url), districts, settings.check_interval_s, settings.import_limits())


def build_planner(settings: Settings, registry: Registry) -> Planner | None:
    """Coverage planning over ``registry``, with the demand layer when one is configured; None without districts."""
    from stations.planning import Planner, load_demand

    if registry.districts is None:
        return None
    path = settings.demand_path
    demand = load_demand(path) if path is not None and path.exists() else None
    return Planner(registry, demand, settings.max_cells, settings.planning_cache_bytes)


@lru_cache(maxsize=8)
def _rider_page(centre: tuple[float, float] | None, tiles: tuple[tuple[str, str], ...]) -> str:
    from maps.stations import rider_assets, station_page

    config = {"mode": "rider", "api": ""}
    return station_page(rider_assets(), config, title="驿站 · 附近的服务站", center=centre, zoom=12, **dict(tiles))


class Service:
    """The registry and planner of ``settings``, and every operation over them.

    Parameters
    ----------
    settings
        Where the database, districts and demand are, and the limits (``max_k``, ``max_radius_m``...).
    registry
        An open registry to use instead of opening the settings' database (the API builds it in its lifespan).
    """

    def __init__(self, settings: Settings, registry: Registry | None = None) -> None:
        self.settings = settings
        self._registry = registry
        self._lock = threading.Lock()

    @property
    def registry(self) -> Registry:
        """The station registry (opened on first use)."""
        with self._lock:
            if self._registry is None:
                self._registry = build_registry(self.settings)
            return self._registry

    @cached_property
    def optional_planner(self) -> Planner | None:
        """The planner, or None when no district boundaries are configured (built on first use)."""
        return build_planner(self.settings, self.registry)

    @property
    def planner(self) -> Planner:
        """The planner; ``InvalidValue`` when no district boundaries are configured."""
        planner = self.optional_planner
        if planner is None:
            raise InvalidValue("districts", None, "coverage needs district boundaries: set YIZHAN_DISTRICTS_PATH")
        return planner

    # -- riders ----------------------------------------------------------------------------------------------

    def nearby(self, request: NearbyRequest, now: Any = None) -> list[Nearby]:
        """The nearest stations of ``request`` (within the settings' ``max_k`` and ``max_radius_m``)."""
        query = request.query
        if query.k > self.settings.max_k:
            raise InvalidValue("k", query.k, f"must be between 1 and {self.settings.max_k}")
        if query.radius_m is not None and query.radius_m > self.settings.max_radius_m:
            raise InvalidValue("radius_m", query.radius_m, f"must be at most {self.settings.max_radius_m:g} m")
        return self.registry.snapshot().nearby(query, now=now)

    def station_map(self, query: StationMapQuery) -> str:
        """A self-contained page of the stations of ``query`` with their data inline (embed or static export)."""
        from maps.stations import station_assets, station_page
        from stations.exporters import map_features

        registry, settings = self.registry, self.settings
        registry.check_adcode(query.adcode)
        snapshot = registry.snapshot()
        chosen = [s for s in snapshot.select(None, query.adcode, query.types) if s.serves()]  # closed: hidden
        centre = None
        if query.lon is not None and query.lat is not None:
            x, y = point_out(query.lon, query.lat, settings.tiles_crs)
            centre = (y, x)
        elif not chosen:
            centre = self.centre(snapshot.stations)
        title = query.title or self._map_title(query)
        config = {
            "mode": query.mode, "lang": query.lang, "controls": query.controls, "title": title,
            "types": list(query.types),
        }  # fmt: skip
        return station_page(
            station_assets(),
            config,
            features=map_features(chosen, settings.tiles_crs),
            title=title,
            center=centre,
            zoom=query.zoom if query.zoom is not None else 13,
            zoom_control=query.controls,
            **self.tiles(),
        )

    def rider_page(self) -> str:
        """The rider page: locate, filter, list with navigation buttons, map; data from the API in the browser.
        Built once per registry version (the view centres on the stations)."""
        snapshot = self.registry.snapshot()
        return _rider_page(self.centre(snapshot.stations), tuple(self.tiles().items()))

    def _map_title(self, query: StationMapQuery) -> str:
        districts = self.registry.districts
        where = "驿站"
        if query.adcode and districts is not None:
            where = districts.names[districts.adcodes.index(query.adcode)]
        return f"{where} · {'、'.join(TYPE_NAMES[k] for k in query.types) or '服务站'}"

    def tiles(self) -> dict[str, Any]:
        """The base map tiles of the settings, as the page builders take them."""
        settings = self.settings
        return {"tiles": settings.tiles, "attribution": settings.tiles_attribution, "tiles_crs": settings.tiles_crs}

    def centre(self, stations: Sequence[Station]) -> tuple[float, float] | None:
        """(lat, lon) in the tiles' CRS of the middle of the stations' bounding box; None without stations."""
        if not stations:
            return None
        lons, lats = [s.lon for s in stations], [s.lat for s in stations]
        lon, lat = point_out((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2, self.settings.tiles_crs)
        return lat, lon

    # -- planners --------------------------------------------------------------------------------------------

    def coverage(self, query: CoverageQuery) -> CoverageReport:
        """Coverage per district for ``query`` (cached per registry version); ``report.rows(query.adcode)``."""
        planner = self.planner
        planner.check_adcode(query.adcode)
        return planner.coverage(query.request)

    def gaps(self, query: GapsQuery) -> tuple[list[Gap], list[Station]]:
        """The largest gaps of ``query`` and the serving stations their ``nearest_station`` indexes refer to."""
        planner = self.planner
        found = planner.gaps(query.request, query.adcode, query.limit)
        return found, planner.coverage(query.request).stations

    def site(self, request: SitingRequest, stop: Callable[[], bool] | None = None) -> SitingReport:
        """Where new stations help most (``stop`` is polled; once it says True, ``geo.siting.Stopped``)."""
        return self.planner.site(request, stop=stop)

    def coverage_map(self, query: CoverageMapQuery, siting: SitingReport | None = None) -> str:
        """The coverage map page for ``query``, with ``siting``'s proposals and after-coverage when given."""
        from maps.coverage import coverage_html

        planner = self.planner
        planner.check_adcode(query.adcode)
        report = planner.coverage(query.request)
        found = planner.gaps(query.request, query.adcode, query.limit)
        stations = [
            {"id": s.id, "name": s.name, "types": list(s.types), "lon": s.lon, "lat": s.lat} for s in report.stations
        ]
        nearest_names = [report.stations[g.nearest_station].name if g.nearest_station >= 0 else None for g in found]
        kinds = ", ".join(query.request.types) if query.request.types else "all station types"
        extra: dict[str, Any] = {}
        if siting is not None:
            extra = {"proposals": siting.sites, "after_rows": siting.after, "gain_unit": siting.weight_unit}
        return coverage_html(
            planner.districts,
            report.rows(),
            found,
            stations,
            radius_m=query.request.radius_m,
            gap_station_names=nearest_names,
            adcode=query.adcode,
            title=f"Yizhan coverage within {query.request.radius_m:,.0f} m — {kinds}",
            **extra,
        )
