"""Issue 14: the search index (``stations.search``): each station's normalised name, address and district,
indexed by character — SQLite: a contentless FTS5 table of its tokens; PostgreSQL: a GIN-indexed array of its
token bigrams. Existing stations are indexed here; ``stations.edits`` keeps the index up to date.

The text rules are copied from ``stations.search`` as they were at this revision (a migration is frozen); should
they change, a later revision indexes the stations again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from typing import Any

from alembic import op
from sqlalchemy import text

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_TOKEN = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff]")


def _text(payload: dict[str, Any]) -> str:
    return "\n".join(
        unicodedata.normalize("NFKC", str(payload[name])).translate(_ASCII_LOWER)
        for name in ("name", "address", "district")
        if payload.get(name)
    )


def _grams(value: str) -> list[str]:
    return sorted({a + b for a, b in itertools.pairwise(_TOKEN.findall(value))})


def upgrade() -> None:
    postgresql = op.get_context().dialect.name == "postgresql"
    if postgresql:
        op.execute(
            "CREATE TABLE station_search (station_id VARCHAR(64) PRIMARY KEY, text TEXT NOT NULL, "
            "grams TEXT[] NOT NULL)"
        )
        op.execute("CREATE INDEX ix_station_search_grams ON station_search USING gin (grams)")
    else:
        op.execute(
            "CREATE TABLE station_search (doc INTEGER PRIMARY KEY, station_id VARCHAR(64) NOT NULL UNIQUE, "
            "text TEXT NOT NULL)"
        )
        op.execute("CREATE VIRTUAL TABLE station_search_fts USING fts5(tokens, content='', tokenize='unicode61')")
    if op.get_context().as_sql:
        return
    connection = op.get_bind()
    rows = []
    for station_id, payload in connection.execute(text("SELECT id, payload FROM stations ORDER BY id")):
        data = json.loads(payload) if isinstance(payload, str | bytes) else payload
        rows.append((station_id, _text(data)))
    if not rows:
        return
    if postgresql:
        connection.exec_driver_sql(
            "INSERT INTO station_search (station_id, text, grams) VALUES (%s, %s, %s)",
            [(station_id, value, _grams(value)) for station_id, value in rows],
        )
        return
    numbered = [(doc, station_id, value) for doc, (station_id, value) in enumerate(rows, start=1)]
    connection.exec_driver_sql("INSERT INTO station_search (doc, station_id, text) VALUES (?, ?, ?)", numbered)
    connection.exec_driver_sql(
        "INSERT INTO station_search_fts (rowid, tokens) VALUES (?, ?)",
        [(doc, " ".join(_TOKEN.findall(value))) for doc, _, value in numbered],
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        op.execute("DROP TABLE station_search_fts")
    op.execute("DROP TABLE station_search")
