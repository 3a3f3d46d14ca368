"""Median wall time of `sharebot publish <seed> --dry-run` against `python -c pass`, in one run.

Target (issue: article -> post engine): the dry run takes at most 10x the bare interpreter start.
Run: python bench/bench_dry_run.py [--runs N]   (with sharebot installed in the same environment)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = "putin-xi-videogespraech-partnerschaft"


def wall(cmd: list[str], runs: int, extra_env: dict[str, str] | None = None) -> float:
    # Bytecode is written as an installed tool would have it (PYTHONDONTWRITEBYTECODE, set in some shells,
    # would otherwise make every run compile sharebot's sources anew), and the first run warms the page cache.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | (extra_env or {})
    subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def queue_with_jobs(path: Path, slugs: int = 200) -> None:
    """A queue like one in use: 200 articles for the example config's 7 posting accounts."""
    from sharebot.config import load_settings
    from sharebot.pipeline import load_article, render_article, select_accounts
    from sharebot.queue import enqueue
    from sharebot.storage import open_store

    settings = load_settings(ROOT / "config" / "sharebot.toml", {})
    posts = [p for p in render_article(settings, load_article(settings, SEED), select_accounts(settings)).posts
             if p.network.value != "whatsapp"]
    now = datetime.now(UTC)
    with open_store(path) as store:
        for i in range(slugs):
            enqueue(store, f"artikel-{i}", posts, now=now, run_at=now + timedelta(minutes=10 * i))


def main(runs: int = 21) -> str:
    bare = wall([sys.executable, "-c", "pass"], runs)
    script = shutil.which("sharebot", path=str(Path(sys.executable).parent)) or "sharebot"
    command = [script, "--config", "config/sharebot.toml", "publish", SEED, "--dry-run"]
    dry = wall(command, runs, {"SHAREBOT_DATABASE_URL": "/nonexistent/no-queue-yet.db"})
    with tempfile.TemporaryDirectory() as tmp:
        queue = Path(tmp) / "queue.db"
        queue_with_jobs(queue)
        dry_queue = wall(command, runs, {"SHAREBOT_DATABASE_URL": str(queue)})
    ratio, ratio_queue = dry / bare, dry_queue / bare
    verdict = "meets" if ratio <= 10 else "MISSES"
    verdict_queue = "meets" if ratio_queue <= 10 else "MISSES"
    return (
        "## Dry run start-up\n\n"
        f"`sharebot publish {SEED} --dry-run` (all 8 accounts of the example config) against `python -c pass`, "
        f"median of {runs} runs each, same machine, same run.\n\n"
        "| command | median wall time |\n|---|---|\n"
        f"| `python -c pass` | {bare * 1000:.1f} ms |\n"
        f"| `sharebot publish … --dry-run`, no queue yet | {dry * 1000:.1f} ms |\n"
        f"| ratio | **{ratio:.1f}×** ({verdict} the ≤ 10× target) |\n"
        f"| `sharebot publish … --dry-run`, queue of 1,400 jobs (it reads each account's planned times) "
        f"| {dry_queue * 1000:.1f} ms |\n"
        f"| ratio | **{ratio_queue:.1f}×** ({verdict_queue} the ≤ 10× target) |\n\n"
        "Reproduce: `python bench/bench_dry_run.py`.\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    print(main(parser.parse_args().runs))
