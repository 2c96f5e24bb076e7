"""The spreadsheet a keeper fills in to import stations: the Chinese headers the importers accept
(``stations.importers``) and one example row, synthetic and labelled as such, as XLSX or CSV.

Every cell is plain text or a number: text that a spreadsheet would take for a formula is guarded
(``stations.exporters.guard_formula``), and the template holds no formula of its own.

>>> TEMPLATE_COLUMNS[:5]
('编号', '名称', '类型', '经度', '纬度')
>>> template_csv().decode("utf-8-sig").splitlines()[1].split(",")[1]
'示例驿站（示例数据，导入前请替换或删除本行）'
"""

from __future__ import annotations

from typing import Any

from stations.exporters import table_csv, table_xlsx

_FIELDS = (
    "编号", "名称", "类型", "经度", "纬度", "坐标系", "地址", "所属区县", "开放时间", "运营状态", "联系电话",
    "主办单位", "容纳人数", "面积", "核实日期", "来源",
)  # fmt: skip
_AMENITIES = (
    "饮用水", "热水", "微波炉", "冰箱", "座椅", "卫生间", "手机充电", "电动车充电", "换电", "无线网络", "急救箱",
    "除颤仪", "雨伞", "图书", "淋浴", "洗衣", "空调", "无障碍", "停车", "货车停车", "哺乳间", "尿布台", "门锁",
    "洗手池",
)  # fmt: skip
TEMPLATE_COLUMNS: tuple[str, ...] = (*_FIELDS, *_AMENITIES)
"""The template's headers: every Station field a union sheet carries, then every amenity (有 / 无 / empty)."""

EXAMPLE_HOURS = "周一至周日 8:00-20:00"
"""Opening hours as union spreadsheets write them (the importers read them into OpenStreetMap syntax)."""

EXAMPLE_ROW: dict[str, Any] = {
    "编号": "示例-0001",
    "名称": "示例驿站（示例数据，导入前请替换或删除本行）",
    "类型": "户外劳动者服务站",
    "经度": 120.1551,
    "纬度": 30.2741,
    "坐标系": "wgs84",
    "地址": "杭州市拱墅区示例路 1 号（虚构地址）",
    "所属区县": "",
    "开放时间": EXAMPLE_HOURS,
    "运营状态": "正常",
    "联系电话": "0571-00000000",
    "主办单位": "示例街道工会",
    "容纳人数": 10,
    "面积": 30,
    "核实日期": "2026-12-01",
    "来源": "示例数据 synthetic",
    **dict.fromkeys(_AMENITIES, ""),
    "饮用水": "有",
    "热水": "有",
    "微波炉": "有",
    "卫生间": "无",
    "手机充电": "有",
    "空调": "有",
}
"""The example row: a made-up station (``来源`` says synthetic), with hours in words and amenities as 有/无."""


def template_rows(hours: str = EXAMPLE_HOURS) -> list[dict[str, Any]]:
    """The template's one example row (``hours`` in its 开放时间 cell)."""
    return [{**EXAMPLE_ROW, "开放时间": hours}]


def template_csv(hours: str = EXAMPLE_HOURS) -> bytes:
    """The template as UTF-8 CSV with a byte order mark (so that Excel reads the Chinese headers right)."""
    return ("\ufeff" + table_csv(template_rows(hours), TEMPLATE_COLUMNS)).encode("utf-8")


def template_xlsx(hours: str = EXAMPLE_HOURS) -> bytes:
    """The template as an XLSX workbook, one sheet named 站点."""
    return table_xlsx(template_rows(hours), sheet="站点", columns=TEMPLATE_COLUMNS)
