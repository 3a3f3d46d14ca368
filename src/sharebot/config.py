"""Settings from `config/sharebot.toml` plus the environment (and `.env`).

The config file is safe to commit: it names accounts, templates and sources, and refers to secrets only by
environment-variable name. Values come from the environment passed in (the CLI passes os.environ), then from
`.env` next to the config file, then from `.env` in the working directory (README.md, "Secrets"). Relative
paths in the file are relative to the file's folder.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from sharebot.credentials import Secret
from sharebot.errors import ConfigError
from sharebot.fetch import FetchPolicy
from sharebot.filters import ArticleFilter, parse_filter
from sharebot.models import Account
from sharebot.networks import NETWORKS, Network, NetworkSpec
from sharebot.scheduler import Schedule, duration_seconds, parse_schedule

DEFAULT_CONFIG = Path("config/sharebot.toml")
DEFAULT_UTM = {"utm_source": "{network}", "utm_medium": "social", "utm_campaign": "{slug}"}

_SITE_KEYS = {"name", "base_url", "language", "timezone"}
_QUEUE_NUMBERS = {"timeout_seconds": float, "retry_base_seconds": float, "retry_cap_seconds": float,
                  "max_attempts": int, "lease_seconds": float, "handoff_seconds": float}
_QUEUE_KEYS = {"database", "state_dir", "keep_history", *_QUEUE_NUMBERS}
_ACCOUNT_KEYS = {"network", "secrets", "template", "max_hashtags", "utm", "enabled", "schedule", "filter"}
# A secrets table names variables (POSIX: upper-case letters, digits and underscores, not starting with a digit).
_VARIABLE = re.compile(r"[A-Z_][A-Z0-9_]*")
_TOP_KEYS = {"site", "source", "queue", "templates", "utm", "accounts", "schedule", "watch", "fetch"}


class Site(NamedTuple):
    name: str
    base_url: str
    language: str = "de"
    timezone: str = "Europe/Berlin"


# `[templates]` entries besides the networks': the line a correction posts as a reply (`sharebot.lifecycle`).
ANSWER_TEMPLATES = frozenset({"correction"})


class SourceConfig(NamedTuple):
    kind: str  # "content" | "feed"
    location: str  # a directory, a file path or a URL


class WatchConfig(NamedTuple):
    """`[watch]`: what `sharebot watch` polls besides the configured source, and how often."""

    interval: float = 300.0  # seconds
    feeds: tuple[str, ...] = ()


class Settings(NamedTuple):
    path: Path
    site: Site
    source: SourceConfig
    accounts: tuple[Account, ...]
    database: str
    state_dir: Path
    templates: Mapping[str, str] = MappingProxyType({})
    utm: Mapping[str, str] = MappingProxyType(DEFAULT_UTM)
    env: Mapping[str, str] = MappingProxyType({})  # the whole environment: never shown (see __repr__)
    raw: Mapping[str, Any] = MappingProxyType({})
    schedules: Mapping[str, Schedule] = MappingProxyType({})  # account -> when its posts go out
    filters: Mapping[str, ArticleFilter] = MappingProxyType({})  # account -> what `watch` gives it
    watch: WatchConfig | None = None
    fetch: FetchPolicy = FetchPolicy()  # which non-public hosts pages, feeds and article images may come from

    def __repr__(self) -> str:
        return f"Settings(path={str(self.path)!r}, site={self.site!r}, accounts={[a.name for a in self.accounts]})"

    def account(self, name: str) -> Account:
        for account in self.accounts:
            if account.name == name:
                return account
        known = ", ".join(a.name for a in self.accounts) or "none"
        raise ConfigError(f"{self.path}: no account {name!r} (configured: {known})")

    def secret_vars(self, account: Account) -> dict[str, str]:
        """Credential field -> environment variable, for required and optional credentials."""
        return dict(account.secrets)

    def credentials(self, account: Account) -> dict[str, Secret]:
        """The account's secrets that are set, as `Secret` values that never show in repr."""
        found = {}
        for name, var in self.secret_vars(account).items():
            value = self.env.get(var, "").strip()
            if value:
                found[name] = Secret(value)
        return found


