"""Which snapshots of a stream to delete so that only the newest few stay (one
statement, the same on SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import Delete, delete, select

from adapters.store._tables import snapshots
from engine.ports import StreamId


def prune_snapshots(stream: StreamId, keep: int) -> Delete:
    """Delete every snapshot of `stream` older than its `keep`-th newest (none when it
    has fewer)."""
    ours = (snapshots.c.scene == stream.scene) & (snapshots.c.branch == stream.branch)
    oldest_kept = (
        select(snapshots.c.version)
        .where(ours)
        .order_by(snapshots.c.version.desc())
        .limit(1)
        .offset(max(keep, 1) - 1)
        .scalar_subquery()
    )
    return delete(snapshots).where(ours, snapshots.c.version < oldest_kept)
