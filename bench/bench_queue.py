"""Queue benchmarks: store throughput, claim time as the queue grows, and worker throughput.

    python bench/bench_queue.py            # SQLite, plus PostgreSQL when SHAREBOT_TEST_DATABASE_URL is set

`main()` returns a Markdown section. Figures are measured here and never asserted in tests.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from queue_support import Adapters, KeyedPostServer, PgSchema, post  # noqa: E402

from sharebot.jobs import JobState, job_key  # noqa: E402
from sharebot.queue import RetryPolicy, enqueue  # noqa: E402
from sharebot.storage import open_store  # noqa: E402
from sharebot.store import Store  # noqa: E402
from sharebot.worker import Worker  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PG_URL = os.environ.get("SHAREBOT_TEST_DATABASE_URL")


def throughput(store: Store, jobs: int = 5000, batch: int = 50) -> float:
    """Enqueue, claim and complete `jobs` jobs; jobs per second over the whole cycle."""
    start = time.perf_counter()
    for s in range(jobs // batch):
        enqueue(store, f"t{s}", [post(f"a{i}") for i in range(batch)], now=T0)
    done = 0
    while True:
        claimed = store.claim("bench", now=T0, lease_until=T0 + timedelta(minutes=2), limit=batch)
        if not claimed:
            break
        for job in claimed:
            store.transition(
                job.id,
                JobState.RUNNING,
                JobState.PUBLISHED,
                now=T0,
                reason="posted",
                owner="bench",
                remote_id=str(job.id),
            )
            done += 1
    assert done == jobs
    return jobs / (time.perf_counter() - start)


def _rows(n: int, snapshot: str) -> Any:
    run_at = T0.isoformat(timespec="microseconds")
    for i in range(n):
        slug = f"bulk{i // 8}"
        account = f"a{i % 8}"
        yield (
            slug,
            account,
            "mastodon",
            1,
            "queued",
            snapshot,
            job_key(slug, account, 1),
            run_at,
            run_at,
            run_at,
        )


def bulk_sqlite(store: Store, n: int) -> None:
    snapshot = _snapshot()
    conn = store._conn  # type: ignore[attr-defined]
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO jobs (slug, account, network, round, state, post, idem_key, run_at, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _rows(n, snapshot),
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def bulk_postgres(store: Store, n: int) -> None:
    snapshot = _snapshot()
    with store._transaction() as ex:  # type: ignore[attr-defined]
        ex(
            "INSERT INTO jobs (slug, account, network, round, state, post, idem_key, run_at, created_at,"
            " updated_at)"
            " SELECT 'bulk' || (g / 8), 'a' || mod(g, 8), 'mastodon', 1, 'queued', ?, md5(g::text), ?, ?, ?"
            " FROM generate_series(0, ? - 1) AS g",
            (snapshot, T0, T0, T0, n),
        )
    with store._transaction(single=True) as ex:  # type: ignore[attr-defined]
        ex("VACUUM ANALYZE jobs")
    with store._transaction(single=True) as ex:  # type: ignore[attr-defined]
        ex("CHECKPOINT")  # otherwise the checkpoint after a 1M-row load lands inside the measurement


def _snapshot() -> str:
    import json

    return json.dumps(post("a0").to_dict())


def claim_ms(store: Store, samples: int = 100, limit: int = 4) -> float:
    """Median time of one claim of `limit` jobs, in milliseconds."""
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        got = store.claim(
            "bench", now=T0 + timedelta(hours=1), lease_until=T0 + timedelta(hours=2), limit=limit
        )
        times.append((time.perf_counter() - t) * 1000)
        assert len(got) == limit
    return statistics.median(times)


def claim_scaling(
    opener: Callable[[], Any], bulk: Callable[[Store, int], None], small: int, large: int
) -> tuple[float, float, float]:
    """Claim time with `small` and with `large` queued jobs, and how long building the large queue took."""
    with opener() as (store, _):
        bulk(store, small)
        t_small = claim_ms(store)
    with opener() as (store, _):
        t = time.perf_counter()
        bulk(store, large)
        build = time.perf_counter() - t
        t_large = claim_ms(store)
    return t_small, t_large, build


class _SQLite:
    def __enter__(self) -> tuple[Store, str]:
        self.dir = tempfile.TemporaryDirectory()
        self.store = open_store(Path(self.dir.name) / "bench.db")
        return self.store, self.dir.name

    def __exit__(self, *exc: Any) -> None:
        self.store.close()
        self.dir.cleanup()


class _Postgres:
    def __enter__(self) -> tuple[Store, str]:
        self.schema = PgSchema(PG_URL or "")
        self.store = open_store(self.schema.url)
        return self.store, self.schema.url

    def __exit__(self, *exc: Any) -> None:
        self.store.close()
        self.schema.drop()


def worker_rate(concurrency: int = 8, latency: float = 0.05, rounds: int = 25) -> tuple[float, float]:
    """Posts per second of one worker against a server answering in `latency` s; and the ideal N/latency."""
    server = KeyedPostServer().start()
    server.delay = latency
    adapters = Adapters(server.url)
    jobs = concurrency * rounds
    with _SQLite() as (store, _):
        for s in range(rounds):
            enqueue(store, f"w{s}", [post(f"a{i}") for i in range(concurrency)], now=T0)
        clock = lambda: T0  # noqa: E731 - the queue's clock is frozen; the server's latency is real
        with Worker(
            store,
            adapters,
            owner="bench",
            clock=clock,
            policy=RetryPolicy(rng=random.Random(1)),
            concurrency=concurrency,
        ) as worker:
            t = time.perf_counter()
            handled = worker.run(burst=True)
            elapsed = time.perf_counter() - t
        assert handled == jobs and store.counts() == {JobState.PUBLISHED: jobs}
    adapters.close()
    threading.Thread(target=server.stop, daemon=True).start()
    return jobs / elapsed, concurrency / latency


def main() -> str:
    lines = [
        "## Queue benchmarks",
        "",
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs.",
        "",
        "| measure | SQLite | PostgreSQL |",
        "|---|---|---|",
    ]
    pg = bool(PG_URL)
    with _SQLite() as (s, _):
        sq_rate = throughput(s)
    pg_rate = None
    if pg:
        with _Postgres() as (p, _):
            pg_rate = throughput(p)
    lines.append(
        f"| enqueue + claim + complete, 5,000 jobs (target ≥ 1,000/s) | {sq_rate:,.0f} jobs/s | "
        + (f"{pg_rate:,.0f} jobs/s |" if pg_rate else "not run (no SHAREBOT_TEST_DATABASE_URL) |")
    )
    sq = claim_scaling(_SQLite, bulk_sqlite, 1_000, 1_000_000)
    pg_large = int(os.environ.get("SHAREBOT_BENCH_PG_ROWS", "1000000"))
    pgs = claim_scaling(_Postgres, bulk_postgres, 1_000, pg_large) if pg else None
    lines.append(
        f"| claim 4 jobs, 1k queued (median of 100) | {sq[0]:.2f} ms | "
        + (f"{pgs[0]:.2f} ms |" if pgs else "– |")
    )
    lines.append(
        f"| claim 4 jobs, {1_000_000:,} / {pg_large:,} queued | {sq[1]:.2f} ms | "
        + (f"{pgs[1]:.2f} ms |" if pgs else "– |")
    )
    lines.append(
        f"| ratio large / 1k (target ≤ 2) | {sq[1] / sq[0]:.2f} | "
        + (f"{pgs[1] / pgs[0]:.2f} |" if pgs else "– |")
    )
    lines.append(
        f"| time to bulk-insert the large queue | {sq[2]:.1f} s | " + (f"{pgs[2]:.1f} s |" if pgs else "– |")
    )
    rate, ideal = worker_rate()
    lines += [
        "",
        f"Worker, concurrency 8, local server answering in 50 ms, 200 posts: {rate:.0f} posts/s "
        f"= {rate / ideal:.0%} of the ideal {ideal:.0f}/s (target ≥ 80 %).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
