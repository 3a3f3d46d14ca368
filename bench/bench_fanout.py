"""Fan-out: publishing one article to 6 accounts vs to 1, when every network answers in 300 ms.

Target (issue: durable queue): 6 accounts take at most 1.3x the time of one. Each account is a Mastodon
account on its own local stand-in whose every answer is delayed 300 ms; the whole `app.publish` path runs
(render, validate, enqueue in SQLite, parallel posting, recording). A mixed run over the six different
stand-ins (X, Mastodon, LinkedIn, Facebook, Threads, Telegram) is reported against the slowest of them alone.
Run: python bench/bench_fanout.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fakes.mastodon import FakeMastodon  # noqa: E402
from standins import Newsroom  # noqa: E402

from sharebot import app, pipeline  # noqa: E402
from sharebot.config import load_settings  # noqa: E402

SLUG = "putin-xi-videogespraech-partnerschaft"
DELAY = 0.3


def utcnow() -> datetime:
    return datetime.now(UTC)


def timed_publish(config: Path, env: dict[str, str], accounts: list[str], slug: str) -> float:
    settings = load_settings(config, env, dotenv_path=config.parent / "none.env")
    chosen = pipeline.select_accounts(settings, accounts=accounts)
    article = pipeline.load_article(settings, slug)
    store, adapters = app.open_queue(settings), app.Adapters(settings)
    try:
        start = time.perf_counter()
        report = app.publish_article(settings, article, chosen, store=store, adapters=adapters, clock=utcnow,
                                     owner="bench")
        elapsed = time.perf_counter() - start
    finally:
        adapters.close()
        store.close()
    assert not report.failed, report.failed
    return elapsed


def mastodon_fleet(root: Path, n: int) -> tuple[Path, dict[str, str], list[FakeMastodon]]:
    servers = [FakeMastodon(clock=utcnow).start() for _ in range(n)]
    for server in servers:
        server.delay = DELAY
    room = Newsroom(utcnow)
    room.images.start()
    room.write_site(root, [f"{SLUG}-{i}" for i in range(40)])
    accounts = "".join(
        f'\n[accounts.m{i}]\nnetwork = "mastodon"\ninstance = "https://social.example"\napi_base = "{s.url}"\n'
        f'secrets = {{ access_token = "TOKEN_M{i}" }}\n' for i, s in enumerate(servers))
    config = root / "sharebot.toml"
    config.write_text(
        '[site]\nname = "Bench"\nbase_url = "https://nachrichten.sharebot-demo.de/"\n[source]\ncontent = "content"\n'
        '[queue]\ndatabase = "bench.db"\n' + accounts, encoding="utf-8")
    env = {f"TOKEN_M{i}": s.token for i, s in enumerate(servers)}
    return config, env, servers + [room.images]


def main(rounds: int = 5) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        config, env, servers = mastodon_fleet(Path(tmp), 6)
        try:
            article = iter(range(40))
            one = statistics.median(timed_publish(config, env, ["m0"], f"{SLUG}-{next(article)}")
                                    for _ in range(rounds))
            six = statistics.median(timed_publish(config, env, [f"m{i}" for i in range(6)],
                                                  f"{SLUG}-{next(article)}") for _ in range(rounds))
        finally:
            for server in servers:
                server.stop()
    with tempfile.TemporaryDirectory() as tmp:
        room = Newsroom(utcnow).start()
        try:
            for server in room.servers[:-1]:
                server.delay = DELAY
            root = Path(tmp)
            room.write_site(root, [f"{SLUG}-{i}" for i in range(40)])
            config = room.write_config(root)
            networks = ["x", "mastodon", "linkedin", "facebook", "threads", "telegram"]
            article = iter(range(40))
            alone = {n: statistics.median(timed_publish(config, room.env(), [n], f"{SLUG}-{next(article)}")
                                          for _ in range(3)) for n in networks}
            mixed = statistics.median(timed_publish(config, room.env(), networks, f"{SLUG}-{next(article)}")
                                      for _ in range(3))
        finally:
            room.stop()
    slowest = max(alone, key=alone.get)
    ratio = six / one
    return (
        "## Fan-out to six accounts\n\n"
        f"Every answer of every local stand-in is delayed {DELAY * 1000:.0f} ms; the full `app.publish` path runs "
        "(render, validate, enqueue in SQLite, parallel posting, recording). Median of "
        f"{rounds} articles each.\n\n"
        "| run | median wall time |\n|---|---|\n"
        f"| 1 Mastodon account | {one * 1000:.0f} ms |\n"
        f"| 6 Mastodon accounts, 6 servers | {six * 1000:.0f} ms |\n"
        f"| ratio | **{ratio:.2f}×** ({'meets' if ratio <= 1.3 else 'MISSES'} the ≤ 1.3× target) |\n\n"
        "Six different networks at once (their adapters make 1–4 requests each, so the slowest one bounds "
        "the fan-out):\n\n"
        "| run | median wall time |\n|---|---|\n"
        + "".join(f"| {n} alone | {t * 1000:.0f} ms |\n" for n, t in alone.items())
        + f"| all six at once | {mixed * 1000:.0f} ms ({mixed / alone[slowest]:.2f}× the slowest, {slowest}) |\n\n"
        "Reproduce: `python bench/bench_fanout.py`.\n"
    )


if __name__ == "__main__":
    print(main())
