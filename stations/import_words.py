"""The problems an import reports (``RowProblem``: field and reason, written in English by the importers and the
Station model), and the import's whole-file errors, in Chinese for the keeper console.

Each reason the importers and the model give has a pattern here; a reason already in Chinese (the hours
parser's) is kept as it is; anything else is shown as "未能翻译的原因" with the English, never dropped.

>>> reason_zh("duplicate id: also on row 3")
'编号重复：第 3 行也用了这个编号'
>>> reason_zh("unknown station type (valid: outdoor_worker, driver_home, nursing_room)")
'未知的站点类型（可填：户外劳动者服务站、司机之家、母婴室）'
>>> field_zh("lon,lat"), field_zh("hot_water"), field_zh("external_ids.union")
('经度,纬度', '热水', '外部编号 union')
"""

from __future__ import annotations

import re

from stations.errors import FileUnreadable, InvalidValue, LimitExceeded, RegistryChanged, YizhanError
from stations.vocabulary import LABELS

FIELD_HEADERS: dict[str, str] = {
    "id": "编号",
    "name": "名称",
    "types": "类型",
    "host": "主办单位",
    "lon": "经度",
    "lat": "纬度",
    "crs": "坐标系",
    "address": "地址",
    "adcode": "行政区划代码",
    "district": "所属区县",
    "opening_hours": "开放时间",
    "operating_status": "运营状态",
    "phone": "联系电话",
    "capacity": "容纳人数",
    "area_m2": "面积",
    "photo_url": "照片",
    "verified_at": "核实日期",
    "source": "来源",
    "amenities": "设施",
    "external_ids": "外部编号",
    "*": "整行",
    "geometry": "几何",
    "properties": "属性",
    "file": "文件",
}
"""The Chinese column header of each Station field, as the importers accept it (``stations.importers``)."""

_VALID_WORDS: dict[str, str] = {
    "outdoor_worker": "户外劳动者服务站",
    "driver_home": "司机之家",
    "nursing_room": "母婴室",
    "normal": "正常",
    "notice": "公告",
    "limited": "部分开放",
    "temporarily_closed": "暂停开放",
    "closed": "关闭",
    "yes": "有",
    "no": "无",
    "(empty)": "留空",
}


def field_zh(field: str) -> str:
    """The Chinese name of a problem's field (a Station field, an amenity, ``lon,lat``, ``*``); a column the
    importers did not know (a warning's field is its header) is given back as it is."""
    if "," in field:
        return ",".join(field_zh(part) for part in field.split(","))
    if field.startswith("external_ids."):
        return f"外部编号 {field.removeprefix('external_ids.')}"
    if field.startswith("amenities."):
        field = field.removeprefix("amenities.")
    if field in FIELD_HEADERS:
        return FIELD_HEADERS[field]
    if field in LABELS:
        return LABELS[field][0]
    return field


def _valid(text: str) -> str:
    return "、".join(_VALID_WORDS.get(word.strip(), word.strip()) for word in text.split(","))


