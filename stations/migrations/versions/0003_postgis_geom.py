"""PostgreSQL only: ``stations.geom``, a PostGIS point kept equal to (lon, lat) by the database, GiST-indexed.

A STORED generated column, so no write code has to know it exists (the models do not declare it): every
INSERT or UPDATE of lon/lat recomputes it. It serves SQL users of the production store (KNN with ``<->``,
``ST_DWithin``, GIS clients); the service itself answers nearest queries from its own exact index. SQLite
gets nothing here.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    if not _postgresql():
        return
    if not op.get_context().as_sql:
        available = op.get_bind().execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"))
        if available.first() is None:
            raise RuntimeError(
                "this PostgreSQL server has no PostGIS extension to install: add it to the server "
                "(Debian: apt-get install postgresql-15-postgis-3), then open the database again"
            )
    # a no-op where it is installed already; otherwise needs a role allowed to create it (a superuser)
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute(
        "ALTER TABLE stations ADD COLUMN geom geometry(Point, 4326) "
        "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED"
    )
    op.execute("CREATE INDEX ix_stations_geom ON stations USING gist (geom)")


def downgrade() -> None:
    if not _postgresql():
        return
    op.drop_index("ix_stations_geom", table_name="stations")
    op.drop_column("stations", "geom")
