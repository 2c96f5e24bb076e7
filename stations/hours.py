"""Opening hours in OpenStreetMap syntax ("Mo-Fr 08:30-11:00,13:30-17:00; PH off", "24/7").

Parsed with opening-hours-py, evaluated in China Standard Time with China's public holidays (``PH``) from our
own calendar (``stations.holidays``) for the years it covers: every day of a holiday period is ``PH`` (the library
marks one day per holiday), and on an adjusted working day (调休上班, a Saturday or Sunday worked in exchange for
days off) a station keeps the hours of a working day — those it has on a Wednesday, the weekday with no special
hours in Chinese practice (Monday is when museums close, some offices shorten Friday): a "Mo-Fr" office is open
on the 调休 Sunday, as Chinese offices are, and a "Sa-Su" weekend service is not. Other years use the library's
calendar. Unknown hours are unknown: ``status`` answers ``"unknown"``, never open or closed by default.

How: for a holiday or 调休 day (and the day after one, which overnight hours reach into), each weekday range and
``PH`` of the text is rewritten as the actual weekday(s) it stands for on that day and the day before, and the text
is evaluated by the library with no holiday calendar of its own. Left as they are (and so evaluated by the date
alone): nth weekdays (``Mo[1]``), holidays with offsets (``PH +1 day``) and school holidays (``SH``).

>>> from datetime import datetime
>>> status("Mo-Fr 08:30-11:00,13:30-17:00; PH off", datetime(2026, 11, 23, 9, 0))
'open'
>>> status("Mo-Fr 08:30-11:00,13:30-17:00; PH off", datetime(2026, 11, 23, 12, 0))
'closed'
>>> status("Mo-Su 08:00-18:00; PH off", datetime(2026, 10, 1, 10, 0))  # National Day
'closed'
>>> status("Mo-Su 08:00-18:00; PH off", datetime(2026, 10, 6, 10, 0))  # a later day of the National Day holiday
'closed'
>>> status("Mo-Fr 08:30-17:00; PH off", datetime(2026, 10, 10, 10, 0))  # a Saturday worked (调休)
'open'
>>> status(None, datetime(2026, 11, 23, 9, 0))
'unknown'
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from opening_hours import OpeningHours, ParserError, State  # type: ignore[attr-defined]  # the stub omits ParserError

from stations import holidays

TIMEZONE = ZoneInfo("Asia/Shanghai")
OPENING_HORIZON = timedelta(days=31)
"""How far ahead ``next_opening`` looks: past the longest holiday (Spring Festival, 8-9 days) with room to spare."""
CHANGE_HORIZON = timedelta(days=400)
"""How far ahead ``next_change`` looks; hours that do not change within it are taken never to change."""
ADJUSTED_WORKDAY_WEEKDAY = 2
"""The weekday (Wednesday) whose hours a station keeps on an adjusted working day (调休上班)."""


def today() -> date:
    """Today's date in China."""
    return datetime.now(TIMEZONE).date()


OpenStatus = Literal["open", "closed", "unknown"]


@lru_cache(maxsize=4096)
def parse(text: str) -> OpeningHours:
    """Parsed hours (cached: registries reuse a few hundred distinct strings). Raises ValueError if invalid."""
    try:
        return OpeningHours(text, timezone=TIMEZONE, country="CN", auto_country=False, auto_timezone=False)
    except (ParserError, SyntaxError) as exc:
        first_line = str(exc).strip().splitlines()[-1].strip(" =")
        raise ValueError(f"not valid OpenStreetMap opening_hours ({first_line})") from None


def validate(text: str) -> str:
    """The text, stripped, if it parses; ValueError otherwise."""
    text = text.strip()
    parse(text)
    return text


_WEEKDAY_NAMES = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_SELECTOR = re.compile(
    r'"[^"]*"'  # a comment: left as it is
    r"|\b(?P<first>Mo|Tu|We|Th|Fr|Sa|Su)\b(?:\s*-\s*(?P<last>Mo|Tu|We|Th|Fr|Sa|Su)\b)?(?!\s*\[)"
    r"|\bPH\b(?!\s*[+-]\s*\d)",
    re.IGNORECASE,
)
Profile = tuple[int, bool]
"""How a day counts: (the weekday whose hours it has, whether it is a public holiday)."""


def _profile(day: date) -> Profile:
    kind = holidays.day_kind(day)
    if kind == "adjusted_workday":
        return (ADJUSTED_WORKDAY_WEEKDAY, False)
    return (day.weekday(), kind == "holiday")


