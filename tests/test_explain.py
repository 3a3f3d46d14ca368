"""The hot queries stay off the history: with 100,000 finished jobs (and 200,000 events) in the queue, every
statement the store runs for them is planned without a sequential scan of jobs, job_events or seen, and reads
a small part of the table.

On PostgreSQL each statement is prepared and explained both with its parameter values (a custom plan) and
without them (the generic plan a prepared statement switches to from its sixth run), and run under EXPLAIN
ANALYZE in a transaction that is rolled back, which counts the rows it actually read. On SQLite the query
plan may not SCAN those tables, and the statement's virtual-machine steps are counted as it runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import PG_URL
from history_support import fill_history, fill_seen
from queue_support import post

from sharebot.jobs import JobState
from sharebot.store import PRUNABLE, SQLiteStore, Store

pytestmark = pytest.mark.slow

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
HISTORY = 100_000
# A plan that walks the history reads 100,000 rows. The hot queries read at most its last day (360 jobs: it
# ends 12 hours before NOW, one job every two minutes) or one source's 1,000 seen articles.
MOST_ROWS_READ = HISTORY // 20
BIG_TABLES = {"jobs", "job_events", "seen"}


class Recording:
    """A store that keeps every statement it runs, so the plans checked are those of the store's own SQL."""

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        self.__dict__.setdefault("statements", []).append((sql, tuple(params)))
        return super()._exec(sql, params)  # type: ignore[misc, no-any-return]


class RecordingSQLite(Recording, SQLiteStore):
    pass


def recording_postgres(url: str) -> Store:
    from sharebot.store_postgres import PostgresStore

    class RecordingPostgres(Recording, PostgresStore):
        pass

    return RecordingPostgres(url)


