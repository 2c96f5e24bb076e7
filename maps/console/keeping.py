"""The keeper console's keeping pages: imports (upload, the dry run's table, likely duplicates on a small map,
commit or cancel, progress) and the riders' reports queue (each station on a small map, resolve with a note).

Pure builders: typed views in, HTML out, through ``maps.console.layout.render_page`` (Jinja2, autoescaped).
User text (file names, cells, station names, notes) goes in only as template variables or inside the JSON
block the page's script reads (``js_literal``: ``<`` escaped); the script puts it into the page with
``textContent``. Words are Chinese by default, English with ``?lang=en`` (``ConsoleShell.t``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from markupsafe import Markup

from maps.console.layout import ConsoleShell, render_page
from maps.vendored import leaflet_inline

ROWS_SHOWN = 500
"""Rows of each part of an import report shown on the page (the counts are always whole)."""
DUPLICATES_ON_MAP = 200
"""Likely duplicates drawn on the import page's map."""

STAGES: dict[str, tuple[str, str]] = {
    "validating rows": ("校验各行", "Checking rows"),
    "locating districts": ("确定所属区县", "Finding districts"),
    "planning": ("与现有站点比对", "Comparing with the registry"),
    "checking duplicates": ("查找疑似重复", "Looking for likely duplicates"),
    "writing": ("写入", "Writing"),
}
"""The import's stages (``stations.registry.Registry.import_file``) in both languages."""

REPORT_KINDS: dict[str, tuple[str, str]] = {
    "closed": ("已关闭", "Closed"),
    "moved": ("位置变了", "Has moved"),
    "hours_wrong": ("开放时间不对", "Wrong hours"),
    "amenity_missing": ("缺少设施", "Amenity missing"),
    "other": ("其他", "Other"),
}
REPORT_STATUSES: dict[str, tuple[str, str]] = {
    "open": ("待处理", "Open"),
    "resolved": ("已修正", "Fixed"),
    "rejected": ("已驳回", "Dismissed"),
    "all": ("全部", "All"),
}


@dataclass(frozen=True)
class MapTiles:
    """The base map of the small maps: a tile URL template and its attribution (coordinates given to a page
    are already in the tiles' coordinate system)."""

    url: str
    attribution: str


@dataclass(frozen=True)
class PlannedRowView:
    """A row that adds a station, updates one (``detail``: the fields that change) or changes nothing."""

    row: int
    id: str
    name: str
    detail: str = ""


@dataclass(frozen=True)
class ProblemView:
    """A rejected row (or a warning): row, field, value and reason, in the page's language."""

    row: int
    field: str
    value: str
    reason: str


@dataclass(frozen=True)
class DuplicateView:
    """A new row close to an existing station (or to an earlier new row); positions in the tiles' CRS."""

    row: int
    id: str
    name: str
    existing_id: str
    existing_name: str
    distance_m: float
    reason: str
    new_at: tuple[float, float] | None
    """(lon, lat) of the new row, when known."""
    existing_at: tuple[float, float] | None


@dataclass(frozen=True)
class ImportView:
    """An import job as its page shows it."""

    id: str
    filename: str
    state: str
    """checking, checked, committing, committed, rejected, failed."""
    status: dict[str, Any]
    rows: int = 0
    added: Sequence[PlannedRowView] = ()
    updated: Sequence[PlannedRowView] = ()
    unchanged: Sequence[PlannedRowView] = ()
    added_total: int = 0
    updated_total: int = 0
    unchanged_total: int = 0
    problems: Sequence[ProblemView] = ()
    problems_total: int = 0
    warnings: Sequence[ProblemView] = ()
    warnings_total: int = 0
    duplicates: Sequence[DuplicateView] = ()
    duplicates_total: int = 0
    error: str | None = None


@dataclass(frozen=True)
class ReportView:
    """A rider's report with its station (position in the tiles' CRS; None for a station gone)."""

    id: int
    station_id: str
    station_name: str | None
    kind: str
    message: str | None
    created_at: str
    status: str
    resolved_by: str | None
    resolved_at: str | None
    resolution: str | None
    station_at: tuple[float, float] | None
    reported_at: tuple[float, float] | None = None
    """Where the rider says the station is now (``moved``)."""


