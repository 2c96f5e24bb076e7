"""Every problem the importers and the Station model report for a bad row has Chinese words (the keeper console
shows them): a sheet with one bad row of each kind, read by the real importers; no reason falls through to the
untranslated fallback, and no field stays an English name."""

from __future__ import annotations

import json

import pytest

from stations.errors import FileUnreadable
from stations.import_words import error_zh, field_zh, reason_zh
from stations.importers import parse_file
from stations.registry import assign_districts
from stations.settings import SAMPLE_DIR

HEADER = "编号,名称,类型,经度,纬度,坐标系,运营状态,热水,容纳人数,面积,照片,核实日期,开放时间,乱写的列"
OK = ["R-{n}", "驿站{n}", "母婴室", "120.1", "30.2", "", "", "", "", "", "", "", "", ""]
BAD_CELLS = {
    "经度": ["abc", "inf", "200"],
    "纬度": ["95", "120.2"],  # out of range; and lon/lat swapped (with 经度 30.2 below)
    "类型": ["加油站", "、"],
    "坐标系": ["火星"],
    "运营状态": ["倒闭"],
    "热水": ["也许"],
    "容纳人数": ["2.5", "-1"],
    "面积": ["0"],
    "照片": ["ftp://x"],
    "核实日期": ["昨天"],
    "开放时间": ["周一至周五 九点到五点半"],
    "名称": ["长" * 201, "a\x01b"],
    "编号": ["..", "a\u202eb"],
}


def _sheet() -> bytes:
    columns = HEADER.split(",")
    lines = [HEADER]
    for n, (column, values) in enumerate(((c, v) for c, vs in BAD_CELLS.items() for v in vs), start=1):
        cells = [cell.format(n=n) for cell in OK]
        cells[columns.index(column)] = values
        if values == "120.2":
            cells[columns.index("经度")] = "30.2"
        lines.append(",".join(json.dumps(c, ensure_ascii=False) if "," in c else c for c in cells))
    lines += ["R-DUP,甲,母婴室,120.1,30.2" + "," * 9, "R-DUP,乙,母婴室,120.1,30.2" + "," * 9, "R-SHORT,丙"]
    return ("\n".join(lines) + "\n").encode()


def test_every_row_problem_has_chinese_words() -> None:
    parsed = parse_file(_sheet(), "坏表.csv")
    kinds = len([v for vs in BAD_CELLS.values() for v in vs]) + 2  # the second R-DUP, the short row
    assert len({p.row for p in parsed.problems}) == kinds  # every bad row found
    problems = [*parsed.problems, *parsed.warnings]
    untranslated = [(p.field, p.reason) for p in problems if reason_zh(p.reason).startswith("未能翻译")]
    assert untranslated == []
    english_fields = [p.field for p in problems if field_zh(p.field).isascii() and p.field != "乱写的列"]
    assert english_fields == []


def test_district_warnings_and_geojson_problems_have_chinese_words() -> None:
    from geo.districts import Districts

    districts = Districts.from_file(SAMPLE_DIR / "districts.geojson")
    feature = {"type": "Feature", "properties": {"name": "外地驿站", "types": "母婴室"}}
    collection = {
        "type": "FeatureCollection",
        "features": [
            {**feature, "geometry": {"type": "Point", "coordinates": [116.4, 39.9]}},
            {
                **feature,
                "geometry": {"type": "Point", "coordinates": [120.16, 30.27]},
                "properties": {"name": "区划不符", "types": "母婴室", "adcode": "330110"},
            },
            {**feature, "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}},
            {**feature, "geometry": {"type": "Point", "coordinates": [120.1, 30.2]}, "properties": [1]},
        ],
    }
    parsed = parse_file(json.dumps(collection).encode(), "x.geojson")
    _, warnings = assign_districts(parsed.stations, parsed.station_rows, districts)
    problems = [*parsed.problems, *warnings]
    assert len(problems) == 4
    assert [reason_zh(p.reason) for p in problems if reason_zh(p.reason).startswith("未能翻译")] == []


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "文件是空的"),
        ("经度,纬度\n1,2\n".encode(), "缺少必需的列：名称、类型"),
        ("名称,站名,类型,经度,纬度\n".encode(), "两列是同一个字段"),
        (b'{"type": "Feature"}', "FeatureCollection"),
    ],
)
def test_whole_file_errors_have_chinese_words(data: bytes, words: str) -> None:
    name = "x.geojson" if data.startswith(b"{") else "x.csv"
    with pytest.raises(FileUnreadable) as error:
        parse_file(data, name)
    assert words in error_zh(error.value)