def enqueue_live(store: Store, slug: str, *, run_at: datetime, accounts: int = 4) -> list[int]:
    jobs = store.insert_jobs(slug, 1, [post(f"live{i}") for i in range(accounts)], now=NOW - timedelta(hours=2),
                             run_at=run_at)
    return [j.id for j in jobs]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def history(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A queue with a long finished history, ending 12 hours before NOW, and a few live jobs of each kind."""
    if request.param == "sqlite":
        store: Store = RecordingSQLite(tmp_path_factory.mktemp("explain") / "queue.db")
        schema = None
    else:
        if not PG_URL:
            pytest.skip("PostgreSQL tests need SHAREBOT_TEST_DATABASE_URL")
        from queue_support import PgSchema

        schema = PgSchema(PG_URL)
        store = recording_postgres(schema.url)
        store.test_url = schema.url  # type: ignore[attr-defined]
    try:
        fill_history(store, HISTORY, end=NOW - timedelta(hours=12), spacing=timedelta(minutes=2),
                     post_json=json.dumps(post("h0").to_dict()))
        fill_seen(store, HISTORY, sources=100, at=NOW - timedelta(days=30))
        enqueue_live(store, "live-due", run_at=NOW - timedelta(minutes=5))
        enqueue_live(store, "live-later", run_at=NOW + timedelta(hours=3))
        lapsed = enqueue_live(store, "live-lapsed", run_at=NOW - timedelta(hours=1), accounts=2)
        store.claim("dead-worker", now=NOW - timedelta(hours=1), lease_until=NOW - timedelta(minutes=50),
                    limit=2, ids=lapsed)
        store.expire_leases(NOW - timedelta(minutes=30))  # -> unknown, due for a check
        yield store
    finally:
        store.close()
        if schema is not None:
            schema.drop()


# --- the hot queries: each prepares what it needs and returns the one call whose statements are checked ----
Call = Callable[[], object]


def claim(store: Store) -> Call:
    return lambda: store.claim("w1", now=NOW, lease_until=NOW + timedelta(minutes=2), limit=2)


def claim_by_id(store: Store) -> Call:
    ids = enqueue_live(store, "live-now", run_at=NOW, accounts=2)
    return lambda: store.claim("publish", now=NOW, lease_until=NOW + timedelta(minutes=2), limit=2, ids=ids)


def claim_unknown(store: Store) -> Call:
    return lambda: store.claim_unknown("w1", now=NOW, lease_until=NOW + timedelta(minutes=2), limit=4)


def expire_leases(store: Store) -> Call:
    ids = enqueue_live(store, "live-expiring", run_at=NOW - timedelta(minutes=10), accounts=2)
    store.claim("w2", now=NOW - timedelta(minutes=10), lease_until=NOW - timedelta(minutes=1), limit=2, ids=ids)

    def expire() -> None:
        assert len(store.expire_leases(NOW)) == 2

    return expire


def expire_leases_none_lapsed(store: Store) -> Call:
    def expire() -> None:
        assert store.expire_leases(NOW) == []

    return expire


def renew_leases(store: Store) -> Call:
    running = [j.id for j in store.list_jobs(state=JobState.RUNNING)]
    assert running
    return lambda: store.renew_leases(running, owner="w1", until=NOW + timedelta(minutes=4))


def all_post_times(store: Store) -> Call:
    def read() -> None:
        assert 300 < sum(map(len, store.all_post_times(since=NOW - timedelta(days=1)).values())) < 500

    return read


def upcoming(store: Store) -> Call:
    return lambda: (store.upcoming(until=NOW + timedelta(hours=24)), store.upcoming())


def list_jobs_by_slug(store: Store) -> Call:
    def read() -> None:
        assert len(store.list_jobs(slug="history-4321")) == 8

    return read


def latest_round(store: Store) -> Call:
    def read() -> None:
        assert store.latest_round("history-4321") == 1

    return read


def seen(store: Store) -> Call:
    def read() -> None:
        assert len(store.seen("source-7")) == HISTORY // 100

    return read


def events(store: Store) -> Call:
    def read() -> None:
        assert len(store.events(4321)) == 2

    return read


def claimed(store: Store, owner: str) -> int:
    [job_id] = enqueue_live(store, f"live-{owner}", run_at=NOW, accounts=1)
    store.claim(owner, now=NOW, lease_until=NOW + timedelta(minutes=2), limit=1, ids=[job_id])
    return job_id


def begin_attempt(store: Store) -> Call:
    job_id = claimed(store, "w3")
    return lambda: store.begin_attempt(job_id, owner="w3")


def transition(store: Store) -> Call:
    job_id = claimed(store, "w4")
    return lambda: store.transition(job_id, JobState.RUNNING, JobState.PUBLISHED, now=NOW, reason="posted",
                                    owner="w4", remote_id="r1")


def next_due(store: Store) -> Call:
    return lambda: store.next_due(after=NOW)


def note_waiting(store: Store) -> Call:
    return lambda: store.note_waiting({"live0": "left by w9: X not set there"}, now=NOW)


def prune_finished(store: Store) -> Call:
    def prune() -> None:
        for state in PRUNABLE:
            assert store.prune_finished(state, before=NOW - timedelta(days=90), limit=100)[0] == 100

    return prune


HOT: list[Callable[[Store], Call]] = [claim, claim_by_id, claim_unknown, expire_leases, expire_leases_none_lapsed,
                                      renew_leases, all_post_times, next_due, note_waiting, upcoming,
                                      list_jobs_by_slug, latest_round, seen, events, begin_attempt, transition,
                                      prune_finished]


@pytest.mark.parametrize("query", HOT, ids=[q.__name__ for q in HOT])
def test_a_hot_query_reads_no_more_than_it_needs(history: Store, query: Callable[[Store], Call]) -> None:
    call = query(history)
    statements = history.statements  # type: ignore[attr-defined]
    statements.clear()
    if history.dialect == "postgres":
        call()
        assert statements
        for sql, params in list(statements):
            for mode in ("force_custom_plan", "force_generic_plan"):
                check_postgres_plan(history, sql, params, mode)
        return
    steps = vm_steps(history, call)
    assert statements
    for sql, params in list(statements):
        check_sqlite_plan(history, sql, params)
    # Each row a statement visits takes several steps.
    assert steps < HISTORY, f"{query.__name__}: {steps} virtual-machine steps"


# --- PostgreSQL -----------------------------------------------------------------------------------------------
PG_TYPES = {datetime: "timestamptz", int: "bigint", str: "text", type(None): "text"}


def check_postgres_plan(store: Store, sql: str, params: tuple[Any, ...], mode: str) -> None:
    """Prepare `sql` as the store sends it, explain and run it once in a transaction that is rolled back, with
    `plan_cache_mode` = `mode`; no Seq Scan on the big tables, and at most MOST_ROWS_READ rows read from them."""
    import psycopg

    with psycopg.connect(store.test_url, autocommit=True) as conn:  # type: ignore[attr-defined]
        cur = prepare(conn, sql, params, mode)
        with conn.transaction(force_rollback=True):
            args = "(" + ", ".join(["%s"] * len(params)) + ")" if params else ""
            cur.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE hot{args}", params)
            plan = cur.fetchone()[0][0]["Plan"]  # type: ignore[index]
            # Sequential scans this transaction made, those of the foreign keys' triggers included.
            seq_scans = conn.execute("SELECT relname, seq_scan FROM pg_stat_xact_user_tables WHERE schemaname ="
                                     " current_schema() AND relname = ANY(%s) AND seq_scan > 0",
                                     (sorted(BIG_TABLES),)).fetchall()
    scans = list(nodes_on_big_tables(plan))
    shown = f"{mode} plan of {sql}:\n{json.dumps(plan, indent=1)}"
    assert not [n for n in scans if n["Node Type"] == "Seq Scan"], shown
    assert not seq_scans, f"sequential scans {seq_scans} running the {shown}"
    read = sum((n["Actual Rows"] + n.get("Rows Removed by Filter", 0) + n.get("Rows Removed by Index Recheck", 0))
               * n["Actual Loops"] for n in scans)
    assert read <= MOST_ROWS_READ, f"{read} rows read by the {shown}"


def prepare(conn: Any, sql: str, params: tuple[Any, ...], mode: str) -> Any:
    """`sql` prepared as `hot`, the store's `?` marks numbered, with `plan_cache_mode` = `mode`; a cursor to
    EXECUTE it with."""
    import psycopg

    numbered = iter(range(1, len(params) + 1))
    prepared = re.sub(r"\?", lambda _: f"${next(numbered)}", sql)
    types = ", ".join(PG_TYPES[type(p)] for p in params)
    conn.execute(f"SET plan_cache_mode = {mode}")
    conn.execute(f"PREPARE hot{'(' + types + ')' if params else ''} AS {prepared}")
    return psycopg.ClientCursor(conn)


def postgres_plan(store: Store, sql: str, params: tuple[Any, ...], mode: str) -> dict[str, Any]:
    """The plan PostgreSQL makes for `sql` prepared under `mode` (EXPLAIN without running it)."""
    import psycopg

    with psycopg.connect(store.test_url, autocommit=True) as conn:  # type: ignore[attr-defined]
        cur = prepare(conn, sql, params, mode)
        args = "(" + ", ".join(["%s"] * len(params)) + ")" if params else ""
        cur.execute(f"EXPLAIN (FORMAT JSON) EXECUTE hot{args}", params)
        return cur.fetchone()[0][0]["Plan"]  # type: ignore[index, no-any-return]


def nodes_on_big_tables(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if node.get("Relation Name") in BIG_TABLES and "Scan" in node["Node Type"]:
        yield node
    for child in node.get("Plans", ()):
        yield from nodes_on_big_tables(child)


# --- SQLite ---------------------------------------------------------------------------------------------------
def check_sqlite_plan(store: Store, sql: str, params: tuple[Any, ...]) -> None:
    rows = store._conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()  # type: ignore[attr-defined]
    details = [r["detail"] for r in rows]
    scans = [d for d in details if re.match(r"SCAN (jobs|job_events|seen)\b", d)]
    assert not scans, f"{sql}:\n" + "\n".join(details)


def vm_steps(store: Store, call: Call) -> int:
    """SQLite virtual-machine instructions `call` runs (counted in hundreds by a progress handler)."""
    counted = [0]

    def count() -> int:
        counted[0] += 100
        return 0

    store._conn.set_progress_handler(count, 100)  # type: ignore[attr-defined]
    try:
        call()
    finally:
        store._conn.set_progress_handler(None, 0)  # type: ignore[attr-defined]
    return counted[0]


def test_the_scheduling_read_is_answered_from_indexes_alone(history: Store) -> None:
    """Every `publish` and dry run reads the accounts' post times: each branch of that read (the jobs still to go
    out, by state, and the published ones) comes from a partial index holding `account`, never a job's row."""
    all_post_times(history)()
    [(sql, params)] = [s for s in history.statements if "UNION ALL" in s[0]][-1:]  # type: ignore[attr-defined]
    if history.dialect == "postgres":
        for mode in ("force_custom_plan", "force_generic_plan"):
            plan = postgres_plan(history, sql, params, mode)
            scans = list(nodes_on_big_tables(plan))
            assert len(scans) == 4 and all(n["Node Type"] == "Index Only Scan" for n in scans), json.dumps(plan)
        return
    details = [r["detail"] for r in history._conn.execute("EXPLAIN QUERY PLAN " + sql, params)]  # type: ignore[attr-defined]
    searches = [d for d in details if d.startswith("SEARCH jobs")]
    assert len(searches) == 4 and all("USING COVERING INDEX" in d for d in searches), details
