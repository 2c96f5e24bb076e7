"""The keeper console's station pages, built from typed values: the list (search, filters, sorting, paging), the
station form (every field, amenities as 有/无/未知, a map to place or drag the pin), the read-only view a
viewer gets, the view of a save that hit a newer revision (theirs and yours side by side, a choice per field),
a station's history and the freshness page (stations not verified for N days, one click to verify).

Pure: each builder takes what it shows (station text already as form text, ``stations.station_form``) and
renders a template of ``maps/console/templates`` through ``maps.console.layout.render_page``. Station text
goes in only as autoescaped template variables or inside a JSON block (``js_literal``); the vocabulary's
labels (types, amenities) come from the caller, since ``maps`` knows no registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup

from maps.console.layout import ConsoleShell, render_page
from maps.tiles import Tiles
from maps.vendored import leaflet_inline

Words = Mapping[str, tuple[str, str]]

FIELD_LABELS: Words = {
    "id": ("编号", "ID"),
    "name": ("名称", "Name"),
    "types": ("类型", "Types"),
    "host": ("主办单位", "Host"),
    "address": ("地址", "Address"),
    "lon": ("经度", "Longitude"),
    "lat": ("纬度", "Latitude"),
    "adcode": ("行政区划代码", "District code"),
    "district": ("所属区县", "District"),
    "opening_hours": ("开放时间", "Opening hours"),
    "operating_status": ("运营状态", "Operating status"),
    "phone": ("联系电话", "Phone"),
    "capacity": ("容纳人数", "Capacity (people)"),
    "area_m2": ("面积（平方米）", "Area (m²)"),
    "photo_url": ("照片链接", "Photo URL"),
    "verified_at": ("核实日期", "Verified on"),
    "source": ("数据来源", "Source"),
    "amenities": ("设施", "Amenities"),
    "external_ids": ("外部编号", "External ids"),
}
"""Each form field's label (amenities: the vocabulary's labels, given by the caller)."""
STATUS_LABELS: Words = {
    "normal": ("正常", "Normal"),
    "notice": ("公告", "Notice"),
    "limited": ("部分开放", "Limited"),
    "temporarily_closed": ("暂停开放", "Temporarily closed"),
    "closed": ("关闭", "Closed"),
}
TRI_LABELS: Words = {"yes": ("有", "Yes"), "no": ("无", "No"), "unknown": ("未知", "Unknown")}
ACTION_LABELS: Words = {
    "create": ("新建", "created"),
    "update": ("修改", "changed"),
    "verify": ("核实", "verified"),
    "delete": ("关闭", "closed"),
    "restore": ("恢复", "reopened"),
    "purge": ("删除", "removed"),
    "import": ("导入", "imported"),
}
WORDS: Words = {
    "stations": ("站点", "Stations"),
    "new_station": ("新建站点", "New station"),
    "search": ("搜索", "Search"),
    "search_hint": ("名称、地址或区县", "name, address or district"),
    "district_any": ("全部区县", "All districts"),
    "type_any": ("全部类型", "All types"),
    "stale": ("核实情况", "Verification"),
    "stale_any": ("全部", "All"),
    "stale_yes": ("超过 {days} 天未核实", "Not verified for {days} days"),
    "stale_no": ("{days} 天内已核实", "Verified within {days} days"),
    "closed": ("开放情况", "Open or closed"),
    "closed_any": ("全部", "All"),
    "closed_yes": ("只看关闭或暂停的", "Closed only"),
    "closed_no": ("只看未关闭的", "Not closed"),
    "sort": ("排序", "Sort by"),
    "sort_name": ("名称", "Name"),
    "sort_district": ("区县", "District"),
    "sort_verified_at": ("核实日期", "Verified on"),
    "order": ("顺序", "Order"),
    "asc": ("升序", "Ascending"),
    "desc": ("降序", "Descending"),
    "per_page": ("每页", "Per page"),
    "filter": ("筛选", "Filter"),
    "found": ("共 {total} 个站点，第 {page}/{pages} 页", "{total} stations, page {page} of {pages}"),
    "none_found": ("没有符合条件的站点", "No station matches"),
    "previous": ("上一页", "Previous page"),
    "next": ("下一页", "Next page"),
    "pages_nav": ("分页", "Pages"),
    "never": ("从未核实", "never"),
    "stale_badge": ("待核实", "stale"),
    "edit": ("编辑", "Edit"),
    "view": ("查看", "View"),
    "history": ("修改记录", "History"),
    "save": ("保存", "Save"),
    "saved": ("已保存（第 {revision} 版）", "Saved (revision {revision})"),
    "created": ("已新建站点", "Station created"),
    "fix_fields": ("以下内容需要修改，未保存：", "Please correct these; nothing was saved:"),
    "id_hint": ("留空则按名称和位置自动生成", "leave empty to make one from the name and place"),
    "coords_gcj02": ("GCJ-02（高德/腾讯坐标）", "GCJ-02 (Amap/Tencent)"),
    "coords_wgs84": ("WGS84（GPS 坐标）", "WGS84 (GPS)"),
    "map_hint": (
        "在地图上点击放置位置，或拖动标记；也可以直接填写经纬度。",
        "Click the map to place the pin or drag it; or type the coordinates.",
    ),
    "map_label": ("站点位置地图", "Map of the station's position"),
    "hours_hint": (
        "OpenStreetMap 语法，例如 Mo-Fr 09:00-17:00; PH off（周一至周五 9:00-17:00，节假日休息）",
        "OpenStreetMap syntax, e.g. Mo-Fr 09:00-17:00; PH off",
    ),
    "revision": ("第 {revision} 版", "revision {revision}"),
    "hours_saved": ("已保存的开放时间：{words}", "Saved hours: {words}"),
    "read_only": ("您是只读账号，只能查看。", "Your account can view only."),
    "conflict_title": ("保存冲突：站点已被他人修改", "Conflict: someone changed the station"),
    "conflict_text": (
        "您编辑的是第 {base} 版，保存前已有人保存了第 {current} 版。您的修改没有丢失：请逐项选择保留哪一方的内容，"
        "或全部采用您的修改。",
        "You edited revision {base}; revision {current} was saved meanwhile. Nothing of yours is lost: choose per "
        "field which to keep, or re-apply all of yours.",
    ),
    "conflict_gone": (
        "这个站点已被删除，无法保存。您填写的内容如下。",
        "The station has been removed, so it cannot be saved. What you entered is below.",
    ),
    "field": ("字段", "Field"),
    "theirs": ("对方（当前保存的）", "Theirs (saved now)"),
    "yours": ("您的", "Yours"),
    "keep": ("保留", "Keep"),
    "keep_theirs": ("用对方的", "theirs"),
    "keep_yours": ("用我的", "mine"),
    "you_changed": ("您改过", "you changed it"),
    "save_choices": ("按所选保存", "Save my choices"),
    "reapply": ("重新应用我的全部修改（其余保留对方的）", "Re-apply all my changes (theirs elsewhere)"),
    "discard": ("放弃我的修改，查看当前版本", "Discard mine and view the current revision"),
    "history_of": ("修改记录：{name}", "History: {name}"),
    "when": ("时间（北京时间）", "When (China time)"),
    "who": ("修改人", "Who"),
    "action": ("操作", "Action"),
    "changes": ("改动", "Changes"),
    "no_history": ("没有记录", "No changes recorded"),
    "back_to_station": ("返回站点", "Back to the station"),
    "freshness": ("开放时间核实", "Freshness"),
    "freshness_intro": (
        "下列站点超过 {days} 天未核实（或从未核实）。电话确认信息无误后，点击“已电话核实”。",
        "These stations have not been verified for {days} days (or never). After a phone call confirms them, "
        "press “Verified by phone”.",
    ),
    "days": ("未核实天数", "Days without verification"),
    "verify": ("已电话核实", "Verified by phone"),
    "verified": ("已核实：{name}", "Verified: {name}"),
    "verify_conflict": (
        "{name} 刚被他人修改，请先查看最新内容再核实。",
        "{name} was just changed by someone else: look at it before verifying.",
    ),
    "nothing_stale": ("没有需要核实的站点", "No station needs verifying"),
    "empty": ("—", "—"),
}


def word(key: str, lang: str, **values: Any) -> str:
    """The words of ``key`` (``WORDS``, ``FIELD_LABELS``...) in ``lang``, with ``values`` filled in.

    >>> word("found", "zh", total=3, page=1, pages=1), word("name", "en")
    ('共 3 个站点，第 1/1 页', 'Name')
    """
    for table in (WORDS, FIELD_LABELS, STATUS_LABELS, TRI_LABELS, ACTION_LABELS):
        if key in table:
            zh, en = table[key]
            text = en if lang == "en" else zh
            return text.format(**values) if values else text
    return key


@dataclass(frozen=True)
class Vocabulary:
    """The registry's words the pages show: station types, amenities, operating statuses (in order) and the
    label of each type and amenity in the page's language; the districts as (adcode, name)."""

    types: tuple[str, ...]
    amenities: tuple[str, ...]
    statuses: tuple[str, ...]
    labels: Mapping[str, str]
    districts: tuple[tuple[str, str], ...] = ()

    def label(self, name: str, lang: str) -> str:
        """The label of a form field, type, amenity, status or tri-state value."""
        if name.startswith("amenity."):
            name = name.removeprefix("amenity.")
        if name in self.labels:
            return self.labels[name]
        return word(name, lang)