def load_settings(
    path: Path | str | None,
    env: Mapping[str, str],
    *,
    content_dir: str | None = None,
    dotenv_path: Path | None = None,
) -> Settings:
    """Read and check the config. `path` None means $SHAREBOT_CONFIG or config/sharebot.toml."""
    if dotenv_path is not None:
        merged_env = {**_dotenv(dotenv_path), **env}
        config_path = Path(path or merged_env.get("SHAREBOT_CONFIG") or DEFAULT_CONFIG)
    else:
        here = _dotenv(Path(".env"))
        config_path = Path(path or env.get("SHAREBOT_CONFIG") or here.get("SHAREBOT_CONFIG") or DEFAULT_CONFIG)
        # The config's own .env wins over the working directory's: it belongs to the site the config names,
        # wherever a cron job starts from; the environment wins over both.
        beside = config_path.parent / ".env"
        merged_env = {**here, **(_dotenv(beside) if not _same_file(beside, Path(".env")) else {}), **env}
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: config file not found (use --config or SHAREBOT_CONFIG)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config_path}: cannot read ({exc})") from None
    return _parse(raw, config_path, merged_env, content_dir or merged_env.get("SHAREBOT_CONTENT_DIR"))


def _dotenv(path: Path) -> dict[str, str]:
    """The variables a .env file sets; none when there is no such file."""
    if not path.is_file():
        return {}
    # python-dotenv (with logging, tempfile, ...) costs ~8 ms to import: only when there is a file to read
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _parse(raw: Mapping[str, Any], path: Path, env: Mapping[str, str], content_dir: str | None) -> Settings:
    where = str(path)
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown section {sorted(unknown)[0]!r}")
    base = path.parent
    site_raw = _table(raw, "site", where)
    _known(site_raw, _SITE_KEYS, f"{where}: site")
    site = Site(
        name=_str(site_raw, "name", f"{where}: site", required=True),
        base_url=_url(site_raw, "base_url", where),
        language=_language(site_raw, where),
        timezone=_timezone(site_raw, where),
    )
    source = _source(_table(raw, "source", where, required=False), base, where, content_dir)
    queue_raw = _table(raw, "queue", where, required=False)
    _known(queue_raw, _QUEUE_KEYS, f"{where}: queue")
    for key, kind in _QUEUE_NUMBERS.items():
        value = queue_raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or value <= 0 or (kind is int and not isinstance(value, int))):
            raise ConfigError(f"{where}: queue.{key}: expected a positive {'whole ' if kind is int else ''}number, "
                              f"got {value!r}")
    keep = f"{where}: queue.keep_history"
    if "keep_history" in queue_raw and duration_seconds(queue_raw["keep_history"], where=keep) < 86400:
        raise ConfigError(f"{keep}: keep at least 1d (the scheduler spaces posts by the last day's)")
    database = env.get("SHAREBOT_DATABASE_URL") or _str(queue_raw, "database", f"{where}: queue") or "var/sharebot.db"
    if database.startswith("sqlite:///"):  # the URL form of a SQLite file: a path like any other from here on
        database = database.removeprefix("sqlite:///") or ":memory:"
    if "://" not in database and database != ":memory:":
        database = str(base / database)
    state_dir = base / (_str(queue_raw, "state_dir", f"{where}: queue") or "var/state")
    templates = _table(raw, "templates", where, required=False)
    for key, value in templates.items():
        if key not in {n.value for n in Network} | ANSWER_TEMPLATES or not isinstance(value, str):
            raise ConfigError(f"{where}: templates.{key}: expected a network name (or "
                              f"{', '.join(sorted(ANSWER_TEMPLATES))}) with a template string")
    utm = _utm(raw.get("utm", DEFAULT_UTM), f"{where}: utm")
    _check_templates(templates, f"{where}: templates")
    account_specs = _table(raw, "accounts", where)
    accounts = tuple(_account(name, spec, where) for name, spec in account_specs.items())
    if not accounts:
        raise ConfigError(f"{where}: accounts: no account configured")
    default_schedule = raw.get("schedule")
    schedules = {
        name: parse_schedule(spec.get("schedule", default_schedule), zone=site.timezone,
                             where=f"{where}: accounts.{name}.schedule" if "schedule" in spec else f"{where}: schedule")
        for name, spec in account_specs.items()
    }
    filters = {name: parse_filter(spec.get("filter"), where=f"{where}: accounts.{name}.filter")
               for name, spec in account_specs.items()}
    watch = _watch(raw.get("watch"), base, where)
    return Settings(path, site, source, accounts, database, state_dir, templates, utm, env, raw,
                    MappingProxyType(schedules), MappingProxyType(filters), watch, _fetch(raw.get("fetch"), where))


