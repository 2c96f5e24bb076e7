"""Opening hours in people's words: the forms union spreadsheets use, read into OpenStreetMap syntax, and OSM
syntax said back in Chinese (or English).

``to_osm`` is the one door: OSM syntax passes through unchanged (checked by ``stations.hours``); anything else is
read as Chinese words; what cannot be read raises ``HoursNotUnderstood`` naming the part not understood, in
Chinese and English — never a guess.

>>> to_osm("周一至周日 8:00-20:00")
'Mo-Su 08:00-20:00'
>>> to_osm("周一到周五 上午8:30-11:30 下午1:30-5:00；周六 ９：００～１２：００；节假日休息")
'Mo-Fr 08:30-11:30,13:30-17:00; Sa 09:00-12:00; PH off'
>>> to_osm("全天")
'24/7'
>>> to_osm("Mo-Fr 08:00-18:00; PH off")
'Mo-Fr 08:00-18:00; PH off'
>>> to_words("Mo-Fr 08:30-11:30,13:30-17:00; Sa 09:00-12:00; PH off")
'周一至周五 08:30-11:30、13:30-17:00；周六 09:00-12:00；法定节假日休息'
>>> to_words("Mo-Fr 08:00-18:00; PH off", "en")
'Mon-Fri 08:00-18:00; closed on public holidays'

The family both directions share (``WeeklyHours``): for each weekday, none or more time ranges; and for public
holidays (``PH``) either the weekday's hours (no rule), closed, or their own ranges. Groups are applied in order,
a later one replacing the hours of the days it names (as OSM's ``;`` does); holidays come last.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal, NoReturn

from stations import hours
from stations.errors import HoursNotUnderstood

Span = tuple[int, int]
"""Minutes from midnight: (start, end), 0 <= start < end <= start + 1440; an end past 1440 runs overnight."""
DAY_MINUTES = 1440
MAX_LENGTH = 500
"""Longer text is refused before reading (the model's limit for the field)."""

OSM_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_ZH_DAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_EN_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
Lang = Literal["zh", "en"]


@dataclass(frozen=True)
class WeeklyHours:
    """A week's hours: ``days[0]`` is Monday's ranges (empty: closed); ``holidays`` None means public holidays
    keep the weekday's hours, an empty tuple that they are closed, otherwise their own ranges."""

    days: tuple[tuple[Span, ...], ...]
    holidays: tuple[Span, ...] | None = None

    def normalised(self) -> WeeklyHours:
        """Ranges sorted and overlapping or touching ones merged (the same meaning, one way of writing it)."""
        return WeeklyHours(
            tuple(_merged(spans) for spans in self.days), None if self.holidays is None else _merged(self.holidays)
        )


def _merged(spans: tuple[Span, ...]) -> tuple[Span, ...]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((start, end) for start, end in merged)


# ---------------------------------------------------------------- writing OSM and words


def _clock(minutes: int) -> str:
    if minutes > DAY_MINUTES:
        minutes -= DAY_MINUTES
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _span_text(span: Span, dash: str = "-") -> str:
    return f"{_clock(span[0])}{dash}{_clock(span[1])}"


def _groups(week: WeeklyHours) -> list[tuple[list[int], tuple[Span, ...]]]:
    """Days with the same open ranges, in order of their first day (closed days left out)."""
    groups: dict[tuple[Span, ...], list[int]] = {}
    for day, spans in enumerate(week.days):
        if spans:
            groups.setdefault(spans, []).append(day)
    return [(days, spans) for spans, days in groups.items()]


def _runs(days: list[int]) -> list[tuple[int, int]]:
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][1] == day - 1:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]


def _days_text(days: list[int], names: tuple[str, ...], through: str, joiner: str) -> str:
    parts = []
    for first, last in _runs(days):
        if first == last:
            parts.append(names[first])
        elif last == first + 1:
            parts.extend((names[first], names[last]))
        else:
            parts.append(f"{names[first]}{through}{names[last]}")
    return joiner.join(parts)


_FULL_DAY = ((0, DAY_MINUTES),)


