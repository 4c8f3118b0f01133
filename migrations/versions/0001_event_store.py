"""The event store

Tables for events, idempotency records, streams and snapshots; on PostgreSQL also
the sequencer function that numbers events after
commit (see adapters/store/postgres.py for why).

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# First key of the sequencer's advisory lock; the second is the events table's oid,
# so stores in different schemas of one database never wait for each other.
SEQUENCER_LOCK = 0x5CE5E0


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _create_events(postgres)
    op.create_table(
        "appends",
        sa.Column("idempotency_key", sa.Text, primary_key=True),
        sa.Column("scene", sa.Text, nullable=False),
        sa.Column("branch", sa.Text, nullable=False),
        sa.Column("first_version", sa.BigInteger, nullable=False),
        sa.Column("last_version", sa.BigInteger, nullable=False),
        sa.Column("first_position", sa.BigInteger, nullable=True),
        sa.Column("last_position", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "streams",
        sa.Column("scene", sa.Text, primary_key=True),
        sa.Column("branch", sa.Text, primary_key=True),
        sa.Column("studio", sa.Text, primary_key=True),
    )
    op.create_index("streams_by_studio", "streams", ["studio", "scene"])
    op.create_table(
        "snapshots",
        sa.Column("scene", sa.Text, primary_key=True),
        sa.Column("branch", sa.Text, primary_key=True),
        sa.Column("version", sa.BigInteger, primary_key=True),
        sa.Column("schema", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    if postgres:
        op.execute(SEQUENCE_EVENTS)


def _create_events(postgres: bool) -> None:
    columns = [
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("position", sa.BigInteger, nullable=True),
        sa.Column("scene", sa.Text, nullable=False),
        sa.Column("branch", sa.Text, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("studio", sa.Text, nullable=False),
        sa.Column("idempotency_key", sa.Text, nullable=True),
        # ISO 8601 text on SQLite, whose DATETIME would drop the UTC offset
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite"),
            nullable=False,
        ),
    ]
    op.create_table(
        "events",
        *columns,
        sa.UniqueConstraint("scene", "branch", "version", name="events_stream_version"),
        sa.UniqueConstraint("event_id", name="events_event_id"),
    )
    # Unsequenced rows (PostgreSQL) stay out of the position index.
    op.create_index(
        "events_position",
        "events",
        ["position"],
        unique=True,
        postgresql_where=sa.text("position IS NOT NULL"),
    )
    if postgres:
        op.create_index(
            "events_unsequenced",
            "events",
            ["id"],
            postgresql_where=sa.text("position IS NULL"),
        )


# One sequencing pass (see adapters/store/postgres.py). The lock is taken by its own
# statement so that the UPDATE's snapshot, taken after it, sees every position the
# previous pass committed. search_path is pinned to the schema it was created in.
SEQUENCE_EVENTS = f"""
CREATE FUNCTION sequence_events(
    batch_size integer,
    OUT assigned integer,
    OUT last_position bigint,
    OUT pending boolean
) LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
BEGIN
    IF NOT pg_try_advisory_xact_lock({SEQUENCER_LOCK}, 'events'::regclass::oid::integer) THEN
        -- another pass is running and will number what is ready
        assigned := 0;
        pending := true;
        RETURN;
    END IF;
    WITH base AS (
        SELECT coalesce(max(e.position), 0) AS top FROM events e
    ), ready AS (
        SELECT r.id, row_number() OVER (ORDER BY r.id) AS n
        FROM (
            SELECT e.id FROM events e
            WHERE e.position IS NULL
            ORDER BY e.id
            LIMIT batch_size
        ) r
    ), numbered AS (
        UPDATE events e SET position = base.top + ready.n
        FROM ready, base
        WHERE e.id = ready.id
        RETURNING e.position
    )
    SELECT count(*), max(numbered.position) INTO assigned, last_position FROM numbered;
    IF assigned > 0 THEN
        PERFORM pg_notify('scenestate_events', last_position::text);
    END IF;
    pending := EXISTS (SELECT 1 FROM events e WHERE e.position IS NULL);
END
$fn$
"""


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION sequence_events(integer)")
    op.drop_table("snapshots")
    op.drop_index("streams_by_studio", table_name="streams")
    op.drop_table("streams")
    op.drop_table("appends")
    op.drop_table("events")
