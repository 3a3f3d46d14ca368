"""Article -> RenderedPost for one account: template, hashtags, UTM link, card, language, fitting.

What this returns is what goes out: the queue stores it and the worker sends it unchanged.
"""

from __future__ import annotations

import functools
import math
import re
import string
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sharebot import entities, facets, fitting, links, normalise
from sharebot.errors import ConfigError
from sharebot.models import Account, Article, Card, Issue, RenderedPost, Severity
from sharebot.networks import NETWORKS, NetworkSpec, Rules

FIELDS = ("title", "teaser", "link", "hashtags", "section", "author", "site")
_BLANK_RUNS = re.compile(r"\n{3,}")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def add_utm(url: str, params: Mapping[str, str], *, network: str, slug: str) -> str:
    """Append UTM parameters, keeping an existing query string byte for byte and any utm_* it already has."""
    if not params:
        return url
    parts = urlsplit(url)
    present = {key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    extra = [(k, v.format(network=network, slug=slug)) for k, v in params.items() if k not in present]
    if not extra:
        return url
    query = "&".join(q for q in (parts.query, urlencode(extra)) if q)
    return urlunsplit(parts._replace(query=query))


_TAG_SPLIT = re.compile(r"[\s\-–/.]+")
_NON_WORD = re.compile(r"[\W_]+")


def hashtag(tag: str) -> str | None:
    """`Wladimir Putin` -> `WladimirPutin`, `Außenpolitik` and `हिन्दी` stay whole; None when the tag would
    lose more than spacing and hyphens (`C++`, `AT&T`) or nothing usable is left."""
    words = [w for w in _TAG_SPLIT.split(nfc(tag).strip().lstrip("#＃")) if w]
    if len(words) > 1:
        words = [w[:1].upper() + w[1:] for w in words]
    body = "".join(words)
    # Letters, marks (Indic and Thai vowel signs are marks) and digits only; anything else would be lost.
    if not body or body.isdigit() or any(unicodedata.category(c)[0] not in "LMN" for c in body):
        return None
    if not any(unicodedata.category(c)[0] in "LN" for c in body):  # marks alone: a keycap "#️⃣" is an emoji
        return None
    return body if entities.bluesky_tag_fits(body) else None


def _words(text: str, *, already_nfc: bool = False) -> str:
    return " " + _NON_WORD.sub(" ", (text if already_nfc else nfc(text)).casefold()).strip() + " "


def hashtags(tags: Iterable[str], *, limit: int, text: str = "") -> list[str]:
    """Hashtags from tags: no duplicates (case-insensitive), none whose words the text already has (as a
    hashtag or in plain words: the post says it already), at most `limit`."""
    return _hashtags(tags, limit, _words(text))


def _hashtags(tags: Iterable[str], limit: int, in_text: str) -> list[str]:
    """`hashtags`, given the text's `_words`."""
    out: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        body = hashtag(tag)
        if body is None or body.casefold() in seen or _words(tag.lstrip("#＃")) in in_text:
            continue
        seen.add(body.casefold())
        out.append("#" + body)
        if len(out) >= limit:
            break
    return out


class Template:
    """`{field}` placeholders; a line whose fields are all empty disappears, blank runs collapse."""

    def __init__(self, source: str, *, where: str) -> None:
        self.lines: list[tuple[str, list[str]]] = []
        for line in source.split("\n"):
            try:
                names = [name for _, name, spec, conv in string.Formatter().parse(line) if name is not None]
            except ValueError as exc:
                raise ConfigError(f"{where}: template line {line!r}: {exc}") from None
            for _, name, spec, conversion in string.Formatter().parse(line):
                if name is None:
                    continue
                if name not in FIELDS:
                    raise ConfigError(f"{where}: template field {{{name}}} is not one of {', '.join(FIELDS)}")
                if spec or conversion:
                    raise ConfigError(f"{where}: template field {{{name}}}: write it plain, without "
                                      f"'!{conversion or ''}' or ':{spec or ''}'")
            self.lines.append((line, names))
        if not any(names for _, names in self.lines):
            raise ConfigError(f"{where}: template has no fields")

    def fill(self, values: Mapping[str, str]) -> str:
        out = []
        for line, names in self.lines:
            if names and not any(values.get(n) for n in names):
                continue
            out.append(line.format_map(values).rstrip())
        text = "\n".join(out)
        return (_BLANK_RUNS.sub("\n\n", text) if "\n\n\n" in text else text).strip()


def render(article: Article, account: Account, *, templates: Mapping[str, str], utm: Mapping[str, str],
           site_name: str = "", share_base: str | None = None, escape: bool = True) -> RenderedPost:
    """Render, fit and check one post. Problems are reported as `issues`, never raised.

    `share_base` is the server the post's share link goes to, where the network lets readers choose one.
    `escape` False leaves out the network's escaping of the article's words (a LinkedIn comment is not "little
    text")."""
    network = account.network
    spec = NETWORKS[network]
    rules = spec.rules.for_options(account.options)
    where = f"accounts.{account.name}"
    template = Template(account.template or templates.get(network.value) or rules.default_template, where=where)
    title, teaser = _bounded(nfc(article.title).strip(), rules), _bounded(nfc(article.teaser).strip(), rules)
    link = add_utm(article.url, utm if account.utm is None else account.utm, network=network.value,
                   slug=article.slug)
    limit = rules.default_max_hashtags if account.max_hashtags is None else account.max_hashtags
    # Both NFC, and nothing composes across a line break: the text is NFC without normalising it again.
    tags = _hashtags(article.tags, limit, _words(f"{title}\n{teaser}", already_nfc=True))
    # Fitting fills the template again for each candidate: each field is escaped once per distinct value.
    escaped = functools.lru_cache(maxsize=64)((spec.escape if escape else None) or _as_is)
    values = {
        "title": title, "teaser": teaser, "link": link, "hashtags": " ".join(tags),
        "section": nfc(article.section), "author": nfc(article.author), "site": nfc(site_name),
    }

    def fill(v: Mapping[str, str]) -> str:
        return template.fill({k: (escaped(x) if k in _ESCAPED else x) for k, x in v.items()})

    text, issues = _fit(rules, fill, values)
    cannot_fit = any(i.code == "cannot-fit" for i in issues)
    issues += [Issue(Severity.ERROR, code, message) for code, message in rules.problems(text)
               if not (cannot_fit and code == "empty")]
    issues += _warnings(article, account, spec, rules, text, link)
    description = card_description(teaser, spec.card_description_max, already_nfc=True)
    card = Card(uri=link, title=title, description=description, image=article.image, image_alt=nfc(article.image_alt))
    # A tag normalised where the article came in (normalise.language_tag) is kept as it is: this older rule
    # upper-cases every two-letter subtag, extensions' too (de-u-co-phonebk), and is only the fallback.
    language = normalise.language_tag(article.language) or language_tag(article.language)
    post_facets = tuple(facets.detect_facets(text)) if spec.facets else ()
    return RenderedPost(
        account=account.name, network=network, text=text, length=rules.measured(text), limit=rules.limit,
        unit=rules.unit, link=link, card=card, facets=post_facets,
        language=language.split("-")[0] if spec.primary_language_only else language,
        share_url=links.share_url(network, text=text, url=link, title=title, instance=share_base),
        issues=tuple(issues), image=article.image, image_alt=nfc(article.image_alt),
        options=_post_options(account, spec),
    )


_ESCAPED = ("title", "teaser", "section", "author", "site")
# How far past the last code point a post can hold fitting looks to decide a cut (a word or URL running on).
_CUT_LOOKAHEAD = 4160


def _bounded(text: str, rules: Rules) -> str:
    """The part of a field that fitting can ever use. Without it a 5 MB teaser is escaped, searched for words
    and measured whole on every try (seconds per post); text past the bound could never be in the post."""
    if rules.max_code_points_per_unit is None:
        return text
    bound = int(rules.limit * rules.max_code_points_per_unit) + _CUT_LOOKAHEAD
    return text if len(text) <= bound else text[:bound]


def _as_is(text: str) -> str:
    return text


def _fit(rules: Rules, fill: Callable[[Mapping[str, str]], str], values: dict[str, str]) -> tuple[str, list[Issue]]:
    """Shorten the teaser first, then drop hashtags, then shorten the title, until the text fits."""
    issues: list[Issue] = []
    original = dict(values)
    if rules.fits(fill(values)):
        return fill(values), issues
    for field in ("teaser", "hashtags", "title"):
        if not values[field]:
            continue
        before = values[field]
        if field == "hashtags":
            tags = before.split(" ")
            while tags and not rules.fits(fill({**values, "hashtags": " ".join(tags)})):
                tags.pop()
            values = {**values, "hashtags": " ".join(tags)}
        else:
            values = {**values, field: _shorten(rules, fill, values, field)}
        after = values[field]
        what = "dropped" if not after else "shortened"
        issues.append(Issue(Severity.WARNING, f"{field}-{what}", f"{field} {what} to fit {rules.limit} {rules.unit}"))
        if rules.fits(fill(values)):
            break
    if not values["title"] and original["teaser"]:
        # The title could not be kept whole (one word longer than the limit): give the teaser its room back.
        values = {**values, "teaser": _shorten(rules, fill, {**values, "teaser": original["teaser"]}, "teaser")}
    text = fill(values)
    if not text.strip():
        issues.append(Issue(Severity.ERROR, "cannot-fit",
                            f"no whole word of the title or teaser fits in {rules.limit} {rules.unit}"))
    return text, issues


# Words a cut should not end on ("…die Führer…" reads fine, "…Verbänden und die…" does not).
_DANGLING = frozenset("""der die das den dem des ein eine einer eines einem einen und oder aber mit von vom zu zum zur
im in am an auf aus für bei nach über unter vor seit durch gegen ohne um als wie dass sich nicht noch auch the a an
and or but of to in on at for with by from as that""".split())


def _shorten(rules: Rules, fill: Callable[[Mapping[str, str]], str], values: Mapping[str, str], field: str) -> str:
    """Fit `values[field]` into the post: whole sentences if they keep most of what a word cut would,
    else the longest word-boundary cut with an ellipsis that does not end on an article or preposition."""
    def fits(t: str) -> bool:
        return rules.fits(fill({**values, field: t}))

    text = values[field]  # NFC already (`render`), and a prefix of an NFC text is NFC
    cut = fitting.shorten(text, fits, avoid_ending=_DANGLING, already_nfc=True)
    kept = len(cut.rstrip("…").rstrip())
    # The longest run of whole sentences that fits needs no ellipsis at all.
    return fitting.longest_whole_sentences(text, fits, at_least=math.ceil(0.6 * kept)) or cut


def card_description(text: str, limit: int, *, already_nfc: bool = False) -> str:
    """`text` as a link card's description: whole when it has at most `limit` code points, else cut between
    words with an ellipsis (`already_nfc` as in `fitting.shorten`)."""
    if len(text) <= limit:
        return text
    return fitting.shorten(text, lambda t: len(t) <= limit, avoid_ending=_DANGLING, already_nfc=already_nfc)


def language_tag(code: str) -> str:
    """`pt_BR`/`PT-br` -> `pt-BR` (BCP 47, as Bluesky's langs want); empty -> `de`, the site's default."""
    parts = [p for p in (code or "de").replace("_", "-").split("-") if p]
    if not parts:
        return "de"
    return "-".join([parts[0].lower()] + [p.upper() if len(p) == 2 else p for p in parts[1:]])


def _warnings(article: Article, account: Account, spec: NetworkSpec, rules: Rules, text: str,
              link: str) -> list[Issue]:
    issues = []
    attached = bool(article.image and account.options.get("attach_image"))
    link_in_text = rules.link_placement == "text" or (spec.photo_needs_link_in_text and attached)
    # A link-only network's share link adds the article link when the text lacks it.
    if link_in_text and not spec.link_only and link not in text:
        why = f" (a {spec.label} image post takes no link attachment)" if spec.photo_needs_link_in_text else ""
        issues.append(Issue(Severity.ERROR, "link-missing",
                            f"the template leaves out {{link}}; the post would carry no link{why}"))
    if attached and spec.photo_replaces_card:
        issues.append(Issue(Severity.WARNING, "photo-replaces-card",
                            "the attached photo takes the place of the link card in this post"))
    if spec.card_from_first_link and not attached:
        urls = entities.find_urls(text, require_protocol=True, style=spec.entity_style)
        first = next((u.value for u in urls), None)
        if first and first != link:
            issues.append(Issue(Severity.WARNING, "card-from-other-link",
                                f"{spec.label} builds the card from the first link, {first}, not the article"))
    if spec.notifies_mentions:
        mentions = [m.text for m in entities.find_mentions(text, style=spec.entity_style)]
        if mentions:
            issues.append(Issue(Severity.WARNING, "mention",
                                f"{', '.join(mentions)} will be notified (the text mentions them)"))
    if rules.builds_card and not article.image:
        issues.append(Issue(Severity.WARNING, "no-image", "the article has no image: the link card has no thumbnail"))
    if article.image and not article.image_alt:
        issues.append(Issue(Severity.WARNING, "no-alt-text", "the article image has no alt text"))
    return issues


def _post_options(account: Account, spec: NetworkSpec) -> dict[str, object]:
    return {k: account.options[k] for k, option in spec.options.items() if option.on_post and k in account.options}
