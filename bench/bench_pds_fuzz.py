"""Adversarial articles on the real Bluesky PDS, in numbers: how many were tried, blocked by sharebot, accepted
by the PDS with a record equal to the preview, rejected, or accepted but different (issue 10, item 3).

The articles and the checks are the CI property's (tests/adversarial_pds.py, tests/test_pds_adversarial.py),
with a larger count and without stopping at the first failure. Deterministic: hypothesis derandomized, so the
same N gives the same articles.

Run: SHAREBOT_PDS_ENV=~/.cache/sharebot-pds/pds.env python bench/bench_pds_fuzz.py [-n 2000] [--without-normalised]
`--without-normalised` leaves out the inputs that input normalisation handles (leading U+FEFF, odd language codes).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from adversarial_pds import ALL_CLASSES, NORMALISED, Case, Harness, Outcome, Verdict, cases  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from pds import find_pds  # noqa: E402

FAILING = (Verdict.REJECTED, Verdict.MISMATCH)


def run(count: int, classes: frozenset[str]) -> tuple[list[tuple[Case, Outcome, float]], float]:
    pds, reason = find_pds()
    if pds is None:
        raise SystemExit(f"bench_pds_fuzz: {reason}")
    results: list[tuple[Case, Outcome, float]] = []
    with tempfile.TemporaryDirectory() as root:
        harness = Harness(pds, Path(root))

        @settings(max_examples=count, derandomize=True, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=cases(classes))
        def each(case: Case) -> None:
            started = time.perf_counter()
            outcome = harness.run(case)
            results.append((case, outcome, time.perf_counter() - started))

        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                each()
        finally:
            harness.close()
    return results, time.perf_counter() - started


def figures(results: list[tuple[Case, Outcome, float]]) -> dict[str, int]:
    verdicts = Counter(outcome.verdict for _, outcome, _ in results)
    return {"tried": len(results), "unreadable": verdicts[Verdict.UNREADABLE], "blocked": verdicts[Verdict.BLOCKED],
            "unblocked": sum(verdicts[v] for v in (Verdict.ACCEPTED, *FAILING)),
            "accepted": verdicts[Verdict.ACCEPTED], "rejected": verdicts[Verdict.REJECTED],
            "mismatched": verdicts[Verdict.MISMATCH]}


def cause(outcome: Outcome) -> str:
    """The known failure class an outcome falls in, or "other"."""
    post = outcome.post
    fields = (post.text, post.card.title if post.card else "", post.card.description if post.card else "") \
        if post else ()
    if outcome.verdict is Verdict.REJECTED and "Invalid language" in outcome.detail:
        return f"rejected: invalid language code (the PDS answers `Invalid language`), e.g. {post.language!r}" \
            if post else "rejected: invalid language code"
    if outcome.verdict is Verdict.MISMATCH and any(f.startswith("\ufeff") for f in fields):
        return "read back different: a leading U+FEFF in the text or card, which the PDS strips"
    return f"other {outcome.verdict}"


def report(results: list[tuple[Case, Outcome, float]], seconds: float, classes: frozenset[str]) -> str:
    """The figures as a Markdown section: all cases, then split by whether a case holds input left to
    normalisation handles, then the first distinct failures."""
    waiting = sorted(NORMALISED & classes)
    groups = [("all cases", results)]
    if waiting:
        groups += [(f"without {' or '.join(waiting)} input", [r for r in results if not r[0].classes & NORMALISED]),
                   (f"with {' or '.join(waiting)} input", [r for r in results if r[0].classes & NORMALISED])]
    times = sorted(t for _, _, t in results)
    lines = [
        "## Adversarial articles on the real Bluesky PDS",
        "",
        f"{len(results)} generated articles (hypothesis, derandomized) of these input classes: "
        f"{', '.join(sorted(classes))} ({seconds:.0f} s, median {1000 * times[len(times) // 2]:.0f} ms per article "
        "from content file to read-back). "
        "Each is written as a content file, previewed by `pipeline.dry_run` for a Bluesky account, and unless "
        "blocked sent by sharebot's Bluesky adapter to the local PDS; the record read back "
        "(com.atproto.repo.getRecord) is compared with the preview: text, facets (byte offsets and features), "
        "langs, card (uri, title, description).",
        "",
        "| cases | tried | unreadable at entry | blocked by sharebot | unblocked (sent) | accepted as previewed "
        "| rejected | read-back mismatches |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, group in groups:
        f = figures(group)
        lines.append(f"| {name} | {f['tried']} | {f['unreadable']} | {f['blocked']} | {f['unblocked']} | "
                     f"{f['accepted']} | **{f['rejected']}** | **{f['mismatched']}** |")
    causes = Counter(cause(outcome) for _, outcome, _ in results if outcome.verdict in FAILING)
    if causes:
        lines += ["", "| why a post failed | cases |", "|---|---|"]
        lines += [f"| {why} | {n} |" for why, n in causes.most_common()]
    others = [(case, outcome) for case, outcome, _ in results
              if outcome.verdict in FAILING and cause(outcome).startswith("other")]
    if others:
        lines += ["", "Other failures (first 5):", ""]
        lines += [f"- {o.verdict} (classes {', '.join(sorted(c.classes))}; language {c.language!r}): "
                  f"`{o.detail[:300]}`" for c, o in others[:5]]
    lines += ["", f"Reproduce: `SHAREBOT_PDS_ENV=~/.cache/sharebot-pds/pds.env python bench/bench_pds_fuzz.py -n "
              f"{len(results)}{'' if waiting else ' --without-normalised'}`; CI runs the same property with 150 "
              "articles (tests/test_pds_adversarial.py).", ""]
    return "\n".join(lines)


def section(count: int = 2000) -> str:
    """For bench/run_all.py: all classes, split by those input normalisation handles."""
    logging.disable(logging.WARNING)
    results, seconds = run(count, ALL_CLASSES)
    return report(results, seconds, ALL_CLASSES)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="articles to try (default 2000)")
    parser.add_argument("--without-normalised", action="store_true",
                        help="leave out the classes input normalisation handles (leading U+FEFF, language codes)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the adapter's "does not resolve; sent without a mention facet", per case
    classes = ALL_CLASSES - NORMALISED if args.without_normalised else ALL_CLASSES
    results, seconds = run(args.n, classes)
    print(report(results, seconds, classes))
    return 1 if any(o.verdict in FAILING for _, o, _ in results) else 0


if __name__ == "__main__":
    sys.exit(main())
