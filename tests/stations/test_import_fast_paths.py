"""The fast paths of a large import give what the reference paths give, on random input (hostile text too):
rows built without pydantic (``importers._trusted``) against rows validated by it, the district set without
``model_copy``, the search texts and FTS tokens built for many stations at once (``search.station_texts``,
``token_lines``) against one station at a time, and the JSON the store keeps (``edits.dumps``) against
``json.dumps``."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from geo.districts import Districts
from stations import edits, importers, search
from stations.model import Station
from stations.registry import assign_districts
from tests import hostile

# CJK, ASCII in both cases, full-width forms (NFKC changes them), combining marks and compatibility characters
# that compose or decompose, line breaks, NUL, lone surrogates, RTL marks, the hostile family
PIECES = st.sampled_from(
    [*hostile.ALL, "西湖", "ＫＦＣ", "ﬁ", "e\u0301", "\u0301", "㍿", "①", "\n", "\0", "\ud800", "\u202e", " ", "A"]
)
TEXT = st.one_of(st.text(max_size=12), st.lists(PIECES, max_size=5).map("".join))
PAYLOAD = st.fixed_dictionaries(
    {}, optional={"name": TEXT, "address": TEXT, "district": TEXT, "phone": TEXT, "id": st.just("x")}
)


@settings(max_examples=150, deadline=None)
@given(payloads=st.lists(PAYLOAD, max_size=6))
def test_search_texts_and_tokens_of_many_stations_equal_one_by_one(payloads: list[dict[str, str]]) -> None:
    texts = search.station_texts(payloads)
    assert texts == [search.station_text(p) for p in payloads]
    assert search.token_lines(texts) == [" ".join(search.tokens(t)) for t in texts]


FLOATS = st.floats(allow_nan=True, allow_infinity=True)
INTEGER = st.none() | st.integers() | st.integers(min_value=2**64)  # capacity: an int field
DOCUMENT = st.fixed_dictionaries(
    {},
    optional={
        "name": TEXT, "lon": FLOATS, "lat": FLOATS, "area_m2": FLOATS | st.lists(st.none() | FLOATS, max_size=2),
        "capacity": INTEGER, "amenities": st.dictionaries(TEXT, TEXT, max_size=2),
    },
)  # fmt: skip


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b and type(a) is type(b)


@settings(max_examples=200, deadline=None)
@given(document=DOCUMENT)
def test_stored_json_reads_back_as_the_value(document: dict[str, object]) -> None:
    """orjson where it is exact; ``json.dumps`` where orjson would write null for a NaN, refuse a lone
    surrogate or an integer past 64 bits — whichever is used, the text reads back as the value."""
    text = edits.dumps(document)
    assert _same(json.loads(text), json.loads(json.dumps(document)))
    assert _same(json.loads(text), document)


# Cells for each column: two valid values first, values each check of ``importers._trusted`` must send to pydantic (bad,
# hostile, long, odd ids and adcodes, unreadable hours), and values only pydantic may judge (dates, URLs)
CELLS = {
    "id": ["", "HZ-1", "驿站-RT-1", "..", ".", "nearby", "NearBy", "a b", "a/b", "a%b", "a\\b", "x" * 65, "a\u202eb",
           "a\ud800", "id\x01", "ok~:_.!", "\u3000全角\u3000"],
    "name": ["武林街道工会驿站", "\u00a0站\u2003", "", " ", "N" * 201, "name\x00", "\ud800", *hostile.ALL,
             "\x1c驿站\x1f"],
    "types": ["outdoor_worker", "驿站;司机之家;母婴室、母婴室", "", "spaceship"],
    "lon": ["120.16", "120.1°", "x", "nan", "200", "116.4", "-180", "180"],
    "lat": ["30.27", "-90", "39.9", "95", "inf"],
    "crs": ["", "gcj02", "bd09", "高德", "mars"],
    "address": ["", "杭州\ud800路", "A" * 500, "A" * 501, "路\n二号", "tab\there", "ctl\x7f"],
    "adcode": ["", "330102", "33010", "３３０１０２", "٣٣٠١٠٢", "330102 ", "abcdef"],
    "district": ["", "上城区", "D" * 101],
    "opening_hours": ["", "周一至周日 8:00-20:00", "24/7", "Mo-Fr 08:30-17:30", "gibberish", "H" * 501],
    "operating_status": ["", "正常", "closed", "weird"],
    "phone": ["", "0571-1234", "P" * 101],
    "capacity": ["", "3", "0", "-1", "2.5", "1e3", "9" * 30],
    "area_m2": ["", "12.5", "0", "-3", "1e400"],
    "photo_url": ["", "", "https://x.example/a.jpg", "ftp://x"],
    "verified_at": ["", "", "2026-01-02", "2026-13-01", "yesterday"],
    "source": ["", "synthetic", "S" * 201],
    "hot_water": ["", "yes", "无", "maybe"],
    "external_ids.amap": ["", "", "B0FFG", "x\x01"],
}  # fmt: skip
ROW = (
    st.sampled_from(list(CELLS)).flatmap(  # one column's cell from all, the others' each the fast path takes
        lambda odd: st.fixed_dictionaries({c: st.sampled_from(v if c == odd else v[:2]) for c, v in CELLS.items()})
    )
    | st.fixed_dictionaries({c: st.sampled_from(v) for c, v in CELLS.items()})
)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(ROW, min_size=1, max_size=8), geojson=st.booleans())
def test_rows_built_without_pydantic_equal_validated_rows(rows: list[dict[str, str]], geojson: bool) -> None:
    """``parse_file`` with the fast path (``_trusted``) gives what it gives with every row validated by pydantic:
    the same stations (fields, order, fields set), problems and warnings, in the same order. CSV, and GeoJSON
    (whose JSON escapes carry lone surrogates, which no CSV encoding can)."""
    name = "rows.geojson" if geojson else "rows.csv"
    data = _geojson(rows) if geojson else _csv(rows)
    fast = importers.parse_file(data, name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(importers, "_trusted", lambda _fields: None)
        slow = importers.parse_file(data, name)
    assert fast.problems == slow.problems
    assert fast.warnings == slow.warnings
    assert (fast.rows, fast.station_rows) == (slow.rows, slow.station_rows)
    assert fast.stations == slow.stations
    for a, b in zip(fast.stations, slow.stations, strict=True):
        assert list(a.__dict__.items()) == list(b.__dict__.items())
        assert a.model_fields_set == b.model_fields_set
        assert a.model_dump_json() == b.model_dump_json()


def _csv(rows: list[dict[str, str]]) -> bytes:
    rows = [{k: v.encode("utf-8", "replace").decode() for k, v in row.items()} for row in rows]  # no surrogates
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, list(CELLS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _geojson(rows: list[dict[str, str]]) -> bytes:
    features = []
    for row in rows:
        properties: dict[str, object] = {k: v for k, v in row.items() if k not in ("lon", "lat", "external_ids.amap")}
        properties["external_ids"] = {"amap": row["external_ids.amap"]} if row["external_ids.amap"] else {}
        geometry = {"type": "Point", "coordinates": [row["lon"], row["lat"]]}
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def test_station_located_without_model_copy_equals_model_copy() -> None:
    """``assign_districts`` sets the district as ``model_copy(update=...)`` did: same fields, order and fields set."""
    districts = Districts(
        ["330102", "330106"], ["上城区", "西湖区"], [box(120.1, 30.2, 120.2, 30.3), box(120.0, 30.2, 120.1, 30.3)]
    )
    stations = [
        Station(id="a", name="甲", types=["outdoor_worker"], lon=120.15, lat=30.25),
        Station(id="b", name="乙", types=["nursing_room"], lon=120.05, lat=30.25, district="自填区",
                amenities={"wifi": "yes"}),
        Station(id="c", name="丙", types=["outdoor_worker"], lon=120.15, lat=30.25, adcode="330102"),
        Station(id="d", name="丁", types=["outdoor_worker"], lon=121.5, lat=30.25),
    ]  # fmt: skip
    located, warnings = assign_districts(list(stations), [2, 3, 4, 5], districts)
    expected = [
        stations[0].model_copy(update={"adcode": "330102", "district": "上城区"}),
        stations[1].model_copy(update={"adcode": "330106", "district": "自填区"}),
        stations[2].model_copy(update={"adcode": "330102", "district": "上城区"}),
        stations[3],
    ]
    assert [w.row for w in warnings] == [5]
    for a, b in zip(located, expected, strict=True):
        assert list(a.__dict__.items()) == list(b.__dict__.items())
        assert a.model_fields_set == b.model_fields_set
