"""One post to Bluesky from a fresh process, on the local PDS: sharebot against crosspost and raw XRPC.

Targets (issue 12): `sharebot publish SLUG --network bluesky` takes at most 0.7x crosspost's wall time while a
`sharebot worker` runs on the queue (publish hands the post to it), and at most 1.0x without one (it posts
itself). Each round runs every command once, in a rotated order, so load hits them alike; a ratio is the
median of the per-round ratios. Peak RSS is each process's own (wait4), the worker's not included.

Commands, each posting a post of its own (the queue never posts an article twice, so every run has a new one):
- sharebot, worker running: `sharebot --config A publish SLUG --network bluesky`, `sharebot --config A worker`
  started before the first round on the same queue;
- sharebot, no worker: the same on a second queue (`--config B`) that no worker listens on;
- crosspost 1.0.4 (`npm install @humanwhocodes/crosspost` into ~/.cache/sharebot-bench, skipped without npm):
  `node --require bench/crosspost_http.cjs crosspost/dist/bin.js -b TEXT` with BLUESKY_HOST/IDENTIFIER/PASSWORD;
  crosspost only speaks https://, the shim sends its same requests over the local PDS's plain HTTP;
- raw XRPC: `python bench/xrpc_post.py` (createSession + createRecord with the standard library).

With SHAREBOT_BENCH_DATABASE_URL=postgresql://… a fifth command does the same with a worker on that PostgreSQL
queue (LISTEN/NOTIFY hand-off; the database should be empty or the bench's own).

Articles have no image: every command then makes the same kind of post (text, link facet; sharebot adds its
link card without a thumbnail). sharebot uses its stored session (a first, unmeasured run stores it);
crosspost and the raw script log in every time, which is what they do.
Run: python bench/bench_cold_publish.py [--rounds N]   (needs the PDS: SHAREBOT_PDS_ENV, see tests/pds.py)
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tests"))

from pds import PDSAccount, create_account, find_pds  # noqa: E402
from reference_js import install  # noqa: E402

CROSSPOST = "@humanwhocodes/crosspost@1.0.4"
ARTICLE = """\
---
slug: {slug}
title: Stadtrat beschließt neuen Radweg am Ring ({n})
teaser: Der Ausbau beginnt im Frühjahr; die Bauzeit beträgt acht Monate.
tags: [Verkehr, Stadtrat]
section: Lokales
language: de
published_at: 2026-02-04T14:30:00+01:00
---
Text.
"""


def sharebot_bin() -> str:
    found = Path(sys.executable).with_name("sharebot")
    return str(found) if found.exists() else shutil.which("sharebot") or "sharebot"


def install_crosspost() -> Path | None:
    """crosspost's bin.js, installed with npm into the cache on first use; None (and why) without npm."""
    module = install(CROSSPOST, "@humanwhocodes/crosspost", "crosspost")
    return module / "dist" / "bin.js" if module is not None else None


def write_site(root: Path, account: PDSAccount, pds_url: str, count: int, pg_url: str | None) -> list[str]:
    content = root / "content"
    content.mkdir(parents=True)
    run = uuid.uuid4().hex[:8]
    slugs = [f"radweg-{run}-{i}" for i in range(count)]
    for i, slug in enumerate(slugs):
        (content / f"{slug}.md").write_text(ARTICLE.format(slug=slug, n=f"{run}-{i}"), encoding="utf-8")
    for name in ("worker", "alone") + (("pg",) if pg_url else ()):
        database = pg_url if name == "pg" else f"var/{name}.db"
        (root / f"{name}.toml").write_text(textwrap.dedent(f"""
            [site]
            name = "Bench"
            base_url = "https://nachrichten.sharebot-demo.de/"
            [source]
            content = "content"
            [queue]
            database = "{database}"
            [accounts.bluesky]
            network = "bluesky"
            handle = "{account.handle}"
            pds = "{pds_url}"
            schedule = "immediate"
            """), encoding="utf-8")
    return slugs


def measure(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one fresh process; it must exit 0."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])}… exited {proc.returncode}: {(out + err).decode()[-600:]}")
    return wall, usage.ru_maxrss / 1024


