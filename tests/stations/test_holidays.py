"""China's holiday calendar (``stations.holidays``) and the hours evaluation that uses it (``stations.hours``):
every day of each holiday period is ``PH``, an adjusted working day (调休上班) has a working day's hours; checked
with the State Council's notices and against a simple reference evaluator at random times."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stations import holidays, hours
from stations.holidays import HOLIDAYS, day_kind
from stations.hours_words import WeeklyHours, write_osm
from stations.planning.filters import is_public_holiday

_WEEKDAY = {"周一": 0, "周二": 1, "周三": 2, "周四": 3, "周五": 4, "周六": 5, "周日": 6}
NOTICES = [  # (first day off, its weekday, last day off, its weekday, working days with their weekdays), as printed
    ("2025-01-01", "周三", "2025-01-01", "周三", []),
    ("2025-01-28", "周二", "2025-02-04", "周二", [("2025-01-26", "周日"), ("2025-02-08", "周六")]),
    ("2025-04-04", "周五", "2025-04-06", "周日", []),
    ("2025-05-01", "周四", "2025-05-05", "周一", [("2025-04-27", "周日")]),
    ("2025-05-31", "周六", "2025-06-02", "周一", []),
    ("2025-10-01", "周三", "2025-10-08", "周三", [("2025-09-28", "周日"), ("2025-10-11", "周六")]),
    ("2026-01-01", "周四", "2026-01-03", "周六", [("2026-01-04", "周日")]),
    ("2026-02-15", "周日", "2026-02-23", "周一", [("2026-02-14", "周六"), ("2026-02-28", "周六")]),
    ("2026-04-04", "周六", "2026-04-06", "周一", []),
    ("2026-05-01", "周五", "2026-05-05", "周二", [("2026-05-09", "周六")]),
    ("2026-06-19", "周五", "2026-06-21", "周日", []),
    ("2026-09-25", "周五", "2026-09-27", "周日", []),
    ("2026-10-01", "周四", "2026-10-07", "周三", [("2026-09-20", "周日"), ("2026-10-10", "周六")]),
]


@pytest.mark.parametrize(("first", "first_day", "last", "last_day", "workdays"), NOTICES)
def test_the_calendar_is_the_state_councils_notices(
    first: str, first_day: str, last: str, last_day: str, workdays: list[tuple[str, str]]
) -> None:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    (holiday,) = [h for h in HOLIDAYS if h.first == start]
    assert holiday.last == end and [d.isoformat() for d in holiday.workdays] == [d for d, _ in workdays]
    # the weekdays printed in the notice: a typo in a date shows up here
    assert (start.weekday(), end.weekday()) == (_WEEKDAY[first_day], _WEEKDAY[last_day])
    assert all(date.fromisoformat(d).weekday() == _WEEKDAY[w] for d, w in workdays)
    assert all(day_kind(d) == "holiday" for d in holiday.days())
    assert all(day_kind(d) == "adjusted_workday" for d in holiday.workdays)


def test_every_notice_is_listed_and_2027_is_marked_as_statutory_days_only() -> None:
    notified = [h for h in HOLIDAYS if h.first.year in (2025, 2026)]
    assert len(notified) == len(NOTICES)
    assert holidays.NOTICE_PUBLISHED == {2025: True, 2026: True, 2027: False}
    in_2027 = [h for h in HOLIDAYS if h.first.year == 2027]
    assert sum(len(h.days()) for h in in_2027) == 13 and not any(h.workdays for h in in_2027)  # 放假办法: 13 days
    periods = sorted((h.first, h.last) for h in HOLIDAYS)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(periods))  # no overlap
    assert all(d.weekday() >= 5 for h in HOLIDAYS for d in h.workdays)  # 调休 days are weekend days
    assert day_kind(date(2028, 10, 2)) is None and day_kind(date(2026, 3, 3)) == "ordinary"


PH_OFF = "Mo-Su 08:00-18:00; PH off"


def test_ph_off_stations_are_closed_on_every_day_of_national_day_not_only_the_first() -> None:
    for day in range(1, 8):
        assert hours.status(PH_OFF, datetime(2026, 10, day, 10)) == "closed", day
    assert hours.status(PH_OFF, datetime(2026, 10, 8, 10)) == "open"
    assert [hours.status(PH_OFF, datetime(2025, 10, d, 10)) for d in (8, 9)] == ["closed", "open"]  # 8 days in 2025
    assert [hours.status(PH_OFF, datetime(2026, 2, d, 10)) for d in (14, 15, 23, 24)] == [
        "open", "closed", "closed", "open",
    ]  # fmt: skip
    assert hours.next_opening(PH_OFF, datetime(2026, 10, 2, 9)) == datetime(2026, 10, 8, 8, tzinfo=hours.TIMEZONE)
    assert hours.next_change(PH_OFF, datetime(2026, 9, 30, 12)) == datetime(2026, 9, 30, 18, tzinfo=hours.TIMEZONE)
    assert hours.next_change(PH_OFF, datetime(2026, 9, 30, 19)) == datetime(2026, 10, 8, 8, tzinfo=hours.TIMEZONE)
    assert hours.status("PH 10:00-12:00", datetime(2026, 10, 5, 11)) == "open"  # PH hours on a later day too


OFFICE = "Mo-Fr 09:00-17:00; PH off"


def test_an_office_is_open_on_an_adjusted_working_day_and_a_weekend_service_is_not() -> None:
    for worked in (datetime(2026, 10, 10, 10), datetime(2026, 9, 20, 10), datetime(2025, 1, 26, 10)):
        assert hours.status(OFFICE, worked) == "open", worked
        assert hours.status("Sa,Su 10:00-16:00", worked) == "closed", worked
    assert hours.status(OFFICE, datetime(2026, 10, 17, 10)) == "closed"  # an ordinary Saturday
    assert hours.status("Tu-Su 09:00-17:00", datetime(2026, 10, 10, 10)) == "open"  # a museum: a Wednesday's hours
    # a Friday's next opening: the 调休 Saturday, not Monday
    assert hours.next_opening(OFFICE, datetime(2026, 10, 9, 18)) == datetime(2026, 10, 10, 9, tzinfo=hours.TIMEZONE)


def test_hours_beyond_the_weekly_family_still_see_the_calendar() -> None:
    assert hours.status("Jan-Dec Mo-Su 08:00-18:00; PH off", datetime(2026, 10, 3, 10)) == "closed"
    assert hours.status('Mo-Su 08:00-18:00 "电话预约"; PH off', datetime(2026, 10, 3, 10)) == "closed"
    assert hours.status("mo-su 08:00-18:00; PH off", datetime(2026, 10, 3, 10)) == "closed"  # lower case
    assert hours.status("Mo-Su 08:00-18:00; PH off", datetime(2030, 10, 1, 10)) == "closed"  # the library's calendar
    assert hours.status("24/7", datetime(2026, 10, 3, 10)) == "open"
    assert hours.status("Mo-Su 08:00-18:00; PH off", datetime(2026, 10, 1, 12, tzinfo=hours.TIMEZONE)) == "closed"


def test_the_planners_public_holiday_is_the_calendars() -> None:
    day = date(2025, 1, 1)
    while day.year < 2028:
        assert is_public_holiday(day) == (day_kind(day) == "holiday"), day
        day += timedelta(days=1)


# ---------------------------------------------------------------- against a reference evaluator

MINUTES = st.integers(0, 24 * 12).map(lambda k: k * 5)


@st.composite
def ranges(draw: st.DrawFn) -> tuple[tuple[int, int], ...]:
    edges = sorted(set(draw(st.lists(MINUTES, max_size=4))))
    edges = edges[: len(edges) // 2 * 2]
    return tuple((edges[i], edges[i + 1]) for i in range(0, len(edges), 2))


@st.composite
def weeks(draw: st.DrawFn) -> WeeklyHours:
    kinds = draw(st.lists(ranges(), min_size=1, max_size=4))
    days = tuple(draw(st.sampled_from(kinds)) for _ in range(7))
    return WeeklyHours(days, draw(st.one_of(st.none(), st.just(()), ranges()))).normalised()


def reference_open(week: WeeklyHours, at: datetime) -> bool:
    """The rule in words: a holiday day has the holiday hours (when the station states them), an adjusted working
    day a Wednesday's hours, any other day its weekday's hours."""
    kind = day_kind(at.date())
    spans = week.days[at.weekday()]
    if kind == "adjusted_workday":
        spans = week.days[hours.ADJUSTED_WORKDAY_WEEKDAY]
    elif kind == "holiday" and week.holidays is not None:
        spans = week.holidays
    minute = at.hour * 60 + at.minute
    return any(start <= minute < end for start, end in spans)


START = datetime(2025, 1, 1, tzinfo=hours.TIMEZONE)
SPECIAL = [datetime.combine(d, datetime.min.time(), tzinfo=hours.TIMEZONE) for d in holidays.special_days()]
WORKED = [datetime.combine(d, datetime.min.time(), tzinfo=hours.TIMEZONE) for h in HOLIDAYS for d in h.workdays]


def reference_next_change(week: WeeklyHours, at: datetime, horizon: timedelta) -> datetime | None:
    """The first moment after ``at`` (within ``horizon``) where ``reference_open`` differs: tried at midnights and
    at every range's edge on each day, where alone it can change."""
    expected = reference_open(week, at)
    edges = sorted({0} | {m for spans in (*week.days, week.holidays or ()) for span in spans for m in span})
    midnight = at.replace(hour=0, minute=0)
    for days in range(horizon.days + 1):
        for minute in edges:
            moment = midnight + timedelta(days=days, minutes=minute)
            if at < moment < at + horizon and reference_open(week, moment) != expected:
                return moment
    return None


HORIZON = timedelta(days=12)


@settings(max_examples=60, deadline=None)
@given(st.data(), weeks())
def test_status_and_next_change_equal_a_reference_evaluator(data: st.DataObject, week: WeeklyHours) -> None:
    text = write_osm(week)
    for _ in range(6):
        where = data.draw(st.integers(0, 2))
        if where < 2:  # near a holiday or on a 调休 day, where the calendar matters
            day = data.draw(st.sampled_from(SPECIAL if where == 0 else WORKED))
            at = day + timedelta(minutes=data.draw(st.integers(-288 * where, 576 - 288 * where)) * 5)
        else:
            at = START + timedelta(minutes=data.draw(st.integers(0, (3 * 365 - 20) * 288)) * 5)
        assert hours.status(text, at) == ("open" if reference_open(week, at) else "closed"), (text, at)
        change = hours.next_change(text, at)
        expected = reference_next_change(week, at, HORIZON)
        if expected is not None:
            assert change == expected, (text, at)
        else:
            assert change is None or change >= at + HORIZON, (text, at, change)