def write_osm(week: WeeklyHours) -> str:
    """OSM syntax for ``week`` (normalised first).

    >>> write_osm(WeeklyHours((((480, 1080),),) * 5 + ((), ()), holidays=()))
    'Mo-Fr 08:00-18:00; PH off'
    """
    week = week.normalised()
    if all(spans == _FULL_DAY for spans in week.days):
        rules = ["24/7"]
    else:
        rules = [
            f"{_days_text(days, OSM_DAYS, '-', ',')} {','.join(map(_span_text, spans))}"
            for days, spans in _groups(week)
        ]
    if week.holidays is not None:
        rules.append("PH " + (",".join(map(_span_text, week.holidays)) if week.holidays else "off"))
    return "; ".join(rules) or "off"


def write_words(week: WeeklyHours, lang: Lang = "zh") -> str:
    """``week`` in words, Chinese by default; ``read_words`` reads the Chinese back to the same week.

    >>> write_words(WeeklyHours((((480, 1080),),) * 7))
    '每天 08:00-18:00'
    >>> write_words(WeeklyHours((_FULL_DAY,) * 7, holidays=()), "en")
    'open 24 hours; closed on public holidays'
    """
    week = week.normalised()
    zh = lang == "zh"
    if all(spans == _FULL_DAY for spans in week.days):
        parts = ["每天24小时" if zh else "open 24 hours"]
    else:
        parts = []
        for days, spans in _groups(week):
            if len(days) == 7:
                named = "每天" if zh else "Every day"
            else:
                named = _days_text(days, _ZH_DAYS, "至", "、") if zh else _days_text(days, _EN_DAYS, "-", ", ")
            parts.append(f"{named} {('、' if zh else ', ').join(map(_span_text, spans))}")
        if not parts:
            parts = ["每天休息" if zh else "closed every day"]
    if week.holidays is not None:
        if not week.holidays:
            parts.append("法定节假日休息" if zh else "closed on public holidays")
        else:
            spans_text = ("、" if zh else ", ").join(map(_span_text, week.holidays))
            parts.append(f"法定节假日 {spans_text}" if zh else f"public holidays {spans_text}")
    return ("；" if zh else "; ").join(parts)


# ---------------------------------------------------------------- reading OSM within the family

_OSM_TIME = r"(\d{2}):(\d{2})"
_OSM_SPAN = re.compile(rf"{_OSM_TIME}-{_OSM_TIME}")
_OSM_DAY_ITEM = re.compile(r"(Mo|Tu|We|Th|Fr|Sa|Su)(?:-(Mo|Tu|We|Th|Fr|Sa|Su))?|PH")


def read_osm(text: str) -> WeeklyHours | None:
    """The week OSM ``text`` describes, when it is within the family (weekdays, ``PH``, time ranges, ``off``,
    ``24/7``, a PH rule after the weekday rules); None otherwise (the text may still be valid OSM).

    >>> read_osm("Mo-Fr 08:00-12:00,14:00-18:00; PH off").holidays
    ()
    >>> read_osm("Jan-Mar Mo 08:00-12:00") is None
    True
    """
    days: list[tuple[Span, ...]] = [()] * 7
    holidays: tuple[Span, ...] | None = None
    for rule in text.strip().split(";"):
        rule = rule.strip()
        if not rule:
            return None
        if rule == "24/7":
            if holidays is not None:
                return None
            days = [_FULL_DAY] * 7
            continue
        selector, _, rest = rule.partition(" ")
        chosen: set[int] = set()
        holiday = False
        if _OSM_SPAN.match(selector) or selector in ("off", "closed"):
            chosen, rest = set(range(7)), rule
        else:
            for item in selector.split(","):
                match = _OSM_DAY_ITEM.fullmatch(item)
                if match is None:
                    return None
                if item == "PH":
                    holiday = True
                    continue
                first = OSM_DAYS.index(match[1])
                last = OSM_DAYS.index(match[2]) if match[2] else first
                chosen.update((first + k) % 7 for k in range((last - first) % 7 + 1))
        if chosen and holidays is not None:
            return None  # a weekday rule after the holiday rule: OSM's order would matter, outside the family
        spans = _read_osm_spans(rest.strip())
        if spans is None:
            return None
        for day in chosen:
            days[day] = spans
        if holiday:
            holidays = spans
    return WeeklyHours(tuple(days), holidays)


