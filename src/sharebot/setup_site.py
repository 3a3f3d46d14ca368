"""`sharebot init`: a config file and a `.env` for a new site, from given answers or from questions.

Every answer is checked before anything is written: the site's name, an http(s) base URL, a language tag, an
IANA time zone, the article source (a content directory, a feed file or a feed URL), the networks (names from
the registry) and each chosen network's required account settings. The config text is then loaded with the real
config loader; only a config that loads is put in place. Both files appear whole or not at all (written beside
their target and moved in), an existing file is never replaced without `force`, and `.env` is private (0600)
and holds variable names only: the person fills in the values.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from sharebot.errors import ConfigError
from sharebot.files import temporary_beside
from sharebot.networks import NETWORKS, Network, NetworkSpec, Option

# A BCP 47 tag as sites write them: a language (ISO 639, 2-3 letters), an optional script and region (de, pt-BR,
# zh-Hant-TW, es-419).
_FEED_SUFFIXES = (".xml", ".rss", ".atom", ".json")
_MAX_ASKS = 3


class Question(NamedTuple):
    """What `ask` is handed for an answer that was not given."""

    key: str  # "name", "base_url", … or "<network>.<option>"
    text: str  # the question as a person reads it
    default: str | None = None  # what an empty answer means


class SiteAnswers(NamedTuple):
    """Everything a new site's config is made from, each value checked."""

    name: str
    base_url: str
    language: str
    timezone: str
    source_kind: str  # "content" | "feed"
    source: str  # a directory or file (absolute), or a feed URL
    networks: tuple[Network, ...]
    options: Mapping[Network, Mapping[str, Any]]  # each network's account settings beyond the defaults


class InitResult(NamedTuple):
    config: Path
    env: Path
    accounts: tuple[str, ...]
    variables: tuple[str, ...]  # the names written to .env, for the person to fill in


Ask = Callable[[Question], str]

QUESTIONS = {
    "name": Question("name", "Site name", None),
    "base_url": Question("base_url", "Site address (https://…)", None),
    "language": Question("language", "Language of the articles (de, en, pt-BR, …)", "de"),
    "timezone": Question("timezone", "Time zone (IANA, e.g. Europe/Berlin)", "Europe/Berlin"),
    "source": Question("source", "Articles: a content directory, a feed file or a feed URL", None),
    "networks": Question("networks", "Networks, comma-separated (" + ", ".join(n.value for n in Network) + ")",
                         ",".join(n.value for n in Network)),
}


# --- checks: each returns the value to use or raises one line naming the field ----------------------------------
def check_name(value: str) -> str:
    name = value.strip()
    if not name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ConfigError(f"init: name: {value!r} must be one line of text")
    return name


def check_base_url(value: str) -> str:
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise ConfigError(f"init: base-url: {value!r} is not an http(s) address like https://example.org/")
    return url if url.endswith("/") else url + "/"


def check_language(value: str) -> str:
    """The site language as the config loader will read it (`normalise.language_tag`), or a ConfigError."""
    from sharebot.normalise import language_tag

    tag = language_tag(value)
    if tag is None:
        raise ConfigError(f"init: language: {value!r} is not a language tag like de, en or pt-BR")
    return tag


def check_timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"init: timezone: {value!r} is not an IANA time zone like Europe/Berlin") from None
    return name


def check_source(value: str, *, base: Path) -> tuple[str, str]:
    """("content", directory) or ("feed", file or URL)."""
    text = value.strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"init: source: {value!r} is neither an http(s) feed address nor a local path")
        return "feed", text
    path = (base / text).resolve() if text else base
    if not text or not path.exists():
        raise ConfigError(f"init: source: {value!r}: no such directory or feed file")
    if path.is_dir():
        return "content", str(path)
    if path.suffix.lower() not in _FEED_SUFFIXES:
        raise ConfigError(f"init: source: {value!r} is a file but not a feed ({', '.join(_FEED_SUFFIXES)})")
    return "feed", str(path)


def check_networks(value: str) -> tuple[Network, ...]:
    chosen: list[Network] = []
    for word in (w.strip().lower() for w in value.split(",")):
        if not word:
            continue
        try:
            network = Network(word)
        except ValueError:
            known = ", ".join(n.value for n in Network)
            raise ConfigError(f"init: networks: {word!r} is not one of {known}") from None
        if network not in chosen:
            chosen.append(network)
    if not chosen:
        raise ConfigError("init: networks: name at least one network")
    return tuple(chosen)


def check_option(network: Network, key: str, value: str) -> Any:
    """An account setting given as text (`--set mastodon.instance=…`), as its declared kind."""
    spec = NETWORKS[network]
    option = spec.options.get(key)
    if option is None:
        known = ", ".join(sorted(spec.options)) or "none"
        raise ConfigError(f"init: set {network}.{key}: {spec.label} takes no setting {key!r} (known: {known})")
    typed = _typed(option, value.strip())
    problem = (option.problem(typed) or option.unlike(typed)) if typed != "" else "expected a value"
    if problem:
        raise ConfigError(f"init: set {network}.{key}: {problem}")
    return typed


