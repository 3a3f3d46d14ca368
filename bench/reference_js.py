"""Reference implementations in JavaScript, from npm, for the comparison benches (compare_*.py) and crosspost.

`install` puts a package into ~/.cache/sharebot-bench/<folder> on first use (None, and why on stderr, without
node and npm); `run` hands node a JSON array on stdin and reads one back; `adversarial_strings` makes the
inputs, from the pieces of every input class the PDS fuzz uses (tests/adversarial_pds.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sharebot-bench"
JOINS = [" ", " ", " ", "", "\n", ". ", ", ", "\u00a0", "-", "/", "(", ")"]


def install(package: str, module: str, folder: str) -> Path | None:
    """node_modules/<module> after `npm install <package>` into the bench cache's `folder`."""
    where = CACHE / folder
    path = where / "node_modules" / module
    if path.exists():
        return path
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        print("skipped: node/npm not found", file=sys.stderr)
        return None
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(where), package],
                          capture_output=True, text=True)
    if done.returncode or not path.exists():
        print(f"skipped: npm install {package} failed: {done.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    return path


def run(script: str, module: Path, items: list[Any]) -> list[Any]:
    """`script` in node with the module's path as argv[1]; `items` as JSON on stdin, its JSON answer back."""
    done = subprocess.run(["node", "-e", script, str(module)], input=json.dumps(items), capture_output=True,
                          text=True, check=True)
    answer: list[Any] = json.loads(done.stdout)
    return answer


def adversarial_strings(n: int, seed: int, *, friend: str = "nachrichten") -> list[str]:
    """`n` strings of 1 to 12 pieces (the two "huge" ones left out), joined by spaces, punctuation or nothing."""
    sys.path.insert(0, str(ROOT / "tests"))
    from adversarial_pds import CLASSES, FRIEND

    rng = random.Random(seed)
    pool = [piece.replace(FRIEND, friend) for pieces in CLASSES.values() for piece in pieces if len(piece) < 2000]
    out = []
    for _ in range(n):
        parts = [rng.choice(pool) for _ in range(rng.randint(1, 12))]
        out.append("".join(p + rng.choice(JOINS) for p in parts).strip(" "))
    return out


def comparison_command(main: Callable[[int, int], str], doc: str) -> None:
    """The command line of a comparison: `-n` strings, `--seed`; prints its section."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(main(args.n, args.seed))


def section(lines: list[str], examples: list[tuple[str, Any, Any]], reference: str, script: str) -> str:
    """A comparison's section: `lines`, then up to ten of the differing strings, then how to run it again."""
    for text, ours, theirs in examples[:10]:
        lines.append(f"- {json.dumps(text, ensure_ascii=True)[:140]}: sharebot {ours}, {reference} {theirs}")
    lines += ["", f"Reproduce: `python bench/{script} -n 20000`.", ""]
    return "\n".join(lines)
