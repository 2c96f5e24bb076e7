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

from datetime import date, datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from opening_hours import OpeningHours, ParserError, State  # type: ignore[attr-defined]  # the stub omits ParserError

TIMEZONE = ZoneInfo("Asia/Shanghai")


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
