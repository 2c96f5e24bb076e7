"""The coverage map's and the district report's own words, in Chinese (default) and English.

Titles, legends, layer names, the hour selector and the credits follow the page's language (``zh`` or ``en``);
the page's ``<html lang>`` says which (``HTML_LANG``). Distances in the words are formatted here.

>>> text("zh", "gaps"), text("en", "gaps")
('服务空白', 'Service gaps')
>>> caption("zh", 1000), caption("en", 1000)
('覆盖率（站点 1,000 米内）', 'Covered share within 1,000 m of a station')
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
HTML_LANG: dict[str, str] = {"zh": "zh-CN", "en": "en"}
"""The ``<html lang>`` of a page in each language."""

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "districts": "区县覆盖率",
        "before": "覆盖率（现状）",
        "after": "覆盖率（新增后）",
        "covered": "覆盖范围（≤ {radius}）",
        "proposed_coverage": "新增覆盖（≤ {radius}）",
        "gaps": "服务空白",
        "gaps_legend": "服务空白（红色斜线，轮廓可点击）",
        "proposals": "新增站点（编号为推荐顺序）",
        "hotspots": "热点：一站可补的空白（编号）",
        "hotspot_prefix": "热",
        "other": "其他",
        "no_figures": "无数据",
        "caption": "覆盖率（站点 {radius}内）",
        "title": "驿站覆盖率：站点 {radius}内 · {kinds}",
        "all_types": "全部站点类型",
        "hour": "时段",
        "all_day": "全天",
        "hour_caption": "{day}{hour}时覆盖率",
        "day": "日期",
        "weekday": "工作日",
        "holiday": "周末/节假日",
        "night_gaps": "夜间空白（{day}22:00–06:00）",
        "night_gaps_legend": "夜间空白：白天有覆盖，22:00–06:00 无（黑色反斜线，虚线轮廓可点击）",
        "boundaries": "区县边界：{source}",
        "synthetic": "站点为合成示例数据，并非真实地点。",
        "click": "点击区县查看其覆盖率、需求与站点数。",
        "distance": "{value:,.0f} 米",
    },
    "en": {
        "districts": "District coverage",
        "before": "Covered share (now)",
        "after": "Covered share (with new sites)",
        "covered": "Covered (≤ {radius})",
        "proposed_coverage": "Covered by new sites (≤ {radius})",
        "gaps": "Service gaps",
        "gaps_legend": "Service gaps (red hatching; click the outline)",
        "proposals": "Proposed sites (numbered by rank)",
        "hotspots": "Hot spots one station can close (numbered)",
        "hotspot_prefix": "H",
        "other": "Other",
        "no_figures": "No figures",
        "caption": "Covered share within {radius} of a station",
        "title": "Yizhan coverage within {radius} of a station · {kinds}",
        "all_types": "all station types",
        "hour": "Hour",
        "all_day": "All day",
        "hour_caption": "Covered share at {hour}:00{day}",
        "day": "Day",
        "weekday": "weekday",
        "holiday": "weekend/holiday",
        "night_gaps": "Night gaps ({day}22:00–06:00)",
        "night_gaps_legend": "Night gaps: covered by day, not at 22:00–06:00 (black back-hatching; click the outline)",
        "boundaries": "District boundaries: {source}",
        "synthetic": "Stations are synthetic sample data, not real places.",
        "click": "Click a district for its covered share, demand and stations.",
        "distance": "{value:,.0f} m",
    },
}
"""Each language's words (``str.format`` templates where they hold figures)."""


def check_lang(lang: str) -> Lang:
    """``lang`` when it is one of ``LANGS``, else ``ValueError`` naming the valid ones.

    >>> check_lang("en")
    'en'
    """
    if lang == "zh":
        return "zh"
    if lang == "en":
        return "en"
    raise ValueError(f"lang {lang!r} is not one of zh, en")


def text(lang: str, key: str, **values: object) -> str:
    """The words ``key`` in ``lang``, with ``values`` filled in."""
    words = TEXTS[check_lang(lang)][key]
    return words.format(**values) if values else words


def day_name(lang: str, kind: str) -> str:
    """A representative day of the hour profile in the page's words: ``weekday`` → ``工作日``, ``holiday`` →
    ``周末/节假日``; any other (a date) as given.

    >>> day_name("zh", "holiday"), day_name("en", "2026-12-09")
    ('周末/节假日', '2026-12-09')
    """
    return text(lang, kind) if kind in ("weekday", "holiday") else kind


def distance(lang: str, metres: float) -> str:
    """A distance in the page's words: ``1,000 米`` or ``1,000 m``."""
    return text(lang, "distance", value=metres)


def caption(lang: str, radius_m: float) -> str:
    """The colour scale's caption for a service distance of ``radius_m`` metres."""
    return text(lang, "caption", radius=distance(lang, radius_m))


def html_with_lang(page: str, lang: str) -> str:
    r"""``page`` whose first ``<html>`` tag states ``lang`` (``zh-CN`` or ``en``): screen readers pick the voice.

    >>> html_with_lang("<!DOCTYPE html><html><head>", "zh")
    '<!DOCTYPE html><html lang="zh-CN"><head>'
    """
    if "<html>" not in page:
        raise ValueError("the page has no bare <html> tag to set its language on")
    return page.replace("<html>", f'<html lang="{HTML_LANG[check_lang(lang)]}">', 1)
