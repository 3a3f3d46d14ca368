"""A directory of Markdown files, each with YAML front matter between `---` fences, as articles.

    ---
    title: Putin und Xi stärken strategische Partnerschaft in Videogespräch
    teaser: Putin und Xi führten ein Videogespräch, ...
    section: Geopolitik
    tags: [Russland, China]
    published_at: 2026-02-04T18:30:00+01:00
    ---
    Body (not used for posts).

Files are parsed on demand and cached by modification time, so `get(slug)` reads one file when the file
is named after the slug, and a long-running worker sees edits. `scan()` reads them all and skips (and
names) the files it cannot read, so one broken file does not hide the others from `watch`.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import yaml

from sharebot.errors import ArticleError
from sharebot.models import Article
from sharebot.scrub import one_line
from sharebot.sources.common import (
    BadItem,
    Scan,
    canonical_url,
    clean,
    clean_slug,
    clean_tags,
    fingerprint,
    newest_first,
    parse_when,
    unknown_slug,
    zone_named,
)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loading, via libyaml when present (several times faster, same error marks).

    Timestamps stay strings: PyYAML turns `2026-13-45` into a bare ValueError without a line, and
    `parse_when` reports them better.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}

_FENCE = "---"
_FIRST_FIELD_LINE = 2  # the opening fence is line 1
_SLUG_LINE = re.compile(r"""^slug[ \t]*:[ \t]*['"]?(.*?)['"]?[ \t]*$""", re.MULTILINE)
_BAD_SLUG = re.compile(r"[\s/\\?#]")