def tiles_url(source: str) -> str:
    """A tile URL template for Leaflet from the ``tiles`` setting: a URL as it is, a folium/xyzservices provider
    name (``OpenStreetMap``) as the URL folium would draw.

    >>> tiles_url("https://t.example/{z}/{x}/{y}.png"), tiles_url("OpenStreetMap")
    ('https://t.example/{z}/{x}/{y}.png', 'https://tile.openstreetmap.org/{z}/{x}/{y}.png')
    """
    if "{" in source or "://" in source:
        return source
    import folium

    return str(folium.TileLayer(tiles=source, attr="-").tiles)


def station_path(station_id: str, suffix: str = "") -> str:
    """The console path of a station (``suffix``: ``/history``), its id percent-encoded as one path segment.

    >>> station_path("驿站 1", "/history")
    '/console/stations/%E9%A9%BF%E7%AB%99%201/history'
    """
    return "/console/stations/" + quote(station_id, safe="!$&'()*+,;=:@", errors="surrogatepass") + suffix


def with_query(path: str, **query: str | int | None) -> str:
    """``path`` with ``query`` (empty values left out); ``ConsoleShell.link`` adds the language.

    >>> with_query("/console/stations", q="西湖", page=2, adcode="")
    '/console/stations?q=%E8%A5%BF%E6%B9%96&page=2'
    """
    params = {key: value for key, value in query.items() if value not in ("", None)}
    return path + ("?" + urlencode(params) if params else "")


