"""Render time on adversarial articles: the worst case and the 99th percentile, per network.

Target (issue 10): every post renders in < 100 ms, whatever the article. The inputs are the ones an
independent fuzz run found slow (a title of 158 ZWJ family emoji with a 6,576-character teaser took 23.7 s,
a 5 MB teaser 38 s) plus long runs of combining marks, URLs and hashtags, and 300 random adversarial
articles for the percentile. Each network renders in a fresh process, so the first render pays for
compiling the patterns, as a one-off dry run does.

Run: python bench/bench_render_worst.py [--out FILE] [--random N]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sharebot.models import Account, Article, Network  # noqa: E402
from sharebot.render import render  # noqa: E402

UTM = {"utm_source": "{network}", "utm_medium": "social", "utm_campaign": "{slug}"}
URL = "https://nachrichten.sharebot-demo.de/politik/artikel"
FAMILY = "👨\u200d👩\u200d👧\u200d👦"
SENTENCE = ("Die Bundesregierung hat am Dienstag beschlossen, dass S.\u00a05 der Vorlage z.\u00a0B. geändert wird. "
            "Mehr unter https://example.com/wahl, #Wahl2025 und $AAPL. ")
PIECES = ["\u200b", "\u200d", "\ufe0f", "🇦🇦", "😀🏽", "#️⃣", "https://", "(https://)", "x.onion", "example.com/a,",
          "$AAPL,", "#Wahl", "@alice.bsky.social", "S.\u00a05", "Z\u0301\u0302", FAMILY, "日本語", "Wort", "und", "."]


def teaser(size: int) -> str:
    return (SENTENCE * (size // len(SENTENCE) + 1))[:size]


def named_cases() -> dict[str, Article]:
    def article(title: str, body: str, tags: tuple[str, ...] = ("Wahl", "Politik")) -> Article:
        return Article(slug="bench", title=title, url=URL, teaser=body, tags=tags)

    return {
        "158 families + 6,576 teaser": article(FAMILY * 158, teaser(6576)),
        "5 MB teaser": article("Titel", teaser(5_000_000)),
        "combining marks": article("Z" + "\u0301\u0302\u0303" * 3000, "a" + "\u0301" * 20_000 + " b"),
        "URLs": article("Links", " ".join(f"https://example.com/{i}/wahl," for i in range(3000))),
        "glued URLs": article("Links", "".join(f"https://example.com/{i}" for i in range(2000))),
        "hashtags": article("#Tag " * 500, " ".join(f"#Tag{i}" for i in range(5000))),
        "one long hashtag": article("Titel", "#" + "Wahl" * 20_000),
        "dots without spaces": article("Titel", "x." * 100_000 + "de"),
        "emoji run with a dot": article(FAMILY * 2000 + ".de", teaser(1000)),
    }


def random_cases(count: int, seed: int = 10) -> dict[str, Article]:
    rng = random.Random(seed)
    cases = {}
    for i in range(count):
        def prose(n: int) -> str:
            return "".join(rng.choice(PIECES) + rng.choice([" ", "", "\n"]) for _ in range(n))
        cases[f"random {i}"] = Article(slug="bench", title=prose(rng.randint(1, 40)) or "T", url=URL,
                                       teaser=prose(rng.randint(0, 2000)), tags=("Wahl", "#️⃣"))
    return cases


def child(network: str, count: int) -> None:
    """Render every case for one network; print {case: seconds} as JSON. The first render of a plain
    article (imports, pattern compilation) is reported on its own as "cold"."""
    account = Account(name=network, network=Network(network))
    start = time.perf_counter()
    render(Article(slug="bench", title="Titel", url=URL, teaser=teaser(400), tags=("Wahl",)), account,
           templates={}, utm=UTM)
    times = {"cold": time.perf_counter() - start}
    for name, article in {**named_cases(), **random_cases(count)}.items():
        start = time.perf_counter()
        render(article, account, templates={}, utm=UTM)
        times[name] = time.perf_counter() - start
    print(json.dumps(times))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) to this file")
    parser.add_argument("--random", type=int, default=300, help="random adversarial articles (default 300)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.random)
        return
    named = list(named_cases())
    rows = ["| network | first render, cold (ms) | worst (ms) | worst case | 99th percentile (ms) | "
            + " | ".join(named) + " |",
            "| --- | ---: | ---: | --- | ---: | " + " | ".join("---:" for _ in named) + " |"]
    for network in Network:
        out = subprocess.run([sys.executable, __file__, "--child", network.value, "--random", str(args.random)],
                             check=True, capture_output=True, text=True).stdout
        times = json.loads(out)
        cold = times.pop("cold")
        worst = max(times, key=times.get)
        rows.append(f"| {network.value} | {cold * 1000:.0f} | {times[worst] * 1000:.0f} | {worst} | "
                    f"{percentile(list(times.values()), 0.99) * 1000:.0f} | "
                    + " | ".join(f"{times[n] * 1000:.0f}" for n in named) + " |")
        print(rows[-1], flush=True)
    table = "\n".join(rows)
    print("\n" + table)
    if args.out:
        args.out.write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
