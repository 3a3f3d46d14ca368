"""Input normalisation: the one pass every article makes where it enters sharebot (`sources.open_source`,
`sources.read_page`), so that the rest never meets invisible characters, unchecked language tags or URLs that
are not URIs. Each change is kept on the article as a note (`Article.notes`) that the dry run shows as a warning.

The rules (README, "How input is normalised"):

- text is NFC (composed): the networks count, and some refuse, the decomposed forms differently;
- removed everywhere: U+FEFF (byte-order mark / zero-width no-break space), U+200B zero-width space, U+2060
  word joiner, U+00AD soft hyphen, the bidi embeddings and overrides U+202A–U+202E and isolates U+2066–U+2069
  (they reorder what follows them, so a link or a name can be made to read as another), the invisible
  operators U+2061–U+2064, the deprecated format controls U+206A–U+206F, the annotation controls
  U+FFF9–U+FFFB, and tag characters U+E0020–U+E007F except inside an emoji tag sequence (a subdivision flag);
- kept: the bidi marks LRM, RLM and ALM (U+200E, U+200F, U+061C), which only give a neutral character a
  direction; ZWJ (U+200D) and ZWNJ (U+200C) between two characters that are neither spaces nor punctuation
  (emoji sequences, Indic and Arabic-script words need them); anywhere else they are removed;
- control characters: a tab, a line break (LF, CR, CRLF, NEL U+0085, U+2028, U+2029) becomes a space in a
  one-line field and a line break in the teaser; every other C0 or C1 control and DEL is removed;
- whitespace runs in one-line fields become one space and every field is stripped (silently: it is tidying);
- a field longer than 100,000 characters is cut there, at a space where one is near (no post uses more);
- the language is a well-formed BCP 47 tag whose primary subtag is an ISO 639 code (two letters: ISO 639-1,
  three: ISO 639-2/3), written in the registry's case (`de-DE`, `zh-Hant-TW`); anything else falls back to the
  site's language; Mastodon gets its primary subtag (`de`), Bluesky the whole tag;
- URLs: characters a URI cannot hold (non-ASCII, spaces, quotes, angle brackets) are percent-encoded as UTF-8,
  and a non-ASCII host becomes its IDNA (punycode) form.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from sharebot.models import Article

# No network's post or card holds more than a fraction of this (Facebook's 63,206 characters are the most); a field
# longer is cut first, so that nothing after it works through megabytes.
MAX_FIELD = 100_000
# Characters that are never kept (see the rules above), C0/C1 controls and DEL among them; line breaks aside.
_REMOVED = frozenset([0xFEFF, 0x200B, 0x2060, 0x00AD, *range(0x202A, 0x202F), *range(0x2066, 0x206A),
                      *range(0x2061, 0x2065), *range(0x206A, 0x2070), *range(0xFFF9, 0xFFFC),
                      *(c for c in [*range(0x20), *range(0x7F, 0xA0)] if chr(c) not in "\t\n\r\x0b\x0c\x85")])
_BREAKS = "\x0b\x0c\x85\u2028\u2029"  # besides LF, CR and CRLF: a line break in the teaser, a space elsewhere
_BLACK_FLAG = "\U0001F3F4"  # an emoji tag sequence starts with it (e.g. the flag of Scotland)
_TAGS = "\U000e0020-\U000e007f"
_INVISIBLE = ("\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200d\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb" + _TAGS)
# A quick look for anything the rules could change; text without any of these (and already NFC) is left alone.
_SUSPECT = re.compile(f"[{_INVISIBLE}]")
_JOINER = re.compile("[\u200c\u200d]")
_TAG_RUN = re.compile(f"[{_TAGS}]+")
# Joiners that join nothing: a run of two or more, or one without a letter, mark, digit or symbol on each side.
_NOT_JOINING = (r"[\u200c\u200d]{2,}|(?<![\p{L}\p{M}\p{N}\p{S}])[\u200c\u200d]"
                r"|[\u200c\u200d](?![\p{L}\p{M}\p{N}\p{S}])")
_VISIBLE = re.compile(f"[^\\s{_INVISIBLE}]")
_SPACES = re.compile(r"[\t\n\r\f\v][ \t\n\r\f\v]*| [\t\n\r\f\v ]+")  # a single space is left be
_DROP = dict.fromkeys(_REMOVED)
_REMOVED_ONE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_REMOVED)) + "]")


def _name(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'control character')}"


def clean_text(value: str, *, multiline: bool = False) -> tuple[str, list[str]]:
    """`value` by the rules, and what was changed (without the field name), e.g. "removed 1 U+FEFF … at start".

    Linear in the text: characters are removed and replaced by C-level passes, and only runs of joiners or tag
    characters are looked at one by one (by their neighbours)."""
    text = value
    notes: list[str] = []
    if len(text) > MAX_FIELD:
        cut = max(text.rfind(" ", 0, MAX_FIELD), text.rfind("\n", 0, MAX_FIELD))
        text = text[:cut if cut > MAX_FIELD // 2 else MAX_FIELD]
        notes.append(f"cut to its first {len(text):,} characters (it had {len(value):,}): no post uses more")
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
        notes.append("composed to Unicode NFC")
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    else:
        text = _SPACES.sub(" ", text)
    if _SUSPECT.search(text):
        text = _scrub(text, multiline, notes)
    if multiline:
        text = "\n".join(line.rstrip(" ") for line in text.split("\n")).strip()
    else:
        text = _SPACES.sub(" ", text).strip()
    return text, notes


def _scrub(text: str, multiline: bool, notes: list[str]) -> str:
    into = "\n" if multiline else " "
    for ch in _BREAKS:
        if ch in text:
            notes.append(f"replaced {text.count(ch)} {_name(ch)} with {'a line break' if multiline else 'a space'}")
            text = text.replace(ch, into)
    original = text
    removed: dict[str, tuple[int, set[str]]] = {}

    def note(ch: str, count: int, places: set[str]) -> None:
        was = removed.get(ch, (0, set()))
        removed[ch] = (was[0] + count, was[1] | places)

    first, last = _bounds(text)
    for ch in set(_REMOVED_ONE.findall(text)):
        head, tail = text.find(ch), text.rfind(ch)
        places = _where(head, head + 1, first, last) | _where(tail, tail + 1, first, last)
        if first < last and text.find(ch, first, last) != -1:
            places.add("inside")
        note(ch, text.count(ch), places)
    text = text.translate(_DROP)
    joiners, tags = _JOINER.search(text), _TAG_RUN.search(text)
    if joiners or tags:
        first, last = _bounds(text)
        kept = text

        def drop(match: re.Match[str] | Any) -> str:
            run, i, j = match.group(), match.start(), match.end()
            if run[0] >= "\U000e0020" and kept[i - 1:i] == _BLACK_FLAG and run[-1] == "\U000e007f" \
                    and "\U000e007f" not in run[:-1]:
                return str(run)  # an emoji tag sequence (a subdivision flag)
            for ch in set(run):
                note(ch, run.count(ch), _where(i, j, first, last))
            return ""

        if tags:
            text = kept = _TAG_RUN.sub(drop, text)
            first, last = _bounds(text)
        if joiners:
            import regex  # for \p{…}; only where a joiner is

            text = regex.sub(_NOT_JOINING, drop, text)
    order = ("at start", "inside", "at end")
    for ch, (count, places) in sorted(removed.items(), key=lambda item: original.find(item[0])):
        notes.append(f"removed {count} {_name(ch)} {' and '.join(p for p in order if p in places)}")
    return text


def _bounds(text: str) -> tuple[int, int]:
    """The index of the first and of the last visible character (len(text), -1 when there is none)."""
    head, tail = _VISIBLE.search(text), _VISIBLE.search(text[::-1])
    if head is None or tail is None:
        return len(text), -1
    return head.start(), len(text) - 1 - tail.start()


def _where(start: int, end: int, first: int, last: int) -> set[str]:
    """Where text[start:end] lies: before the first visible character, between visible ones, after the last."""
    places = set()
    if start < first:
        places.add("at start")
    if end - 1 > last and last >= 0:
        places.add("at end")
    if max(start, first + 1) < min(end, last):
        places.add("inside")
    return places


# ISO 639-1 (the two-letter codes), as the IANA language subtag registry lists them; the withdrawn ones map to
# their replacements below.
ISO_639_1 = frozenset("""
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el
en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu
ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na
nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg sh si sk sl sm sn
so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
""".split())
_WITHDRAWN = {"in": "id", "iw": "he", "ji": "yi", "jw": "jv", "mo": "ro"}

# RFC 5646 §2.1 (langtag), with the primary language subtag narrowed to 2–3 letters (the 4- and 5–8-letter forms
# are reserved or unused) and without extlang, grandfathered and private-use-only tags, which no network uses.
_LANGTAG = re.compile(r"""
    (?P<language>[a-z]{2,3})
    (?:-(?P<script>[a-z]{4}))?
    (?:-(?P<region>[a-z]{2}|[0-9]{3}))?
    (?P<rest>(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*       # variants
             (?:-[0-9a-wy-z](?:-[a-z0-9]{2,8})+)*           # extensions
             (?:-x(?:-[a-z0-9]{1,8})+)?)                     # private use
    """, re.VERBOSE)


def language_tag(raw: str) -> str | None:
    """`raw` as a BCP 47 tag in the registry's case (`de_de` -> `de-DE`), or None when it is not one."""
    text = raw.strip().replace("_", "-").lower()
    match = _LANGTAG.fullmatch(text) if text.isascii() else None
    if not match:
        return None
    language = _WITHDRAWN.get(match["language"], match["language"])
    if len(language) == 2 and language not in ISO_639_1:
        return None
    parts = [language]
    if match["script"]:
        parts.append(match["script"].title())
    if match["region"]:
        parts.append(match["region"].upper())
    return "-".join(parts) + match["rest"]


# Characters a URI may hold as they are (RFC 3986: unreserved, reserved and "%" of an existing escape).
_URI_SAFE = "!#$%&'()*+,-./:;=?@[]_~"


def uri(url: str) -> str:
    """`url` as a valid URI: non-ASCII and other characters a URI cannot hold percent-encoded as UTF-8 in the
    path, query and fragment, a non-ASCII host in its IDNA form. An http(s) URL that is one already comes back
    unchanged."""
    if url.isascii() and not re.search(r"[\s\"<>\\^`{|}\x00-\x1f\x7f]", url):
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    host = parts.hostname or ""
    if host and not host.isascii():
        try:
            import idna  # IDNA 2008 with UTS 46 mapping, as browsers do; installed with httpx

            ascii_host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            ascii_host = quote(host, safe="")
        userinfo, at, _ = netloc.rpartition("@")
        port = netloc.rsplit(":", 1)[1] if parts.port is not None else ""
        netloc = f"{userinfo}{at}{ascii_host}" + (f":{port}" if port else "")

    def enc(part: str) -> str:
        return quote(part, safe=_URI_SAFE)

    return urlunsplit((parts.scheme, netloc, enc(parts.path), enc(parts.query), enc(parts.fragment)))


def normalise_article(article: Article, *, site_language: str) -> Article:
    """`article` by the rules above, its `notes` naming each change ("teaser: removed 1 U+FEFF … at start").

    The article keeps its `id` (made by its source from the URL as written): queues and `watch` know it by that.
    """
    notes: list[str] = list(article.notes)
    changes: dict[str, object] = {}
    for field in ("title", "teaser", "image_alt", "section", "author"):
        value = getattr(article, field)
        if not value:
            continue
        cleaned, found = clean_text(value, multiline=field == "teaser")
        notes += [f"{field}: {note}" for note in found]
        if cleaned != value:
            changes[field] = cleaned
    tags = []
    for number, tag in enumerate(article.tags, 1):
        cleaned, found = clean_text(tag)
        notes += [f"tag {number}: {note}" for note in found]
        if cleaned and cleaned not in tags:
            tags.append(cleaned)
    if tuple(tags) != article.tags:
        changes["tags"] = tuple(tags)
    for field in ("url", "image"):
        value = getattr(article, field)
        if not value:
            continue
        text, found = clean_text(value)
        notes += [f"{field}: {note}" for note in found]
        fixed = uri(text)
        if fixed != text:
            notes.append(f"{field}: percent-encoded to {fixed}")
        if fixed != value:
            changes[field] = fixed
    found_tag = language_tag(article.language) if article.language else None
    tag = found_tag or language_tag(site_language) or site_language
    if found_tag is None and article.language:
        notes.append(f"language: {article.language!r} is not a BCP 47 language tag with an ISO 639 language; "
                     f"the site's language {tag} is used")
    if tag != article.language:
        changes["language"] = tag
    if notes != list(article.notes):
        changes["notes"] = tuple(notes)
    return article._replace(**changes) if changes else article  # type: ignore[arg-type]