def _read_osm_spans(text: str) -> tuple[Span, ...] | None:
    if text in ("off", "closed"):
        return ()
    if not text:
        return _FULL_DAY
    spans = []
    for item in text.split(","):
        match = _OSM_SPAN.fullmatch(item.strip())
        if match is None:
            return None
        start, end = int(match[1]) * 60 + int(match[2]), int(match[3]) * 60 + int(match[4])
        if int(match[1]) > 24 or int(match[3]) > 24 or int(match[2]) > 59 or int(match[4]) > 59 or start >= 1440:
            return None
        if end <= start:
            end += DAY_MINUTES
        if end > start + DAY_MINUTES:
            return None
        spans.append((start, end))
    return tuple(spans)


def to_words(text: str | None, lang: Lang = "zh") -> str | None:
    """OSM ``text`` in words when it is within the family, else the text itself; None for unknown hours."""
    if not text:
        return None
    week = read_osm(text)
    return text if week is None else write_words(week, lang)


# ---------------------------------------------------------------- reading Chinese words

_PM = "下午|午后|傍晚|晚上|晚间|夜间|夜里|晚"
_AM = "上午|早上|早晨|清晨|凌晨|早"
_TOKENS = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<full>全天候|全天24小时|7\s*[×xX*]\s*24\s*(?:小时|[hH])?|24小时|24[hH]|全天)"
    r"|(?P<holiday>(?:国家)?(?:法定)?(?:节假日|节日|假日|假期|公休日)(?:期间)?)"
    r"|(?P<off>休息|闭馆|休馆|不开放|暂停开放|停止开放|关闭|关门|歇业|不营业|除外)"
    r"|(?P<same>照常|正常)"
    r"|(?P<alldays>每天|每日|天天|全周|全年无休|一周七天|周一至周日|周一到周日)"
    r"|(?P<weekdays>工作日)"
    r"|(?P<weekend>周末|双休日)"
    r"|(?P<day>每?(?:周|星期|礼拜)[一二三四五六日天七1-7])"
    r"|(?P<nextday>次日|第二天|翌日)"
    rf"|(?P<time>(?P<period>{_PM}|{_AM}|中午)?(?P<hour>\d{{1,2}})"
    r"(?:(?::|\.)(?P<minute>\d{2})|点半|[点时](?:(?P<minute2>\d{1,2})分?)?)?)"
    r"|(?P<bareday>[一二三四五六日天])"
    r"|(?P<dash>—+|–|-|~|〜|至|到)"
    r"|(?P<list>[、,/|]|和|及|以及)"  # "9:00-12:00/14:00-17:00": ranges; before a day it ends a group
    r"|(?P<group>[;。()\[\]【】]|\n)"
    r"|(?P<filler>开放时间|服务时间|营业时间|办公时间|时间|对外开放|开放|营业|服务|办公|:)"
)
_DAY_NUMBERS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_DAY_NUMBERS.update({str(n): n - 1 for n in range(1, 8)})


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    start: int
    match: re.Match[str]


def _tokens(text: str) -> list[_Token]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKENS.match(text, position)
        if match is None or match.lastgroup is None:
            _fail(text, position, "看不懂这几个字", "these words are not understood")
        kind = match.lastgroup  # the outer group: "time", not the "period" or "hour" inside it
        if kind not in ("space", "filler"):
            tokens.append(_Token(kind, match.group(), position, match))
        position = match.end()
    return tokens


def _shown(part: str) -> str:
    """The part as it can be shown: at most 30 characters, invisible ones written as escapes."""
    part = part[:30]
    return "".join(c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF else f"\\u{ord(c):04x}" for c in part)


