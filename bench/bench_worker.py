"""What a worker process costs: peak RSS and CPU seconds per job of `sharebot worker --burst`.

    python bench/bench_worker.py [--jobs 300] [--rounds 3] [--write]

Each round enqueues JOBS due jobs (articles of the bundled example, one post each to X, Mastodon, LinkedIn,
Facebook, Threads and Telegram, all local stand-ins answering at once; Bluesky needs the real PDS and is left
out) and drains them with a fresh `sharebot worker --burst` process under GNU time, once with --concurrency 1
and once with 8, in turn. CPU is the process's user + system time, start-up and shutdown included. Target
(issue 12): a worker stays within 130 MB of peak RSS. --write puts the section into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests")]

from bench_history import write_section  # noqa: E402
from standins import Newsroom  # noqa: E402

from sharebot import app, pipeline  # noqa: E402
from sharebot.config import load_settings  # noqa: E402
from sharebot.networks import LINK_ONLY  # noqa: E402
from sharebot.queue import enqueue  # noqa: E402

SECTION = "## Worker process cost"
SLUG = "putin-xi-videogespraech-partnerschaft"
TIME = "/usr/bin/time"


def utcnow() -> datetime:
    return datetime.now(UTC)


def enqueue_due(config: Path, env: dict[str, str], slugs: list[str]) -> int:
    """One due job per posting account for each article."""
    settings = load_settings(config, env, dotenv_path=config.parent / "none.env")
    accounts = [a for a in settings.accounts if a.network not in LINK_ONLY]
    store = app.open_queue(settings)
    try:
        count = 0
        for slug in slugs:
            posts = pipeline.render_article(settings, pipeline.load_article(settings, slug), accounts).posts
            count += len(enqueue(store, slug, list(posts), now=utcnow() - timedelta(minutes=5)).added)
        return count
    finally:
        store.close()


def drain(config: Path, env: dict[str, str], concurrency: int) -> tuple[float, float, float]:
    """(peak RSS in MB, CPU seconds, wall seconds) of one `sharebot worker --burst` emptying the queue."""
    script = Path(sys.executable).parent / "sharebot"
    with tempfile.NamedTemporaryFile("r") as out:
        done = subprocess.run([TIME, "-f", "%M %U %S %e", "-o", out.name, str(script), "--config", str(config),
                               "worker", "--burst", "--concurrency", str(concurrency)],
                              env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"worker exited {done.returncode}: {done.stdout[-500:]} {done.stderr[-500:]}")
        rss, user, system, wall = (float(v) for v in out.read().split()[-4:])
    return rss / 1024, user + system, wall


def main(jobs: int = 300, rounds: int = 3) -> str:
    if not os.access(TIME, os.X_OK):
        return f"{SECTION}\n\nNot measured: {TIME} (GNU time) is not installed.\n"
    room = Newsroom(utcnow).start()
    found: dict[int, list[tuple[float, float, float]]] = {1: [], 8: []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            per_round = jobs // 6
            room.write_site(root, [f"{SLUG}-{i}" for i in range(per_round * rounds * 2)])
            config = room.write_config(root)
            env = room.env()
            article = 0
            for r in range(rounds):
                for concurrency in (1, 8) if r % 2 == 0 else (8, 1):
                    slugs = [f"{SLUG}-{article + i}" for i in range(per_round)]
                    article += per_round
                    queued = enqueue_due(config, env, slugs)
                    rss, cpu, wall = drain(config, env, concurrency)
                    found[concurrency].append((rss, cpu / queued, queued / wall))
    finally:
        room.stop()
    lines = [
        SECTION, "",
        f"`sharebot worker --burst` draining {per_round * 6} due jobs ({per_round} articles × X, Mastodon, LinkedIn, "
        f"Facebook, Threads, Telegram; local stand-ins answering at once), a fresh "
        f"process under GNU time each time, {rounds} rounds with the two concurrencies in turn. CPU is user + "
        "system time of the whole process (interpreter start, imports, one adapter per account, shutdown) "
        "divided by the jobs it posted; medians, peak RSS the largest.", "",
        "| concurrency | peak RSS (target ≤ 130 MB) | CPU per job | jobs/s |", "|---|---|---|---|",
    ]
    for concurrency, runs in found.items():
        peak = max(r[0] for r in runs)
        lines.append(f"| {concurrency} | {peak:.0f} MB ({'meets' if peak <= 130 else 'MISSES'}) "
                     f"| {statistics.median(r[1] for r in runs) * 1000:.1f} ms "
                     f"| {statistics.median(r[2] for r in runs):.0f} |")
    lines += ["", f"Reproduce: `python bench/bench_worker.py --jobs {jobs} --rounds {rounds} --write`.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    a = parser.parse_args()
    out = main(a.jobs, a.rounds)
    print(out)
    if a.write:
        write_section(out, SECTION)