class ContentSource:
    def __init__(self, directory: str | Path, *, base_url: str, language: str, timezone: str | None = None):
        self.directory = Path(directory)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.language = language
        self.zone = zone_named(timezone)
        self._cache: dict[Path, tuple[int, Article]] = {}

    def __repr__(self) -> str:
        return f"ContentSource({str(self.directory)!r})"

    # --- Source ----------------------------------------------------------------------------------
    def get(self, slug: str) -> Article:
        named = self.directory / f"{slug}.md"
        if slug and not _BAD_SLUG.search(slug) and not slug.startswith(".") and named.is_file():
            article = self._read(named)
            if article.slug == slug:
                return article
        # Not named after its slug: only files that declare `slug:` can hold it.
        found = [a for p, s in self._declared_slugs().items() if s == slug and p != named
                 for a in [self._read(p)] if a.slug == slug]
        if len(found) > 1:
            raise _duplicate(slug, found[0].source, found[1].source)
        if found:
            return found[0]
        raise unknown_slug(slug, str(self.directory), self._known_slugs())

    def articles(self) -> list[Article]:
        """Every article, newest first; the first file that cannot be read is an ArticleError."""
        scan = self.scan()
        if scan.bad:
            raise ArticleError(scan.bad[0].reason)
        return scan.articles

    def scan(self) -> Scan:
        """Every readable article, newest first, and each file skipped with why. A second file with the slug
        or the URL of another is skipped: the first one in name order keeps it."""
        by_slug: dict[str, Article] = {}
        by_id: dict[str, Article] = {}
        bad = []
        for path in self._files():
            try:
                article = self._read(path)
            except ArticleError as exc:
                bad.append(BadItem(str(path), str(exc), _file_fingerprint(path)))
                continue
            if article.slug in by_slug or article.id in by_id:
                first = by_slug.get(article.slug) or by_id[article.id]
                problem = (_duplicate(article.slug, first.source, article.source) if article.slug == first.slug
                           else ArticleError(f"{article.source}: field 'url': {article.url} is the article of "
                                             f"{first.source} already"))
                bad.append(BadItem(str(path), str(problem), _file_fingerprint(path, first.source)))
                continue
            by_slug[article.slug] = by_id[article.id] = article
        return Scan(newest_first(by_slug.values()), bad)

    # --- files -----------------------------------------------------------------------------------
    def _files(self) -> list[Path]:
        if not self.directory.is_dir():
            raise ArticleError(f"{self.directory}: content directory not found")
        return sorted(p for p in self.directory.glob("*.md") if p.is_file() and not p.name.startswith("."))

    def _declared_slugs(self) -> dict[Path, str]:
        """Explicit `slug:` lines, found with a cheap scan of each front matter instead of a YAML parse."""
        declared = {}
        for path in self._files():
            try:
                head = _front_matter(path, path.read_text(encoding="utf-8-sig"))[0]
            except (ArticleError, OSError, UnicodeDecodeError):
                continue  # reported when the file itself is asked for
            match = _SLUG_LINE.search(head)
            if match:
                declared[path] = clean_slug(match.group(1))
        return declared

    def _known_slugs(self) -> list[str]:
        declared = self._declared_slugs()
        return [declared.get(p, p.stem) for p in self._files()]

    def _read(self, path: Path) -> Article:
        try:
            stamp = path.stat().st_mtime_ns
            cached = self._cache.get(path)
            if cached and cached[0] == stamp:
                return cached[1]
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ArticleError(f"{path}: not UTF-8 text (byte {exc.start})") from None
        except OSError as exc:
            raise ArticleError(f"{path}: cannot read: {exc.strerror or exc}") from None
        article = self._parse(path, text)
        self._cache[path] = (stamp, article)
        return article

    # --- parsing ---------------------------------------------------------------------------------
    def _parse(self, path: Path, text: str) -> Article:
        head, _ = _front_matter(path, text)
        try:
            data = yaml.load(head, Loader=_Loader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + _FIRST_FIELD_LINE if mark else _FIRST_FIELD_LINE
            what = exc.problem or exc.context or "cannot parse"
            raise ArticleError(f"{path}:{line}: invalid YAML front matter: {one_line(what)}") from None
        except (yaml.YAMLError, ValueError, TypeError) as exc:
            problem = one_line(exc)
            raise ArticleError(f"{path}:{_FIRST_FIELD_LINE}: invalid YAML front matter: {problem}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ArticleError(f"{path}:{_FIRST_FIELD_LINE}: front matter must be fields (key: value), "
                               f"got {_kind(data)}")
        fields = _Fields(path, head, data, self.base_url)

        title = fields.text("title")
        if not title:
            raise ArticleError(f"{path}: missing field 'title'")
        slug = clean_slug(fields.text("slug") or path.stem)
        if _BAD_SLUG.search(slug):
            raise fields.error("slug", f"'{slug}' must not contain spaces, '/', '?' or '#'")
        published_at = None
        if data.get("published_at") is not None:
            try:
                published_at = parse_when(data["published_at"], self.zone)
            except ValueError as exc:
                raise fields.error("published_at", str(exc)) from None
        url = fields.url("url") or urljoin(self.base_url, slug)
        return Article(
            slug=slug,
            title=title,
            url=url,
            teaser=fields.text("teaser", collapse=False),
            image=fields.url("image") or None,
            image_alt=fields.text("image_alt"),
            tags=fields.tags(),
            section=fields.text("section"),
            language=fields.text("language") or self.language,
            published_at=published_at,
            author=fields.text("author"),
            source=str(path),
            id=canonical_url(url),
        )


class _Fields:
    """Typed access to one file's front matter; errors name the file, the line and the field."""

    def __init__(self, path: Path, head: str, data: dict[Any, Any], base_url: str):
        self.path, self.lines, self.data, self.base_url = path, head.splitlines(), data, base_url

    def error(self, key: str, problem: str) -> ArticleError:
        line = next((i + _FIRST_FIELD_LINE for i, text in enumerate(self.lines)
                     if re.match(rf"{re.escape(key)}\s*:", text)), _FIRST_FIELD_LINE)
        return ArticleError(f"{self.path}:{line}: field '{key}': {problem}")

    def text(self, key: str, *, collapse: bool = True) -> str:
        value = self.data.get(key)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.error(key, f"expected text, got {_kind(value)}")
        return clean(str(value), collapse=collapse)

    def url(self, key: str) -> str:
        value = self.text(key)
        if not value:
            return ""
        # A site-relative path ("/bilder/a.jpg") is resolved against the site's base URL.
        resolved = urljoin(self.base_url, value)
        if urlsplit(resolved).scheme.lower() not in ("http", "https") or not urlsplit(resolved).netloc:
            raise self.error(key, f"'{value}' is not an http(s) URL")
        return resolved

    def tags(self) -> tuple[str, ...]:
        value = self.data.get("tags")
        if value is None:
            return ()
        if isinstance(value, str):
            return clean_tags(value.split(","))
        if not isinstance(value, list):
            raise self.error("tags", f"expected a list or a comma-separated string, got {_kind(value)}")
        for number, item in enumerate(value, 1):
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                raise self.error("tags", f"item {number} should be text, got {_kind(item)}")
        return clean_tags(str(item) for item in value)


def _front_matter(path: Path, text: str) -> tuple[str, int]:
    """The YAML between the fences and the line number of the closing fence."""
    lines = text.splitlines()
    if not lines or lines[0].rstrip() != _FENCE:
        raise ArticleError(f"{path}:1: no front matter; the file must start with a '---' line")
    for number, line in enumerate(lines[1:], _FIRST_FIELD_LINE):
        if line.rstrip() in (_FENCE, "..."):
            return "\n".join(lines[1:number - 1]) + "\n", number
    raise ArticleError(f"{path}:1: front matter is not closed; add a '---' line after the fields")


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _file_fingerprint(path: Path, *context: str) -> str:
    """The file's content (or, unreadable, its error), with `context`: what makes the same failure recur."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        data = f"unreadable: {exc.errno}".encode()
    return fingerprint(str(path), data, *context)


def _duplicate(slug: str, first: str, second: str) -> ArticleError:
    return ArticleError(f"duplicate slug '{slug}' in {first} and {second}")
