"""Run every benchmark and write docs/benchmarks.md.

    python bench/run_all.py      # PostgreSQL figures too when SHAREBOT_TEST_DATABASE_URL is set
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_cold_publish  # noqa: E402
import bench_dry_run  # noqa: E402
import bench_fanout  # noqa: E402
import bench_fanout_cold  # noqa: E402
import bench_history  # noqa: E402
import bench_pds_fuzz  # noqa: E402
import bench_queue  # noqa: E402
import bench_render_worst  # noqa: E402
import bench_worker  # noqa: E402
import compare_bluesky_richtext  # noqa: E402
import compare_twitter_text  # noqa: E402


def crash_section() -> str:
    """The crash test's own figures (tests/test_crash.py prints them): workers SIGKILLed while posting."""
    import json
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "tests/test_crash.py"], cwd=HERE.parent,
                          capture_output=True, text=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("crash figures: ")), None)
    if proc.returncode or line is None:
        return "## Crash test\n\nThe crash test did not pass in this run:\n\n```\n" + proc.stdout[-2000:] + "\n```\n"
    f = json.loads(line.removeprefix("crash figures: "))
    return (
        "## Crash test (exactly once under SIGKILL)\n\n"
        "`tests/test_crash.py`: worker processes posting to a local server that honours idempotency keys are "
        "killed with SIGKILL at seeded random moments and restarted until the queue drains.\n\n"
        "| jobs | worker rounds | kills | leases that expired mid-post | posts made | duplicates | lost | "
        "left unknown | seconds |\n|---|---|---|---|---|---|---|---|---|\n"
        f"| {f['jobs']} | {f['rounds']} | {f['kills']} | {f['lease_expiries']} | {f['posts_made']} | "
        f"{f['duplicates']} | {f['lost']} | {len(f['unknown'])} | {f['seconds']} |\n\n"
        "Reproduce: `python -m pytest -q -s tests/test_crash.py`.\n"
    )


def pds_fuzz_section() -> str:
    """Adversarial articles on the real PDS (SHAREBOT_PDS_ENV); a note instead when no PDS answers."""
    try:
        return bench_pds_fuzz.section()
    except SystemExit as exc:
        return f"## Adversarial articles on the real Bluesky PDS\n\nNot measured in this run: {exc}\n"


def main() -> None:
    sections = [bench_dry_run.main(), bench_fanout.main(), bench_queue.main(), crash_section(), bench_history.main(),
                bench_cold_publish.main(), bench_fanout_cold.main(), compare_twitter_text.main(),
                compare_bluesky_richtext.main(), bench_render_worst.main(), pds_fuzz_section(), bench_worker.main()]
    head = (
        "# Benchmarks\n\n"
        f"Measured {datetime.date.today().isoformat()} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}. Each figure is a ratio or rate measured within one run, so the "
        "machine's speed cancels out. Regenerate this file with `python bench/run_all.py` "
        "(set `SHAREBOT_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test` for the PostgreSQL rows).\n"
    )
    out = HERE.parent / "docs" / "benchmarks.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(head + "\n" + "\n".join(sections), encoding="utf-8")
    print(out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
