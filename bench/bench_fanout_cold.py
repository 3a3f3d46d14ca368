"""Fan-out as an editor runs it: a fresh `sharebot publish SLUG` to 7 accounts against the slowest single one.

Target (issue 12): publishing to 7 accounts from a fresh process takes at most 1.3x the time of publishing to
the slowest of them alone. The accounts: X, Mastodon, LinkedIn, Facebook, Threads and Telegram on local
stand-ins (tests/standins.py) whose every answer is delayed 300 ms, and Bluesky on the local PDS (not delayed).
Each round runs, in rotated order, `sharebot publish SLUG` (all 7) and `sharebot publish SLUG --account NAME`
for each account alone, every run a fresh process with an article of its own (the queue never posts an article
twice). The slowest single account is the one with the highest median; the ratio is the median over rounds
of (all 7) / (that account alone) within the round. Measured with no worker running (publish posts itself)
and, in the same rounds, with a `sharebot worker` running on a second queue (publish hands off to it).
Run: python bench/bench_fanout_cold.py [--rounds N]   (Bluesky only when the PDS answers: SHAREBOT_PDS_ENV)
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(HERE))

from bench_cold_publish import measure, sharebot_bin  # noqa: E402
from pds import find_pds  # noqa: E402
from standins import Newsroom  # noqa: E402

DELAY = 0.3
ACCOUNTS = ["x", "mastodon", "linkedin", "facebook", "threads", "telegram", "bluesky"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def main(rounds: int = 5) -> str:
    pds, why = find_pds()
    room = Newsroom(utcnow).start()
    try:
        for server in room.servers[:-1]:  # the image host answers at once
            server.delay = DELAY
        accounts = ACCOUNTS if pds is not None else ACCOUNTS[:-1]
        if pds is not None:
            room.add_bluesky(pds)
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            run = f"{int(time.time())}"
            slugs = iter(f"fanout-{run}-{i}" for i in range(2 * (rounds + 2) * (len(accounts) + 1)))
            room.write_site(root, [f"fanout-{run}-{i}" for i in range(2 * (rounds + 2) * (len(accounts) + 1))])
            base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | room.env()
            immediate = "".join(f"\n[accounts.{a}.schedule]\nimmediate = true\n" for a in accounts)
            configs = {}
            for name in ("alone", "worker"):
                config = room.write_config(root, database=f"var/{name}.db", extra=immediate)
                configs[name] = config.rename(root / f"{name}.toml")
            sharebot = sharebot_bin()

            def command(queue: str, account: str | None) -> list[str]:
                only = ["--account", account] if account else ["--account", ",".join(accounts)]
                return [sharebot, "--config", str(configs[queue]), "publish", next(slugs), *only]

            # bytecode and stored sessions, as an installed sharebot in use has them
            measure(command("alone", None), base, root)
            worker = subprocess.Popen([sharebot, "--config", str(configs["worker"]), "worker", "--concurrency", "8"],
                                      env=base, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                for _ in range(100):
                    if (root / "var" / "worker.db.sock").exists():
                        break
                    time.sleep(0.1)
                else:
                    raise SystemExit("the worker never listened")
                cases = [(q, a) for q in ("alone", "worker") for a in [None, *accounts]]
                walls: dict[tuple[str, str | None], list[float]] = {c: [] for c in cases}
                for round_ in range(rounds + 1):
                    shift = round_ % len(cases)
                    for case in cases[shift:] + cases[:shift]:
                        wall, _ = measure(command(*case), base, root)
                        if round_:
                            walls[case].append(wall)
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=60)
    finally:
        room.stop()
    return report(walls, accounts, rounds, "" if pds is not None else f" (Bluesky left out: {why})")


def report(walls: dict[tuple[str, str | None], list[float]], accounts: list[str], rounds: int, note: str) -> str:
    lines = []
    for queue, label in (("alone", "no worker: publish posts itself"), ("worker", "worker running: handed off")):
        singles = {a: statistics.median(walls[(queue, a)]) for a in accounts}
        slowest = max(singles, key=lambda a: singles[a])
        ratio = statistics.median(x / y for x, y in zip(walls[(queue, None)], walls[(queue, slowest)], strict=True))
        lines.append(
            f"| {label} | {statistics.median(walls[(queue, None)]) * 1000:.0f} ms | "
            f"{slowest} {singles[slowest] * 1000:.0f} ms | **{ratio:.2f}×** "
            f"({'meets' if ratio <= 1.3 else 'MISSES'} the ≤ 1.3× target) | "
            + ", ".join(f"{a} {t * 1000:.0f}" for a, t in singles.items()) + " |")
    return (
        "## Fan-out from a fresh process\n\n"
        f"`sharebot publish SLUG --account {','.join(accounts)}` against each of those accounts alone{note}: "
        f"six stand-ins answering every request in {DELAY * 1000:.0f} ms, Bluesky on the local PDS. Fresh "
        f"processes, {rounds} rounds in rotated order, an article of its own for every run; ratio = median of "
        "per-round ratios to the slowest single account.\n\n"
        "| | all accounts | slowest alone | ratio | each alone (ms) |\n|---|---|---|---|---|\n"
        + "\n".join(lines) + "\n\n"
        "Reproduce: `SHAREBOT_PDS_ENV=~/.cache/sharebot-pds/pds.env python bench/bench_fanout_cold.py`.\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    print(main(parser.parse_args().rounds))
