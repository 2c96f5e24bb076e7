"""China's public holidays as the State Council sets them each year: every day of each holiday period, and the
adjusted working days (调休上班日, a Saturday or Sunday worked in exchange for days off).

opening-hours-py knows one day per holiday and no 调休, so "PH off" stations looked open on 2-7 October; the
hours evaluation (``stations.hours``) takes public holidays from here for the years this calendar covers, and the
library's own calendar for other years.

Sources (the State Council's notices, as published by Xinhua and on www.gov.cn):

- 2025: 《国务院办公厅关于2025年部分节假日安排的通知》 (国办发明电〔2024〕12号, 2024-11-12), the first under the
  Regulations on National Holidays as revised in November 2024 (《全国年节及纪念日放假办法》: Spring Festival and
  Labour Day one day longer from 2025).
- 2026: 《国务院办公厅关于2026年部分节假日安排的通知》 (2025-11-04).
- 2027: **no notice was known when this was written** (December 2026). Only the statutory days of
  《全国年节及纪念日放假办法》 are listed — 元旦 1 day, 春节 除夕 to 初三 (4 days), 清明 1 day, 劳动节 1-2 May,
  端午 1 day, 中秋 1 day, 国庆 1-3 October — on the 2027 dates of the lunar festivals and of 清明; no 调休 days.
  Replace them with the notice's periods and working days when it is published (``NOTICE_PUBLISHED`` then True).

>>> from datetime import date
>>> day_kind(date(2026, 10, 5)), day_kind(date(2026, 10, 10)), day_kind(date(2026, 10, 12))
('holiday', 'adjusted_workday', 'ordinary')
>>> day_kind(date(2031, 10, 2)) is None  # not covered: the caller falls back on another calendar
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Literal

DayKind = Literal["holiday", "adjusted_workday", "ordinary"]


@dataclass(frozen=True)
class Holiday:
    """One holiday period: ``first`` to ``last`` (inclusive) off, and the ``workdays`` worked in exchange."""

    name_zh: str
    name_en: str
    first: date
    last: date
    workdays: tuple[date, ...] = ()

    def days(self) -> list[date]:
        """Every day of the period, in order."""
        return [self.first + timedelta(days=k) for k in range((self.last - self.first).days + 1)]


def _holiday(
    zh: str, en: str, first: tuple[int, int, int], last: tuple[int, int, int], *work: tuple[int, int, int]
) -> Holiday:
    return Holiday(zh, en, date(*first), date(*last), tuple(date(*day) for day in work))


HOLIDAYS: tuple[Holiday, ...] = (
    # 2025 (国办发明电〔2024〕12号)
    _holiday("元旦", "New Year's Day", (2025, 1, 1), (2025, 1, 1)),
    _holiday("春节", "Spring Festival", (2025, 1, 28), (2025, 2, 4), (2025, 1, 26), (2025, 2, 8)),
    _holiday("清明节", "Qingming Festival", (2025, 4, 4), (2025, 4, 6)),
    _holiday("劳动节", "Labour Day", (2025, 5, 1), (2025, 5, 5), (2025, 4, 27)),
    _holiday("端午节", "Dragon Boat Festival", (2025, 5, 31), (2025, 6, 2)),
    _holiday("国庆节、中秋节", "National Day and Mid-Autumn Festival", (2025, 10, 1), (2025, 10, 8),
             (2025, 9, 28), (2025, 10, 11)),
    # 2026 (notice of 2025-11-04)
    _holiday("元旦", "New Year's Day", (2026, 1, 1), (2026, 1, 3), (2026, 1, 4)),
    _holiday("春节", "Spring Festival", (2026, 2, 15), (2026, 2, 23), (2026, 2, 14), (2026, 2, 28)),
    _holiday("清明节", "Qingming Festival", (2026, 4, 4), (2026, 4, 6)),
    _holiday("劳动节", "Labour Day", (2026, 5, 1), (2026, 5, 5), (2026, 5, 9)),
    _holiday("端午节", "Dragon Boat Festival", (2026, 6, 19), (2026, 6, 21)),
    _holiday("中秋节", "Mid-Autumn Festival", (2026, 9, 25), (2026, 9, 27)),
    _holiday("国庆节", "National Day", (2026, 10, 1), (2026, 10, 7), (2026, 9, 20), (2026, 10, 10)),
    # 2027: statutory days only, no notice known (see the module's docstring)
    _holiday("元旦", "New Year's Day", (2027, 1, 1), (2027, 1, 1)),
    _holiday("春节", "Spring Festival", (2027, 2, 5), (2027, 2, 8)),  # 除夕 5 Feb to 初三 8 Feb
    _holiday("清明节", "Qingming Festival", (2027, 4, 5), (2027, 4, 5)),
    _holiday("劳动节", "Labour Day", (2027, 5, 1), (2027, 5, 2)),
    _holiday("端午节", "Dragon Boat Festival", (2027, 6, 9), (2027, 6, 9)),
    _holiday("中秋节", "Mid-Autumn Festival", (2027, 9, 15), (2027, 9, 15)),
    _holiday("国庆节", "National Day", (2027, 10, 1), (2027, 10, 3)),
)  # fmt: skip
COVERED_YEARS = (2025, 2026, 2027)
NOTICE_PUBLISHED = {2025: True, 2026: True, 2027: False}
"""Whether a year's periods and 调休 days are the State Council's notice (True) or the statutory days alone."""


@cache
def _kinds() -> dict[date, DayKind]:
    kinds: dict[date, DayKind] = {}
    for holiday in HOLIDAYS:
        for day in holiday.days():
            kinds[day] = "holiday"
        for day in holiday.workdays:
            kinds[day] = "adjusted_workday"
    return kinds


def day_kind(day: date) -> DayKind | None:
    """``"holiday"`` (a day of a public holiday period), ``"adjusted_workday"`` (a weekend day worked: 调休上班),
    ``"ordinary"``, or None for a year this calendar does not cover (``COVERED_YEARS``)."""
    if day.year not in COVERED_YEARS:
        return None
    return _kinds().get(day, "ordinary")


def special_days() -> list[date]:
    """Every holiday and adjusted working day of the covered years, in order."""
    return sorted(_kinds())


def holiday_named(day: date) -> Holiday | None:
    """The holiday period ``day`` belongs to, if any."""
    return next((h for h in HOLIDAYS if h.first <= day <= h.last), None)
