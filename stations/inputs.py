"""What a user may ask each operation, declared once for both doors: the HTTP API and the ``yizhan`` CLI.

An operation's inputs are a tuple of ``Input``: name, type, default, help text (units named) and bounds. The
API turns each into a query parameter (``api.inputs.query_dependency``), the CLI into an option or argument
(``api.cli_inputs.with_query``); both then call the query type's ``parse`` with the values, which checks them
(``stations.errors.InvalidValue`` naming the field) and returns the typed query the service layer takes. So a
parameter's name, default, bounds and help are written here only, and the two doors cannot drift apart.

The bounds here are those true of any installation (a radius is positive, a latitude at most 90). Limits an
operator tunes (``max_k``, ``max_new_sites``, ``max_time_limit_s``...) live on ``stations.settings.Settings``
only; the help names the setting, and the service checks the value against it.

>>> [(i.name, i.default, i.cli_flag) for i in PLANNING_INPUTS]
[('radius_m', 1000.0, '--radius'), ('types', None, '--types'), ('cell_m', 100.0, '--cell')]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stations.errors import InvalidValue
from stations.vocabulary import AMENITIES, STATION_TYPES


class _Required:
    """The default of an input that must be given."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Input:
    """One input of an operation.

    Parameters
    ----------
    name
        Python and HTTP name (``radius_m``).
    annotation
        Its type as given (``float``, ``str | None``, ``bool``).
    default
        The value when not given, or ``REQUIRED``.
    help
        One line for the OpenAPI description and ``--help``; names the unit.
    ge, gt, le
        Bounds of a number, checked at the boundary by both doors.
    flag
        The CLI's spelling when it is not ``--`` + the name with dashes (``--radius`` for ``radius_m``).
    short
        A one-letter CLI spelling too (``-k``).
    argument
        The CLI takes it as a positional argument (``yizhan nearby LON LAT``).
    examples
        Example values for OpenAPI.
    pattern
        A regular expression a text value must match (checked by the API; the query's ``parse`` checks too).
    """

    name: str
    annotation: Any
    default: Any = REQUIRED
    help: str = ""
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    flag: str | None = None
    short: str | None = None
    argument: bool = False
    examples: tuple[Any, ...] = ()
    pattern: str | None = None

    @property
    def cli_flag(self) -> str:
        """The CLI option, e.g. ``--radius``.

        >>> Input("time_limit_s", float, 30.0, flag="--time-limit").cli_flag, Input("open_at", str).cli_flag
        ('--time-limit', '--open-at')
        """
        return self.flag or "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> Any:
        """``value`` when it is within the bounds (or None); else ``InvalidValue`` naming the input and the bound.

        >>> LAT.check(30.25)
        30.25
        >>> LAT.check(91)
        Traceback (most recent call last):
        ...
        stations.errors.InvalidValue: lat=91: must be at most 90
        """
        if value is None or not isinstance(value, int | float) or isinstance(value, bool):
            return value
        checks: tuple[tuple[float | None, Callable[[float], bool], str], ...] = (
            (self.ge, lambda b: not value >= b, "at least"),
            (self.gt, lambda b: not value > b, "more than"),
            (self.le, lambda b: not value <= b, "at most"),
        )
        for bound, fails, words in checks:
            if bound is not None and fails(bound):
                raise InvalidValue(self.name, value, f"must be {words} {bound:g}")
        return value

    def but(self, **changes: Any) -> Input:
        """A copy of this input with other values of some fields (another default or help for one operation).

        >>> LIMIT.but(default=50).default
        50
        """
        return Input(**{**self.__dict__, **changes})