def _typed(option: Option, text: str) -> Any:
    kinds = option.kind if isinstance(option.kind, tuple) else (option.kind,)
    if str in kinds:
        return text
    if bool in kinds and text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        if kind in kinds:
            try:
                return kind(text)
            except ValueError:
                continue
    return text


def parse_settings(pairs: Sequence[str]) -> dict[Network, dict[str, str]]:
    """`network.key=value` words into {network: {key: text}} (checked later, with the answers)."""
    found: dict[Network, dict[str, str]] = {}
    for pair in pairs:
        target, equals, value = pair.partition("=")
        network_name, dot, key = target.strip().partition(".")
        if not equals or not dot or not key:
            raise ConfigError(f"init: set {pair!r}: expected NETWORK.SETTING=VALUE, e.g. mastodon.instance=https://…")
        found.setdefault(check_networks(network_name)[0], {})[key.strip()] = value
    return found


# --- gathering the answers -----------------------------------------------------------------------------------
def gather(given: Mapping[str, str | None], settings: Sequence[str] = (), *, base: Path,
           ask: Ask | None = None) -> SiteAnswers:
    """The answers from `given` (flag values; None where not given), asking `ask` for each one missing.
    Without `ask` a missing answer is an error naming its flag. A wrong asked answer is asked again (3 times)."""

    def answer(key: str, check: Callable[[str], Any]) -> Any:
        value = given.get(key)
        if value is not None:
            return check(value)
        question = QUESTIONS[key]
        return _ask(question, check, ask, flag=f"--{key.replace('_', '-')}")

    name = answer("name", check_name)
    base_url = answer("base_url", check_base_url)
    language = answer("language", check_language)
    timezone = answer("timezone", check_timezone)
    source_kind, source = answer("source", lambda v: check_source(v, base=base))
    networks = answer("networks", check_networks)
    raw = parse_settings(settings)
    for network in raw:
        if network not in networks:
            raise ConfigError(f"init: set {network}.…: {network} is not among the chosen networks")
    options: dict[Network, dict[str, Any]] = {}
    for network in networks:
        spec = NETWORKS[network]
        chosen = {key: check_option(network, key, value) for key, value in raw.get(network, {}).items()}
        for key, option in spec.options.items():
            if option.required and key not in chosen:
                question = Question(f"{network}.{key}", f"{spec.label} {key} ({_hint(spec, key)})")
                chosen[key] = _ask(question, functools.partial(check_option, network, key), ask,
                                   flag=f"--set {network}.{key}=…")
        options[network] = chosen
    return SiteAnswers(name, base_url, language, timezone, source_kind, source, networks, options)


def _ask(question: Question, check: Callable[[str], Any], ask: Ask | None, *, flag: str) -> Any:
    if ask is None:
        raise ConfigError(f"init: {flag} is missing (or run on a terminal to be asked)")
    for attempt in range(_MAX_ASKS):
        reply = ask(question).strip()
        if not reply and question.default is not None:
            reply = question.default
        try:
            return check(reply)
        except ConfigError:
            if attempt == _MAX_ASKS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _hint(spec: NetworkSpec, key: str) -> str:
    option = spec.options[key]
    return option.looks_like or option.describe()


# --- the files -------------------------------------------------------------------------------------------------
def _toml(value: Any) -> str:
    # A JSON string is a valid TOML basic string (same escapes); numbers and booleans are written the same way.
    return json.dumps(value, ensure_ascii=False)


def secret_variable(account: str, field: str) -> str:
    """The variable an account's credential is read from when its config names none (as config.py reads it)."""
    return f"SHAREBOT_{account.upper().replace('-', '_')}_{field.upper()}"


def config_text(answers: SiteAnswers, *, config_dir: Path) -> str:
    source = answers.source
    if "://" not in source:  # relative to the config's folder when near it (config/ beside content/), else absolute
        relative = os.path.relpath(source, config_dir)
        source = source if relative.startswith(os.path.join(os.pardir, os.pardir)) else relative
    lines = [
        f"# sharebot configuration for {answers.name}, written by `sharebot init`.",
        "# Safe to commit: secrets are never written here, only the names of the variables that hold them (.env).",
        "# Relative paths are relative to this file's folder. `sharebot doctor` checks this file and the .env.",
        "",
        "[site]",
        f"name = {_toml(answers.name)}",
        f"base_url = {_toml(answers.base_url)}",
        f"language = {_toml(answers.language)}",
        f"timezone = {_toml(answers.timezone)}",
        "",
        "[source]",
        f"{answers.source_kind} = {_toml(source)}",
        "",
        "[queue]",
        'database = "var/sharebot.db"     # or "postgresql://user@host/db" (or SHAREBOT_DATABASE_URL)',
        'state_dir = "var/state"',
        "",
        "# Every account posts at once unless it has a schedule: see README.md, Configuration.",
        "# [schedule]",
        '# slots = { weekdays = ["07:30", "12:30", "18:30"], weekend = ["09:00", "18:00"] }',
        '# stagger = "5m"',
    ]
    for network in answers.networks:
        spec = NETWORKS[network]
        lines += ["", f"# docs/networks/{network}.md: how to get the credentials and ids below.",
                  f"[accounts.{network}]", f"network = {_toml(network.value)}"]
        lines += [f"{key} = {_toml(value)}" for key, value in answers.options.get(network, {}).items()]
        if spec.secret_fields:
            names = ", ".join(f"{f} = {_toml(secret_variable(network, f))}" for f in spec.secret_fields)
            lines.append(f"secrets = {{ {names} }}")
    return "\n".join(lines) + "\n"


