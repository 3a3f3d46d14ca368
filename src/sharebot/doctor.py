"""`sharebot doctor`: is this site ready to post? One finding per line: ok, warning or problem, with the fix.

What it checks, per configured account and for the site:
- credentials: each one the network needs is set (names from the registry; X takes one complete set of two);
- settings: the account's required settings are there and look like what the network expects (an id, a URN);
- the Mastodon instance: its real character limit against the config's, read by the adapter (the only network
  calls doctor makes: to the configured instance, with the account's token, within `timeout` seconds);
- schedules: each account's schedule leaves it a time to post (slots, stagger and quiet hours can rule out
  every time), for an article posted to all accounts, as `publish` staggers them;
- pinned API versions (LinkedIn-Version, the Graph API's): against their announced retirement, warning `warn_days`
  before, on the `now` given (never the real clock);
- the queue database: it opens, its schema is current, it can be written;
- file modes: `.env` and the state files readable by their owner only.

Nothing is changed, except that the Mastodon check renews the instance's limits the adapter keeps in the state
directory.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

from sharebot.config import Settings, load_settings
from sharebot.errors import SharebotError
from sharebot.exits import Exit
from sharebot.models import Account
from sharebot.networks import LINK_ONLY, NETWORKS
from sharebot.scrub import redact_url
from sharebot.times import aware_utc

WARN_DAYS = 60
TIMEOUT = 10.0


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"
    PROBLEM = "problem"


class Check(StrEnum):
    CONFIG = "config"
    CREDENTIALS = "credentials"
    SETTINGS = "settings"
    INSTANCE = "instance"
    SCHEDULE = "schedule"
    API_VERSION = "api-version"
    QUEUE = "queue"
    FILE_MODE = "file-mode"


class Finding(NamedTuple):
    check: Check
    level: Level
    subject: str  # an account, or a file or database
    message: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check.value, "level": self.level.value, "subject": self.subject,
                "message": self.message, "fix": self.fix}


class DoctorReport(NamedTuple):
    findings: tuple[Finding, ...]

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level is Level.PROBLEM)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level is Level.WARNING)

    @property
    def exit(self) -> Exit:
        return Exit.FAILED if self.problems else Exit.OK

    def to_dict(self) -> dict[str, Any]:
        return {"ok": not self.problems, "problems": len(self.problems),
                "warnings": len(self.warnings), "findings": [f.to_dict() for f in self.findings]}

    def to_text(self) -> str:
        width = max((len(f.subject) for f in self.findings), default=0)
        lines = []
        for f in self.findings:
            fix = f" → {f.fix}" if f.fix and f.level is not Level.OK else ""
            lines.append(f"{f.level.value:<8} {f.subject:<{width}}  {f.check.value}: {f.message}{fix}")
        lines.append(f"{len(self.problems)} problem(s), {len(self.warnings)} warning(s)")
        return "\n".join(lines) + "\n"


# An instance check: the account and its settings in, the instance's (max_characters, characters_reserved_per_url)
# out; raises SharebotError when the instance or the token is not usable.
InstanceCheck = Callable[[Settings, Account], tuple[int, int]]


def diagnose(config: Path | str | None, environ: Mapping[str, str], *, now: datetime,
             content_dir: str | None = None, dotenv_path: Path | None = None, warn_days: int = WARN_DAYS,
             timeout: float = TIMEOUT, instance_check: InstanceCheck | None = None) -> DoctorReport:
    """Every check on the site `config` names, with `environ` (and the .env) for its secrets."""
    now = aware_utc(now, "now")
    dotenv = dotenv_path or Path(".env")
    try:  # no dotenv_path: the .env files every command reads (the cwd's and the one beside the config)
        settings = load_settings(config, environ, content_dir=content_dir, dotenv_path=dotenv_path)
    except SharebotError as exc:
        return DoctorReport((Finding(Check.CONFIG, Level.PROBLEM, str(config or "config"), str(exc),
                                     "correct the file as the message says"),
                             *file_modes([dotenv])))
    check = instance_check or _adapter_instance_check(timeout, now)
    findings: list[Finding] = [Finding(Check.CONFIG, Level.OK, str(settings.path), "loads")]
    for account in settings.accounts:
        if not account.enabled or account.network in LINK_ONLY:
            continue
        findings += credentials(settings, account)
        findings += account_settings(account)
        findings += api_versions(account, now.date(), warn_days)
        if NETWORKS[account.network].server_limits:
            findings += server_limits(settings, account, check)
    findings += schedules(settings, now)
    findings += queue_database(settings)
    findings += file_modes([dotenv, settings.path.parent / ".env"], state_dir=settings.state_dir)
    return DoctorReport(tuple(findings))


# --- schedules ------------------------------------------------------------------------------------------------
def schedules(settings: Settings, now: datetime) -> list[Finding]:
    """A problem for each account whose schedule has no time at all to post an article that goes to every
    account (`publish` staggers accounts in config order); nothing for accounts that can post."""
    from sharebot.scheduler import plan

    postable = [a for a in settings.accounts if a.enabled and a.network not in LINK_ONLY]
    found = []
    for order, account in enumerate(postable):
        try:
            plan(settings.schedules[account.name], now=now, taken=(), order=order)
        except ValueError as exc:
            found.append(Finding(Check.SCHEDULE, Level.PROBLEM, account.name, str(exc),
                                 "move its slots, stagger or quiet hours so a slot plus its stagger falls outside "
                                 "quiet hours"))
    return found


# --- credentials ------------------------------------------------------------------------------------------------
def credentials(settings: Settings, account: Account) -> list[Finding]:
    spec = NETWORKS[account.network]
    have = settings.credentials(account)
    doc = f"docs/networks/{account.network}.md"
    variables = settings.secret_vars(account)
    missing = [variables[f] for f in spec.missing_secrets(have)]
    if missing and spec.secret_sets:
        alternatives = " or ".join("+".join(variables[f] for f in s) for s in spec.secret_sets)
        return [Finding(Check.CREDENTIALS, Level.PROBLEM, account.name, f"{', '.join(missing)} not set",
                        f"set one complete set ({alternatives}) in .env or the environment; see {doc}")]
    if missing:
        return [Finding(Check.CREDENTIALS, Level.PROBLEM, account.name, f"{', '.join(missing)} not set",
                        f"set {'it' if len(missing) == 1 else 'them'} in .env or the environment; see {doc}")]
    return [Finding(Check.CREDENTIALS, Level.OK, account.name, f"{len(have)} set")]


# --- account settings -------------------------------------------------------------------------------------------
def account_settings(account: Account) -> list[Finding]:
    """Each setting against what the registry says it looks like (presence and type the loader has checked)."""
    spec = NETWORKS[account.network]
    bad = []
    for key, option in spec.options.items():
        value = account.options.get(key)
        unlike = option.unlike(value) if value not in (None, "") else None
        if unlike:
            bad.append(Finding(Check.SETTINGS, Level.PROBLEM, account.name, f"{key}: {unlike}",
                               f"correct accounts.{account.name}.{key}; see docs/networks/{account.network}.md"))
    required = [k for k, o in spec.options.items() if o.required]
    return bad or [Finding(Check.SETTINGS, Level.OK, account.name,
                           f"{', '.join(required)} set" if required else "nothing required")]


# --- pinned API versions ----------------------------------------------------------------------------------------
def api_versions(account: Account, today: date, warn_days: int) -> list[Finding]:
    versions = NETWORKS[account.network].api_versions
    if versions is None:
        return []
    pinned = account.options.get(versions.option)
    version = str(pinned or versions.default)
    what = f"{versions.option} {version}" + ("" if pinned else " (the built-in default)")
    fix = f"set accounts.{account.name}.{versions.option} to a newer version (dates: {versions.source})"
    retires, announced = versions.retirement(version)
    if retires is None:
        if version == versions.default or not pinned:
            return [Finding(Check.API_VERSION, Level.OK, account.name, f"{what}: no retirement announced")]
        return [Finding(Check.API_VERSION, Level.WARNING, account.name,
                        f"{what}: not a version sharebot knows a retirement date for",
                        f"check it at {versions.source}")]
    when = f"{'retires' if announced else 'expected to retire about'} {retires:%Y-%m-%d}"
    if today >= retires:
        return [Finding(Check.API_VERSION, Level.PROBLEM, account.name,
                        f"{what} {'retired' if announced else 'has probably retired'} on {retires:%Y-%m-%d}", fix)]
    left = (retires - today).days
    if left <= warn_days:
        return [Finding(Check.API_VERSION, Level.WARNING, account.name, f"{what} {when}: {left} day(s) left", fix)]
    return [Finding(Check.API_VERSION, Level.OK, account.name, f"{what} {when}")]


# --- a server's own limits (a Mastodon instance) ---------------------------------------------------------------
def server_limits(settings: Settings, account: Account, check: InstanceCheck) -> list[Finding]:
    spec = NETWORKS[account.network]
    if any(f not in settings.credentials(account) for f in spec.secrets):
        return [Finding(Check.INSTANCE, Level.WARNING, account.name, "not checked: the access token is not set",
                        "set the token, then run doctor again")]
    try:
        limit, per_url = check(settings, account)
    except SharebotError as exc:
        from sharebot.app import masked_credentials  # the instance's answer may echo the token

        return [Finding(Check.INSTANCE, Level.PROBLEM, account.name,
                        masked_credentials(settings, account.name, f"cannot read the instance: {exc}"),
                        "check the instance address and the token (`sharebot accounts check`)")]
    configured = spec.options["max_characters"]
    have = int(account.options.get("max_characters") or configured.default)
    have_url = int(account.options.get("characters_reserved_per_url") or spec.options["characters_reserved_per_url"]
                   .default)
    set_it = f"set max_characters = {limit} (and characters_reserved_per_url = {per_url}) for accounts.{account.name}"
    if have > limit:
        return [Finding(Check.INSTANCE, Level.PROBLEM, account.name,
                        f"the instance allows {limit} characters, the config says {have}: long posts will be refused",
                        set_it)]
    if have < limit or have_url != per_url:
        return [Finding(Check.INSTANCE, Level.WARNING, account.name,
                        f"the instance allows {limit} characters ({per_url} per URL), the config says {have} "
                        f"({have_url} per URL)", set_it)]
    return [Finding(Check.INSTANCE, Level.OK, account.name, f"the instance allows {limit} characters, as configured")]


def _adapter_instance_check(timeout: float, now: datetime) -> InstanceCheck:
    """The adapter's own check (one authenticated read), then the instance's limits, read afresh (which also
    renews the cache the adapter posts by)."""

    def check(settings: Settings, account: Account) -> tuple[int, int]:
        from sharebot.adapters import make_adapter
        from sharebot.adapters.base import AccountState, AdapterContext

        settings.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        context = AdapterContext(state_dir=settings.state_dir, timeout=timeout, fetch_policy=settings.fetch)
        adapter: Any = make_adapter(account, settings.credentials(account), context)
        try:
            status = adapter.check()
            if status.state is not AccountState.OK:
                raise SharebotError(f"{status.state}: {status.detail}")
            limits: tuple[int, int] = adapter.instance_limits(now, fresh=True)
            return limits
        finally:
            adapter.close()

    return check


# --- the queue database ---------------------------------------------------------------------------------------
def queue_database(settings: Settings) -> list[Finding]:
    from sharebot.storage import open_store

    target = settings.database
    subject = _redact(target)
    local = "://" not in target and target != ":memory:"
    if local and not Path(target).exists():
        folder = Path(target).parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not os.access(folder, os.W_OK):
            return [Finding(Check.QUEUE, Level.PROBLEM, subject, f"not created yet, and {folder} is not writable",
                            "make the folder writable, or set [queue] database elsewhere")]
        return [Finding(Check.QUEUE, Level.OK, subject, "not created yet; the first command that queues creates it")]
    try:
        store = open_store(target, migrate=False)
    except (SharebotError, ImportError) as exc:
        return [Finding(Check.QUEUE, Level.PROBLEM, subject, f"cannot open: {exc}",
                        "check [queue] database or SHAREBOT_DATABASE_URL "
                        "(for PostgreSQL: pip install 'sharebot[postgres]')")]
    try:
        current = store.is_current()
    finally:
        store.close()
    found = []
    if local and not os.access(target, os.W_OK):
        found.append(Finding(Check.QUEUE, Level.PROBLEM, subject, "not writable by this user",
                             f"give this user write access to {target}"))
    if not current:
        found.append(Finding(Check.QUEUE, Level.WARNING, subject, "its schema is not current (migrations pending)",
                             "run any queue command, e.g. `sharebot queue`: it applies them"))
    return found or [Finding(Check.QUEUE, Level.OK, subject, "opens, schema current")]


def _redact(url: str) -> str:
    """A database URL without its password (`scrub.redact_url`)."""
    return redact_url(url, mark="***")


# --- file modes -------------------------------------------------------------------------------------------------
def file_modes(dotenvs: Iterable[Path], *, state_dir: Path | None = None) -> list[Finding]:
    found = []
    seen = set()
    for path in dotenvs:
        if path.is_file() and path.resolve() not in seen:
            seen.add(path.resolve())
            found.append(_private(path, "holds secrets"))
    if state_dir is not None and state_dir.is_dir():
        files = [p for p in sorted(state_dir.rglob("*")) if p.is_file()]
        open_files = [p for p in files if _mode(p) & 0o077]
        if open_files:
            names = ", ".join(str(p) for p in open_files[:3]) + (" …" if len(open_files) > 3 else "")
            found.append(Finding(Check.FILE_MODE, Level.PROBLEM, str(state_dir),
                                 f"{len(open_files)} state file(s) readable by others: {names}",
                                 f"chmod 600 the files in {state_dir} (session files hold tokens)"))
        else:
            found.append(Finding(Check.FILE_MODE, Level.OK, str(state_dir), f"{len(files)} state file(s), private"))
    return found


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _private(path: Path, why: str) -> Finding:
    mode = _mode(path)
    if mode & 0o077:
        return Finding(Check.FILE_MODE, Level.PROBLEM, str(path), f"mode {mode:04o}: readable by others; it {why}",
                       f"chmod 600 {path}")
    return Finding(Check.FILE_MODE, Level.OK, str(path), f"mode {mode:04o}")

