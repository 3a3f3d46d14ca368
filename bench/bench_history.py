"""A long history: does a queue with a million finished jobs work as fast as an empty one?

    python bench/bench_history.py [--history 1000000] [--jobs 2000] [--rounds 6] [--write]

SQLite, plus PostgreSQL when SHAREBOT_TEST_DATABASE_URL is set. Three measures, each taken interleaved (the
cases in turn, round after round) so that the load of a shared machine falls on all of them alike, and each
reported as the median of its per-round ratios:
- a worker (concurrency 4, a local server that answers at once) draining JOBS jobs, on an empty queue and on
  one with HISTORY finished jobs (and two events each);
- one claim of 4 jobs, and one worker poll (expire_leases + claim_unknown + claim), with 1,000 and with
  HISTORY finished jobs;
- `sharebot publish … --dry-run` against `python -c pass`, on those queues.
--write puts the section into docs/benchmarks.md in place of the one there. Figures are never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests")]

from bench_dry_run import SEED, interleaved, ratio  # noqa: E402
from history_support import fill_history  # noqa: E402
from queue_support import Adapters, KeyedPostServer, PgSchema, post  # noqa: E402

from sharebot.queue import RetryPolicy, enqueue  # noqa: E402
from sharebot.storage import open_store  # noqa: E402
from sharebot.worker import Worker  # noqa: E402

PG_URL = os.environ.get("SHAREBOT_TEST_DATABASE_URL")
SECTION = "## A long history"
ACCOUNTS = 8


def utcnow() -> datetime:
    return datetime.now(UTC)


class Queue:
    """One queue for the benchmark: a SQLite file or a PostgreSQL schema, with `history` finished jobs."""

    def __init__(self, backend: str, history: int, tmp: Path) -> None:
        self.backend, self.history = backend, history
        if backend == "sqlite":
            self.schema = None
            self.url = str(tmp / f"history-{history}.db")
        else:
            self.schema = PgSchema(PG_URL or "")
            self.url = self.schema.url
        self.store = open_store(self.url)
        start = time.perf_counter()
        if history:
            fill_history(self.store, history, end=utcnow() - timedelta(minutes=1),
                         post_json=json.dumps(post("h0").to_dict()))
        self.build_seconds = time.perf_counter() - start

    @property
    def name(self) -> str:
        return f"{self.backend}, {self.history:,} finished"

    def enqueue(self, jobs: int, tag: str) -> None:
        now = utcnow()
        for s in range(jobs // ACCOUNTS):
            enqueue(self.store, f"{tag}-{s}", [post(f"a{i}") for i in range(ACCOUNTS)], now=now)

    def close(self) -> None:
        self.store.close()
        if self.schema is not None:
            self.schema.drop()


def drain_rate(queue: Queue, adapters: Adapters, jobs: int, tag: str) -> float:
    """Jobs per second of one worker (concurrency 4, as `sharebot worker`) emptying `jobs` due jobs."""
    queue.enqueue(jobs, tag)
    with Worker(queue.store, adapters, owner="bench", clock=utcnow, policy=RetryPolicy(rng=random.Random(1)),
                concurrency=4) as worker:
        start = time.perf_counter()
        handled = worker.run(burst=True)
        elapsed = time.perf_counter() - start
    assert handled == jobs, (queue.name, handled)
    return jobs / elapsed


def drains(pairs: list[tuple[Queue, Queue]], jobs: int, rounds: int) -> dict[str, list[float]]:
    """Drain rates per queue, round after round: each pair back to back, first one way round, then the other."""
    server = KeyedPostServer().start()
    adapters = Adapters(server.url)
    rates: dict[str, list[float]] = {q.name: [] for pair in pairs for q in pair}
    try:
        for r in range(rounds):
            for pair in pairs:
                for q in pair if r % 2 == 0 else pair[::-1]:
                    rates[q.name].append(drain_rate(q, adapters, jobs, f"drain{r}"))
    finally:
        adapters.close()
        threading.Thread(target=server.stop, daemon=True).start()
    return rates


def claim_times(pairs: list[tuple[Queue, Queue]], samples: int) -> dict[str, dict[str, list[float]]]:
    """Milliseconds of one claim of 4 jobs, and of one worker poll, sample by sample across the queues."""
    queues = [q for pair in pairs for q in pair]
    for q in queues:
        q.enqueue(8 * samples, "claims")
    found: dict[str, dict[str, list[float]]] = {"claim": {q.name: [] for q in queues},
                                                "poll": {q.name: [] for q in queues}}
    for _ in range(samples):
        for q in queues:
            now = utcnow()
            start = time.perf_counter()
            got = q.store.claim("bench", now=now, lease_until=now + timedelta(minutes=2), limit=4)
            found["claim"][q.name].append((time.perf_counter() - start) * 1000)
            assert len(got) == 4
            start = time.perf_counter()
            q.store.expire_leases(now)
            q.store.claim_unknown("bench", now=now, lease_until=now + timedelta(minutes=2), limit=4)
            got = q.store.claim("bench", now=now, lease_until=now + timedelta(minutes=2), limit=4)
            found["poll"][q.name].append((time.perf_counter() - start) * 1000)
            assert len(got) == 4
    return found


def per_round(values: dict[str, list[float]], name: str, reference: str) -> float:
    return statistics.median(a / b for a, b in zip(values[name], values[reference], strict=True))


@contextmanager
def queues(backends: list[str], sizes: tuple[int, ...], tmp: Path) -> Iterator[dict[tuple[str, int], Queue]]:
    with ExitStack() as stack:
        made = {}
        for backend in backends:
            for size in sizes:
                q = Queue(backend, size, tmp)
                stack.callback(q.close)
                made[backend, size] = q
                print(f"built {q.name} in {q.build_seconds:.0f} s", file=sys.stderr)
        yield made


def main(history: int = 1_000_000, jobs: int = 2000, rounds: int = 6, samples: int = 200, runs: int = 21) -> str:
    backends = ["sqlite"] + (["postgres"] if PG_URL else [])
    small = 1000
    with tempfile.TemporaryDirectory() as tmp, queues(backends, (0, small, history), Path(tmp)) as q:
        # The dry runs first: later the drains add a day's worth of posts, which a dry run reads too.
        script = shutil.which("sharebot", path=str(Path(sys.executable).parent)) or "sharebot"
        command = [script, "--config", "config/sharebot.toml", "publish", SEED, "--dry-run"]
        commands = {"bare": ([sys.executable, "-c", "pass"], {}),
                    "no queue": (command, {"SHAREBOT_DATABASE_URL": "/nonexistent/no-queue-yet.db"})}
        for b in backends:
            commands[f"{b} empty"] = (command, {"SHAREBOT_DATABASE_URL": q[b, 0].url})
            commands[b] = (command, {"SHAREBOT_DATABASE_URL": q[b, history].url})
        if PG_URL:
            commands["psycopg"] = ([sys.executable, "-c", "import psycopg"], {})
        times = interleaved(commands, runs)
        rates = drains([(q[b, 0], q[b, history]) for b in backends], jobs, rounds)
        latency = claim_times([(q[b, small], q[b, history]) for b in backends], samples)
        builds = {b: q[b, history].build_seconds for b in backends}

    def verdict(value: float, target: float, above: bool) -> str:
        return "meets" if (value >= target if above else value <= target) else "MISSES"

    label = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    lines = [
        SECTION, "",
        f"Reproduce: `SHAREBOT_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python "
        f"bench/bench_history.py --history {history} --jobs {jobs} --rounds {rounds} --write` (SQLite alone "
        "without the variable). The history is written by SQL (`tests/history_support.py`): finished jobs one a "
        "minute back from now, mostly published, two events each; PostgreSQL's tables are then vacuumed and "
        "analysed, as autovacuum would. Every figure comes from cases run interleaved in one run; ratios are "
        "medians of per-round ratios.", "",
        f"Worker draining {jobs:,} due jobs (concurrency 4, a local server answering at once), {rounds} rounds:", "",
        f"| backend | empty queue | {history:,} finished jobs | ratio (target ≥ 0.9) | each round's ratio |",
        "|---|---|---|---|---|",
    ]
    for b in backends:
        empty, full = q[b, 0].name, q[b, history].name
        r = per_round(rates, full, empty)
        each = ", ".join(f"{z / e:.2f}" for e, z in zip(rates[empty], rates[full], strict=True))
        lines.append(f"| {label[b]} | {statistics.median(rates[empty]):.0f} jobs/s | "
                     f"{statistics.median(rates[full]):.0f} jobs/s | **{r:.2f}** ({verdict(r, 0.9, True)}) | {each} |")
    lines += ["", f"One claim of 4 due jobs, and one worker poll (expire_leases + claim_unknown + claim 4), median of "
              f"{samples} samples taken in turn; the prepared statements are well past their sixth run:", "",
              f"| backend | measure | {small:,} finished | {history:,} finished | ratio |", "|---|---|---|---|---|"]
    for b in backends:
        for measure in ("claim", "poll"):
            a, z = latency[measure][q[b, small].name], latency[measure][q[b, history].name]
            lines.append(f"| {label[b]} | {measure} | {statistics.median(a):.2f} ms | {statistics.median(z):.2f} ms "
                         f"| {statistics.median(y / x for x, y in zip(a, z, strict=True)):.2f} |")
    lines += ["", f"`sharebot publish {SEED} --dry-run` against `python -c pass`, {runs} interleaved rounds:", "",
              "| queue | median wall time | ratio to `python -c pass` (target ≤ 10) |", "|---|---|---|",
              f"| (`python -c pass`) | {statistics.median(times['bare']) * 1000:.0f} ms | 1 |"]
    shown = [("no queue", "none yet")]
    for b in backends:
        shown += [(f"{b} empty", f"{label[b]}, empty"), (b, f"{label[b]}, {history:,} finished")]
    for name, what in shown:
        r = ratio(times, name, "bare")
        lines.append(f"| {what} | {statistics.median(times[name]) * 1000:.0f} ms | **{r:.1f}×** "
                     f"({verdict(r, 10, False)}) |")
    if "psycopg" in times:
        psycopg = ratio(times, "psycopg", "bare")
        lines.append(f"| (`python -c 'import psycopg'`, PostgreSQL's driver alone) "
                     f"| {statistics.median(times['psycopg']) * 1000:.0f} ms | {psycopg:.1f}× |")
    lines += ["", "With the history against without it (median of per-round ratios; flat is 1.0): " + ", ".join(
        f"{label[b]} {ratio(times, b, f'{b} empty'):.2f}" for b in backends) + "."]
    lines += ["", "Writing the history took " + ", ".join(f"{builds[b]:.0f} s on {label[b]}" for b in backends)
              + ".", ""]
    return "\n".join(lines)


def write_section(section: str, heading: str = SECTION, path: Path = ROOT / "docs" / "benchmarks.md") -> None:
    """Put `section` into the benchmarks file in place of its previous version under `heading` (or at the end)."""
    text = path.read_text(encoding="utf-8")
    start = text.find(heading)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section.rstrip("\n") + "\n" + (text[end:] if end >= 0 else "")
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--runs", type=int, default=21, help="dry-run rounds")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    a = parser.parse_args()
    out = main(a.history, a.jobs, a.rounds, a.samples, a.runs)
    print(out)
    if a.write:
        write_section(out)