def env_text(answers: SiteAnswers) -> tuple[str, tuple[str, ...]]:
    lines = ["# Secrets for sharebot, read from here or the environment (which wins). Never commit this file.",
             "# Fill in the values; docs/networks/<network>.md says where each comes from."]
    names: list[str] = []
    for network in answers.networks:
        spec = NETWORKS[network]
        if not spec.secret_fields:
            continue
        lines += ["", f"# {spec.label} (docs/networks/{network}.md)"]
        if spec.secret_sets:
            sets = " or ".join("+".join(secret_variable(network, f) for f in fields) for fields in spec.secret_sets)
            lines.append(f"# One complete set is enough: {sets}.")
        for field in spec.secret_fields:
            names.append(secret_variable(network, field))
            lines.append(f"{names[-1]}=")
    return "\n".join(lines) + "\n", tuple(names)


# --- writing ---------------------------------------------------------------------------------------------------
def write_site(answers: SiteAnswers, *, config_path: Path, env_path: Path, force: bool = False) -> InitResult:
    """Write the config and .env; the config is loaded with the real loader before it is put in place."""
    from sharebot.config import load_settings

    config_path, env_path = Path(config_path), Path(env_path)
    if config_path.resolve() == env_path.resolve():
        raise ConfigError(f"init: {config_path}: the config and the .env cannot be one file")
    if not force:
        for path in (config_path, env_path):
            if path.exists():
                raise ConfigError(f"init: {path}: exists; give --force to replace it")
    config_dir = config_path.resolve().parent
    config_dir.mkdir(parents=True, exist_ok=True)
    env_path.resolve().parent.mkdir(parents=True, exist_ok=True)
    text = config_text(answers, config_dir=config_dir)
    env, names = env_text(answers)
    config_tmp = temporary_beside(config_path, text, 0o644)
    env_tmp: Path | None = None
    placed: list[Path] = []
    kept: dict[Path, Path] = {}  # with --force, a second name for each file replaced, until both are in place
    try:
        # The real loader, on the file beside its target (so relative paths resolve the same), with no .env.
        try:
            load_settings(config_tmp, {}, dotenv_path=config_tmp.with_suffix(".none"))
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(str(config_tmp), str(config_path))) from None
        env_tmp = temporary_beside(env_path, env, 0o600)
        for tmp, path in ((config_tmp, config_path), (env_tmp, env_path)):
            if force and path.is_file():
                kept[path] = path.with_name(f".{path.name}.{os.getpid()}.before-init")
                kept[path].unlink(missing_ok=True)
                os.link(path, kept[path])
            _place(tmp, path, force=force)
            placed.append(path)
    except BaseException:
        for path in placed:  # the first file in place, the second refused: put back what was there
            if path in kept:
                os.replace(kept.pop(path), path)
            else:
                path.unlink(missing_ok=True)
        raise
    finally:
        config_tmp.unlink(missing_ok=True)
        if env_tmp is not None:
            env_tmp.unlink(missing_ok=True)
        for backup in kept.values():
            backup.unlink(missing_ok=True)
    accounts = tuple(n.value for n in answers.networks)
    return InitResult(config_path, env_path, accounts, names)


def _place(tmp: Path, target: Path, *, force: bool) -> None:
    try:
        if force:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)  # fails if the target appeared meanwhile: never replaces a file without --force
    except FileExistsError:
        raise ConfigError(f"init: {target}: exists; give --force to replace it") from None
    except OSError as exc:  # a folder of that name, a read-only folder: name the target, not the temporary
        raise ConfigError(f"init: {target}: cannot write it: {exc.strerror or exc}") from None


def init_site(given: Mapping[str, str | None], settings: Sequence[str] = (), *, config_path: Path,
              env_path: Path | None = None, force: bool = False, ask: Ask | None = None,
              base: Path | None = None) -> InitResult:
    """`sharebot init`: gather the answers (asking for missing ones when `ask` is given) and write both files.
    `base` is the folder a relative source is read from (the current directory); the `.env` goes beside the
    config unless `env_path` says otherwise, since that is where sharebot reads it from any directory."""
    env_path = Path(config_path).parent / ".env" if env_path is None else env_path
    if not force:  # before any question: there is no point answering them
        for path in (Path(config_path), Path(env_path)):
            if path.exists():
                raise ConfigError(f"init: {path}: exists; give --force to replace it")
    answers = gather(given, settings, base=base or Path.cwd(), ask=ask)
    return write_site(answers, config_path=config_path, env_path=env_path, force=force)
