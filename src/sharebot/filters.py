"""Which articles an account takes when they arrive on their own (`sharebot watch`). Pure.

An account's `filter` table in the config: `sections`, `tags`, `languages` (include: the article must
match one, when the list is given) and `exclude_sections`, `exclude_tags`, `exclude_languages` (the
article must match none). Matching ignores case and Unicode normalisation.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any, NamedTuple

from sharebot.errors import ConfigError
from sharebot.models import Article

KEYS = ("sections", "tags", "languages", "exclude_sections", "exclude_tags", "exclude_languages")


def _fold(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip().casefold()


class ArticleFilter(NamedTuple):
    sections: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    exclude_sections: frozenset[str] = frozenset()
    exclude_tags: frozenset[str] = frozenset()
    exclude_languages: frozenset[str] = frozenset()

    def accepts(self, article: Article) -> bool:
        section = _fold(article.section)
        language = _fold(article.language).replace("_", "-")
        languages = {language, language.split("-")[0]}  # "de" takes de-DE and de-AT
        tags = {_fold(t) for t in article.tags}
        if self.sections and section not in self.sections:
            return False
        if self.tags and not tags & self.tags:
            return False
        if self.languages and not languages & self.languages:
            return False
        return not (section in self.exclude_sections or tags & self.exclude_tags
                    or bool(languages & self.exclude_languages))

    def why_not(self, article: Article) -> str:
        return "" if self.accepts(article) else f"filtered out (section {article.section!r}, " \
            f"language {article.language!r}, tags {list(article.tags)})"


ACCEPT_ALL = ArticleFilter()


def parse_filter(raw: Any, *, where: str) -> ArticleFilter:
    if raw is None:
        return ACCEPT_ALL
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a table with any of {', '.join(KEYS)}")
    values: dict[str, frozenset[str]] = {}
    for key, value in raw.items():
        if key not in KEYS:
            raise ConfigError(f"{where}.{key}: unknown filter (known: {', '.join(KEYS)})")
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{where}.{key}: expected a list of names, got {value!r}")
        values[key] = frozenset(_fold(v) for v in value)
    return ArticleFilter(**values)
