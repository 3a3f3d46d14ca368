"""How long a post is, measured the way each network measures it. Pure functions, no I/O.

Only X normalises (NFC) before counting; the others count the string they receive, so these functions
count exactly what they are given and the renderer sends NFC text (platforms.md §9.3).
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import unicodedata
from typing import Any, NamedTuple

from sharebot import entities


class XConfig(NamedTuple):
    """A twitter-text weighting config (facts from twitter-text's config/v2.json and v3.json)."""

    version: int
    max_weighted_length: int = 280
    scale: int = 100
    default_weight: int = 200
    transformed_url_length: int = 23
    emoji_parsing: bool = False
    # (first, last, weight): code units in these ranges weigh 100 (one character), all others 200.
    ranges: tuple[tuple[int, int, int], ...] = (
        (0x0000, 0x10FF, 100),  # Latin, Greek, Cyrillic, Hebrew, Arabic, Indic, ... up to Georgian
        (0x2000, 0x200D, 100),  # spaces, ZWSP, ZWNJ, ZWJ
        (0x2010, 0x201F, 100),  # dashes and quotation marks (but not … U+2026 or • U+2022)
        (0x2032, 0x2037, 100),  # primes
    )


X_V2 = XConfig(version=2)
X_V3 = XConfig(version=3, emoji_parsing=True)  # what X uses now: an emoji sequence weighs 200 once

_X_INVALID = frozenset("\ufffe\ufeff\uffff")  # X rejects a post that contains any of these


class XParse(NamedTuple):
    """twitter-text's parseTweet result. Range fields are UTF-16 indices into the text as given, inclusive."""

    weighted_length: int
    valid: bool
    permillage: int
    display_range_start: int
    display_range_end: int
    valid_range_start: int
    valid_range_end: int

    def to_dict(self) -> dict[str, Any]:
        """The camelCase keys of twitter-text (and of its conformance files)."""
        return {
            "weightedLength": self.weighted_length, "valid": self.valid, "permillage": self.permillage,
            "displayRangeStart": self.display_range_start, "displayRangeEnd": self.display_range_end,
            "validRangeStart": self.valid_range_start, "validRangeEnd": self.valid_range_end,
        }


def _unit_weight(unit: int, config: XConfig) -> int:
    for first, last, weight in config.ranges:
        if first <= unit <= last:
            return weight
    return config.default_weight


@functools.cache
def _off_range(config: XConfig) -> re.Pattern[str]:
    """Code points in none of the config's ranges (they weigh `default_weight`; an astral character always
    does, as upstream weighs it by its low surrogate)."""
    ranges = "".join(f"{re.escape(chr(first))}-{re.escape(chr(last))}" for first, last, _ in config.ranges)
    return re.compile(f"[^{ranges}]")


@functools.cache
def _range_weight(config: XConfig) -> int | None:
    """The weight all of the config's ranges share (None if they differ: then each code point is looked up)."""
    weights = {w for _, _, w in config.ranges}
    return weights.pop() if len(weights) == 1 else None


@functools.lru_cache(maxsize=4096)
def _plain_weight(text: str, config: XConfig) -> int:
    """Scaled weight of text weighed code point by code point (no URLs or emoji in it)."""
    in_range = _range_weight(config)
    if in_range is None:  # no such config exists upstream; weigh one by one
        return sum(_unit_weight(0xDC00 if ord(c) > 0xFFFF else ord(c), config) for c in text)
    if text.isascii() and any(first <= 0 and 0x7F <= last for first, last, _ in config.ranges):
        return in_range * len(text)
    off = len(_off_range(config).findall(text))
    return in_range * (len(text) - off) + config.default_weight * off


def utf16_length(text: str) -> int:
    """UTF-16 code units: Telegram entity offsets, JavaScript's `length`; LinkedIn counted this way to be safe."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf8_length(text: str) -> int:
    """UTF-8 bytes: Bluesky's `maxLength` 3000 on post text and facet byte offsets."""
    return len(text.encode("utf-8", "surrogatepass"))


def _units(piece: str) -> int:
    return len(piece) + sum(1 for ch in piece if ch > "\uffff")


def parse_x(text: str, config: XConfig = X_V3) -> XParse:
    """Weigh `text` as twitter-text's parseTweet does (X's own counter, https://github.com/twitter/twitter-text):
    NFC first; each URL weighs `transformed_url_length`; with emoji parsing, each emoji sequence twitter-text
    knows weighs `default_weight` once; every other code point weighs by the config's ranges. Linear in the
    text: only the part up to where the limit is crossed is walked character by character."""
    normalized = unicodedata.normalize("NFC", text)
    tokens = entities.find_urls(normalized)
    if config.emoji_parsing:
        # Found on the whole text, as upstream; one that starts inside a URL is part of the URL.
        tokens = _first_come(tokens, entities.find_twitter_emoji_sequences(normalized))
    url_weight = config.transformed_url_length * config.scale
    # All of it code point by code point, then each token's own weight in place of its code points' (emoji
    # repeat, so their code-point weights come from a cache; long texts are not sliced token by token).
    scaled = _plain_weight.__wrapped__(normalized, config)
    for token in tokens:
        scaled += url_weight if token.kind == "url" else config.default_weight
        scaled -= _plain_weight(token.text, config)
    limit = config.max_weighted_length * config.scale
    has_invalid = any(c in normalized for c in _X_INVALID)
    if scaled <= limit and not has_invalid:
        valid_display_index = max(utf16_length(normalized) - 1, 0)
    else:
        valid_display_index = _valid_display_index(normalized, tokens, config)
    weighted = scaled / config.scale
    weighted_length = int(weighted) if weighted == int(weighted) else weighted
    offset = 0 if normalized is text else utf16_length(text) - utf16_length(normalized)
    return XParse(
        weighted_length=weighted_length,  # type: ignore[arg-type]
        valid=not has_invalid and 0 < weighted <= config.max_weighted_length,
        permillage=math.floor(weighted / config.max_weighted_length * 1000),
        display_range_start=0,
        display_range_end=max((valid_display_index if normalized is text and scaled <= limit and not has_invalid
                               else utf16_length(text) - 1), 0),
        valid_range_start=0,
        valid_range_end=valid_display_index + offset,
    )


def _first_come(urls: list[entities.Span], emoji: list[entities.Span]) -> list[entities.Span]:
    """URLs and emoji in text order as upstream's loop meets them: a URL wins where both start, and a token
    that starts inside an earlier one is not one."""
    merged = sorted(urls + emoji, key=lambda s: (s.start, s.kind != "url"))
    kept: list[entities.Span] = []
    for span in merged:
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


def _valid_display_index(normalized: str, tokens: list[entities.Span], config: XConfig) -> int:
    """UTF-16 index of the last code unit of the last token that is still within the limit and after which
    no invalid character has been met (upstream's validRangeEnd before the normalisation offset). Walks
    only up to the first token that breaks either rule."""
    limit = config.max_weighted_length * config.scale
    url_weight = config.transformed_url_length * config.scale
    scaled, unit_index, index = 0, -1, 0
    pieces = iter(tokens)
    token = next(pieces, None)
    i = 0
    while i < len(normalized):
        if token is not None and token.start == i:
            piece = token.text
            scaled += url_weight if token.kind == "url" else config.default_weight
            token = next(pieces, None)
        else:
            piece = normalized[i]
            cp = ord(piece)
            scaled += _unit_weight(0xDC00 + ((cp - 0x10000) & 0x3FF) if cp > 0xFFFF else cp, config)
        i += len(piece)
        unit_index += _units(piece)
        if piece[-1] in _X_INVALID or scaled > limit:
            break
        index = unit_index
    return index


def x_weight_at_least(text: str, config: XConfig = X_V3) -> float:
    """A lower bound of `x_weighted_length`, without finding URLs or emoji: each URL holds a dot and at most
    4,096 characters, and every other code point weighs at least a sequence's weight over the longest
    sequence's length (an emoji sequence weighs `default_weight` once, anything else one unit or more).
    Cheap where the full count is not: a title of thousands of emoji and one dot."""
    normalized = unicodedata.normalize("NFC", text)
    outside_urls = len(normalized) - entities.MAX_URL_LENGTH * normalized.count(".")
    if outside_urls <= 0:
        return 0
    scale = min(config.default_weight / entities.longest_twitter_emoji(), *(w for _, _, w in config.ranges))
    return outside_urls * scale / config.scale


def x_weighted_length(text: str, config: XConfig = X_V3) -> int:
    """X's weighted length: most scripts 1, CJK/emoji/…/•/€ 2, any URL (bare domains too) 23."""
    return parse_x(text, config).weighted_length


JOIN_ACROSS = 16


@functools.cache
def _joining() -> Any:
    import regex

    # Code points that can join a neighbour into one cluster: every Grapheme_Cluster_Break value but Other,
    # Control and LF (so CR, Extend, ZWJ, SpacingMark, Prepend, Regional_Indicator, Hangul jamo/syllables).
    # A match is a run of them, continued across up to JOIN_ACROSS code points that cannot join: each of those
    # is a cluster of its own either way, and segmenting close runs together costs one call (one, not
    # thousands, for a title of ZWJ families) instead of one each.
    joins, alone = r"[^\p{GCB=Other}\p{GCB=Control}\p{GCB=LF}]", r"[\p{GCB=Other}\p{GCB=Control}\p{GCB=LF}]"
    return regex.compile(f"{joins}+(?:{alone}{{1,{JOIN_ACROSS}}}{joins}+)*")


@functools.cache
def _cluster() -> Any:
    import regex

    return regex.compile(r"\X")


def joining_chunks(text: str) -> list[tuple[int, int]]:
    """(start, end) of the stretches of `text` where grapheme clusters need segmenting: each run of characters
    that can join a neighbour, with the character before it (its base) and the one after it (a ZWJ or a
    conjunct may join it), merged where at most JOIN_ACROSS - 2 characters lie between. Outside them every
    code point is a cluster."""
    # Below U+0300 (Basic Latin to Latin Extended-B and the spacing modifiers: German, French, Polish, …) only CR
    # can join a neighbour (CR LF); every other code point there is GCB Other or Control, a cluster of its own.
    if "\r" not in text and (text.isascii() or max(text) < "\u0300"):
        return []
    size = len(text)
    return [(max(run.start() - 1, 0), min(run.end() + 1, size)) for run in _joining().finditer(text)]


def graphemes(text: str) -> int:
    """Extended grapheme clusters (UAX #29, Unicode 15.1+ via `regex`). Only the stretches around characters
    that can join a neighbour are segmented; every other code point is one cluster by itself."""
    total = len(text)
    for start, end in joining_chunks(text):
        total += len(_cluster().findall(text[start:end])) - (end - start)
    return total


def graphemes_within(text: str, limit: int) -> int:
    """`graphemes(text)` if that is at most `limit`, else limit + 1: segmenting stops at the first cluster past
    the limit, so whether 10,000 emoji fit in 500 costs what 501 clusters cost."""
    if len(text) <= limit or (text.isascii() and "\r" not in text):
        return min(graphemes(text), limit + 1)
    return sum(1 for _ in itertools.islice(_cluster().finditer(text), limit + 1))


def bluesky_graphemes(text: str) -> int:
    """Bluesky's `maxGraphemes` unit (300 for a post, 64 for a tag)."""
    return graphemes(text)


def mastodon_countable_text(text: str, url_length: int = 23) -> str:
    """Mastodon's server-side rewrite: each http(s) URL becomes `url_length` characters and each
    `@user@domain` becomes `@user` (StatusLengthValidator in mastodon/mastodon)."""
    if not text:
        return ""
    spans = entities.find_urls(text, require_protocol=True, style="mastodon")
    spans += entities.find_mentions(text, style="mastodon")
    out, pos = [], 0
    for span in entities._drop_overlapping(spans):
        out.append(text[pos:span.start])
        out.append("x" * url_length if span.kind == "url" else "@" + span.value.split("@")[0])
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def mastodon_length(text: str, spoiler_text: str = "", url_length: int = 23) -> int:
    """Mastodon's count: graphemes of the content warning (in full) plus the countable text. Bare
    domains count as typed; only URLs with a protocol are shortened."""
    return graphemes(spoiler_text + mastodon_countable_text(text, url_length))


def threads_length(text: str) -> int:
    """Threads' 500-character count. Meta documents only that "emojis are counted as the number of UTF-8
    bytes" (https://developers.facebook.com/docs/threads/overview). Rule implemented, chosen to err
    long: each emoji sequence (as `entities.find_emoji` sees it; a ZWJ family is one) counts its UTF-8
    bytes (😀 4, ❤️ 6, 👨‍👩‍👧 18), everything else its UTF-16 code units (most text 1 per character)."""
    total, pos = 0, 0
    for span in entities.find_emoji(text):
        total += utf16_length(text[pos:span.start]) + utf8_length(span.text)
        pos = span.end
    return total + utf16_length(text[pos:])


_LINKEDIN_RESERVED = re.compile(r"[\\|{}@\[\]()<>#*_~]")


def linkedin_escape(text: str, *, keep_hashtags: bool = False) -> str:
    """Backslash-escape LinkedIn "little text" reserved characters, so the API neither parses them nor
    silently cuts the post at the first one (platforms.md §4.3). With `keep_hashtags`, `#tag` words stay
    as typed so LinkedIn links them."""
    kept = entities.find_hashtags(text) if keep_hashtags and ("#" in text or "\uff03" in text) else []
    out, pos = [], 0
    for span in kept:
        out.append(_LINKEDIN_RESERVED.sub(r"\\\g<0>", text[pos:span.start]))
        out.append(span.text)
        pos = span.end
    out.append(_LINKEDIN_RESERVED.sub(r"\\\g<0>", text[pos:]))
    return "".join(out)
