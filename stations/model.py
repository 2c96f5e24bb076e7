"""The Station model: one truth used by the store, the API and the importers.

Coordinates are WGS84 degrees (``lon``, ``lat``); inputs in GCJ-02 or BD-09 are converted before a
Station is built (see ``stations.importers`` and ``api``). Amenities are tri-state: a key maps to
``"yes"`` or ``"no"``; an amenity that is absent is unknown.

>>> s = Station(id="HZ-1", name="武林街道工会驿站", types=["outdoor_worker"], lon=120.16, lat=30.27,
...             amenities={"hot_water": "yes"})
>>> s.amenity("hot_water"), s.amenity("microwave")
('yes', 'unknown')
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Collection
from datetime import date
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from stations import hours_words
from stations.errors import InvalidFields
from stations.vocabulary import AMENITIES as AMENITIES  # re-exported: the model's vocabulary is stations.vocabulary
from stations.vocabulary import (
    CLOSED_STATUSES,
    Amenity,
    OperatingStatus,
    StationType,
    TriState,
)
from stations.vocabulary import OPERATING_STATUSES as OPERATING_STATUSES
from stations.vocabulary import STATION_TYPES as STATION_TYPES

CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""The characters station text may not hold: C0 controls but tab and line breaks, and DEL."""
RESERVED_IDS = ("nearby",)  # /stations/nearby is a route, so no station may be called that
ID_PATTERN = r"^[^\s/?#%\\]+$"
"""Station ids: 1-64 characters, none of them white space or ``/ ? # % \\`` (see ``id_problem``)."""
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})
"""Characters an id may not hold: controls, format characters (bidi overrides, zero-width), surrogates, spaces."""
_DOT_SEGMENTS = frozenset({".", ".."})


def id_problem(value: str) -> str | None:
    r"""Why ``value`` cannot be a station id, or None when it can.

    A station id is 1-64 visible characters — letters of any script (Chinese too), digits, marks, punctuation
    and symbols — except white space and ``/ ? # % \``; no control, format (bidi overrides, zero-width) or
    surrogate characters; not ``.`` or ``..`` (URL paths remove those segments); not a reserved word
    (``RESERVED_IDS``). Every id that the sample data and the importers make (``HZ-SYN-00001``, ``ST-<hex>``)
    is one, so an id always fits one URL path segment once percent-encoded.

    >>> id_problem("驿站-RT-1") is None, id_problem("HZ:2026.1~a_b") is None
    (True, True)
    >>> id_problem("..")
    "'..' is a path step (. and .. are refused)"
    >>> id_problem("a\u202eb")
    'must not contain invisible characters (U+202E: controls, bidi or zero-width marks, spaces)'
    """
    if value in _DOT_SEGMENTS:
        return f"{value!r} is a path step (. and .. are refused)"
    if value.isascii() and value.isprintable() and " " not in value:  # "!".."~": no hidden character (fast path)
        hidden = None
    else:
        hidden = next((c for c in value if unicodedata.category(c) in _HIDDEN_CATEGORIES), None)
    if hidden is not None:
        code = f"U+{ord(hidden):04X}"
        return f"must not contain invisible characters ({code}: controls, bidi or zero-width marks, spaces)"
    if value.lower() in RESERVED_IDS:
        return f"{value!r} is reserved (it names an API path); reserved: {', '.join(RESERVED_IDS)}"
    return None


MAX_CAPACITY = 1_000_000
"""The most people a station may be said to hold: far past any real one, and well inside the 64-bit integers that
every JSON reader on the way (orjson, PostgreSQL, browsers) reads back as the same integer."""


