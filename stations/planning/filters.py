"""Which stations a coverage question counts: open at one instant, with some amenities, unknown hours how.

Light on purpose (no numpy): ``stations.queries`` builds these from what either door was given. The heavy part,
coverage of the stations that pass, is ``stations.planning.timed``.

A time without a zone is China time (``Asia/Shanghai``), and the answer says so (``time_note``). An hour of a
representative day (``hour`` with ``day``) stands for that day's ``HH:00`` China time: the same instants the
24-hour profile evaluates, so ``hour=22`` answers exactly what the profile's hour 22 says.

>>> f = parse_filters(open_at="2026-11-23T22:00", amenities="hot_water")
>>> f.open_at.isoformat(), f.amenities, f.unknown_hours, f.time_note("zh")
('2026-11-23T22:00:00+08:00', ('hot_water',), 'separate', '时间未注明时区，按北京时间（UTC+8）计算')
>>> parse_filters(hour=24)
Traceback (most recent call last):
...
stations.errors.InvalidValue: hour=24: must be between 0 and 23
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from stations.errors import InvalidValue
from stations.vocabulary import AMENITIES

UnknownHours = Literal["separate", "open", "closed"]
UNKNOWN_HOURS: tuple[UnknownHours, ...] = ("separate", "open", "closed")
"""How stations with unknown hours count: reported separately (default), as open, or as closed."""
DAY_KINDS = ("weekday", "holiday")
"""Representative days of the 24-hour profile: a working Wednesday and a public holiday (``representative_days``)."""
HOLIDAY_SCAN_DAYS = 400
"""How far ahead ``representative_days`` looks for a public holiday (every year has several)."""

_NOTES = {
    "zh": "时间未注明时区，按北京时间（UTC+8）计算",
    "en": "no time zone given: taken as China time (UTC+8)",
}


@dataclass(frozen=True)
class CoverageFilters:
    """Stations counted: open at ``open_at`` (None: whatever their hours), having every one of ``amenities``
    (``"yes"``), and stations of unknown hours counted as ``unknown_hours`` says."""

    open_at: datetime | None = None
    amenities: tuple[str, ...] = ()
    unknown_hours: UnknownHours = "separate"
    naive_time: bool = False
    """The time was given without a zone and taken as China time."""
    day: str | None = None
    """``weekday``, ``holiday`` or an ISO date when the time came as an ``hour`` of that day."""

    @property
    def active(self) -> bool:
        """Whether any station could be left out (a time or an amenity is asked for)."""
        return self.open_at is not None or bool(self.amenities)

    def time_note(self, lang: Literal["zh", "en"] = "zh") -> str | None:
        """The sentence an answer carries when a zone-less time was taken as China time, else None."""
        return _NOTES[lang] if self.naive_time else None

    def describe(self) -> dict[str, object]:
        """The filters as an answer echoes them (JSON-ready)."""
        return {
            "open_at": None if self.open_at is None else self.open_at.isoformat(),
            "open_at_note": self.time_note("zh"),
            "open_at_note_en": self.time_note("en"),
            "amenities": list(self.amenities),
            "unknown_hours": self.unknown_hours,
        }


def unknown_policy(text: str) -> UnknownHours:
    """``separate``, ``open`` or ``closed``, checked.

    >>> unknown_policy("open")
    'open'
    """
    for name in UNKNOWN_HOURS:
        if text == name:
            return name
    raise InvalidValue("unknown_hours", text, "unknown value", UNKNOWN_HOURS)


def representative_days(reference: date) -> tuple[date, date]:
    """(weekday, holiday) on or after ``reference``: the first Wednesday that is no public holiday, and the first
    public holiday as the hours calendar (``stations.hours``, opening-hours-py with ``country="CN"``) marks it.

    That calendar marks one day per Chinese holiday (National Day is 10-01 only, not the week), so the holiday
    is such a marked day: the day ``PH`` rules ("PH off", "PH 09:00-12:00") apply.

    >>> representative_days(date(2026, 12, 3))
    (datetime.date(2026, 12, 9), datetime.date(2027, 1, 1))
    """
    weekday = reference + timedelta(days=(2 - reference.weekday()) % 7)
    while is_public_holiday(weekday):
        weekday += timedelta(days=7)
    for offset in range(HOLIDAY_SCAN_DAYS):
        day = reference + timedelta(days=offset)
        if is_public_holiday(day):
            return weekday, day
    raise ValueError(f"no public holiday within {HOLIDAY_SCAN_DAYS} days of {reference}")  # pragma: no cover


def is_public_holiday(day: date) -> bool:
    """Whether the hours calendar counts ``day`` as a public holiday (``PH``)."""
    from stations import hours

    return hours.status("PH 00:00-24:00", datetime(day.year, day.month, day.day, 12)) == "open"


def resolve_day(day: str | None, reference: date) -> date:
    """``weekday`` / ``holiday`` (the representative day after ``reference``) or an ISO date, checked."""
    if day is None or day == "weekday":
        return representative_days(reference)[0]
    if day == "holiday":
        return representative_days(reference)[1]
    try:
        return date.fromisoformat(day.strip())
    except ValueError:
        raise InvalidValue("day", day, "weekday, holiday or a date such as 2026-12-09", DAY_KINDS) from None


def parse_filters(
    *,
    open_at: str | None = None,
    hour: int | None = None,
    day: str | None = None,
    amenities: str | None = None,
    unknown_hours: str = "separate",
    reference: date | None = None,
) -> CoverageFilters:
    """Checked filters from what a user typed: an ISO time (China time if no offset) or 'now', or an ``hour``
    (0-23) of ``day`` (``weekday``, ``holiday`` or an ISO date; default weekday), amenity names, a policy."""
    from stations import hours, params

    if hour is not None and (isinstance(hour, bool) or not 0 <= hour <= 23):
        raise InvalidValue("hour", hour, "must be between 0 and 23")
    if hour is not None and open_at:
        raise InvalidValue("hour", hour, "give either open_at or hour (with day), not both")
    if day is not None and hour is None:
        raise InvalidValue("day", day, "day goes with hour (0-23)")
    names = params.names(amenities, AMENITIES, "amenities")
    policy = unknown_policy(unknown_hours)
    if hour is not None:
        when = resolve_day(day, reference or hours.today())
        at = datetime(when.year, when.month, when.day, hour, tzinfo=hours.TIMEZONE)
        return CoverageFilters(at, names, policy, naive_time=False, day=day or "weekday")
    moment = params.moment(open_at)
    naive = open_at is not None and moment is not None and open_at.strip().lower() != "now"
    naive = naive and open_at is not None and not _has_zone(open_at)
    return CoverageFilters(moment, names, policy, naive_time=naive)


def _has_zone(text: str) -> bool:
    """Whether an ISO date-time names its offset (``Z``, ``+08:00``, ``-0500``)."""
    try:
        return datetime.fromisoformat(text.strip()).tzinfo is not None
    except ValueError:
        return False