def main(rounds: int = 9) -> str:
    pds, why = find_pds()
    if pds is None:
        return f"## Cold publish to Bluesky\n\nSkipped: no local PDS ({why}).\n"
    account = create_account(pds, "cold")
    crosspost = install_crosspost()
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env = base | {"SHAREBOT_BLUESKY_APP_PASSWORD": account.app_password}
    sharebot = sharebot_bin()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pg_url = os.environ.get("SHAREBOT_BENCH_DATABASE_URL")
        slugs = iter(write_site(root, account, pds.url, 4 * (rounds + 2), pg_url))

        def unique_text() -> str:
            return f"Stadtrat beschließt neuen Radweg {uuid.uuid4().hex[:10]} https://nachrichten.sharebot-demo.de/r"

        commands = {
            "sharebot publish, worker running": lambda: (
                [sharebot, "--config", "worker.toml", "publish", next(slugs), "--network", "bluesky"], env),
            "sharebot publish, no worker": lambda: (
                [sharebot, "--config", "alone.toml", "publish", next(slugs), "--network", "bluesky"], env),
            "raw XRPC (createSession + createRecord)": lambda: (
                [sys.executable, str(HERE / "xrpc_post.py"), pds.url, account.handle, unique_text()],
                base | {"XRPC_PASSWORD": account.app_password}),
        }
        if pg_url:
            commands["sharebot publish, worker running (PostgreSQL)"] = lambda: (
                [sharebot, "--config", "pg.toml", "publish", next(slugs), "--network", "bluesky"], env)
        if crosspost is not None:
            host = pds.url.split("://", 1)[1]
            commands["crosspost 1.0.4"] = lambda: (
                ["node", "--require", str(HERE / "crosspost_http.cjs"), str(crosspost), "-b", unique_text()],
                base | {"BLUESKY_HOST": host, "BLUESKY_IDENTIFIER": account.handle,
                        "BLUESKY_PASSWORD": account.app_password})
        # the stored session, and compiled bytecode, as an installed sharebot in use has them
        measure(commands["sharebot publish, no worker"]()[0], env, root)
        workers = [subprocess.Popen([sharebot, "--config", config, "worker"], env=env, cwd=root,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for config in ["worker.toml"] + (["pg.toml"] if pg_url else [])]
        try:
            for _ in range(100):  # the worker listens once its socket is there
                if (root / "var" / "worker.db.sock").exists():
                    break
                time.sleep(0.1)
            else:
                raise SystemExit("the worker never listened")
            if pg_url:  # the PostgreSQL worker's first hand-off would otherwise find it still starting
                measure(commands["sharebot publish, worker running (PostgreSQL)"]()[0], env, root)
            names = list(commands)
            walls: dict[str, list[float]] = {n: [] for n in names}
            rss: dict[str, list[float]] = {n: [] for n in names}
            for round_ in range(rounds + 1):
                order = names[round_ % len(names):] + names[:round_ % len(names)]
                for name in order:
                    cmd, cmd_env = commands[name]()
                    wall, peak = measure(cmd, cmd_env, root)
                    if round_:  # round 0 warms caches and is not counted
                        walls[name].append(wall)
                        rss[name].append(peak)
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=60)
    return report(walls, rss, rounds, crosspost is not None)


def report(walls: dict[str, list[float]], rss: dict[str, list[float]], rounds: int, with_crosspost: bool) -> str:
    def ratio(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(walls[a], walls[b], strict=True))

    rows = []
    for name in walls:
        row = f"| {name} | {statistics.median(walls[name]) * 1000:.0f} ms | {max(rss[name]):.0f} MB |"
        if with_crosspost and name != "crosspost 1.0.4":
            target = {"sharebot publish, worker running": 0.7, "sharebot publish, no worker": 1.0,
                      "sharebot publish, worker running (PostgreSQL)": 0.7}.get(name)
            r = ratio(name, "crosspost 1.0.4")
            verdict = f" ({'meets' if r <= target else 'MISSES'} the ≤ {target}× target)" if target else ""
            row += f" **{r:.2f}×**{verdict} |"
        else:
            row += " 1 |" if with_crosspost else " |"
        rows.append(row)
    return (
        "## Cold publish to Bluesky (local PDS)\n\n"
        f"Fresh processes, {rounds} rounds, each command once per round in rotated order; wall time is the "
        "median, the ratio the median of per-round ratios, RSS the highest peak. Every run posts a post of its "
        "own; sharebot's articles have no image, so all make the same kind of post.\n\n"
        "| command | median wall | peak RSS | ratio to crosspost |\n|---|---|---|---|\n"
        + "\n".join(rows) + "\n\n"
        + ("" if with_crosspost else "crosspost was skipped: npm/node not found.\n\n")
        + "Commands: `sharebot --config worker.toml publish SLUG --network bluesky` with "
        "`sharebot --config worker.toml worker` running; the same with `alone.toml` (a queue no worker "
        "listens on); `node --require bench/crosspost_http.cjs …/crosspost/dist/bin.js -b TEXT` "
        "(BLUESKY_HOST/BLUESKY_IDENTIFIER/BLUESKY_PASSWORD); `python bench/xrpc_post.py PDS HANDLE TEXT`.\n\n"
        "Reproduce: `SHAREBOT_PDS_ENV=~/.cache/sharebot-pds/pds.env python bench/bench_cold_publish.py`.\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    print(main(parser.parse_args().rounds))
