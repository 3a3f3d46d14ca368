"""A long finished history in a queue, written by SQL in a few statements (not through the store's API, which
would take an hour for a million jobs): for the plan tests (tests/test_explain.py) and the history benchmark
(bench/bench_history.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sharebot.store import Store

ACCOUNTS = 8  # history accounts are h0 … h7; job i is article history-{i // 8} on account h{i % 8}


def fill_history(store: Store, jobs: int, *, end: datetime, spacing: timedelta = timedelta(minutes=1),
                 post_json: str = "{}", accounts: Sequence[str] = (), prefix: str = "history") -> None:
    """Add `jobs` finished jobs, one finishing every `spacing` going back from `end`, each with an "enqueued"
    and a "posted" event. Mostly published; every 50th deleted, 97th failed and 89th canceled (the states
    `queue prune` may delete). PostgreSQL tables are then vacuumed and analysed, as autovacuum would have.
    The jobs take `accounts` in turn (default h0 … h7) and are articles `{prefix}-N` (a second fill needs
    another prefix: the idempotency keys are made from it)."""
    step = int(spacing.total_seconds())
    state = ("CASE WHEN {i} % 50 = 0 THEN 'deleted' WHEN {i} % 97 = 0 THEN 'failed'"
             " WHEN {i} % 89 = 0 THEN 'canceled' ELSE 'published' END")
    names = list(accounts) or [f"h{n}" for n in range(ACCOUNTS)]
    assert all(name.isidentifier() for name in names)  # written into the SQL
    account = "CASE {i} % " + str(len(names)) + "".join(f" WHEN {n} THEN '{name}'" for n, name in enumerate(names)) + " END"
    slug = f"'{prefix}-' || ({{i}} / {len(names)})"
    assert prefix.replace("-", "").isalnum()
    with store._transaction() as ex:  # type: ignore[attr-defined]
        first = int(ex("SELECT COALESCE(MAX(id), 0) AS n FROM jobs")[0]["n"])
        if store.dialect == "postgres":
            ex("INSERT INTO jobs (slug, account, network, round, state, post, idem_key, attempts, run_at, created_at,"
               " updated_at, remote_id, remote_url)"
               " SELECT " + slug.format(i="g") + ", " + account.format(i="g").replace("%", "%%") + ", 'mastodon', 1, "
               + state.format(i="g").replace("%", "%%")
               + f", ?, '{prefix}-' || g, 1, t - interval '1 minute', t - interval '1 minute', t, 'r' || g,"
               " 'https://example.org/@h/' || g"
               " FROM generate_series(1, ?) AS g, LATERAL (SELECT ? - g * make_interval(secs => ?) AS t) AS times",
               (post_json, jobs, end, step))
        else:
            # Times as the store writes them: fixed-width UTC ISO 8601 text, so that text order is time order.
            iso = "strftime('%Y-%m-%dT%H:%M:%S', {t}, 'unixepoch') || '.000000+00:00'"
            ex("WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ?)"
               " INSERT INTO jobs (slug, account, network, round, state, post, idem_key, attempts, run_at, created_at,"
               " updated_at, remote_id, remote_url)"
               " SELECT " + slug.format(i="i") + ", " + account.format(i="i") + ", 'mastodon', 1, " + state.format(i="i")
               + f", ?, '{prefix}-' || i, 1, " + iso.format(t="? - i * ? - 60") + ", " + iso.format(t="? - i * ? - 60")
               + ", " + iso.format(t="? - i * ?") + ", 'r' || i, 'https://example.org/@h/' || i FROM g",
               (jobs, post_json, *([int(end.timestamp()), step] * 3)))
        ex("INSERT INTO job_events (job_id, at, from_state, to_state, reason)"
           " SELECT id, created_at, NULL, 'queued', 'enqueued' FROM jobs WHERE id > ?"
           " UNION ALL SELECT id, updated_at, 'running', state, 'posted' FROM jobs WHERE id > ?", (first, first))
    if store.dialect == "postgres":
        with store._transaction(single=True) as ex:  # type: ignore[attr-defined]
            ex("VACUUM ANALYZE jobs, job_events")
    else:
        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[attr-defined]


def fill_seen(store: Store, rows: int, *, sources: int, at: datetime) -> None:
    """`rows` articles met by `watch`, spread over `sources` sources (source-0 …)."""
    with store._transaction() as ex:  # type: ignore[attr-defined]
        if store.dialect == "postgres":
            ex("INSERT INTO seen (source, slug, first_seen) SELECT 'source-' || mod(g, ?), 'article-' || g, ?"
               " FROM generate_series(1, ?) AS g", (sources, at, rows))
        else:
            ex("WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ?)"
               " INSERT INTO seen (source, slug, first_seen) SELECT 'source-' || (i % ?), 'article-' || i, ? FROM g",
               (rows, sources, at.isoformat(timespec="microseconds")))
    if store.dialect == "postgres":
        with store._transaction(single=True) as ex:  # type: ignore[attr-defined]
            ex("VACUUM ANALYZE seen")
