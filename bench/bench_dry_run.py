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


def interleaved(commands: dict[str, tuple[list[str], dict[str, str]]], runs: int) -> dict[str, list[float]]:
    """Wall times of each command, run in turn (a, b, c, a, b, c, ...) so that machine load hits them alike.

    Bytecode is written as an installed tool would have it (PYTHONDONTWRITEBYTECODE, set in some shells, would
    otherwise make every run compile sharebot's sources anew), and one unmeasured round warms the page cache.
    """
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(runs + 1):
        for name, (cmd, extra_env) in commands.items():
            start = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, env=base | extra_env, cwd=ROOT)
            # 3: the preview is complete, but the example config's accounts have no credentials set here
            if done.returncode not in (0, 3):
                raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
            if round_:
                times[name].append(time.perf_counter() - start)
    return times


def ratio(times: dict[str, list[float]], name: str, reference: str) -> float:
    """The median of the per-round ratios: each round's two runs met the same load."""
    return statistics.median(a / b for a, b in zip(times[name], times[reference], strict=True))


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
    script = shutil.which("sharebot", path=str(Path(sys.executable).parent)) or "sharebot"
    command = [script, "--config", "config/sharebot.toml", "publish", SEED, "--dry-run"]
    with tempfile.TemporaryDirectory() as tmp:
        queue = Path(tmp) / "queue.db"
        queue_with_jobs(queue)
        times = interleaved({
            "bare": ([sys.executable, "-c", "pass"], {}),
            "dry": (command, {"SHAREBOT_DATABASE_URL": "/nonexistent/no-queue-yet.db"}),
            "dry_queue": (command, {"SHAREBOT_DATABASE_URL": str(queue)}),
        }, runs)
    median = {name: statistics.median(values) for name, values in times.items()}
    dry, dry_queue = ratio(times, "dry", "bare"), ratio(times, "dry_queue", "bare")
    verdict = "meets" if dry <= 10 else "MISSES"
    verdict_queue = "meets" if dry_queue <= 10 else "MISSES"
    return (
        "## Dry run start-up\n\n"
        f"`sharebot publish {SEED} --dry-run` (all 8 accounts of the example config) against `python -c pass`: "
        f"{runs} rounds, each running the three commands one after another (interleaved, so load hits them "
        "alike); the ratio is the median of the per-round ratios.\n\n"
        "| command | median wall time | ratio to `python -c pass` |\n|---|---|---|\n"
        f"| `python -c pass` | {median['bare'] * 1000:.1f} ms | 1 |\n"
        f"| `sharebot publish … --dry-run`, no queue yet | {median['dry'] * 1000:.1f} ms "
        f"| **{dry:.1f}×** ({verdict} the ≤ 10× target) |\n"
        f"| `sharebot publish … --dry-run`, queue of 1,400 jobs (it reads each account's planned times) "
        f"| {median['dry_queue'] * 1000:.1f} ms | **{dry_queue:.1f}×** ({verdict_queue} the ≤ 10× target) |\n\n"
        "Reproduce: `python bench/bench_dry_run.py`.\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    print(main(parser.parse_args().runs))
