"""Opening hours in people's words (``stations.hours_words``): the forms union spreadsheets use read into OSM
syntax, OSM said back in Chinese, checked by round trips and against a reference evaluator at random times; what
cannot be read is refused naming the part, in the importers too."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stations import holidays, hours
from stations.errors import HoursNotUnderstood
from stations.hours_words import DAY_MINUTES, WeeklyHours, read_osm, read_words, to_osm, to_words, write_osm
from stations.importers import parse_file

EXAMPLES = [
    ("周一至周五 9:00-17:00", "Mo-Fr 09:00-17:00"),
    ("周一到周日 8:00～20:00", "Mo-Su 08:00-20:00"),
    ("周一至周日 8:00~20:00", "Mo-Su 08:00-20:00"),
    ("周一至周日 8:00—20:00", "Mo-Su 08:00-20:00"),
    ("周一至周日 8:00－20:00", "Mo-Su 08:00-20:00"),
    ("周一至周日 8:00至20:00", "Mo-Su 08:00-20:00"),
    ("星期一到星期六 8:00到20:00", "Mo-Sa 08:00-20:00"),
    ("工作日 9:00-17:00", "Mo-Fr 09:00-17:00"),
    ("周末 10:00-16:00", "Sa,Su 10:00-16:00"),
    ("每天 8:00-20:00", "Mo-Su 08:00-20:00"),
    ("每日8:00-20:00", "Mo-Su 08:00-20:00"),
    ("8:00-20:00", "8:00-20:00"),  # already valid OSM (same meaning): unchanged
    ("周一至周五 9:00-17:00，节假日休息", "Mo-Fr 09:00-17:00; PH off"),
    ("周一至周五 9:00-17:00 法定节假日休息", "Mo-Fr 09:00-17:00; PH off"),
    ("每天 8:00-20:00；节假日照常", "Mo-Su 08:00-20:00"),
    ("每天 8:00-20:00（节假日照常开放）", "Mo-Su 08:00-20:00"),
    ("工作日 9:00-17:00；节假日 10:00-14:00", "Mo-Fr 09:00-17:00; PH 10:00-14:00"),
    ("全天", "24/7"),
    ("24小时", "24/7"),
    ("全天候", "24/7"),
    ("全天24小时开放", "24/7"),
    ("7×24小时", "24/7"),
    ("9:00-12:00/14:00-17:00", "Mo-Su 09:00-12:00,14:00-17:00"),
    ("周一至周五 9:00-17:00/周六 9:00-12:00", "Mo-Fr 09:00-17:00; Sa 09:00-12:00"),
    ("24h", "24/7"),
    ("0-24", "24/7"),
    ("24小时；法定节假日休息", "24/7; PH off"),
    ("周一至周五 24小时", "Mo-Fr 00:00-24:00"),
    ("上午8:30-11:30 下午13:30-17:00", "Mo-Su 08:30-11:30,13:30-17:00"),
    ("周一至周五 上午8:30-11:30 下午1:30-5:00", "Mo-Fr 08:30-11:30,13:30-17:00"),
    ("周一至周五上午8:30-11:30，下午1:30-5:30", "Mo-Fr 08:30-11:30,13:30-17:30"),
    ("早8点-晚8点", "Mo-Su 08:00-20:00"),
    ("周一至周五 ０８：００－１８：００", "Mo-Fr 08:00-18:00"),
    ("周一、周三、周五 9:00-12:00", "Mo,We,Fr 09:00-12:00"),
    ("周一至五 8:00-18:00", "Mo-Fr 08:00-18:00"),
    ("周一至周五 8:00-18:00；周六 9:00-12:00", "Mo-Fr 08:00-18:00; Sa 09:00-12:00"),
    ("周一至周五 8:00-12:00，14:00-18:00；周六 9:00-12:00", "Mo-Fr 08:00-12:00,14:00-18:00; Sa 09:00-12:00"),
    ("周一至周五 8:00-12:00、14:00-18:00", "Mo-Fr 08:00-12:00,14:00-18:00"),
    ("每天 8:00-20:00；周六 9:00-12:00", "Mo-Fr,Su 08:00-20:00; Sa 09:00-12:00"),
    ("周六 9:00-12:00；每天 8:00-20:00", "Mo-Fr,Su 08:00-20:00; Sa 09:00-12:00"),
    ("每天 9:00-17:00，周一闭馆", "Tu-Su 09:00-17:00"),
    ("周六、周日及节假日休息；每天9:00-17:00", "Mo-Fr 09:00-17:00; PH off"),
    ("每天 8点半-17点30分", "Mo-Su 08:30-17:30"),
    ("晚上8点至次日6点", "Mo-Su 20:00-06:00"),
    ("开放时间：周一至周五 9:00-17:00", "Mo-Fr 09:00-17:00"),
    ("Mo-Fr 08:00-18:00; PH off", "Mo-Fr 08:00-18:00; PH off"),  # OSM passes through unchanged
    ('Mo-Fr 08:00-18:00 "节假日请电话预约"', 'Mo-Fr 08:00-18:00 "节假日请电话预约"'),
    ("  24/7 ", "24/7"),
]


@pytest.mark.parametrize(("words", "osm"), EXAMPLES)
def test_the_forms_union_spreadsheets_use_read_into_osm(words: str, osm: str) -> None:
    assert to_osm(words) == osm
    hours.validate(osm)


NOT_UNDERSTOOD = [
    ("周一至周五", "周一至周五", "缺少时间"),  # days without hours: which hours? not guessed
    ("周一至周五 9:00", "9:00", "开始-结束"),
    ("周一至周五 9:00-9:00", "9:00-9:00", "相同"),
    ("周一至周五 9:00-25:00", "25:00", "时刻"),
    ("周一至周五 9:00-17:00 除春节外", "除春节外", "看不懂"),
    ("周一至周三 9:00-17:00；周三至周五 9:00-12:00", "周三至周五", "写了两次"),
    ("看情况", "看情况", "看不懂"),
    ("周一至周五 9:00-17:00 不营业", "不营业", "哪几天"),
    ("Mo-Fx 08:00", "Mo-Fx", "not valid OpenStreetMap opening_hours"),
]


@pytest.mark.parametrize(("text", "part", "reason"), NOT_UNDERSTOOD)
def test_what_cannot_be_read_is_refused_naming_the_part(text: str, part: str, reason: str) -> None:
    with pytest.raises(HoursNotUnderstood) as caught:
        to_osm(text)
    message = str(caught.value)
    assert caught.value.part == part and f"“{part}”无法识别" in message and reason in message
    assert "not understood in the opening hours" in message  # English too


def test_a_spreadsheet_in_chinese_words_imports_and_an_unreadable_row_is_a_row_error() -> None:
    sheet = (
        "名称,类型,经度,纬度,开放时间\n"
        "武林驿站,outdoor_worker,120.16,30.27,周一至周日 8:00-20:00\n"
        "西湖驿站,outdoor_worker,120.15,30.25,工作日 上午8:30-11:30 下午1:30-5:00；节假日休息\n"
        "湖滨驿站,outdoor_worker,120.17,30.26,看心情开门\n"
    )
    parsed = parse_file(sheet.encode(), "stations.csv")
    assert [(s.name, s.opening_hours) for s in parsed.stations] == [
        ("武林驿站", "Mo-Su 08:00-20:00"),
        ("西湖驿站", "Mo-Fr 08:30-11:30,13:30-17:00; PH off"),
    ]
    (problem,) = parsed.problems
    assert (problem.row, problem.field, problem.value) == (4, "opening_hours", "看心情开门")
    assert problem.reason.startswith("开放时间中“看心情开门”无法识别")


# ---------------------------------------------------------------- properties

MINUTES = st.integers(0, 24 * 12).map(lambda k: k * 5)  # five-minute steps, 00:00 ... 24:00


@st.composite
def day_spans(draw: st.DrawFn, full_day: bool = True) -> tuple[tuple[int, int], ...]:
    """Zero to three disjoint ranges within one day (no overnight ones), sometimes the full day."""
    if full_day and draw(st.integers(0, 9)) == 0:
        return ((0, DAY_MINUTES),)
    edges = sorted(set(draw(st.lists(MINUTES, max_size=6))))
    edges = edges[: len(edges) // 2 * 2]
    return tuple((edges[i], edges[i + 1]) for i in range(0, len(edges), 2))


@st.composite
def weeks(draw: st.DrawFn) -> WeeklyHours:
    kinds = draw(st.lists(day_spans(), min_size=1, max_size=3))
    days = tuple(draw(st.sampled_from(kinds)) for _ in range(7))
    holidays = draw(st.one_of(st.none(), st.just(()), day_spans(full_day=False)))
    return WeeklyHours(days, holidays).normalised()


@settings(max_examples=150, deadline=None)
@given(weeks())
def test_round_trip_osm_to_chinese_words_to_osm(week: WeeklyHours) -> None:
    osm = write_osm(week)
    hours.validate(osm)
    assert read_osm(osm) == week
    words = to_words(osm)
    assert words is not None and to_osm(words) == osm
    assert read_words(words) == week
    assert to_words(osm, "en")


_FULL_WIDTH = str.maketrans("0123456789:", "０１２３４５６７８９：")


@st.composite
def said(draw: st.DrawFn, week: WeeklyHours) -> str:
    """``week`` written the many ways people write it: separators, full-width digits, 上午/下午, 点, day words."""
    dashes = st.sampled_from(["-", "～", "~", "—", "－", "至", "到"])

    def clock(minutes: int, pm: bool = False) -> str:
        hour, minute = divmod(minutes, 60)
        hour -= 12 if pm else 0
        form = draw(st.integers(0, 2))
        if form == 1 and minute in (0, 30):
            return f"{hour}点" + ("半" if minute else "")
        return f"{hour:02d}:{minute:02d}" if form == 0 else f"{hour}:{minute:02d}"

    def span(start: int, end: int) -> str:
        if start >= 13 * 60 and end < DAY_MINUTES and draw(st.booleans()):
            text = f"下午{clock(start, pm=True)}{draw(dashes)}{clock(end, pm=True)}"
        elif end <= 12 * 60 and draw(st.booleans()):
            text = f"上午{clock(start)}{draw(dashes)}{clock(end)}"
        else:
            text = f"{clock(start)}{draw(dashes)}{clock(end)}"
        return text.translate(_FULL_WIDTH) if draw(st.booleans()) else text

    def spans(ranges: tuple[tuple[int, int], ...]) -> str:
        if ranges == ((0, DAY_MINUTES),) and draw(st.booleans()):
            return draw(st.sampled_from(["24小时", "全天"]))
        return draw(st.sampled_from(["、", "，", " ", ",", "/"])).join(span(*r) for r in ranges)

    groups: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for day, ranges in enumerate(week.days):
        if ranges:
            groups.setdefault(ranges, []).append(day)
    names = ["一", "二", "三", "四", "五", "六", "日"]
    parts = []
    for ranges, days in groups.items():
        if days == list(range(7)):
            named = draw(st.sampled_from(["每天", "每日", "周一至周日", "周一到周日", ""]))
        elif days == list(range(5)):
            named = draw(st.sampled_from(["工作日", "周一至周五", "星期一至星期五", "周一至五", "周一到周五"]))
        elif days == [5, 6]:
            named = draw(st.sampled_from(["周末", "周六、周日", "周六至周日"]))
        else:
            named = "、".join(f"周{names[d]}" for d in days)
        parts.append(f"{named} {spans(ranges)}")
    if not parts:
        parts.append("每天休息")
    if week.holidays == ():
        parts.append(draw(st.sampled_from(["节假日休息", "法定节假日休息", "节假日闭馆"])))
    elif week.holidays is None:
        parts.extend(draw(st.sampled_from([[], ["节假日照常"], ["节假日照常开放"]])))
    elif week.holidays:
        parts.append(f"法定节假日 {spans(week.holidays)}")
    return draw(st.sampled_from(["；", ";", "，", " ", "\n"])).join(parts)


def reference_open(week: WeeklyHours, at: datetime) -> bool:
    """Open at ``at`` by the week's own ranges: a public holiday's when the week states them, a Wednesday's on an
    adjusted working day (调休), the weekday's otherwise (the rule of ``stations.hours``)."""
    kind = holidays.day_kind(at.date())
    spans = week.days[at.weekday()]
    if kind == "adjusted_workday":
        spans = week.days[hours.ADJUSTED_WORKDAY_WEEKDAY]
    elif kind == "holiday" and week.holidays is not None:
        spans = week.holidays
    minute = at.hour * 60 + at.minute
    return any(start <= minute < end for start, end in spans)


