"""How many PostgreSQL connections one process may hold, and how they are shared.

A process (`serve`, `run`, a CLI command) opens the event store, the tenancy store
and the read models on one database, each with pools of its own. Left to their own
defaults they could hold 57 connections between them (20 for appends and hot reads,
20 for SQLAlchemy reads, the listener, 8 for tenancy, 4 + 4 for the read models), so
two or three servers came near PostgreSQL's default `max_connections` of 100. A
`ConnectionBudget` caps the process's total instead (SCENESTATE_DATABASE_POOL_SIZE,
default 20) and deals it out by weight; past its share, a caller waits for one of
its pool's connections rather than opening another.

    writes       the store's asyncpg connections: appends, sequencing passes and the
                 hot reads (a scene's events, the log, the work cache)
    reads        the store's SQLAlchemy pool: snapshots, stream heads, listings
    listener     one connection that LISTENs for the sequencer's NOTIFY
    tenancy      studios, keys, idempotency records, webhooks
    read_models  the read models' queries (SQLAlchemy)
    committers   the read models' COPY commits (asyncpg)
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TOTAL = 20
LISTENER = 1
# Shares of what the listener leaves, in the order the fields are dealt: at the
# default total, exactly these numbers.
_WEIGHTS = {"writes": 8, "reads": 4, "tenancy": 3, "read_models": 2, "committers": 2}
MINIMUM_TOTAL = LISTENER + len(_WEIGHTS)  # one connection for each pool


@dataclass(frozen=True)
class ConnectionBudget:
    writes: int
    reads: int
    tenancy: int
    read_models: int
    committers: int
    listener: int = LISTENER

    @property
    def total(self) -> int:
        return (
            self.writes + self.reads + self.tenancy + self.read_models + self.committers
        ) + self.listener

    @classmethod
    def of(cls, total: int = DEFAULT_TOTAL) -> ConnectionBudget:
        """`total` connections dealt out by weight, each pool at least one; what
        rounding leaves over goes to the writes."""
        if total < MINIMUM_TOTAL:
            raise ValueError(
                f"a process needs at least {MINIMUM_TOTAL} database connections "
                f"(one per pool), not {total}"
            )
        left = total - LISTENER
        weight = sum(_WEIGHTS.values())
        shares = {name: max(1, left * share // weight) for name, share in _WEIGHTS.items()}
        while sum(shares.values()) > left:  # minimums of 1 overspent a small total
            largest = max(shares, key=lambda name: shares[name])
            shares[largest] -= 1
        shares["writes"] += left - sum(shares.values())
        return cls(**shares)