def _fetch(raw: Any, where: str) -> FetchPolicy:
    if raw is None:
        return FetchPolicy()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: fetch: expected a table")
    _known(raw, {"allow_private"}, f"{where}: fetch")
    allowed = raw.get("allow_private", [])
    if not isinstance(allowed, list) or not all(isinstance(a, str) and a.strip() for a in allowed):
        raise ConfigError(f"{where}: fetch.allow_private: expected a list of addresses, networks or host names")
    return FetchPolicy(tuple(allowed))


def _watch(raw: Any, base: Path, where: str) -> WatchConfig:
    if raw is None:
        return WatchConfig()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: watch: expected a table")
    for key in raw:
        if key not in ("interval", "feeds"):
            raise ConfigError(f"{where}: watch.{key}: unknown setting (known: interval, feeds)")
    interval = raw.get("interval", "5m")
    seconds = duration_seconds(interval, where=f"{where}: watch.interval")
    if seconds <= 0:
        raise ConfigError(f"{where}: watch.interval: {interval!r} must be longer than 0")
    feeds = raw.get("feeds", [])
    if not isinstance(feeds, list) or not all(isinstance(f, str) and f for f in feeds):
        raise ConfigError(f"{where}: watch.feeds: expected a list of feed files or URLs")
    return WatchConfig(seconds, tuple(f if "://" in f else str(base / f) for f in feeds))


def _known(table: Mapping[str, Any], keys: Collection[str], where: str) -> None:
    for key in table:
        if key not in keys:
            raise ConfigError(f"{where}.{key}: unknown setting (known: {', '.join(sorted(keys)) or 'none'})")


def _check_templates(templates: Mapping[str, str], where: str) -> None:
    from sharebot.render import Template

    for key, source in templates.items():
        Template(source, where=f"{where}.{key}")


def _table(raw: Mapping[str, Any], key: str, where: str, required: bool = True) -> Mapping[str, Any]:
    value = raw.get(key)
    if value is None:
        if required:
            raise ConfigError(f"{where}: missing section [{key}]")
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key}: expected a table")
    return value


def _str(table: Mapping[str, Any], key: str, where: str, required: bool = False) -> str:
    value = table.get(key)
    if value is None or value == "":
        if required:
            raise ConfigError(f"{where}.{key}: missing")
        return ""
    if not isinstance(value, str):
        raise ConfigError(f"{where}.{key}: expected a string, got {value!r}")
    return value


def _url(table: Mapping[str, Any], key: str, where: str) -> str:
    value = _str(table, key, f"{where}: site", required=True)
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: site.{key}: {value!r} is not an http(s) URL")
    return value if value.endswith("/") else value + "/"


def _language(table: Mapping[str, Any], where: str) -> str:
    from sharebot.normalise import language_tag

    raw = _str(table, "language", f"{where}: site") or "de"
    tag = language_tag(raw)
    if tag is None:
        raise ConfigError(f"{where}: site.language: {raw!r} is not a BCP 47 language tag with an ISO 639 language "
                          "(such as de, en-GB)")
    return tag


def _timezone(table: Mapping[str, Any], where: str) -> str:
    name = _str(table, "timezone", f"{where}: site") or "Europe/Berlin"
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: site.timezone: unknown time zone {name!r}") from None
    return name


