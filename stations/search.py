"""Finding stations, streets and districts by name: the registry's search index and the text rules it keeps.

A station is found by a query when the query, normalised (``normalise``: NFKC, so full-width ``ＫＦＣ`` is
``kfc``, and ASCII letters lower-cased), is a substring of its normalised name, address or district. That is
the whole rule: ``brute_force`` states it, and both stores answer exactly it (the tests check them against it).

Chinese has no spaces between words and riders type two characters (西湖) as often as ten, so no word
tokeniser fits and SQLite's trigram tokeniser (three characters at least) misses the commonest queries. The
index works on single characters instead: ``tokens`` keeps a text's ASCII letters and digits and its CJK
ideographs (the characters every store's tokeniser agrees on), in order; a query's tokens are consecutive among
the text's tokens whenever the query is a substring of the text, so the index narrows the stations to a
superset, and the exact substring test (``instr``/``strpos`` on the stored normalised text) decides.

- SQLite: a contentless FTS5 table ``station_search_fts`` over the tokens, one per token (separated by
  spaces, ``unicode61``); a query is one FTS5 phrase of its tokens (adjacent tokens: any length, one
  character too).
- PostgreSQL: a GIN-indexed ``text[]`` of the text's distinct token bigrams (``grams``); a query's bigrams
  must all be there (``@>``). No extension, no locale: ``pg_trgm``'s trigrams skip CJK characters under the C
  locale and cannot serve two-character queries under any. A one-character query scans (a common character
  stops it at its limit at once; bench/RESULTS.md): single tokens would double the index and its upkeep.

A query with no token at all (``!!``) is answered by the exact test over every station.

``station_search`` holds each station's normalised text, keyed by its id; ``stations.edits`` rewrites a
station's row in the same transaction as every write of the station (``reindex``), so the index never lags.
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

MAX_QUERY_CHARS = 100
"""Longest query (characters, after trimming): longer than any station name, street or district."""
SEARCH_FIELDS = ("name", "address", "district")
"""The station fields a query is looked for in."""
_TOKEN = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff]")
"""The characters the index keeps: ASCII digits and (lower-cased) letters, CJK ideographs (and extension A)."""


def normalise(value: str) -> str:
    """Text as it is compared: NFKC (full-width letters and digits become ASCII), ASCII letters lower-cased.

    >>> normalise("ＫＦＣ 西湖店")
    'kfc 西湖店'
    """
    if not unicodedata.is_normalized("NFKC", value):  # most text is: the check is ~10x cheaper than the change
        value = unicodedata.normalize("NFKC", value)
    return value.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")  # bytes: ASCII only


def station_text(payload: Mapping[str, Any]) -> str:
    r"""The normalised text a station is searched in: its name, address and district, one a line.

    >>> station_text({"name": "武林街道工会驿站", "address": "杭州市上城区九和路259号", "lon": 120.1})
    '武林街道工会驿站\n杭州市上城区九和路259号'
    """
    return "\n".join(normalise(str(payload[name])) for name in SEARCH_FIELDS if payload.get(name))


def station_texts(payloads: Sequence[Mapping[str, Any]]) -> list[str]:
    r"""``station_text`` of each payload, normalised in one call over all of them joined by NUL (a character no
    station text holds, and one NFKC neither composes with its neighbours nor makes): the same texts, without a
    ``normalise`` per field (an import indexes tens of thousands at once).

    >>> station_texts([{"name": "ＫＦＣ"}, {"name": "西湖", "district": "西湖区"}])
    ['kfc', '西湖\n西湖区']
    """
    raw = "\0".join("\n".join(str(p[name]) for name in SEARCH_FIELDS if p.get(name)) for p in payloads)
    if raw.count("\0") != len(payloads) - 1:  # a text holding NUL itself (the model refuses it): one by one
        return [station_text(p) for p in payloads]
    return normalise(raw).split("\0") if payloads else []


def token_lines(texts: Sequence[str]) -> list[str]:
    """Each normalised text's ``tokens`` joined by spaces (what FTS5 indexes), found by one regex pass over all
    of them joined by NUL.

    >>> token_lines(["kfc·西湖店", "--", "a1"])
    ['k f c 西 湖 店', '', 'a 1']
    """
    blob = "\0".join(texts)
    if blob.count("\0") != len(texts) - 1:
        return [" ".join(tokens(text)) for text in texts]
    return [" ".join(kept) for kept in _NOT_TOKEN.sub("", blob).split("\0")] if texts else []


_NOT_TOKEN = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff\0]+")
"""Runs of characters that are not tokens (``_TOKEN``) nor the NUL that ``token_lines`` joins texts with."""


def tokens(value: str) -> list[str]:
    """The characters of normalised ``value`` the index keeps, in order.

    >>> tokens("kfc·西湖店(2)")
    ['k', 'f', 'c', '西', '湖', '店', '2']
    """
    return _TOKEN.findall(value)


def grams(value: str) -> list[str]:
    """The distinct token bigrams of normalised ``value``, sorted (PostgreSQL's ``grams``).

    >>> grams("西湖西")
    ['湖西', '西湖']
    """
    return sorted({a + b for a, b in itertools.pairwise(tokens(value))})


def query_grams(query: str) -> list[str]:
    """What a station's ``grams`` must all hold for normalised ``query`` to be in its text (nothing to narrow
    by for a query of fewer than two tokens).

    >>> query_grams("西湖区"), query_grams("湖"), query_grams("!!")
    (['湖区', '西湖'], [], [])
    """
    return grams(query)


def fts_phrase(query: str) -> str | None:
    """The FTS5 phrase of normalised ``query``'s tokens (None without any).

    >>> fts_phrase("西湖 kfc"), fts_phrase("--")
    ('"西 湖 k f c"', None)
    """
    found = tokens(query)
    return '"' + " ".join(found) + '"' if found else None


def brute_force(query: str, payloads: Iterable[Mapping[str, Any]]) -> set[str]:
    """Ids of the stations whose name, address or district holds ``query`` (both normalised): the rule itself.

    >>> brute_force("西湖", [{"id": "a", "name": "西湖驿站"}, {"id": "b", "name": "湖西", "address": "西 湖"}])
    {'a'}
    """
    wanted = normalise(query)
    return {str(p["id"]) for p in payloads if any(wanted in normalise(str(p[f])) for f in SEARCH_FIELDS if p.get(f))}


def reindex(connection: Connection, removed: Iterable[str], written: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """Bring the index up to date in ``connection``'s transaction: drop the stations of ``removed`` (their ids)
    and index ``written`` (``(id, payload)``, replacing what was there)."""
    dropped = list(dict.fromkeys([*removed, *(station_id for station_id, _ in written)]))
    postgresql = connection.dialect.name == "postgresql"
    for start in range(0, len(dropped), _IDS_PER_STATEMENT):
        chunk = dropped[start : start + _IDS_PER_STATEMENT]
        if postgresql:
            connection.execute(text("DELETE FROM station_search WHERE station_id = ANY(:ids)"), {"ids": chunk})
            continue
        ids = {"ids": json.dumps(chunk)}  # one parameter: an IN list of bound values costs ~10 µs an id to build
        old = connection.execute(text(f"SELECT doc, text FROM station_search WHERE {_SQLITE_IN_IDS}"), ids).all()
        if old:
            connection.exec_driver_sql(
                "INSERT INTO station_search_fts (station_search_fts, rowid, tokens) VALUES ('delete', ?, ?)",
                list(zip([doc for doc, _ in old], token_lines([old_text for _, old_text in old]), strict=True)),
            )
            connection.execute(text(f"DELETE FROM station_search WHERE {_SQLITE_IN_IDS}"), ids)
    if not written:
        return
    searched = station_texts([payload for _, payload in written])
    if postgresql:
        connection.exec_driver_sql(
            "INSERT INTO station_search (station_id, text, grams) VALUES (%s, %s, %s)",
            [(station_id, found, grams(found)) for (station_id, _), found in zip(written, searched, strict=True)],
        )
        return
    first = (connection.execute(text("SELECT max(doc) FROM station_search")).scalar() or 0) + 1
    docs = range(first, first + len(written))
    connection.exec_driver_sql(
        "INSERT INTO station_search (doc, station_id, text) VALUES (?, ?, ?)",
        list(zip(docs, [station_id for station_id, _ in written], searched, strict=True)),
    )
    connection.exec_driver_sql(
        "INSERT INTO station_search_fts (rowid, tokens) VALUES (?, ?)",
        list(zip(docs, token_lines(searched), strict=True)),
    )


_IDS_PER_STATEMENT = 5_000
"""Station ids ``reindex`` looks up or drops per statement (one JSON array, or one PostgreSQL array, each)."""
_SQLITE_IN_IDS = "station_id IN (SELECT value FROM json_each(:ids))"


def _like_escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find(connection: Connection, query: str, limit: int) -> list[str]:
    """Ids of up to ``limit`` stations whose text holds ``query`` (normalised here), in no particular order.

    The index gives the candidates; the exact test (``instr``, ``strpos``) on the stored text decides.
    """
    wanted = normalise(query)
    if not wanted:
        return []
    if connection.dialect.name == "postgresql":
        needed = query_grams(wanted)
        parameters: dict[str, Any] = {"q": wanted, "limit": limit}
        narrowed = ""
        if needed:
            narrowed, parameters["grams"] = "grams @> CAST(:grams AS text[]) AND ", needed
        statement = f"SELECT station_id FROM station_search WHERE {narrowed}strpos(text, :q) > 0 LIMIT :limit"
        # a plan for these grams: psycopg prepares a statement run 5 times, and PostgreSQL's generic plan for
        # it scans every row (~30 ms at 30k stations, where the index answers a rare query in ~2 ms)
        connection.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        return list(connection.execute(text(statement), parameters).scalars())
    phrase = fts_phrase(wanted)
    parameters = {"q": wanted, "limit": limit}
    if phrase is None:
        statement = "SELECT station_id FROM station_search WHERE instr(text, :q) > 0 LIMIT :limit"
    else:
        parameters["phrase"] = phrase
        statement = (  # driven by the index, so that a common query stops at ``limit`` (~2-7x faster than IN)
            "SELECT s.station_id FROM station_search_fts AS f JOIN station_search AS s ON s.doc = f.rowid "
            "WHERE f.station_search_fts MATCH :phrase AND instr(s.text, :q) > 0 LIMIT :limit"
        )
    return list(connection.execute(text(statement), parameters).scalars())


def scan(connection: Connection, query: str, limit: int) -> list[str]:
    """``find`` without the index: ``LIKE '%query%'`` over every station's text (the benchmark's baseline)."""
    pattern = "%" + _like_escaped(normalise(query)) + "%"
    statement = "SELECT station_id FROM station_search WHERE text LIKE :pattern ESCAPE '\\' LIMIT :limit"
    return list(connection.execute(text(statement), {"pattern": pattern, "limit": limit}).scalars())