def _fail(text: str, position: int, zh: str, en: str, end: int | None = None) -> NoReturn:
    """Raise HoursNotUnderstood naming ``text[position:end]`` (by default: to the next space or separator)."""
    if end is not None:
        raise HoursNotUnderstood(text, _shown(text[position:end]), zh, en)
    end = position + 1
    while end < len(text) and not text[end].isspace() and text[end] not in ";；,，、。" and end - position < 30:
        end += 1
    raise HoursNotUnderstood(text, _shown(text[position:end] or text[-10:]), zh, en)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self, ahead: int = 0) -> _Token | None:
        at = self.index + ahead
        return self.tokens[at] if at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail_here(self, zh: str, en: str) -> NoReturn:
        token = self.peek()
        _fail(self.text, token.start if token else max(len(self.text) - 1, 0), zh, en)

    def week(self) -> WeeklyHours:
        """Groups of days and hours, applied as people mean them: a group for fewer days wins over one for more
        ("每天 8:00-20:00；周六 9:00-12:00" or the other way round); closed days ("周一闭馆") win over any hours;
        two groups for as many days that both name a day are refused (which one was meant?)."""
        opening: list[tuple[set[int], tuple[Span, ...], int]] = []
        closed: set[int] = set()
        holidays: tuple[Span, ...] | None = None
        said_anything = False
        while self.peek() is not None:
            token = self.peek()
            assert token is not None
            if token.kind in ("group", "list"):
                self.take()
                continue
            start = token.start
            chosen, holiday = self.day_set()
            spans = self.spans(chosen, holiday, start)
            if spans == ():
                closed |= chosen
            elif chosen:
                opening.append((chosen, spans, start))
            if holiday:
                holidays = None if spans is _SAME else spans
            said_anything = True
        if not said_anything:
            _fail(self.text, 0, "没有写开放时间", "no hours given")
        days: list[tuple[Span, ...]] = [()] * 7
        setting: list[int] = [0] * 7
        for chosen, spans, start in sorted(opening, key=lambda group: -len(group[0])):
            for day in chosen:
                if setting[day] == len(chosen) and days[day] != spans:
                    _fail(
                        self.text,
                        start,
                        f"{_ZH_DAYS[day]}的时间写了两次，不知以哪个为准",
                        f"two hours for {_EN_DAYS[day]}",
                    )
                days[day], setting[day] = spans, len(chosen)
        for day in closed:
            days[day] = ()
        return WeeklyHours(tuple(days), holidays)

    def day_set(self) -> tuple[set[int], bool]:
        """The days a group names (and whether it names public holidays); every day when it names none."""
        chosen: set[int] = set()
        holiday = False
        named = False
        while True:
            token = self.peek()
            if token is None:
                break
            if token.kind == "holiday":
                self.take()
                holiday = named = True
            elif token.kind in ("alldays", "weekdays", "weekend"):
                self.take()
                chosen |= {"alldays": set(range(7)), "weekdays": set(range(5)), "weekend": {5, 6}}[token.kind]
                named = True
            elif token.kind == "day" or (token.kind == "bareday" and named):
                first = self.day_number(self.take())
                last = first
                after = self.peek()
                if after is not None and after.kind == "dash":
                    self.take()
                    end = self.peek()
                    if end is None or end.kind not in ("day", "bareday"):
                        self.fail_here("“至”后面应是星期几", "a weekday should follow the range sign")
                    last = self.day_number(self.take())
                chosen.update((first + k) % 7 for k in range((last - first) % 7 + 1))
                named = True
            else:
                break
            after = self.peek()
            following = self.peek(1)
            if (
                after is not None
                and after.kind == "list"
                and following is not None
                and following.kind in ("holiday", "alldays", "weekdays", "weekend", "day", "bareday")
            ):
                self.take()
                continue
            if after is None or after.kind not in ("holiday", "alldays", "weekdays", "weekend", "day"):
                break
        return (chosen if named else set(range(7))), holiday

    @staticmethod
    def day_number(token: _Token) -> int:
        return _DAY_NUMBERS[token.text[-1]]

    def spans(self, chosen: set[int], holiday: bool, group_start: int) -> tuple[Span, ...]:
        token = self.peek()
        if token is None or token.kind in ("group", "list"):
            if holiday and not chosen:
                return _SAME  # "节假日" alone after "开放": open as on other days
            _fail(
                self.text,
                group_start,
                "这些日期后面缺少时间（例如 9:00-17:00）",
                "a time range should follow these days",
            )
        assert token is not None
        if token.kind == "off":
            if token.start == group_start:  # "不营业" with no day named: which days? not guessed
                self.fail_here("“休息”前应写明哪几天（例如“周一休息”）", "say which days are closed")
            self.take()
            return ()
        if token.kind == "same":
            self.take()
            if not holiday or chosen:
                self.fail_here("“照常”只用于节假日", "'as usual' is said of public holidays only")
            return _SAME
        if token.kind == "full":
            self.take()
            return _FULL_DAY
        spans: list[Span] = []
        while True:
            spans.append(self.span())
            after, following = self.peek(), self.peek(1)
            if after is not None and after.kind == "time":
                continue
            if after is not None and after.kind == "list" and following is not None and following.kind == "time":
                self.take()
                continue
            return tuple(spans)

    def span(self) -> Span:
        token = self.peek()
        if token is None or token.kind != "time":
            self.fail_here("这里应是时间（例如 9:00-17:00）", "a time range (such as 9:00-17:00) should be here")
        begin = self.take()
        if self.peek() is None or self.take().kind != "dash":
            _fail(self.text, begin.start, "时间应写成“开始-结束”（例如 9:00-17:00）", "write a range: start-end")
        overnight = False
        after = self.peek()
        if after is not None and after.kind == "nextday":
            self.take()
            overnight = True
        end_token = self.peek()
        if end_token is None or end_token.kind != "time":
            _fail(self.text, begin.start, "时间段缺少结束时间", "the range has no end time")
        self.take()
        start = self.minutes(begin)
        end = self.minutes(end_token)
        end_period = end_token.match["period"]
        start_period = begin.match["period"]
        if end_period is None and start_period and re.fullmatch(_PM, start_period):
            hour = int(end_token.match["hour"])
            if hour < 12 and end + 12 * 60 > start and not overnight:
                end += 12 * 60
        if start >= DAY_MINUTES:
            _fail(self.text, begin.start, "开始时间不能是24点", "a range cannot start at 24:00")
        if end == start:
            _fail(
                self.text,
                begin.start,
                "开始和结束时间相同",
                "the range starts and ends at the same time",
                end_token.match.end(),
            )
        if end == 0:
            end = DAY_MINUTES
        if end < start:
            end += DAY_MINUTES  # runs past midnight, as "22:00-06:00" does in OSM
        return (start, end)

    def minutes(self, token: _Token) -> int:
        match = token.match
        hour = int(match["hour"])
        minute_text = match["minute"] or match["minute2"]
        minute = 30 if token.text.endswith("点半") else int(minute_text or 0)
        period = match["period"]
        if minute > 59 or hour > 24 or (hour == 24 and minute):
            _fail(self.text, token.start, "不是有效的时刻", "not a valid time of day")
        if (period and re.fullmatch(_PM, period) and hour < 12) or (period == "中午" and hour < 3):
            hour += 12
        return hour * 60 + minute