class Station(BaseModel):
    """A service station, validated; coordinates in WGS84 degrees."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    id: str = Field(
        min_length=1,
        max_length=64,
        pattern=ID_PATTERN,
        examples=["HZ-SYN-00001", "驿站-RT-1"],
        description="1-64 visible characters (any script), none of white space and / ? # % \\; not . or ..",
    )
    name: str = Field(min_length=1, max_length=200, examples=["武林街道工会驿站"])
    types: tuple[StationType, ...] = Field(min_length=1, examples=[["outdoor_worker"]])
    host: str | None = Field(default=None, max_length=200, description="who runs it: union, company, shop...")
    lon: float = Field(ge=-180, le=180, description="WGS84 longitude, degrees")
    lat: float = Field(ge=-90, le=90, description="WGS84 latitude, degrees")
    address: str | None = Field(default=None, max_length=500)
    adcode: str | None = Field(default=None, pattern=r"^\d{6}$", description="district code (行政区划代码)")
    district: str | None = Field(default=None, max_length=100)
    opening_hours: str | None = Field(
        default=None,
        max_length=500,
        description="OpenStreetMap opening_hours syntax (Chinese words such as 周一至周日 8:00-20:00 are read into "
        "it); absent = unknown",
    )
    operating_status: OperatingStatus = "normal"
    phone: str | None = Field(default=None, max_length=100)
    amenities: dict[Amenity, Literal["yes", "no"]] = Field(default_factory=dict)
    capacity: int | None = Field(default=None, ge=0, le=MAX_CAPACITY)
    area_m2: float | None = Field(default=None, gt=0)
    photo_url: str | None = Field(default=None, max_length=1000, pattern=r"^https?://")
    verified_at: date | None = None
    source: str | None = Field(default=None, max_length=200)
    external_ids: dict[str, str] = Field(default_factory=dict)

    @field_validator("id", "name", "host", "address", "district", "opening_hours", "phone", "photo_url", "source")
    @classmethod
    def _no_control_characters(cls, value: str | None) -> str | None:
        """Text is text: no NUL or other C0 control characters (PostgreSQL and XLSX cannot hold them);
        tabs and line breaks are allowed."""
        if value is not None and CONTROL_CHARACTER.search(value):
            raise ValueError("must not contain control characters (such as NUL); tabs and line breaks are fine")
        return value

    @field_validator("external_ids")
    @classmethod
    def _external_ids_are_text(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if not key or len(key) > 64 or len(text) > 200 or CONTROL_CHARACTER.search(key + text):
                raise ValueError(
                    f"{key!r}: systems and ids are 1-64 and up to 200 characters of text, no control characters"
                )
        return value

    @field_validator("id")
    @classmethod
    def _usable_id(cls, value: str) -> str:
        problem = id_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("lon", "lat")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("types")
    @classmethod
    def _unique_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(value))

    @field_validator("opening_hours")
    @classmethod
    def _parsable_hours(cls, value: str | None) -> str | None:
        """OSM syntax, kept as given; Chinese words ("周一至周日 8:00-20:00") as OSM syntax; the one place every
        door (importers, API, CLI, console) checks hours."""
        return hours_words.to_osm(value) if value and value.strip() else None

    def amenity(self, name: Amenity) -> TriState:
        """``"yes"``, ``"no"`` or ``"unknown"`` for one amenity."""
        return self.amenities.get(name, "unknown")

    def is_stale(self, today: date, max_age_days: int) -> bool:
        """Whether nobody has confirmed the station within ``max_age_days`` of ``today`` (or ever)."""
        return self.verified_at is None or (today - self.verified_at).days > max_age_days

    def serves(self, types: tuple[str, ...] | frozenset[str] = ()) -> bool:
        """Whether the station counts for riders and coverage: not closed for good, and of any of ``types``
        (all types when empty). Temporarily closed stations still count: they are expected back."""
        return self.operating_status != "closed" and (not types or any(kind in types for kind in self.types))

    @property
    def is_closed(self) -> bool:
        """Closed for good or for now, whatever its hours say."""
        return self.operating_status in CLOSED_STATUSES


def station_from(data: dict[str, Any]) -> Station:
    """A Station from JSON-like data; every invalid field is reported at once (InvalidFields)."""
    try:
        return Station.model_validate(data)
    except ValidationError as exc:
        raise InvalidFields(
            [
                (".".join(map(str, e["loc"])) or "*", e.get("input"), e["msg"].removeprefix("Value error, "))
                for e in exc.errors()
            ]
        ) from None


def unchecked_station(values: dict[str, Any], fields_set: Collection[str]) -> Station:
    """A Station holding ``values`` (fields not among them take their defaults), made without validation: what
    ``Station.model_construct(fields_set, **values)`` makes, in ~1 µs instead of ~10.

    Only for values that validation is known to accept unchanged: an import's rows that passed the importer's
    checks (``stations.importers``), a validated station with its district set (``stations.registry``), a stored
    station's JSON, validated when it was written (``stations.columns``). The tests compare it with validation on
    random rows.

    Stations of the same ``fields_set`` share one set object (pydantic's ``model_fields_set``: 728 bytes for a
    dozen names, a third of a station's memory): a frozen model never changes it (``model_copy`` copies it).
    """
    data = {**_DEFAULTS, **values}
    for name, factory in _DEFAULT_FACTORIES.items():
        if name not in values:
            data[name] = factory()
    station = _new(Station)
    _set(station, "__dict__", data)
    _set(station, "__pydantic_fields_set__", _shared_names(fields_set))
    _set(station, "__pydantic_extra__", None)
    _set(station, "__pydantic_private__", None)
    return station


def _shared_names(names: Collection[str]) -> set[str]:
    """One set object per distinct sequence of field names (kept for up to ``_SHARED_SETS_KEPT`` of them; the same
    names in another order make another key, and an equal set)."""
    key = names if isinstance(names, tuple) else tuple(names)  # a tuple is quicker to make than a frozenset
    found = _SHARED_SETS.get(key)
    if found is None:
        found = set(key)
        if len(_SHARED_SETS) < _SHARED_SETS_KEPT:
            _SHARED_SETS[key] = found
    return found


_SHARED_SETS: dict[tuple[str, ...], set[str]] = {}
_SHARED_SETS_KEPT = 4096


_DEFAULTS = {name: info.default for name, info in Station.model_fields.items()}
"""Every field in the model's order (the order of a validated station's ``__dict__``) with its default (a required
field's is a placeholder that ``values`` always replaces; one made by a factory is made anew for each station)."""
_DEFAULT_FACTORIES: dict[str, Callable[[], Any]] = {
    name: cast("Callable[[], Any]", info.default_factory)  # dict: none takes the validated data
    for name, info in Station.model_fields.items()
    if info.default_factory is not None
}
_new = object.__new__
_set = object.__setattr__
