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

import time

from reference_js import adversarial_strings, comparison_command, install, run, section

from sharebot.counting import parse_x

PACKAGE = "twitter-text@3.1.0"
# One JSON array of strings on stdin, one [weightedLength, valid] per string on stdout.
READER = """
const tt = require(process.argv[1]);
let input = "";
process.stdin.on("data", d => input += d).on("end", () => {
  const out = JSON.parse(input).map(s => { const r = tt.parseTweet(s); return [r.weightedLength, r.valid]; });
  process.stdout.write(JSON.stringify(out));
});
"""


def main(n: int = 20_000, seed: int = 1) -> str:
    module = install(PACKAGE, "twitter-text", "twitter-text")
    if module is None:
        return "## X counter against twitter-text\n\nNot measured in this run: node/npm or the package missing.\n"
    texts = adversarial_strings(n, seed)
    started = time.monotonic()
    theirs = [(int(w), bool(v)) for w, v in run(READER, module, texts)]
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
    return section(lines, differ, "twitter-text", "compare_twitter_text.py")


if __name__ == "__main__":
    comparison_command(main, __doc__)
