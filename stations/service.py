"""Everything Yizhan does, callable without a web framework: the service both doors call.

The HTTP API (``api.app``) and the ``yizhan`` CLI (``api.cli``) are thin adapters: each parses its own input
into the operation's query (``stations.queries``), calls ``Service`` and formats the typed result. Nothing here
imports FastAPI, Starlette or typer; folium and the map builders load only when a map is drawn, and the planner
(grids, demand) only when a planning question is asked, so ``yizhan nearby`` starts quickly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from geo.crs import point_out
from stations import hours
from stations.column_cache import ColumnCache
from stations.errors import InvalidValue
from stations.hours import OpenStatus
from stations.queries import (
    CoverageMapQuery,
    CoverageQuery,
    GapsQuery,
    HotspotsQuery,
    HourProfileQuery,
    NearbyRequest,
    NightGapsQuery,
    SearchQuery,
    StationMapQuery,
)
from stations.registry import Registry
from stations.settings import Settings
from stations.snapshot import Nearby, Snapshot
from stations.store import Store
from stations.vocabulary import LAYER_LABELS, RIDER_AMENITIES, STATION_TYPES, label, page_labels

if TYPE_CHECKING:
    from geo.coverage import DistrictCoverage
    from geo.crs import CrsName
    from geo.districts import Districts
    from geo.gaps import Gap
    from maps.coverage import DistrictFigures, ProposedSite
    from maps.tiles import Tiles
    from stations.model import Station
    from stations.places import Place
    from stations.planning import CoverageReport, CoverageRequest, Planner, SitingReport, SitingRequest
    from stations.planning.exports import Lang, ReportContext
    from stations.planning.hotspots import HotspotReport
    from stations.planning.timed import HourProfile, NightGaps


def build_registry(settings: Settings) -> Registry:
    """The registry for ``settings``: the store at its database URL and its district boundaries."""
    path = settings.districts_path

    def districts() -> Districts | None:  # read on first use: nearest-station answers need no boundaries
        from geo.districts import Districts

        return Districts.from_file(path) if path is not None and path.exists() else None

    cache = ColumnCache.for_database(
        settings.database_url, settings.snapshot_cache_dir, settings.snapshot_cache_min_stations
    )
    store = Store(settings.database_url)
    return Registry(store, districts, settings.check_interval_s, settings.import_limits(), column_cache=cache)


def build_planner(settings: Settings, registry: Registry) -> Planner | None:
    """Coverage planning over ``registry``, with the demand layer when one is configured and the settings'
    planning limits (``max_cells``, ``max_new_sites``...); None without districts."""
    from stations.planning import Planner, PlanningLimits, load_demand

    if registry.districts is None:
        return None
    path = settings.demand_path
    demand = load_demand(path) if path is not None and path.exists() else None
    return Planner(registry, demand, PlanningLimits.from_settings(settings), settings.planning_cache_bytes)


def app_vocabulary() -> dict[str, Any]:
    """What the station app (``maps/static/app.js``) names and shows, in its configuration: every station type,
    the amenities it filters by and lists, and their labels in Chinese and English."""
    return {"station_types": list(STATION_TYPES), "amenities": list(RIDER_AMENITIES), "labels": page_labels()}


@dataclass(frozen=True, slots=True)
class StationStatus:
    """Whether a station is open at a time (``"open"``, ``"closed"`` or ``"unknown"``) and when that changes by
    its hours (China time): when open, the time it next closes; when closed, the time it next opens (within
    ``hours.OPENING_HORIZON``). None when it does not, or for a station closed whatever its hours say."""

    open_status: OpenStatus
    closes_at: datetime | None = None
    opens_at: datetime | None = None


@lru_cache(maxsize=8)
def _rider_page(centre: tuple[float, float] | None, tiles: Tiles) -> str:
    from maps.offline import service_worker_url
    from maps.stations import StationPage, View, rider_assets, station_page

    config = {"mode": "rider", "api": "", "service_worker": service_worker_url(), **app_vocabulary()}
    return station_page(
        StationPage(rider_assets(), config, title="驿站 · 附近的服务站", tiles=tiles, view=View(centre, zoom=12))
    )


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

    def search(self, query: SearchQuery) -> list[Place]:
        """Districts, streets and communities, and stations whose name holds ``query.text`` (``stations.places``),
        each with the WGS84 point a rider starts from."""
        from stations import places

        return places.search(self.registry, query.text, query.limit)

    def station_map(self, query: StationMapQuery) -> str:
        """A self-contained page of the stations of ``query`` with their data inline (embed or static export)."""
        from maps.stations import StationPage, View, station_assets, station_page
        from stations.exporters import map_features
        from stations.navigation import Trip

        registry, settings = self.registry, self.settings
        snapshot = registry.snapshot()
        chosen = self._map_stations(query, snapshot)
        centre = None
        if query.lon is not None and query.lat is not None:
            x, y = point_out(query.lon, query.lat, settings.tiles_crs)
            centre = (y, x)
        elif not chosen:
            centre = self.centre(snapshot)
        title = query.title or self._map_title(query)
        config = {
            "mode": query.mode, "lang": query.lang, "controls": query.controls, "title": title,
            "adcode": query.adcode, "types": list(query.types), **app_vocabulary(),
        }  # fmt: skip
        view = View(centre, query.zoom if query.zoom is not None else 13, query.controls)
        features = map_features(chosen, settings.tiles_crs, Trip(apps=settings.navigation_apps()))
        return station_page(StationPage(station_assets(), config, features, title, self.tiles(), view))

    def station_statuses(self, query: StationMapQuery, at: datetime | None = None) -> dict[str, StationStatus]:
        """Whether each station of ``station_map(query)`` is open at ``at`` (default: the clock), by id: what the
        embed's popups show as badges. The map page holds no time, so it stays the same all day (and may be
        cached); the embed asks for this, which changes, when it loads (``GET /embed/status``).

        Each distinct hours text is evaluated once; a station closed for now (``operating_status``) is closed.
        """
        moment = hours.local_time(at) if at is not None else datetime.now(hours.TIMEZONE)
        by_hours: dict[str | None, StationStatus] = {}
        statuses = {}
        for station in self._map_stations(query, self.registry.snapshot()):
            if station.is_closed:
                statuses[station.id] = StationStatus("closed")
                continue
            text = station.opening_hours
            if text not in by_hours:
                status = hours.status(text, moment)
                closes_at = hours.next_change(text, moment) if status == "open" else None
                opens_at = hours.next_opening(text, moment) if status == "closed" else None
                by_hours[text] = StationStatus(status, closes_at, opens_at)
            statuses[station.id] = by_hours[text]
        return statuses

    def _map_stations(self, query: StationMapQuery, snapshot: Snapshot) -> list[Station]:
        """The stations a map page of ``query`` shows, by id: of its district and types, not closed for good."""
        self.registry.check_adcode(query.adcode)
        return [s for s in snapshot.select(None, query.adcode, query.types) if s.serves()]

    def rider_page(self) -> str:
        """The rider page: locate, filter, list with navigation buttons, map; data from the API in the browser.
        Built once per registry version (the view centres on the stations)."""
        snapshot = self.registry.snapshot()
        return _rider_page(self.centre(snapshot), self.tiles())

    def _map_title(self, query: StationMapQuery) -> str:
        districts = self.registry.districts
        where = "驿站"
        if query.adcode and districts is not None:
            where = districts.names[districts.adcodes.index(query.adcode)]
        return f"{where} · {'、'.join(label(k) for k in query.types) or '服务站'}"

    def tiles(self) -> Tiles:
        """The base map tiles of the settings, as the page builders take them."""
        from maps.tiles import Tiles

        settings = self.settings
        return Tiles(settings.tiles, settings.tiles_attribution, settings.tiles_crs)

    def centre(self, stations: Sequence[Station] | Snapshot) -> tuple[float, float] | None:
        """(lat, lon) in the tiles' CRS of the middle of the stations' bounding box (of a snapshot: from its
        columns); None without stations."""
        if not len(stations):
            return None
        if isinstance(stations, Snapshot):
            lons, lats = stations.index.lon.tolist(), stations.index.lat.tolist()
        else:
            lons, lats = [s.lon for s in stations], [s.lat for s in stations]
        lon, lat = point_out((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2, self.settings.tiles_crs)
        return lat, lon

    # -- planners --------------------------------------------------------------------------------------------

    def coverage(self, query: CoverageQuery) -> CoverageReport:
        """Coverage per district for ``query`` (cached per registry version); ``report.rows(query.adcode)``."""
        planner = self.planner
        planner.check_adcode(query.adcode)
        if query.filters.active:  # open at a time, or with amenities: a ``FilteredCoverage``
            from stations.planning.timed import filtered_coverage

            return filtered_coverage(planner, query.request, query.filters)
        return planner.coverage(query.request)

    def gaps(self, query: GapsQuery) -> tuple[list[Gap], Sequence[Station]]:
        """The largest gaps of ``query`` and the serving stations their ``nearest_station`` indexes refer to."""
        planner = self.planner
        if query.filters.active:
            from stations.planning.timed import filtered_gaps

            return filtered_gaps(planner, query.request, query.filters, query.adcode, query.limit)
        found = planner.gaps(query.request, query.adcode, query.limit)
        return found, planner.coverage(query.request).stations

    def hour_profile(self, query: HourProfileQuery) -> HourProfile:
        """Coverage per hour of the representative weekday and holiday (``stations.planning.timed``)."""
        from stations.planning.timed import hour_profile

        self.planner.check_adcode(query.adcode)
        return hour_profile(self.planner, query.request, query.filters)

    def night_gaps(self, query: NightGapsQuery) -> NightGaps:
        """Night gaps of ``query.day`` (``stations.planning.timed.night_gaps``)."""
        from stations.planning.filters import resolve_day
        from stations.planning.timed import night_gaps

        when = resolve_day(query.day, hours.today())
        return night_gaps(self.planner, query.request, query.filters, (query.day, when), query.adcode, query.limit)

    def hotspots(self, query: HotspotsQuery) -> HotspotReport:
        """Hot spots of ``query``: the unserved demand in pieces one new station serves, each with a suggested
        site and a label point, and every gap with the stations it would take (``stations.planning.hotspots``)."""
        return self.planner.hotspots(query.request, query.adcode, query.filters)

    def site(self, request: SitingRequest, stop: Callable[[], bool] | None = None) -> SitingReport:
        """Where new stations help most (``stop`` is polled; once it says True, ``geo.siting.Stopped``)."""
        return self.planner.site(request, stop=stop)

    def report_context(
        self,
        request: CoverageRequest,
        version: int,
        lang: Lang = "zh",
        crs: CrsName = "wgs84",
        filters: object = None,
    ) -> ReportContext:
        """What a planning export says of itself (``stations.planning.exports``): the request, the registry
        version, the data source (the settings' attribution and licence), whether demand weighs it, ``lang``,
        ``crs`` and the query's station filters (anything with ``describe()``, e.g. a time and amenities)."""
        from stations.planning.exports import ReportContext, describe_filters

        source = f"{self.settings.data_attribution} ({self.settings.data_licence})"
        demand = self.planner.demand is not None
        return ReportContext(request, version, lang, crs, source, demand, station_filters=describe_filters(filters))

    def coverage_map(self, query: CoverageMapQuery, siting: SitingReport | None = None) -> str:
        """The coverage map page for ``query``, with ``siting``'s proposals and after-coverage when given."""
        from maps.coverage import CoverageMap, MapStation, coverage_html
        from maps.coverage_text import day_name, distance
        from maps.coverage_text import text as map_text
        from stations.district_report import map_hotspots, map_hour_days

        planner = self.planner
        planner.check_adcode(query.adcode)
        report = planner.coverage(query.request)
        found = planner.gaps(query.request, query.adcode, query.limit)
        stations = [MapStation(s.id, s.name, tuple(s.types), s.lon, s.lat, s.source) for s in report.stations]
        nearest_names = [report.stations[g.nearest_station].name if g.nearest_station >= 0 else None for g in found]
        lang = query.lang
        kinds = [label(kind, lang) for kind in query.request.types]
        kinds_text = ("、" if lang == "zh" else ", ").join(kinds) or map_text(lang, "all_types")
        radius_text = distance(lang, query.request.radius_m)
        no_counts = dict.fromkeys(STATION_TYPES, 0)
        data = CoverageMap(
            planner.districts,
            query.request.radius_m,
            [_figures(row, report.counts.get(row.adcode, no_counts)) for row in report.coverage.districts],
            found,
            nearest_names,
            stations,
            {kind: label(kind, lang) for kind in LAYER_LABELS},
            adcode=query.adcode,
            title=map_text(lang, "title", radius=radius_text, kinds=kinds_text),
            lang=lang,
        )
        hour_days = map_hour_days(self, query.request, lang)
        hotspots = map_hotspots(self, query.request, query.adcode, 20)
        night = self.night_gaps(NightGapsQuery(query.request, query.adcode, limit=query.limit))
        night_names = [night.stations[g.nearest_station].name if g.nearest_station >= 0 else None for g in night.gaps]
        data = replace(
            data, hotspots=hotspots, hour_days=hour_days, night_gaps=night.gaps, night_gap_station_names=night_names,
            night_day=f"{day_name(lang, night.day[0])} {night.day[1].isoformat()}",
        )  # fmt: skip
        if siting is not None:
            data = replace(
                data,
                proposals=[_proposed_site(site) for site in siting.sites],
                gain_unit=siting.weight_unit,
                after=[_after_figures(row) for row in siting.after],
            )
        return coverage_html(data)


def _figures(row: DistrictCoverage, counts: dict[str, int]) -> DistrictFigures:
    """A district's coverage as the map shows it."""
    from maps.coverage import DistrictFigures

    return DistrictFigures(
        row.adcode, row.name, row.area_km2, row.covered_share, row.uncovered_km2, row.median_distance_m,
        row.p90_distance_m, counts, row.demand, row.demand_covered_share,
    )  # fmt: skip


def _after_figures(row: dict[str, Any]) -> DistrictFigures:
    """A row of the siting report's table after the proposals (``CoverageReport.rows``) as the map shows it."""
    from maps.coverage import DistrictFigures

    return DistrictFigures(
        row["adcode"], row["name"], row["area_km2"], row["covered_share"], row["uncovered_km2"],
        row["median_distance_m"], row["p90_distance_m"], {kind: row[f"stations_{kind}"] for kind in STATION_TYPES},
        row.get("demand"), row.get("demand_covered_share"),
    )  # fmt: skip


def _proposed_site(site: dict[str, Any]) -> ProposedSite:
    """A proposal of the siting report (``Planner.site``) as the map shows it."""
    from maps.coverage import ProposedSite

    return ProposedSite(site["rank"], site["lon"], site["lat"], site["gain"], site["district"], site["name"])
