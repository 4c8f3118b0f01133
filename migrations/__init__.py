"""Alembic migrations of the scenestate database, one set for SQLite and PostgreSQL.

Run them with `adapters.store.migrate(url)`, which finds this package's directory;
`alembic -c migrations/alembic.ini ...` works too, for humans.
"""

# The newest revision; tests/adapters/test_migrations.py holds it equal to Alembic's head.
HEAD = "0007"