@cache
def _special_starts() -> tuple[date, ...]:
    """Days whose evaluation differs from an ordinary day's: each holiday or 调休 day and the day after it."""
    days = set(holidays.special_days())
    return tuple(sorted(days | {day + timedelta(days=1) for day in days}))


def _is_special(day: date) -> bool:
    starts = _special_starts()
    index = bisect_right(starts, day) - 1
    return index >= 0 and starts[index] == day


@lru_cache(maxsize=8192)
def _evaluated(text: str, country: str | None, horizon_days: int) -> OpeningHours:
    """Hours for evaluation with the library's calendar of ``country`` (None: no holidays); a change further than
    ``horizon_days`` ahead counts as none (the library would otherwise look up to the year 9999 for a state that
    never changes, seconds per call)."""
    return OpeningHours(
        text,
        timezone=TIMEZONE,
        country=country,
        auto_country=False,
        auto_timezone=False,
        max_interval_days=horizon_days,
    )


@lru_cache(maxsize=8192)
def _rewritten(text: str, before: Profile, today_: Profile, weekdays: tuple[int, int, int]) -> OpeningHours:
    """``text`` for one day: each weekday range and ``PH`` replaced by the actual weekdays it holds on that day
    (``weekdays[1]``, counted as ``today_``) and the day before (``weekdays[0]``, counted as ``before``); one that
    holds on neither becomes the next day's weekday (``weekdays[2]``), which no time of the day depends on."""

    def holds(match: re.Match[str], profile: Profile) -> bool:
        if match["first"] is None:
            return profile[1]
        first = _WEEKDAY_NAMES.index(match["first"].capitalize())
        last = _WEEKDAY_NAMES.index((match["last"] or match["first"]).capitalize())
        return (profile[0] - first) % 7 <= (last - first) % 7

    def replace(match: re.Match[str]) -> str:
        if match.group().startswith('"'):
            return match.group()
        names = [_WEEKDAY_NAMES[weekdays[0]]] if holds(match, before) else []
        names += [_WEEKDAY_NAMES[weekdays[1]]] if holds(match, today_) else []
        return ",".join(names or [_WEEKDAY_NAMES[weekdays[2]]])

    try:
        return _evaluated(_SELECTOR.sub(replace, text), None, 3)  # answers for one day only
    except (ParserError, SyntaxError, ValueError):  # a construct the rewriting does not fit: the library's calendar
        return _evaluated(text, "CN", CHANGE_HORIZON.days)


@lru_cache(maxsize=8192)
def _names_days(text: str) -> bool:
    """Whether ``text`` names weekdays or holidays (outside comments)."""
    return any(not match.group().startswith('"') for match in _SELECTOR.finditer(text))


@lru_cache(maxsize=16384)
def _hours_on(text: str, day: date) -> tuple[OpeningHours, datetime | None]:
    """The parsed hours that answer for ``day`` and the moment from which they may not (None: never)."""
    first, last = holidays.COVERED_YEARS[0], holidays.COVERED_YEARS[-1]
    if not _names_days(text):  # "24/7", "08:00-20:00": the same on every day, whatever the calendar
        return _evaluated(text, None, CHANGE_HORIZON.days), None
    if day.year > last:
        return _evaluated(text, "CN", CHANGE_HORIZON.days), None
    if day.year < first:
        return _evaluated(text, "CN", CHANGE_HORIZON.days), datetime(first, 1, 1, tzinfo=TIMEZONE)
    if _is_special(day):
        yesterday = day - timedelta(days=1)
        weekdays = (yesterday.weekday(), day.weekday(), (day.weekday() + 1) % 7)
        hours = _rewritten(text, _profile(yesterday), _profile(day), weekdays)
        return hours, _midnight_after(day)
    starts = _special_starts()
    index = bisect_right(starts, day)
    until = starts[index] if index < len(starts) else date(last + 1, 1, 1)
    return _evaluated(text, None, CHANGE_HORIZON.days), datetime(until.year, until.month, until.day, tzinfo=TIMEZONE)


def _midnight_after(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=TIMEZONE)


def _state(text: str, moment: datetime) -> State:
    return _hours_on(text, moment.date())[0].state(moment)[0]


def local_time(at: datetime) -> datetime:
    """``at`` in China Standard Time; a naive datetime is taken to already be local time."""
    return at.replace(tzinfo=TIMEZONE) if at.tzinfo is None else at.astimezone(TIMEZONE)