CRS = Input(
    "crs", str, "wgs84", "coordinate system of lon/lat in and out: wgs84, gcj02 (Amap, Tencent) or bd09 (Baidu)"
)
LON = Input("lon", float, REQUIRED, "longitude, degrees", ge=-180, le=180, argument=True, examples=(120.16,))
LAT = Input("lat", float, REQUIRED, "latitude, degrees", ge=-90, le=90, argument=True, examples=(30.25,))
TYPES = Input(
    "types", str | None, None, f"comma-separated, any of: {', '.join(STATION_TYPES)}; default all",
    examples=("outdoor_worker",),
)  # fmt: skip
AMENITIES_INPUT = Input(
    "amenities", str | None, None, f"comma-separated, all required: {', '.join(AMENITIES)}", examples=("hot_water",)
)
ADCODE = Input("adcode", str | None, None, "only this district, e.g. 330106", pattern=r"^\d{6}$")
LIMIT = Input("limit", int, 20, "how many gaps", ge=1, le=1000)

NEARBY_INPUTS = (
    LON,
    LAT,
    Input("k", int, 10, "how many stations (at most the setting YIZHAN_MAX_K)", ge=1, flag="--k", short="-k"),
    Input(
        "radius_m",
        float | None,
        None,
        "only stations within this distance, metres (at most YIZHAN_MAX_RADIUS_M)",
        gt=0,
        flag="--radius",
    ),
    TYPES,
    AMENITIES_INPUT,
    Input("open_at", str | None, None, "only stations open then: ISO date-time (China time if no offset) or 'now'"),
    Input("include_unknown_hours", bool, False, "with open_at, also stations whose hours are unknown"),
    Input(
        "order", str, "distance",
        "distance: the k nearest, nearest first; open_first: open stations first, then those closing within 30 "
        "minutes, unknown hours, closed (each nearest first), the k first of that order (at open_at, else now)",
        examples=("open_first",), pattern=r"^(distance|open_first)$",
    ),
    CRS,
    Input(
        "position_crs", str | None, None,
        "coordinate system of lon/lat when it is not crs (answers stay in crs): e.g. wgs84 for a phone's GPS "
        "position with crs=gcj02 for Amap tiles",
    ),
    Input(
        "mode", str | None, None,
        "way of travel of the navigation links: walk, ride or drive; default per station: drive to driver homes, "
        "ride to the others",
        examples=("ride",),
    ),
)  # fmt: skip
"""``GET /stations/nearby`` and ``yizhan nearby``."""

PLANNING_INPUTS = (
    Input(
        "radius_m",
        float,
        1000.0,
        "service distance, metres (≈15 min walk: 1000; at most YIZHAN_PLANNING_MAX_RADIUS_M)",
        gt=0,
        flag="--radius",
    ),
    TYPES,
    Input(
        "cell_m",
        float,
        100.0,
        "grid cell size, metres; rounded to whole metres (grid: at most YIZHAN_MAX_CELLS)",
        ge=1,
        flag="--cell",
    ),
)
"""What every planning question shares: coverage, gaps, the coverage map and siting."""

LANG = Input("lang", str, "zh", "language of the report's headers and labels: zh or en", pattern=r"^(zh|en)$")
REPORT_INPUTS = (
    LANG,
    CRS.but(help="coordinate system of the report's points and shapes: wgs84, gcj02 (Amap, Tencent) or bd09 (Baidu)"),
)
"""How a planning report is written (``stations.planning.exports``): language and coordinate system."""

AMENITY_FILTER = AMENITIES_INPUT.but(help=f"only stations with all of these (comma-separated): {', '.join(AMENITIES)}")
UNKNOWN_HOURS_INPUT = Input(
    "unknown_hours", str, "separate",
    "with a time: stations of unknown hours reported separately (separate), counted as open or as closed",
    pattern=r"^(separate|open|closed)$",
)  # fmt: skip
DAY_INPUT = Input(
    "day", str | None, None, "with hour: weekday or holiday (the representative days of the profile) or a date",
    examples=("weekday", "holiday"),
)  # fmt: skip
TIME_INPUTS = (
    Input("open_at", str | None, None, "only stations open then: ISO date-time (China time if no offset) or 'now'"),
    Input("hour", int | None, None, "instead of open_at: this hour (0-23) of day, China time", ge=0, le=23),
    DAY_INPUT,
    AMENITY_FILTER,
    UNKNOWN_HOURS_INPUT,
)
"""Which stations a coverage question counts (``stations.planning.filters``): a time and amenities."""