_SAME: tuple[Span, ...] = ((-1, -1),)
"""Marker: public holidays keep the weekday's hours ("节假日照常")."""


def normalised_text(text: str) -> str:
    """Full-width digits, colons and signs as ASCII (NFKC); ``～`` and ``－`` become ``~`` and ``-``."""
    return unicodedata.normalize("NFKC", text).strip()


def read_words(text: str) -> WeeklyHours:
    """The week Chinese ``text`` describes; ``HoursNotUnderstood`` naming the part it cannot read.

    >>> write_osm(read_words("工作日 9:00-17:00，周末 10点-16点半"))
    'Mo-Fr 09:00-17:00; Sa,Su 10:00-16:30'
    """
    if len(text) > MAX_LENGTH:
        raise HoursNotUnderstood(
            text, _shown(text), f"太长（超过{MAX_LENGTH}字）", f"longer than {MAX_LENGTH} characters"
        )
    return _Reader(normalised_text(text)).week()


@functools.lru_cache(maxsize=4096)
def to_osm(text: str) -> str:
    """OSM syntax for ``text``: valid OSM unchanged (stripped), else Chinese words read (``read_words``);
    ``HoursNotUnderstood`` otherwise. Cached per distinct text (an import's sheet repeats a few dozen forms);
    a text it cannot read is not cached, it raises again."""
    if len(text) > MAX_LENGTH:
        raise HoursNotUnderstood(
            text, _shown(text), f"太长（超过{MAX_LENGTH}字）", f"longer than {MAX_LENGTH} characters"
        )
    stripped = text.strip()
    try:
        return hours.validate(stripped)
    except ValueError as osm_error:
        try:
            return hours.validate(write_osm(read_words(stripped)))
        except HoursNotUnderstood as words_error:
            normal = normalised_text(stripped)
            if normal != stripped:
                try:
                    return hours.validate(normal)
                except ValueError:
                    pass
            if stripped.isascii():  # likely meant as OSM syntax: say what the OSM parser found too
                raise HoursNotUnderstood(
                    stripped, words_error.part, words_error.zh, f"{words_error.en}; {osm_error}"
                ) from None
            raise