START = datetime(2025, 1, 1)
SPECIAL_DAYS = [datetime(d.year, d.month, d.day) for d in holidays.special_days()]


@settings(max_examples=150, deadline=None)
@given(st.data(), weeks())
def test_every_accepted_chinese_form_evaluates_as_its_meaning_at_random_times(
    data: st.DataObject, week: WeeklyHours
) -> None:
    text = data.draw(said(week))
    osm = to_osm(text)
    for _ in range(20):
        if data.draw(st.booleans()):  # on a holiday or 调休 day, where 节假日休息 and the calendar matter
            at = data.draw(st.sampled_from(SPECIAL_DAYS)) + timedelta(minutes=data.draw(st.integers(0, 1439)))
        else:
            at = START + timedelta(minutes=data.draw(st.integers(0, 3 * 365 * 24 * 60 - 1)))
        assert hours.status(osm, at) == ("open" if reference_open(week, at) else "closed"), (text, osm, at)


HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "{{ 7*7 }}",
    "{% if %}",
    "{#",
    "${7*7}",
    "=cmd|' /C calc'!A0",
    "+1-2",
    "@SUM(1)",
    "\x00周一",
    "周一\u202e至周五 9:00-17:00",
    "\ud800",
    "周一至周五 9:00-17:00" * 40,
    "周" * 10_000_000,
]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="周一至五六日天工作节假休息上下午全24小时点半:：-～0123456789、，；; "),
                 st.sampled_from(HOSTILE)))  # fmt: skip
def test_the_parser_raises_nothing_but_its_own_error(text: str) -> None:
    try:
        osm = to_osm(text)
    except HoursNotUnderstood as error:
        assert len(error.part) <= 30 * 6  # shown, not echoed whole
        return
    assert hours.validate(osm) == osm