def next_change(text: str | None, at: datetime) -> datetime | None:
    """When the state at ``at`` next changes (China time), or None for unknown or never-changing hours.

    >>> next_change("Mo-Fr 08:30-11:00,13:30-17:00", datetime(2026, 11, 23, 9, 0)).isoformat()
    '2026-11-23T11:00:00+08:00'
    """
    if not text:
        return None
    moment = local_time(at)
    state = _state(text, moment)
    horizon = moment + CHANGE_HORIZON
    while moment < horizon:
        hours, until = _hours_on(text, moment.date())
        change = hours.next_change(moment)
        if change is not None and change.year < 9999 and (until is None or change < until):
            if change > horizon:
                return None
            if _state(text, change) != state:
                return change
            moment = change
            continue
        if until is None:
            return None
        if _state(text, until) != state:
            return until
        moment = until
    return None


def next_opening(text: str | None, at: datetime, within: timedelta = OPENING_HORIZON) -> datetime | None:
    """When a station that is not open at ``at`` next opens (China time), looking ``within`` ahead; None for
    unknown hours, hours open at ``at``, and hours that do not open in that time.

    Closed may turn unknown before it turns open ("Mo-Fr 08:00-12:00 unknown"): the changes are followed until
    one opens.

    >>> next_opening("Mo-Fr 08:30-11:00,13:30-17:00", datetime(2026, 11, 21, 2, 17)).isoformat()  # a Saturday
    '2026-11-23T08:30:00+08:00'
    >>> next_opening("Mo-Su 08:00-18:00; PH off", datetime(2026, 10, 1, 2, 17)).isoformat()  # National Day
    '2026-10-08T08:00:00+08:00'
    >>> next_opening("24/7", datetime(2026, 11, 21, 2, 17)) is None
    True
    """
    if not text:
        return None
    moment = local_time(at)
    if _state(text, moment) == State.OPEN:
        return None
    end = moment + within
    while True:
        change = next_change(text, moment)
        if change is None or change > end:
            return None
        if _state(text, change) == State.OPEN:
            return change
        moment = change


_WEEKDAYS = {
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
_CHANGE_WORDS = {  # (closes, opens) × (today, tomorrow, this week, later), as the rider page words them
    "zh": (("至 {time}", "至明天 {time}", "至{day} {time}", "至{month}月{date}日 {time}"),
           ("{time} 开放", "明天 {time} 开放", "{day} {time} 开放", "{month}月{date}日 {time} 开放")),
    "en": (("until {time}", "until {time} tomorrow", "until {day} {time}", "until {date} {month_name} {time}"),
           ("opens {time}", "opens tomorrow {time}", "opens {day} {time}", "opens {date} {month_name} {time}")),
}  # fmt: skip
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def change_words(moment: datetime, at: datetime, opens: bool, lang: Literal["zh", "en"] = "zh") -> str:
    """When a station closes (``opens`` False) or opens at ``moment``, said at ``at``, in China time: the day
    named as today (not said), tomorrow, a weekday within the week, else the date.

    >>> at = datetime(2026, 11, 24, 2, 17)  # a Tuesday night
    >>> change_words(datetime(2026, 11, 24, 8, 0), at, opens=True)
    '08:00 开放'
    >>> change_words(datetime(2026, 11, 25, 8, 0), at, True), change_words(datetime(2026, 11, 30, 9, 0), at, True)
    ('明天 08:00 开放', '周一 09:00 开放')
    >>> change_words(datetime(2026, 11, 24, 20, 0), at, False), change_words(datetime(2026, 12, 8, 9), at, True, "en")
    ('至 20:00', 'opens 8 Dec 09:00')
    """
    local, now = local_time(moment), local_time(at)
    days = (local.date() - now.date()).days
    form = 0 if days <= 0 else 1 if days == 1 else 2 if days < 7 else 3
    return _CHANGE_WORDS[lang][opens][form].format(
        time=f"{local:%H:%M}", day=_WEEKDAYS[lang][local.weekday()], month=local.month, date=local.day,
        month_name=_MONTHS[local.month - 1],
    )  # fmt: skip


def status(text: str | None, at: datetime) -> OpenStatus:
    """``"open"``, ``"closed"`` or ``"unknown"`` at time ``at`` for hours ``text`` (None: unknown hours)."""
    if not text:
        return "unknown"
    state = _state(text, local_time(at))
    if state == State.OPEN:
        return "open"
    if state == State.CLOSED:
        return "closed"
    return "unknown"
