"""sharebot's X counter against twitter-text's own JavaScript (`twitter-text` 3.1.0 from npm, `parseTweet`).

The counter already passes twitter-text's conformance data (validate.yml, tlds.yml) in the tests. This compares
it with the reference implementation on many adversarial strings the conformance data does not have: pieces of
the classes the PDS fuzz uses (emoji sequences valid and not, flags, keycaps, ZWJ and variation selectors, URLs,
tags, cashtags, mentions, CJK, RTL, invisible characters, long words), joined at random with spaces, punctuation
or nothing. For each string: the weighted length and whether it is valid (≤ 280 and no invalid character).

npm installs twitter-text into ~/.cache/sharebot-bench on first use; without node and npm the comparison is
skipped with a message. Run: python bench/compare_twitter_text.py [-n 20000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from adversarial_pds import CLASSES, FRIEND  # noqa: E402

from sharebot.counting import parse_x  # noqa: E402

PACKAGE = "twitter-text@3.1.0"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sharebot-bench" / "twitter-text"
JOINS = [" ", " ", " ", "", "\n", ". ", ", ", "\u00a0", "-", "/", "(", ")"]
# A reader in node: one JSON array of strings on stdin, one [weightedLength, valid] per string on stdout.
READER = """
const tt = require(process.argv[1]);
let input = "";
process.stdin.on("data", d => input += d).on("end", () => {
  const out = JSON.parse(input).map(s => { const r = tt.parseTweet(s); return [r.weightedLength, r.valid]; });
  process.stdout.write(JSON.stringify(out));
});
"""


def install() -> Path | None:
    module = CACHE / "node_modules" / "twitter-text"
    if module.exists():
        return module
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        print("skipped: node/npm not found", file=sys.stderr)
        return None
    CACHE.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(CACHE), PACKAGE],
                          capture_output=True, text=True)
    if done.returncode or not module.exists():
        print(f"skipped: npm install {PACKAGE} failed: {done.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    return module


def strings(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    pool = [piece.replace(FRIEND, "nachrichten") for pieces in CLASSES.values() for piece in pieces
            if len(piece) < 2000]
    out = []
    for _ in range(n):
        parts = [rng.choice(pool) for _ in range(rng.randint(1, 12))]
        out.append("".join(p + rng.choice(JOINS) for p in parts).strip(" "))
    return out


def reference(module: Path, texts: list[str]) -> list[tuple[int, bool]]:
    done = subprocess.run(["node", "-e", READER, str(module)], input=json.dumps(texts), capture_output=True,
                          text=True, check=True)
    return [(int(w), bool(v)) for w, v in json.loads(done.stdout)]


def main(n: int = 20_000, seed: int = 1) -> str:
    module = install()
    if module is None:
        return "## X counter against twitter-text\n\nNot measured in this run: node/npm or the package missing.\n"
    texts = strings(n, seed)
    started = time.monotonic()
    theirs = reference(module, texts)
    ours = [(p.weighted_length, p.valid) for p in map(parse_x, texts)]
    differ = [(t, a, b) for t, a, b in zip(texts, ours, theirs, strict=True) if a != b]
    lines = [
        "## X counter against twitter-text",
        "",
        f"{n:,} adversarial strings (seed {seed}; pieces of every input class of the PDS fuzz, joined at random), "
        f"each measured by sharebot's `counting.parse_x` and by twitter-text's own JavaScript ({PACKAGE}, "
        "`parseTweet`): weighted length and validity.",
        "",
        f"**{len(differ)} of {n:,} differ** ({time.monotonic() - started:.0f} s).",
    ]
    for text, a, b in differ[:10]:
        lines.append(f"- {json.dumps(text, ensure_ascii=True)[:160]}: sharebot {a}, twitter-text {b}")
    lines += ["", "Reproduce: `python bench/compare_twitter_text.py -n 20000`.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(main(args.n, args.seed))
