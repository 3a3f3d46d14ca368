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
- the language is a well-formed BCP 47 tag whose primary subtag is an ISO 639 code (two letters: ISO 639-1,
  three: ISO 639-2/3), written in the registry's case (`de-DE`, `zh-Hant-TW`); anything else falls back to the
  site's language; Mastodon gets its primary subtag (`de`), Bluesky the whole tag;
- URLs: characters a URI cannot hold (non-ASCII, spaces, quotes, angle brackets) are percent-encoded as UTF-8,
  and a non-ASCII host becomes its IDNA (punycode) form.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from urllib.parse import quote, urlsplit, urlunsplit

from sharebot.models import Article

# Characters that are never kept (see the rules above).
_REMOVED = frozenset([0xFEFF, 0x200B, 0x2060, 0x00AD, *range(0x202A, 0x202F), *range(0x2066, 0x206A),
                      *range(0x2061, 0x2065), *range(0x206A, 0x2070), *range(0xFFF9, 0xFFFC)])
_JOINERS = frozenset([0x200C, 0x200D])
_BREAKS = frozenset("\n\r\x85\u2028\u2029\x0b\x0c")
_BLACK_FLAG = "\U0001F3F4"  # an emoji tag sequence starts with it (e.g. the flag of Scotland)
# A quick look for anything the rules could change; text without any of these (and already NFC) is left alone.
_INVISIBLE = ("\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200d\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
              "\U000e0000-\U000e007f")
_SUSPECT = re.compile(f"\r\n|[{_INVISIBLE}]")
_VISIBLE = re.compile(f"[^\\s{_INVISIBLE}]")
_LAST_VISIBLE = re.compile(f"[^\\s{_INVISIBLE}][\\s{_INVISIBLE}]*\\Z")
_SPACES = re.compile(r"[ \t\n\r\f\v]+")


def _name(ch: str) -> str:
    cp = ord(ch)
    return f"U+{cp:04X} {unicodedata.name(ch, 'control character')}"


def _where(positions: list[str]) -> str:
    kinds = [k for k in ("at start", "inside", "at end") if k in positions]
    return " and ".join(kinds)


def _joinable(ch: str) -> bool:
    """Can a ZWJ or ZWNJ next to `ch` do anything (a letter, mark, digit, symbol such as an emoji)?"""
    return unicodedata.category(ch)[0] in "LMNS" or ch == "\ufe0f"


def clean_text(value: str, *, multiline: bool = False) -> tuple[str, list[str]]:
    """`value` by the rules, and what was changed (without the field name), e.g. "removed 1 U+FEFF … at start"."""
    text = value
    notes: list[str] = []
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
        notes.append("composed to Unicode NFC")
    if _SUSPECT.search(text):
        text, found = _scrub(text, multiline)
        notes += found
    if multiline:
        text = "\n".join(line.rstrip(" \t") for line in text.split("\n")).strip()
    else:
        text = _SPACES.sub(" ", text).strip()
    return text, notes


def _scrub(text: str, multiline: bool) -> tuple[str, list[str]]:
    removed: dict[str, list[str]] = {}
    replaced: dict[str, int] = {}
    visible = [m.start() for m in (_VISIBLE.search(text),) if m]
    last = _LAST_VISIBLE.search(text)
    first_seen, last_seen = (visible[0] if visible else len(text)), (last.start() if last else -1)

    def one(match: re.Match[str]) -> str:
        ch, i = match.group(), match.start()
        if ch == "\r\n" or ch in _BREAKS:
            if ch not in ("\n", "\r", "\r\n"):
                replaced[_name(ch)] = replaced.get(_name(ch), 0) + 1
            return "\n" if multiline else " "
        if ch == "\t":
            return " "
        cp = ord(ch)
        if cp in _JOINERS:
            before, after = text[i - 1:i], text[i + 1:i + 2]
            if before and after and _joinable(before) and _joinable(after):
                return ch
        elif 0xE0020 <= cp <= 0xE007F:
            # Kept only in an emoji tag sequence: the black flag, tag characters, U+E007F CANCEL TAG.
            j = i - 1
            while j >= 0 and 0xE0020 <= ord(text[j]) <= 0xE007E:
                j -= 1
            if j >= 0 and text[j] == _BLACK_FLAG:
                return ch
        where = "at start" if i < first_seen else "at end" if i > last_seen else "inside"
        removed.setdefault(_name(ch), []).append(where)
        return ""

    out = _SUSPECT.sub(one, text)
    notes = [f"removed {len(places)} {name} {_where(places)}" for name, places in removed.items()]
    into = "a line break" if multiline else "a space"
    notes += [f"replaced {count} {name} with {into}" for name, count in replaced.items()]
    return out, notes


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


def normalise_article(article: Article, *, site_language: str,
                      identity: Callable[[str], str] | None = None) -> Article:
    """`article` by the rules above, its `notes` naming each change ("teaser: removed 1 U+FEFF … at start").

    `identity` makes an article's id from its URL (`sources.common.canonical_url`); an id made from the URL as
    it came is made again from the URL as it is now, so two spellings of one URL are one article."""
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
    if "url" in changes and identity is not None and article.id == identity(article.url):
        changes["id"] = identity(str(changes["url"]))
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
