"""The fast paths of a large import give what the reference paths give, on random input (hostile text too):
the search texts and FTS tokens built for many stations at once (``search.station_texts``, ``token_lines``)
against one station at a time, and the JSON the store keeps (``edits.dumps``) against ``json.dumps``."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from stations import edits, search
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
VALUE = st.one_of(st.none(), TEXT, FLOATS, st.integers(), st.integers(min_value=2**64), st.lists(TEXT, max_size=2))
DOCUMENT = st.fixed_dictionaries(
    {},
    optional={
        "name": TEXT, "lon": FLOATS, "lat": FLOATS, "area_m2": FLOATS | st.lists(st.none() | FLOATS, max_size=2),
        "capacity": VALUE, "amenities": st.dictionaries(TEXT, TEXT, max_size=2),
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