def shown(value: str, name: str, vocabulary: Vocabulary, lang: str) -> str:
    """A form value as a person reads it: labels for types, statuses and amenities, — for nothing."""
    if name == "types":
        return "、".join(vocabulary.label(kind, lang) for kind in value.split(",") if kind) or word("empty", lang)
    if name == "operating_status" or name.startswith("amenity."):
        return word(value, lang) if value else word("empty", lang)
    return value or word("empty", lang)


# -- the list ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedStation:
    """A station as a row of the list or of the freshness page (dates ISO, empty when none)."""

    id: str
    name: str
    types: tuple[str, ...]
    district: str
    address: str
    phone: str
    operating_status: str
    verified_at: str
    stale: bool
    revision: int | None = None


@dataclass(frozen=True)
class ListFilters:
    """What the list was asked for, as the query string gives it (empty: not given)."""

    q: str = ""
    adcode: str = ""
    type: str = ""
    stale: str = ""
    closed: str = ""
    sort: str = "name"
    order: str = "asc"
    per_page: str = "20"
    days: str = ""

    def query(self) -> dict[str, str | int | None]:
        """The filters as query parameters."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class ListView:
    """One page of the station list."""

    stations: tuple[ListedStation, ...]
    total: int
    page: int
    pages: int
    filters: ListFilters
    vocabulary: Vocabulary
    stale_after_days: int
    sort_keys: tuple[str, ...]
    page_sizes: tuple[int, ...]
    can_edit: bool


def _common(shell: ConsoleShell, vocabulary: Vocabulary, **values: Any) -> dict[str, Any]:
    lang = shell.lang

    def t(key: str, **filled: Any) -> str:
        return word(key, lang, **filled)

    def label(name: str) -> str:
        return vocabulary.label(name, lang)

    def show(value: str, name: str) -> str:
        return shown(value, name, vocabulary, lang)

    def href(station_id: str, suffix: str = "") -> str:
        return shell.link(station_path(station_id, suffix))

    return {"t": t, "label": label, "show": show, "href": href, "lang": lang, "vocabulary": vocabulary, **values}


def list_page(shell: ConsoleShell, view: ListView) -> str:
    """The station list: search and filters (a GET form), the stations of this page, links to other pages."""
    lang = shell.lang
    query = view.filters.query()

    def page_link(number: int) -> str:
        return shell.link(with_query("/console/stations", **query, page=number))

    return render_page(
        shell,
        word("stations", lang),
        "stations_list.html",
        **_common(
            shell,
            view.vocabulary,
            view=view,
            filters=view.filters,
            previous_href=page_link(view.page - 1) if view.page > 1 else None,
            next_href=page_link(view.page + 1) if view.page < view.pages else None,
            new_href=shell.link("/console/stations/new"),
        ),
    )


# -- the form, the read-only view and the conflict ------------------------------------------------------------


@dataclass(frozen=True)
class FormView:
    """A station's form: ``station_id`` None for a new station; ``values`` the form's text (the station's, or
    what was sent back with ``problems``: field → words); ``centre`` (lat, lon) in the tiles' CRS for a new
    station's map."""

    station_id: str | None
    revision: int | None
    values: Mapping[str, str]
    vocabulary: Vocabulary
    tiles: Tiles
    problems: Mapping[str, str] = field(default_factory=dict)
    message: str = ""
    centre: tuple[float, float] | None = None
    editable: bool = True
    name: str = ""
    external_ids: Mapping[str, str] = field(default_factory=dict)
    hours_words: str = ""
    """The saved opening hours said in the page's language (``stations.hours_words.to_words``)."""