@dataclass(frozen=True)
class ReportsView:
    """The queue: the reports listed, the filter chosen and what was just done."""

    reports: Sequence[ReportView]
    status: str = "open"
    notice: str | None = None
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


@cache
def _static(name: str) -> str:
    text = (resources.files("maps") / "static" / name).read_text(encoding="utf-8")
    if "</script" in text.lower():
        raise ValueError(f"maps/static/{name} contains '</script' and cannot be inlined")
    return text


def _scripts() -> Markup:
    """Leaflet and the keeping pages' script, inline (trusted code: no user text)."""
    return Markup("\n".join(leaflet_inline()) + "\n<script>" + _static("console_keeping.js") + "</script>")


STYLE = Markup(
    ".yz-small-map { height: 280px; max-width: 720px; border: 1px solid #d0d5dd; border-radius: 8px;"
    " margin: 8px 0 16px; }"
    ".yz-section { margin: 12px 0; } .yz-section summary { min-height: 44px; padding: 10px 0; cursor: pointer; }"
    ".yz-value { overflow-wrap: anywhere; white-space: pre-wrap; }"
    ".yz-reports { list-style: none; padding: 0; } .yz-report { margin: 0 0 16px; }"
    ".yz-report h2 { font-size: 18px; margin: 0 0 6px; overflow-wrap: anywhere; }"
    "#yz-bar { width: 100%; max-width: 480px; height: 20px; }"
)
"""The keeping pages' own few styles (the shell's ``console.css`` has the rest)."""


def imports_page(
    shell: ConsoleShell,
    tiles: MapTiles,
    job: ImportView | None = None,
    notice: str | None = None,
    error: str | None = None,
    max_upload_mb: float = 20.0,
) -> str:
    """The imports page: the upload form (editors), and the job's progress or dry-run report when ``job``."""
    t = shell.t
    stage = None
    if job is not None and job.status.get("stage"):
        stage = t(*STAGES.get(str(job.status["stage"]), (str(job.status["stage"]),) * 2))
    map_data = {
        "tiles": tiles.url,
        "attribution": tiles.attribution,
        "stages": {key: t(*value) for key, value in STAGES.items()},
        "status": job.status if job is not None else None,
        "duplicates": [
            {"row": d.row, "name": d.name, "existing": d.existing_name, "new_at": d.new_at, "at": d.existing_at}
            for d in (job.duplicates[:DUPLICATES_ON_MAP] if job is not None else ())
            if d.existing_at is not None
        ],
        "words": {"row": t("第 {0} 行", "row {0}"), "existing": t("现有站点", "existing station")},
    }
    return render_page(
        shell,
        t("导入站点", "Import stations"),
        "imports.html",
        job=job,
        stage=stage,
        notice=notice,
        error=error,
        rows_shown=ROWS_SHOWN,
        max_upload_mb=max_upload_mb,
        page_data=map_data,
        style=STYLE,
        scripts=_scripts(),
    )


def reports_page(shell: ConsoleShell, tiles: MapTiles, view: ReportsView) -> str:
    """The riders' reports queue, with a filter by status and each report's station on the map."""
    t = shell.t
    points = [
        {"id": r.id, "name": r.station_name or r.station_id, "at": r.station_at, "reported_at": r.reported_at}
        for r in view.reports
        if r.station_at is not None
    ]
    page_data = {
        "tiles": tiles.url,
        "attribution": tiles.attribution,
        "reports": points,
        "words": {"reported": t("反馈的新位置", "position reported")},
    }
    return render_page(
        shell,
        t("群众反馈", "Rider reports"),
        "reports.html",
        view=view,
        kinds={key: t(*value) for key, value in REPORT_KINDS.items()},
        statuses={key: t(*value) for key, value in REPORT_STATUSES.items()},
        page_data=page_data,
        style=STYLE,
        scripts=_scripts(),
    )