_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern), words)
    for pattern, words in (
        (r"unknown column, ignored", "未知的列，已忽略"),
        (r"expected (?P<n>\d+) fields, got (?P<got>\d+)", "这一行应有 {n} 列，实际有 {got} 列"),
        (r"must be a Point \[lon, lat\]", "必须是一个点 [经度, 纬度]"),
        (r"must be an object or null", "必须是对象或留空"),
        (r"duplicate id: also on row (?P<row>\d+)", "编号重复：第 {row} 行也用了这个编号"),
        (r"not a number", "不是数字"),
        (r"must be a finite number", "必须是有限的数字"),
        (
            r"latitude must be within \[-90, 90\]; lon and lat look swapped",
            "纬度必须在 -90 到 90 之间（经度和纬度似乎填反了）",
        ),
        (r"latitude must be within \[-90, 90\]", "纬度必须在 -90 到 90 之间"),
        (r"longitude must be within \[-180, 180\]", "经度必须在 -180 到 180 之间"),
        (r"unknown coordinate system \(valid: (?P<valid>.*)\)", "未知的坐标系（可填：{valid}）"),
        (r"at least one type is required \(valid: (?P<valid>.*)\)", "至少填写一种类型（可填：{valid}）"),
        (r"unknown station type \(valid: (?P<valid>.*)\)", "未知的站点类型（可填：{valid}）"),
        (r"must be a whole number", "必须是整数"),
        (r"unknown status \(valid: (?P<valid>.*)\)", "未知的运营状态（可填：{valid}）"),
        (r"not a yes/no value \(valid: (?P<valid>.*)\)", "不是“有/无”（可填：{valid}）"),
        (r"outside every known district", "不在任何已知区县内，请核对坐标和坐标系"),
        (
            r"the point lies in (?P<adcode>\d+) (?P<name>.*); check the coordinates' crs",
            "坐标位于 {adcode} {name}，请核对坐标系",
        ),
        (r"must not contain control characters.*", "不能包含控制字符（如 NUL）；制表符和换行可以"),
        (r"must not contain invisible characters \((?P<code>U\+[0-9A-F]+).*\)", "不能包含不可见字符（{code}）"),
        (r"'.*' is a path step.*", "编号不能是 . 或 .."),
        (r"String should have at most (?P<n>\d+) characters?", "最多 {n} 个字符"),
        (r"String should have at least 1 character", "不能为空"),
        (r"List should have at least 1 item.*", "不能为空"),
        (r"Field required", "必填"),
        (r"String should match pattern '\^https\?://'", "必须以 http:// 或 https:// 开头"),
        (r"String should match pattern '\^\\d\{6\}\$'", "必须是 6 位数字的行政区划代码（例如 330106）"),
        (r"String should match pattern .*", "含有不允许的字符（编号不能有空格和 / ? # % \\）"),
        (r"Input should be less than or equal to .*", "超出允许的范围"),
        (r"a station with this id already exists", "这个编号已有站点使用，请换一个或留空自动生成"),
        (r"Input should be greater than or equal to (?P<n>\S+)", "必须大于或等于 {n}"),
        (r"Input should be greater than (?P<n>\S+)", "必须大于 {n}"),
        (r"Input should be a valid date.*", "不是有效的日期（例如 2026-11-23）"),
        (r"not valid OpenStreetMap opening_hours.*", "无法识别的开放时间（例如 周一至周五 9:00-17:00）"),
        (r"similar name within (?P<m>[\d.]+) m", "名称相似，相距不到 {m} 米"),
        (r"within (?P<m>[\d.]+) m", "相距不到 {m} 米"),
    )
]
"""Each reason's pattern and its Chinese words; a group ``valid`` (a list of values) is put into Chinese too."""


def _words(patterns: list[tuple[re.Pattern[str], str]], text: str) -> str | None:
    for pattern, words in patterns:
        match = pattern.fullmatch(text)
        if match:
            groups = match.groupdict()
            if "valid" in groups:
                groups["valid"] = _valid(groups["valid"])
            if "columns" in groups:
                groups["columns"] = "、".join(field_zh(name.strip()) for name in groups["columns"].split(","))
            return words.format(**groups)
    return None


_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def reason_zh(reason: str) -> str:
    """A problem's reason in Chinese (see the module's docstring)."""
    words = _words(_REASONS, reason)
    if words is not None:
        return words
    if _CHINESE.search(reason):
        return reason
    return f"未能翻译的原因：{reason}"


_FILE_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern, re.DOTALL), words)
    for pattern, words in (
        (
            r"missing column\(s\) (?P<columns>.*); headers found: (?P<found>.*)",
            "缺少必需的列：{columns}；文件的表头是：{found}",
        ),
        (r"file is empty: no header row", "文件是空的：没有表头行"),
        (r"file is neither UTF-8 nor GBK.*", "文件编码无法识别：请另存为 UTF-8 或 GBK 编码的 CSV"),
        (r"malformed CSV: (?P<why>.*)", "CSV 格式错误：{why}"),
        (r"malformed JSON: (?P<why>.*)", "JSON 格式错误：{why}"),
        (r"GeoJSON must be a FeatureCollection.*", "GeoJSON 必须是由点要素组成的 FeatureCollection"),
        (r"columns '(?P<a>.*)' and '(?P<b>.*)' both mean '.*'", "“{a}”和“{b}”两列是同一个字段，请删去一列"),
    )
]


def file_error_zh(message: str) -> str:
    """A whole-file error (``FileUnreadable``, a limit passed, an unsupported type) in Chinese."""
    words = _words(_FILE_ERRORS, message)
    if words is not None:
        return words
    if _CHINESE.search(message):
        return message
    return f"文件无法导入：{message}"


def error_zh(error: YizhanError) -> str:
    """Why a whole import stopped, in Chinese: a file that cannot be read, a limit passed, a file type not
    supported, the registry changed under it."""
    if isinstance(error, LimitExceeded):
        return (
            f"文件超出限制（{error.where}：{error.found}）：{error.limit} 的上限是 {error.maximum:,}"
            f"（服务器设置 YIZHAN_IMPORT_{error.limit.upper()}）；请把文件拆成几份再导入"
        )
    if isinstance(error, InvalidValue) and error.field == "file":
        return "不支持的文件类型：请上传 .csv、.xlsx 或 .geojson 文件"
    if isinstance(error, RegistryChanged):
        return "导入期间站点库被多次修改，未写入任何内容；请重新导入"
    if isinstance(error, FileUnreadable):
        return file_error_zh(str(error))
    return f"导入失败，未写入任何内容：{error}"