@cache
def _script(name: str) -> str:
    return (resources.files("maps") / "static" / name).read_text(encoding="utf-8")


def _trusted(text: str, closing: str) -> Markup:
    """Code from ``maps/static`` (never data) for an inline element; refused if it would end the element."""
    if closing in text.lower():
        raise ValueError(f"inline code contains {closing!r}")
    return Markup(text)  # the project's own files, checked above


def _map_config(view: FormView, lang: str) -> dict[str, Any]:
    values = view.values
    return {
        "tiles": tiles_url(view.tiles.source),
        "attribution": view.tiles.attribution or "",
        "crs": view.tiles.crs,
        "lon": values.get("lon", ""),
        "lat": values.get("lat", ""),
        "centre": list(view.centre) if view.centre else None,
        "editable": view.editable,
        "lang": lang,
        "label": word("map_label", lang),
    }


def form_page(shell: ConsoleShell, view: FormView) -> str:
    """The station form (editors) or the station's read-only view (``view.editable`` False: no write control)."""
    lang = shell.lang
    new = view.station_id is None
    title = word("new_station", lang) if new else view.name or view.values.get("name", "")
    style, leaflet = leaflet_inline()
    hours_editor = _script("hours_editor.js") if view.editable else ""
    return render_page(
        shell,
        title,
        "stations_form.html" if view.editable else "stations_view.html",
        **_common(
            shell,
            view.vocabulary,
            view=view,
            new=new,
            values=view.values,
            problems=view.problems,
            action=shell.link("/console/stations/new" if new else station_path(view.station_id or "")),
            history_href=None if new else shell.link(station_path(view.station_id or "", "/history")),
            coordinates_label=word("coords_gcj02" if view.tiles.crs == "gcj02" else "coords_wgs84", lang),
            leaflet_style=Markup(style),  # whole elements, checked by maps.page
            leaflet_script=Markup(leaflet),
            hours_editor=_trusted(hours_editor, "</script"),
            station_script=_trusted(_script("console_station.js"), "</script"),
            map_config=_map_config(view, lang),
            amenity_fields=tuple(f"amenity.{name}" for name in view.vocabulary.amenities),
        ),
    )


