"""Tests of the adapters; the store suite is shared by SQLite and PostgreSQL."""
