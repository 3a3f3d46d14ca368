"""sharebot's Bluesky facets and grapheme count against the Bluesky client's own code (`@atproto/api` from npm:
`RichText.detectFacetsWithoutResolution`, `graphemeLength`).

The real PDS checks what it stores, not what a reader sees: a link, tag or mention without the facet the
official client would make is plain text in the app. This compares sharebot's `facets.detect_facets` and
`counting.bluesky_graphemes` with the client's on adversarial strings (pieces of every input class of the PDS
fuzz, joined at random): each facet's byte range, kind and value (a mention's handle), and the grapheme count.
Each facet only one side makes is put down to one of sharebot's deliberate differences, or counted unexplained.

npm installs the package into ~/.cache/sharebot-bench on first use; without node and npm the comparison is
skipped with a message. Run: python bench/compare_bluesky_richtext.py [-n 20000] [--seed 1]
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from reference_js import adversarial_strings, comparison_command, install, run, section

from sharebot.counting import bluesky_graphemes
from sharebot.entities import has_host
from sharebot.facets import detect_facets

PACKAGE = "@atproto/api@0.19.19"
# One JSON array of strings on stdin; per string [graphemeLength, [[byteStart, byteEnd, kind, value], ...]].
READER = """
const { RichText } = require(process.argv[1]);
const value = f => f.uri ?? f.tag ?? f.did;
const kind = f => f.$type.split("#")[1];
let input = "";
process.stdin.on("data", d => input += d).on("end", () => {
  const out = JSON.parse(input).map(text => {
    const rt = new RichText({ text });
    rt.detectFacetsWithoutResolution();
    const facets = (rt.facets ?? []).map(f => [f.index.byteStart, f.index.byteEnd, kind(f.features[0]),
                                              value(f.features[0])]);
    return [rt.graphemeLength, facets];
  });
  process.stdout.write(JSON.stringify(out));
});
"""


# Where sharebot does not do what the client does, on purpose (src/sharebot/entities.py says why at each):
DEVIATIONS = {
    "link-no-host": "the client links `https://`, `http://.` or `https:///x`; the PDS refuses such a link facet",
    "keycap-tag": "the client makes a tag of `#` followed by a keycap mark (`#⃣`, `#︎⃣`): that is the keycap emoji",
    "overlap": "the client makes overlapping facets (a link inside a tag); sharebot keeps the first",
    "link-ellipsis": "the client keeps a trailing `…` in a link (and so a `)` before it); sharebot never ends a "
                     "link in a cut text's ellipsis",
}


def ours(text: str) -> list[Any]:
    facets = sorted([f.byte_start, f.byte_end, f.kind, f.value] for f in detect_facets(text))
    return [bluesky_graphemes(text), facets]


def deviation(facet: list[Any], own: list[list[Any]], other: list[list[Any]]) -> str:
    """Which deliberate difference explains a facet that only one side (`own`, against `other`) makes
    ("unexplained" if none does)."""
    start, end, kind, value = facet
    if kind == "link" and not has_host(value):
        return "link-no-host"
    if kind == "link" and any(o[0] == start and o[2] == "link" and "\u2026" in (o[3] + value) for o in other):
        return "link-ellipsis"
    if any(not (end <= o[0] or start >= o[1]) for o in own if o != facet):
        return "overlap"
    if kind == "tag" and value[:1] in "\u20e3\ufe0e\ufe0f":
        return "keycap-tag"
    return "unexplained"


def main(n: int = 20_000, seed: int = 1) -> str:
    module = install(PACKAGE, "@atproto/api", "atproto-api")
    if module is None:
        return "## Bluesky facets against the client\n\nNot measured in this run: node/npm or the package missing.\n"
    texts = adversarial_strings(n, seed, friend="nachrichten.bsky.social")
    started = time.monotonic()
    theirs = [[g, sorted(facets)] for g, facets in run(READER, module, texts)]
    mine = [ours(t) for t in texts]
    graphemes = sum(1 for a, b in zip(mine, theirs, strict=True) if a[0] != b[0])
    facet_differ = [(t, a[1], b[1]) for t, a, b in zip(texts, mine, theirs, strict=True) if a[1] != b[1]]
    kinds: Counter[str] = Counter()
    unexplained = []
    for text, a, b in facet_differ:
        sides = [(f, b, a) for f in b if f not in a] + [(f, a, b) for f in a if f not in b]
        for facet, own, other in sides:
            why = deviation(facet, own, other)
            kinds[why] += 1
            if why == "unexplained":
                unexplained.append((text, a, b))
    lines = [
        "## Bluesky facets against the client",
        "",
        f"{n:,} adversarial strings (seed {seed}; pieces of every input class of the PDS fuzz, joined at random), "
        f"each measured by sharebot (`facets.detect_facets`, `counting.bluesky_graphemes`) and by the Bluesky "
        f"client's own code ({PACKAGE}, `RichText.detectFacetsWithoutResolution`, `graphemeLength`).",
        "",
        f"Grapheme counts: **{graphemes} of {n:,} differ**. Facets differ in {len(facet_differ):,} strings, "
        f"**{kinds['unexplained']} of the differing facets unexplained** ({time.monotonic() - started:.0f} s); "
        "the rest are sharebot's deliberate differences:",
        "",
        "| difference | facets | why |",
        "|---|---|---|",
        *[f"| {name} | {kinds[name]:,} | {why} |" for name, why in DEVIATIONS.items()],
    ]
    return section(lines, unexplained, "client", "compare_bluesky_richtext.py")


if __name__ == "__main__":
    comparison_command(main, __doc__)
