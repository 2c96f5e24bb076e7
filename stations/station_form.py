"""The console's station form as data: a station's fields as the text a form shows and sends back, the change a
submitted form makes (only the fields the editor changed, as a JSON merge patch for ``Registry.update``), the
station as it was at an earlier revision (from its history), and a save that lost the race (412) as the fields
both sides changed.

Form values are text, one per form field (``FORM_FIELDS``): ``types`` is the chosen types joined by ``,`` in
vocabulary order, each amenity is ``amenity.<name>`` with ``yes``, ``no`` or ``unknown``, ``lon``/``lat`` are
written in the form's coordinate system (GCJ-02 when the map's tiles are Amap's; ``COORDINATE_DECIMALS``
places) and an absent value is the empty text. Comparing a submitted form with the form as it was shown (the
station at the revision the editor loaded) tells what the editor changed, without trusting anything but the
revision number: an unchanged position never makes a WGS84 → GCJ-02 → WGS84 round trip into a move.

>>> from stations.model import Station
>>> s = Station(id="A", name="西湖驿站", types=["outdoor_worker"], lon=120.16, lat=30.25, amenities={"toilet": "yes"})
>>> shown = form_values(s, "wgs84")
>>> shown["lon"], shown["amenity.toilet"], shown["amenity.wifi"]
('120.160000', 'yes', 'unknown')
>>> sent = {**shown, "name": "西湖驿站（新）", "amenity.wifi": "no"}
>>> changed_fields(shown, sent)
['name', 'amenity.wifi']
>>> patch_for(sent, changed_fields(shown, sent), "wgs84")
({'name': '西湖驿站（新）', 'amenities': {'wifi': 'no'}}, [])
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from geo.crs import CrsName, point_in, point_out
from stations.errors import InvalidFields
from stations.import_words import reason_zh
from stations.model import Station, station_from
from stations.vocabulary import AMENITIES, OPERATING_STATUSES, STATION_TYPES

if TYPE_CHECKING:
    from stations.registry import Registry

COORDINATE_DECIMALS = 6
"""Decimal places of the degrees a form shows (about 0.1 m)."""
TEXT_FIELDS = ("name", "host", "address", "adcode", "district", "opening_hours", "phone", "photo_url", "source")
"""Fields edited as plain text (empty: absent)."""
AMENITY_FIELDS = tuple(f"amenity.{name}" for name in AMENITIES)
FORM_FIELDS: tuple[str, ...] = (
    "name", "types", "host", "address", "lon", "lat", "adcode", "district", "opening_hours", "operating_status",
    "phone", "capacity", "area_m2", "photo_url", "verified_at", "source", *AMENITY_FIELDS,
)  # fmt: skip
"""Every field of the form, in the form's order (the station's ``id`` is given only when one is created)."""
TRI_STATES = ("yes", "no", "unknown")


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """Why a form field's value cannot be used: the form field, the value sent, the reason (English, as the
    Station model words it; the console shows it in Chinese)."""

    field: str
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class ConflictRow:
    """A field that the stored station (theirs) and the submitted form (yours) hold differently after a save hit
    a newer revision; ``yours_changed``: whether the editor changed it from the revision they loaded (then their
    own value is the default choice, else the stored one)."""

    field: str
    theirs: str
    yours: str
    yours_changed: bool


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


def coordinates_shown(lon: float, lat: float, crs: CrsName) -> tuple[str, str]:
    """A WGS84 position as the form writes it in ``crs``.

    >>> coordinates_shown(120.16, 30.25, "wgs84")
    ('120.160000', '30.250000')
    """
    x, y = point_out(lon, lat, crs)
    return f"{x:.{COORDINATE_DECIMALS}f}", f"{y:.{COORDINATE_DECIMALS}f}"


def form_values(station: Station | None, crs: CrsName) -> dict[str, str]:
    """The form of ``station`` (a new station's empty form for None), its position in ``crs``."""
    if station is None:
        empty = dict.fromkeys(FORM_FIELDS, "")
        return {**empty, "operating_status": "normal", **dict.fromkeys(AMENITY_FIELDS, "unknown")}
    values = {name: getattr(station, name) or "" for name in TEXT_FIELDS}
    values["lon"], values["lat"] = coordinates_shown(station.lon, station.lat, crs)
    values["types"] = ",".join(kind for kind in STATION_TYPES if kind in station.types)
    values["operating_status"] = station.operating_status
    values["capacity"] = "" if station.capacity is None else str(station.capacity)
    values["area_m2"] = "" if station.area_m2 is None else _number(station.area_m2)
    values["verified_at"] = station.verified_at.isoformat() if station.verified_at else ""
    values.update({f"amenity.{name}": station.amenity(name) for name in AMENITIES})  # type: ignore[arg-type]
    return {name: values[name] for name in FORM_FIELDS}


def submitted(form: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """The form values of a submitted form (each field's list of values, as a multi-dict gives them): text
    trimmed, the types checked joined in vocabulary order, missing fields empty."""
    values = {}
    for name in FORM_FIELDS:
        sent = list(form.get(name, ()))
        if name == "types":
            values[name] = ",".join(kind for kind in STATION_TYPES if kind in sent)
            continue
        values[name] = sent[0].strip() if sent else ""
    return values


def changed_fields(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """The form fields whose value differs, in the form's order."""
    return [name for name in FORM_FIELDS if before.get(name, "") != after.get(name, "")]


def patch_for(
    values: Mapping[str, str], fields: Iterable[str], crs: CrsName
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The JSON merge patch setting ``fields`` of a station to the form's ``values`` (an empty value removes
    the field; an unknown amenity removes it; a position in ``crs`` becomes WGS84), and the problems of values
    that are no number, date or known choice. The Station model checks the rest when the patch is applied."""
    patch: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    chosen = list(dict.fromkeys(fields))
    for name in chosen:
        text = values.get(name, "")
        if name in TEXT_FIELDS:
            patch[name] = text or None
        elif name == "types":
            patch[name] = [kind for kind in text.split(",") if kind] or None
            if not text:
                problems.append(
                    FieldProblem(name, text, f"at least one type is required (valid: {', '.join(STATION_TYPES)})")
                )
        elif name == "operating_status":
            if text not in OPERATING_STATUSES:
                problems.append(FieldProblem(name, text, f"unknown status (valid: {', '.join(OPERATING_STATUSES)})"))
            patch[name] = text
        elif name.startswith("amenity."):
            if text not in TRI_STATES:
                problems.append(FieldProblem(name, text, "not a yes/no value (valid: yes, no, (empty))"))
                continue
            patch.setdefault("amenities", {})[name.removeprefix("amenity.")] = None if text == "unknown" else text
        elif name == "capacity":
            patch[name] = _parsed(name, text, int, "must be a whole number", problems)
        elif name == "area_m2":
            patch[name] = _parsed(name, text, float, "not a number", problems)
        elif name == "verified_at":
            patch[name] = _parsed(name, text, _iso_date, "Input should be a valid date", problems)
    if "lon" in chosen or "lat" in chosen:
        lon = _parsed("lon", values.get("lon", ""), float, "not a number", problems, required=True)
        lat = _parsed("lat", values.get("lat", ""), float, "not a number", problems, required=True)
        if lon is not None and not -180 <= lon <= 180:
            problems.append(FieldProblem("lon", values.get("lon", ""), "longitude must be within [-180, 180]"))
            lon = None
        if lat is not None and not -90 <= lat <= 90:
            problems.append(FieldProblem("lat", values.get("lat", ""), "latitude must be within [-90, 90]"))
            lat = None
        if lon is not None and lat is not None:
            if crs != "wgs84":
                lon, lat = (round(v, 7) for v in point_in(lon, lat, crs))
            patch["lon"], patch["lat"] = lon, lat
    return patch, problems


def _parsed(name: str, text: str, parse: Any, reason: str, problems: list[FieldProblem], required: bool = False) -> Any:
    if not text:
        if required:
            problems.append(FieldProblem(name, text, "Field required"))
        return None
    try:
        value = parse(text.replace("，", ".").replace("．", "."))
    except ValueError:
        problems.append(FieldProblem(name, text, reason))
        return None
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(FieldProblem(name, text, "must be a finite number"))
        return None
    return value


def _iso_date(text: str) -> str:
    return date.fromisoformat(text).isoformat()


def problem_words(problem: FieldProblem, lang: str = "zh") -> str:
    """Why a field's value cannot be used, in ``lang`` (``zh``: ``stations.import_words.reason_zh``)."""
    if lang == "en":
        return problem.reason
    return reason_zh(problem.reason)


def problems_of(error: InvalidFields, values: Mapping[str, str]) -> list[FieldProblem]:
    """The Station model's complaints (``InvalidFields``) as problems of form fields: ``amenities.toilet`` is
    the form's ``amenity.toilet``, ``types.0`` its ``types``; a complaint about no field of the form (``id``)
    keeps its name."""
    found = []
    for field, value, reason in error.problems:
        parts = field.split(".")
        name = f"amenity.{parts[1]}" if parts[0] == "amenities" and len(parts) > 1 else parts[0]
        shown = values.get(name, "" if value is None else str(value))
        found.append(FieldProblem(name, shown, reason))
    return list(dict.fromkeys(found))


def model_problems(
    current: Mapping[str, Any], patch: Mapping[str, Any], values: Mapping[str, str], known: Sequence[FieldProblem]
) -> list[FieldProblem]:
    """``known`` and what the Station model says of the station ``patch`` would make of ``current`` (a payload),
    so that a form shows every problem at once, not the model's only after the form's own are fixed."""
    from stations.edits import merge_patch

    try:
        station_from(merge_patch(dict(current), dict(patch)))
    except InvalidFields as error:
        named = {problem.field for problem in known}
        return [*known, *(p for p in problems_of(error, values) if p.field not in named)]
    return list(known)


def new_station(values: Mapping[str, str], station_id: str, crs: CrsName) -> tuple[Station | None, list[FieldProblem]]:
    """The station a new station's form describes (its ``id``, or one made from its name and place when
    empty), or None and every problem of the form."""
    from stations.importers import generated_id

    data, problems = patch_for(values, FORM_FIELDS, crs)
    data = {key: value for key, value in data.items() if value is not None}
    data["amenities"] = {key: value for key, value in data.get("amenities", {}).items() if value is not None}
    if station_id:
        data["id"] = station_id
    elif isinstance(data.get("lon"), float) and isinstance(data.get("lat"), float) and values.get("name"):
        data["id"] = generated_id(values["name"], data["lon"], data["lat"])
    else:
        data["id"] = "-"  # no id can be made yet: the problems of name and position say why
    try:
        station = station_from(data)
    except InvalidFields as error:
        problems += [p for p in problems_of(error, values) if p.field not in {q.field for q in problems}]
        return None, problems
    return (station, []) if not problems else (None, problems)


def payload_at(registry: Registry, station_id: str, revision: int) -> dict[str, Any] | None:
    """The stored payload of a station at ``revision``, rebuilt from its current payload and its history (each
    later change undone: its fields set back to their ``before``); None when the station no longer exists or
    never had that revision."""
    found = registry.store.versioned(station_id)
    if found is None:
        return None
    station, current = found
    if not 1 <= revision <= current:
        return None
    data = station.model_dump(mode="json", exclude_none=True)
    for entry in reversed(registry.history(station_id)):
        if entry.revision <= revision:
            break
        for field, (before, _after) in entry.changes.items():
            if before is None:
                data.pop(field, None)
            else:
                data[field] = before
    return data


def conflict_rows(base: Mapping[str, str], theirs: Mapping[str, str], yours: Mapping[str, str]) -> list[ConflictRow]:
    """The fields the stored station (``theirs``) and the submitted form (``yours``) hold differently, with
    whether the editor changed each from ``base`` (the form they loaded)."""
    return [
        ConflictRow(name, theirs.get(name, ""), yours.get(name, ""), yours.get(name, "") != base.get(name, ""))
        for name in FORM_FIELDS
        if theirs.get(name, "") != yours.get(name, "")
    ]


def form_of_payload(payload: Mapping[str, Any], crs: CrsName) -> dict[str, str]:
    """``form_values`` of a stored payload (a station at an earlier revision)."""
    return form_values(station_from(dict(payload)), crs)
