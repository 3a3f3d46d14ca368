"""Fixtures shared across test files: the repo layout, the example configuration, the test's clock, the
stand-in servers, the local Bluesky PDS and the PostgreSQL schema.

Markers (registered in pyproject.toml) are applied at collection from what a test uses: a test that asks
for the `pds` fixture is marked `pds`, one that runs on PostgreSQL (`pg_url`, or the `store_url` fixture's
"postgres" case) is marked `postgres`, a hypothesis property search is marked `slow`. Other tests set
`slow` by hand. `pytest -m "not postgres and not pds and not slow"` is the quick run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes.base import Clock
from fakes.pictures import PictureHost
from pds import PDS, find_pds

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "config" / "sharebot.toml"
EXAMPLE_CONTENT = ROOT / "examples" / "site" / "content"
SEED_SLUG = "putin-xi-videogespraech-partnerschaft"
# When a test module sets no NOW of its own: a Wednesday morning, in Berlin as in UTC.
DEFAULT_NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
PG_URL = os.environ.get("SHAREBOT_TEST_DATABASE_URL")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "pds" in names:
            item.add_marker(pytest.mark.pds)
        if "pg_url" in names or params.get("store_url") == "postgres":
            item.add_marker(pytest.mark.postgres)
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def example_settings(tmp_path: Path):
    from sharebot.config import load_settings

    # an empty .env path: tests never pick up a developer's real .env
    return load_settings(EXAMPLE_CONFIG, {}, dotenv_path=tmp_path / "none.env")


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> Clock:
    """The test's time, fixed: the module's NOW if it sets one. Stand-ins and the code under test share it."""
    return Clock(getattr(request.module, "NOW", DEFAULT_NOW))


@pytest.fixture
def pictures() -> Iterator[PictureHost]:
    """An image host; see fakes/pictures.py for the picture names it serves."""
    with PictureHost() as host:
        yield host  # type: ignore[misc]


@pytest.fixture
def newsroom(clock: Clock) -> Iterator:
    """Every network's stand-in (Bluesky aside: `add_bluesky`) on the test's clock, and an image host.
    The test writes the site and the config it needs (`write_site`, `write_config`)."""
    from standins import Newsroom

    room = Newsroom(clock).start()
    yield room
    room.stop()


# --- the local Bluesky PDS (tests/pds.py) ---------------------------------------------------------
@pytest.fixture(scope="session")
def pds() -> PDS:
    found, reason = find_pds()
    if not found:
        pytest.skip(f"no local Bluesky PDS: {reason}")
    return found


# --- PostgreSQL: one schema per session, emptied before each test ---------------------------------
@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """The URL of a schema made for this session on the test database and migrated once; its
    `options=-csearch_path=…` puts every connection the store opens in that schema. Dropped at the end."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need SHAREBOT_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    from queue_support import PgSchema

    from sharebot.storage import open_store

    schema = PgSchema(PG_URL)
    try:
        open_store(schema.url).close()
        yield schema.url
    finally:
        schema.drop()


@pytest.fixture
def pg_url(pg_schema: str) -> str:
    """The session's schema with every table but the migration record emptied, identities restarted."""
    import psycopg

    with psycopg.connect(pg_schema, autocommit=True) as conn:
        # A connection a test left inside a transaction would make TRUNCATE wait for ever: fail instead.
        conn.execute("SET lock_timeout = '10s'")
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_migrations'")]
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    return pg_schema
