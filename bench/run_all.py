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

import bench_dry_run  # noqa: E402
import bench_fanout  # noqa: E402
import bench_queue  # noqa: E402


def main() -> None:
    sections = [bench_dry_run.main(), bench_fanout.main(), bench_queue.main()]
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
