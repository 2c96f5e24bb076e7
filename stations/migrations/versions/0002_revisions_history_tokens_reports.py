"""Issue 7: station revisions (ETags), change history, API tokens, rider reports.

Also seeds the registry version row, so that even the first write of a database takes a row lock on it
(``stations.store.bump_version``) instead of racing another first writer to insert it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("stations", sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
    op.create_index("ix_stations_updated_at", "stations", ["updated_at"])
    op.execute(
        "INSERT INTO registry_meta (key, value) SELECT 'version', 0 "
        "WHERE NOT EXISTS (SELECT 1 FROM registry_meta WHERE key = 'version')"
    )

    op.create_table(
        "station_history",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
    )
    op.create_index("ix_station_history_station_id", "station_history", ["station_id"])
    op.create_index("ix_station_history_at", "station_history", ["at"])

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )

    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message", sa.String(2000), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(2000), nullable=True),
    )
    for column in ("station_id", "client", "created_at", "status"):
        op.create_index(f"ix_reports_{column}", "reports", [column])


def downgrade() -> None:
    op.drop_table("reports")  # its indexes go with it
    op.drop_table("api_tokens")
    op.drop_table("station_history")
    op.drop_index("ix_stations_updated_at", table_name="stations")
    with op.batch_alter_table("stations") as batch:  # SQLite before 3.35 cannot drop a column in place
        batch.drop_column("revision")