def _source(table: Mapping[str, Any], base: Path, where: str, content_dir: str | None) -> SourceConfig:
    if content_dir:
        return SourceConfig("content", content_dir)
    kinds = [k for k in ("content", "feed") if table.get(k)]
    if len(kinds) != 1:
        raise ConfigError(f"{where}: source: set exactly one of 'content' (a directory) or 'feed' (a file or URL)")
    location = _str(table, kinds[0], f"{where}: source")
    if "://" not in location:
        location = str(base / location)
    return SourceConfig(kinds[0], location)


def _utm(value: Any, where: str) -> dict[str, str]:
    if value is False:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{where}: expected a table of strings, or false")
    import string

    for key, text in value.items():
        try:
            fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(text)
                      if name is not None]
        except ValueError as exc:
            raise ConfigError(f"{where}.{key}: {text!r}: {exc}") from None
        for name, spec, conversion in fields:
            # Plain names only: "{slug.__class__}" or "{slug[0]}" would reach into Python objects.
            if name not in ("network", "slug") or spec or conversion:
                field = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
                raise ConfigError(f"{where}.{key}: {field} is not a placeholder; only {{network}} and {{slug}} "
                                  "can be filled in")
    return dict(value)


def _account(name: str, spec: Any, where: str) -> Account:
    at = f"{where}: accounts.{name}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{at}: expected a table")
    network_name = spec.get("network")
    try:
        network = Network(str(network_name))
    except ValueError:
        choices = ", ".join(n.value for n in Network)
        raise ConfigError(f"{at}.network: {network_name!r} is not one of {choices}") from None
    declared = NETWORKS[network]
    secrets = spec.get("secrets", {})
    if not isinstance(secrets, dict) or not all(isinstance(v, str) for v in secrets.values()):
        raise ConfigError(f"{at}.secrets: expected a table of environment variable names")
    allowed = declared.secret_fields
    for key, variable in secrets.items():
        if key not in allowed:
            raise ConfigError(f"{at}.secrets.{key}: {network} takes {', '.join(sorted(allowed)) or 'no secrets'}")
        if not _VARIABLE.fullmatch(variable):
            # Most likely the secret itself, pasted: never shown, not even in this message.
            raise ConfigError(f"{at}.secrets.{key}: the value is not an environment variable name (capital letters, "
                              "digits and _); put the secret in the environment or .env and name its variable here")
    # Credentials each network takes; the value is read from the variable the account names in
    # `secrets = {field = "VAR"}`, or from SHAREBOT_<ACCOUNT>_<FIELD> when the account names none.
    prefix = "SHAREBOT_" + name.upper().replace("-", "_")
    secrets = {f: secrets.get(f, f"{prefix}_{f.upper()}") for f in allowed}
    options = {k: v for k, v in spec.items() if k not in _ACCOUNT_KEYS}
    _check_options(options, declared, at)
    max_hashtags = spec.get("max_hashtags")
    if max_hashtags is not None and (isinstance(max_hashtags, bool) or not isinstance(max_hashtags, int)
                                     or max_hashtags < 0):
        raise ConfigError(f"{at}.max_hashtags: expected a whole number >= 0, got {max_hashtags!r}")
    template = spec.get("template")
    if template is not None and not isinstance(template, str):
        raise ConfigError(f"{at}.template: expected a string")
    if template is not None:
        _check_templates({"template": template}, at)
    enabled = spec.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{at}.enabled: expected true or false, got {enabled!r}")
    utm = _utm(spec["utm"], f"{at}.utm") if "utm" in spec else None
    return Account(name, network, options, secrets, template, max_hashtags, utm, enabled)


def _check_options(options: Mapping[str, Any], declared: NetworkSpec, at: str) -> None:
    """The account's network settings, against what its network declares: a typo, a wrong type or a
    missing required setting would otherwise only show when the adapter first posts."""
    _known(options, declared.options.keys(), at)
    for key, option in declared.options.items():
        value = options.get(key)
        if value is None or value == "":
            if option.required:
                raise ConfigError(f"{at}.{key}: missing ({declared.network} needs it)")
            continue
        problem = option.problem(value)
        if problem:
            raise ConfigError(f"{at}.{key}: {problem}")
