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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = "putin-xi-videogespraech-partnerschaft"


def wall(cmd: list[str], runs: int) -> float:
    # Bytecode is written as an installed tool would have it (PYTHONDONTWRITEBYTECODE, set in some shells,
    # would otherwise make every run compile sharebot's sources anew), and the first run warms the page cache.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(runs: int = 21) -> str:
    bare = wall([sys.executable, "-c", "pass"], runs)
    script = shutil.which("sharebot", path=str(Path(sys.executable).parent)) or "sharebot"
    dry = wall([script, "--config", "config/sharebot.toml", "publish", SEED, "--dry-run"], runs)
    ratio = dry / bare
    verdict = "meets" if ratio <= 10 else "MISSES"
    return (
        "## Dry run start-up\n\n"
        f"`sharebot publish {SEED} --dry-run` (all 8 accounts of the example config) against `python -c pass`, "
        f"median of {runs} runs each, same machine, same run.\n\n"
        "| command | median wall time |\n|---|---|\n"
        f"| `python -c pass` | {bare * 1000:.1f} ms |\n"
        f"| `sharebot publish … --dry-run` | {dry * 1000:.1f} ms |\n"
        f"| ratio | **{ratio:.1f}×** ({verdict} the ≤ 10× target) |\n\n"
        "Reproduce: `python bench/bench_dry_run.py`.\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    print(main(parser.parse_args().runs))
