"""Median wall time and peak memory of `sharebot publish <seed> --dry-run` against `python -c pass`, in one run.

Targets: the dry run takes at most 10x the bare interpreter start, with no queue, with a queue of 1,400 planned
jobs and with one of a million finished jobs (issues 8 and 12), in at most 25 MB of peak RSS (issue 12).
Run: python bench/bench_dry_run.py [--runs N] [--history N] [--cache DIR]   (sharebot installed in this Python)
The million-job queue is written once (tests/history_support.py) and kept in DIR (default
~/.cache/sharebot-bench), made again after a schema change and topped up to the minute before each run.
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
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(runs + 1):
        for name, (cmd, extra_env) in commands.items():
            start = time.perf_counter()
            run(cmd, extra_env)
            if round_:
                times[name].append(time.perf_counter() - start)
    return times


def run(cmd: list[str], extra_env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(cmd, capture_output=True, env=base | extra_env, cwd=ROOT)
    # 3: the preview is complete, but the example config's accounts have no credentials set here
    if done.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return done


def peak_rss(commands: dict[str, tuple[list[str], dict[str, str]]], runs: int = 3) -> dict[str, float] | None:
    """Each command's peak RSS in MB, the largest of `runs` runs under GNU time (None without /usr/bin/time).

    Through a small process that forks: Linux carries a process's peak RSS across exec, so a child started
    straight from this one (which holds sharebot and its test data) would report this process's size."""
    if not os.access("/usr/bin/time", os.X_OK):
        return None
    peaks: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rss"
        for name, (cmd, extra_env) in commands.items():
            for _ in range(runs):
                run(["/usr/bin/time", "-f", "%M", "-o", str(out), *cmd], extra_env)
                peaks[name] = max(peaks.get(name, 0.0), int(out.read_text().split()[-1]) / 1024)  # KiB
    return peaks


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


def posting_accounts() -> list[str]:
    from sharebot.config import load_settings
    from sharebot.networks import LINK_ONLY

    settings = load_settings(ROOT / "config" / "sharebot.toml", {})
    return [a.name for a in settings.accounts if a.network not in LINK_ONLY]


def history_queue(cache: Path, jobs: int) -> Path:
    """A SQLite queue with `jobs` finished jobs of the example config's posting accounts, one a minute going back
    from now (mostly published): written once into `cache`, and on later runs topped up with the minutes since."""
    sys.path.insert(0, str(ROOT / "tests"))
    from history_support import fill_history

    from sharebot.migrations import MIGRATIONS
    from sharebot.storage import open_store

    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"dry-run-history-{jobs}-{MIGRATIONS[-1].name}.db"
    accounts, now = posting_accounts(), datetime.now(UTC).replace(second=0, microsecond=0)
    with open_store(path) as store:
        newest = store.all_post_times(since=now - timedelta(days=365))
        last = max((t for times in newest.values() for t in times), default=None)
        if last is None:
            start = time.perf_counter()
            fill_history(store, jobs, end=now, accounts=accounts)
            print(f"wrote {jobs:,} finished jobs to {path} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        elif (missing := int((now - last) / timedelta(minutes=1)) - 1) > 0:  # the newest is a minute before `end`
            fill_history(store, missing, end=now, accounts=accounts, prefix=f"topup{int(last.timestamp())}")
    return path


def rss(peaks: dict[str, float] | None, name: str, target: float | None) -> str:
    if peaks is None:
        return "(no /usr/bin/time)"
    verdict = "" if target is None else f" ({'meets' if peaks[name] <= target else 'MISSES'})"
    return f"{peaks[name]:.1f} MB{verdict}"


def main(runs: int = 21, history: int = 1_000_000, cache: Path | None = None) -> str:
    script = shutil.which("sharebot", path=str(Path(sys.executable).parent)) or "sharebot"
    command = [script, "--config", "config/sharebot.toml", "publish", SEED, "--dry-run"]
    cache = cache or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sharebot-bench"
    with tempfile.TemporaryDirectory() as tmp:
        queue = Path(tmp) / "queue.db"
        queue_with_jobs(queue)
        cases = {
            "dry": ("no queue yet", {"SHAREBOT_DATABASE_URL": "/nonexistent/no-queue-yet.db"}),
            "dry_queue": ("queue of 1,400 planned jobs (it reads each account's planned times)",
                          {"SHAREBOT_DATABASE_URL": str(queue)}),
            "dry_history": (f"queue of {history:,} finished jobs, one a minute up to now",
                            {"SHAREBOT_DATABASE_URL": str(history_queue(cache, history))}),
        }
        commands = {"bare": ([sys.executable, "-c", "pass"], {})} | {name: (command, env)
                                                                      for name, (_, env) in cases.items()}
        times = interleaved(commands, runs)
        peaks = peak_rss(commands)
    lines = [
        "## Dry run start-up",
        "",
        f"`sharebot publish {SEED} --dry-run` (all 8 accounts of the example config) against `python -c pass`: "
        f"{runs} rounds, each running the {len(cases) + 1} commands one after another (interleaved, so load hits "
        "them alike); the ratio is the median of the per-round ratios. Peak RSS is the largest of three more "
        "runs of each under GNU time (`/usr/bin/time -f %M`).",
        "",
        "| command | median wall time | ratio to `python -c pass` (target ≤ 10×) | peak RSS (target ≤ 25 MB) |",
        "|---|---|---|---|",
        f"| `python -c pass` | {statistics.median(times['bare']) * 1000:.1f} ms | 1 | {rss(peaks, 'bare', None)} |",
    ]
    for name, (shown, _) in cases.items():
        r = ratio(times, name, "bare")
        lines.append(f"| `sharebot publish … --dry-run`, {shown} | {statistics.median(times[name]) * 1000:.1f} ms "
                     f"| **{r:.1f}×** ({'meets' if r <= 10 else 'MISSES'}) | {rss(peaks, name, 25)} |")
    lines += ["", f"Reproduce: `python bench/bench_dry_run.py --runs {runs} --history {history}` (the first run "
              "writes the long-history queue into ~/.cache/sharebot-bench, a minute or so for a million jobs).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--history", type=int, default=1_000_000, help="finished jobs in the long-history case")
    parser.add_argument("--cache", type=Path, default=None, help="where the long-history queue is kept")
    a = parser.parse_args()
    print(main(a.runs, a.history, a.cache))
