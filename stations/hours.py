"""Opening hours in OpenStreetMap syntax ("Mo-Fr 08:30-11:00,13:30-17:00; PH off", "24/7").

Parsed with opening-hours-py, evaluated in China Standard Time with China's public holidays (``PH``).
Unknown hours are unknown: ``status`` answers ``"unknown"``, never open or closed by default.

>>> from datetime import datetime
>>> status("Mo-Fr 08:30-11:00,13:30-17:00; PH off", datetime(2026, 11, 23, 9, 0))
'open'
>>> status("Mo-Fr 08:30-11:00,13:30-17:00; PH off", datetime(2026, 11, 23, 12, 0))
'closed'
>>> status("Mo-Su 08:00-18:00; PH off", datetime(2026, 10, 1, 10, 0))  # National Day
'closed'
>>> status(None, datetime(2026, 11, 23, 9, 0))
'unknown'
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from opening_hours import OpeningHours, ParserError, State  # type: ignore[attr-defined]  # the stub omits ParserError

TIMEZONE = ZoneInfo("Asia/Shanghai")
OPENING_HORIZON = timedelta(days=31)
"""How far ahead ``next_opening`` looks: past the longest holiday (Spring Festival, 8-9 days) with room to spare."""


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
    change = parse(text).next_change(local_time(at))
    return None if change is None or change.year >= 9999 else change


def next_opening(text: str | None, at: datetime, within: timedelta = OPENING_HORIZON) -> datetime | None:
    """When a station that is not open at ``at`` next opens (China time), looking ``within`` ahead; None for
    unknown hours, hours open at ``at``, and hours that do not open in that time.

    Closed may turn unknown before it turns open ("Mo-Fr 08:00-12:00 unknown"): the changes are followed until
    one opens.

    >>> next_opening("Mo-Fr 08:30-11:00,13:30-17:00", datetime(2026, 11, 21, 2, 17)).isoformat()  # a Saturday
    '2026-11-23T08:30:00+08:00'
    >>> next_opening("Mo-Su 08:00-18:00; PH off", datetime(2026, 10, 1, 2, 17)).isoformat()  # National Day
    '2026-10-02T08:00:00+08:00'
    >>> next_opening("24/7", datetime(2026, 11, 21, 2, 17)) is None
    True
    """
    if not text:
        return None
    hours = parse(text)
    moment = local_time(at)
    if hours.is_open(moment):
        return None
    end = moment + within
    while True:
        change = hours.next_change(moment)
        if change is None or change.year >= 9999 or change > end:
            return None
        if hours.is_open(change):
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
    state, _comment = parse(text).state(local_time(at))
    if state == State.OPEN:
        return "open"
    if state == State.CLOSED:
        return "closed"
    return "unknown"