@dataclass(frozen=True)
class ConflictField:
    """A field the saved station (theirs) and the sent form (yours) hold differently."""

    field: str
    theirs: str
    yours: str
    yours_changed: bool


@dataclass(frozen=True)
class ConflictView:
    """A save that hit a newer revision: the revision the editor loaded (``base``), the one saved now
    (``current``, None: the station was removed), the differing fields and every value the editor sent."""

    station_id: str
    name: str
    base: int
    current: int | None
    fields: tuple[ConflictField, ...]
    yours: Mapping[str, str]
    vocabulary: Vocabulary


def conflict_page(shell: ConsoleShell, view: ConflictView) -> str:
    """Theirs and yours side by side, changed fields marked, a choice per field (default: yours where you
    changed it); saving posts your values with the current revision and the choices (``keep.<field>``), or
    re-applies every field you changed since the revision you loaded (``keep_all``, ``based_on``)."""
    lang = shell.lang
    return render_page(
        shell,
        word("conflict_title", lang),
        "stations_conflict.html",
        **_common(
            shell,
            view.vocabulary,
            view=view,
            action=shell.link(station_path(view.station_id)),
            current_href=shell.link(station_path(view.station_id)),
            hidden=[(name, value) for name, value in view.yours.items() if name != "types"]
            + [("types", kind) for kind in view.yours.get("types", "").split(",") if kind],
        ),
    )


# -- history -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryRow:
    """One recorded change: revision, action, who, when (text, China time) and each field ``(label, before,
    after)`` as text."""

    revision: int
    action: str
    actor: str
    at: str
    changes: tuple[tuple[str, str, str], ...]


def history_page(
    shell: ConsoleShell, station_id: str, name: str, rows: Sequence[HistoryRow], vocabulary: Vocabulary
) -> str:
    """A station's history, newest first."""
    lang = shell.lang
    return render_page(
        shell,
        word("history_of", lang, name=name),
        "stations_history.html",
        **_common(shell, vocabulary, rows=rows, name=name, station_href_=shell.link(station_path(station_id))),
    )


def change_text(value: Any, name: str, vocabulary: Vocabulary, lang: str, to_text: Callable[[Any], str]) -> str:
    """A history value as text: labels for types, statuses and tri-states, ``to_text`` for the rest."""
    if value is None:
        return word("empty", lang)
    if name == "types" and isinstance(value, list):
        return "、".join(vocabulary.label(str(kind), lang) for kind in value)
    if name in ("operating_status",) or name.startswith("amenities."):
        return word(str(value), lang)
    return to_text(value)


# -- freshness ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FreshnessView:
    """Stations not verified for ``days`` days (or never), of a district when ``adcode`` is given."""

    stations: tuple[ListedStation, ...]
    total: int
    page: int
    pages: int
    days: int
    adcode: str
    vocabulary: Vocabulary
    can_edit: bool
    message: str = ""
    warning: str = ""


def freshness_page(shell: ConsoleShell, view: FreshnessView) -> str:
    """The freshness page: a filter (days, district), the stale stations with their phone, a verify button each."""
    lang = shell.lang

    def page_link(number: int) -> str:
        return shell.link(with_query("/console/freshness", days=view.days, adcode=view.adcode, page=number))

    return render_page(
        shell,
        word("freshness", lang),
        "stations_freshness.html",
        **_common(
            shell,
            view.vocabulary,
            view=view,
            action=shell.link("/console/freshness/verify"),
            previous_href=page_link(view.page - 1) if view.page > 1 else None,
            next_href=page_link(view.page + 1) if view.page < view.pages else None,
        ),
    )
