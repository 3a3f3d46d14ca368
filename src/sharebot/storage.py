"""Opening the queue's store: the one place that maps a database URL to its backend.

Kept apart from `store` so the base module never imports a backend that imports it back.
"""

from __future__ import annotations

from pathlib import Path

from sharebot.store import SQLiteStore, Store, is_postgres


def open_store(url_or_path: str | Path, *, migrate: bool = True) -> Store:
    """`postgresql://…` opens PostgreSQL; anything else is a SQLite path (`sqlite:///x.db`, `:memory:`).
    migrate=False opens without touching the schema (a dry run writes nothing; see `is_current`)."""
    target = str(url_or_path)
    if is_postgres(target):
        from sharebot.store_postgres import PostgresStore

        return PostgresStore(target, migrate=migrate)
    if target.startswith("sqlite:///"):
        target = target[len("sqlite:///"):] or ":memory:"
    return SQLiteStore(target, migrate=migrate)