COVERAGE_INPUTS = (*PLANNING_INPUTS, ADCODE, *REPORT_INPUTS, *TIME_INPUTS)
"""``GET /coverage`` and ``yizhan coverage``."""

GAPS_INPUTS = (*PLANNING_INPUTS, ADCODE, LIMIT, *REPORT_INPUTS, *TIME_INPUTS)
"""``GET /gaps`` and ``yizhan gaps``."""

COVERAGE_MAP_INPUTS = (
    *PLANNING_INPUTS, ADCODE, LIMIT.but(default=50, help="how many gaps to draw"),
    Input("lang", str, "zh", "page language (title, legend, layer names): zh or en", pattern=r"^(zh|en)$"),
)  # fmt: skip
"""``GET /maps/coverage`` and ``yizhan map coverage``."""

PROFILE_INPUTS = (
    *PLANNING_INPUTS, ADCODE, AMENITY_FILTER, UNKNOWN_HOURS_INPUT,
    Input("hour", int | None, None, "only this hour (0-23); default all 24", ge=0, le=23),
)  # fmt: skip
"""``GET /coverage/profile`` and ``yizhan coverage-profile``: coverage per hour of a weekday and a holiday."""

NIGHT_GAPS_INPUTS = (
    *PLANNING_INPUTS, ADCODE, AMENITY_FILTER, UNKNOWN_HOURS_INPUT,
    DAY_INPUT.but(help="weekday or holiday (the representative days of the profile) or a date; default weekday"),
    LIMIT.but(help="how many night gaps to draw"),
)  # fmt: skip
"""``GET /coverage/night-gaps`` and ``yizhan night-gaps``: covered by day, not at 22:00-06:00."""

SITING_INPUTS = (
    Input("add", int | None, None, "how many new sites (default 10 unless target_share is given; at most "
          "YIZHAN_MAX_NEW_SITES)", ge=1),
    Input("target_share", float | None, None, "instead of add: share of demand to cover (0-1)", gt=0, le=1,
          flag="--target"),
    *PLANNING_INPUTS,
    Input("method", str, "greedy", "greedy, exact or both"),
    Input("time_limit_s", float, 30.0, "seconds for the exact solver (at most YIZHAN_MAX_TIME_LIMIT_S)", gt=0,
          flag="--time-limit"),
    Input("min_spacing_m", float, 0.0, "metres between new sites", ge=0, flag="--min-spacing"),
    LANG,
)  # fmt: skip
"""``POST /siting`` (a JSON body) and ``yizhan site``; the API adds candidates and quotas, the CLI a file. Both
also take ``crs``: of the candidates given and of the sites answered."""

STATION_MAP_INPUTS = (ADCODE, TYPES, Input("lang", str, "zh", "page language: zh or en"))
"""``GET /embed`` and ``yizhan map stations``; the embed adds the view (lon, lat, zoom) and controls."""

SEARCH_INPUTS = (
    Input("q", str, REQUIRED, "a district, street, community or station name, or part of an address: 1-100 "
          "characters", argument=True, examples=("西湖",)),
    LIMIT.but(default=10, le=50, help="how many places"),
    CRS,
)  # fmt: skip
"""``GET /search`` and ``yizhan search``."""

HOTSPOTS_INPUTS = (
    *PLANNING_INPUTS,
    ADCODE,
    LIMIT.but(help="how many hot spots and gaps to list (the totals count them all)"),
    *REPORT_INPUTS,
    *TIME_INPUTS,
)
"""``GET /hotspots`` and ``yizhan hotspots``: the unserved demand in pieces one new station serves (of the stations
open at a time, with amenities, when asked), written in a language and coordinate system."""
