"""`sharebot doctor`: every kind of check, through the library and the CLI, on a fixed clock."""

from __future__ import annotations

import json
import os
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_support import NETWORK_MODULES, fresh_process, sharebot
from conftest import EXAMPLE_CONFIG, EXAMPLE_CONTENT, ROOT
from fakes.base import Clock
from fakes.mastodon import FakeMastodon

from sharebot import doctor
from sharebot.doctor import Check, Level
from sharebot.exits import Exit
from sharebot.networks import GRAPH_VERSIONS, LINKEDIN_VERSIONS

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def site(tmp_path: Path, accounts: str, *, queue: str = "") -> Path:
    config = tmp_path / "sharebot.toml"
    config.write_text(textwrap.dedent(f"""\
        [site]
        name = "Test"
        base_url = "https://news.example/"
        [source]
        content = "{EXAMPLE_CONTENT}"
        [queue]
        database = "var/q.db"
        state_dir = "var/state"
        {queue}
        """) + textwrap.dedent(accounts), encoding="utf-8")
    return config


def diagnose(config: Path, env: dict[str, str] | None = None, **kwargs):
    return doctor.diagnose(config, env or {}, now=kwargs.pop("now", NOW), dotenv_path=config.parent / ".env",
                           **kwargs)


def found(report, check: Check, subject: str | None = None) -> list:
    return [f for f in report.findings if f.check is check and (subject is None or f.subject == subject)]


# --- the acceptance: the bundled config without credentials -------------------------------------------
def test_doctor_on_the_bundled_config_lists_every_missing_credential_and_fails(tmp_path):
    result = sharebot("--config", str(EXAMPLE_CONFIG), "doctor", env={"HOME": str(tmp_path)}, now=NOW)
    assert result.exit_code == 3, result.output
    problems = [line for line in result.stdout.splitlines() if line.startswith("problem")]
    for variable in ("SHAREBOT_X_CONSUMER_KEY", "SHAREBOT_X_BEARER_TOKEN", "SHAREBOT_BLUESKY_APP_PASSWORD",
                     "SHAREBOT_MASTODON_ACCESS_TOKEN", "SHAREBOT_LINKEDIN_ACCESS_TOKEN",
                     "SHAREBOT_FACEBOOK_PAGE_ACCESS_TOKEN", "SHAREBOT_THREADS_ACCESS_TOKEN", "SHAREBOT_TELEGRAM_BOT_TOKEN"):
        assert any(variable in line for line in problems), variable
    assert all("→ set" in line for line in problems if "credentials" in line)
    assert "problem(s) to fix" in result.stderr

    as_json = sharebot("--config", str(EXAMPLE_CONFIG), "doctor", "--json", env={"HOME": str(tmp_path)}, now=NOW)
    assert as_json.exit_code == 3
    doc = json.loads(as_json.stdout)
    assert doc["schema"] == "sharebot-json/1" and doc["kind"] == "doctor" and doc["ok"] is False
    credentials = {f["subject"] for f in doc["findings"] if f["check"] == "credentials" and f["level"] == "problem"}
    assert credentials == {"x", "bluesky", "mastodon", "linkedin", "facebook", "threads", "telegram"}
    assert {"check", "level", "subject", "message", "fix"} == set(doc["findings"][0])


def test_a_config_that_does_not_load_is_one_problem(tmp_path):
    config = tmp_path / "sharebot.toml"
    config.write_text("[site]\nname = 'x'\n", encoding="utf-8")
    report = diagnose(config)
    [finding] = report.findings
    assert (finding.check, finding.level) == (Check.CONFIG, Level.PROBLEM) and "base_url" in finding.message
    assert report.exit == 3


# --- schedules ------------------------------------------------------------------------------------------------
def test_an_account_whose_staggered_slot_always_falls_in_quiet_hours_is_a_problem(tmp_path):
    # Two accounts on one 06:00 slot, 20 minutes apart: the second goes at 06:20, always in its quiet hours.
    config = site(tmp_path, """\
        [schedule]
        slots = { daily = ["06:00"] }
        stagger = "20m"
        [accounts.first]
        network = "telegram"
        chat_id = "-1001234567890"
        [accounts.second]
        network = "telegram"
        chat_id = "-1001234567891"
        schedule = { slots = { daily = ["06:00"] }, stagger = "20m", quiet_hours = ["06:10-07:00"] }
        """)
    report = diagnose(config, {"SHAREBOT_TELEGRAM_BOT_TOKEN": "t"})
    [finding] = found(report, Check.SCHEDULE)
    assert (finding.level, finding.subject) == (Level.PROBLEM, "second")
    assert "no time within 366 days" in finding.message and "quiet hours" in finding.fix
    assert report.exit is not Exit.OK
    assert found(diagnose(site(tmp_path, X), {"SHAREBOT_X_BEARER_TOKEN": "t"}), Check.SCHEDULE) == []


# --- credentials ----------------------------------------------------------------------------------------------
X = """\
    [accounts.x]
    network = "x"
    [accounts.tg]
    network = "telegram"
    chat_id = "-1001234567890"
    """


@pytest.mark.parametrize(("env", "level", "named"), [
    ({}, Level.PROBLEM, "SHAREBOT_X_CONSUMER_KEY"),
    ({"SHAREBOT_X_BEARER_TOKEN": "t"}, Level.OK, None),
    ({f"SHAREBOT_X_{k}": "v" for k in ("CONSUMER_KEY", "CONSUMER_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET")},
     Level.OK, None),
    # A half-made OAuth 1.0a set names what it lacks, not the bearer token.
    ({"SHAREBOT_X_CONSUMER_KEY": "v", "SHAREBOT_X_CONSUMER_SECRET": "v"}, Level.PROBLEM, "SHAREBOT_X_ACCESS_TOKEN"),
])
def test_x_needs_one_complete_set_of_credentials(tmp_path, env, level, named):
    [finding] = found(diagnose(site(tmp_path, X), env), Check.CREDENTIALS, "x")
    assert finding.level is level
    if named:
        assert named in finding.message and "SHAREBOT_X_BEARER_TOKEN" in finding.fix
        if "SHAREBOT_X_CONSUMER_KEY" in env:
            assert "SHAREBOT_X_CONSUMER_KEY" not in finding.message


def test_a_required_credential_is_named_by_the_variable_the_account_reads(tmp_path):
    config = site(tmp_path, X.replace('chat_id = "-1001234567890"',
                                      'chat_id = "@news"\nsecrets = { bot_token = "TG_TOKEN" }'))
    [missing] = found(diagnose(config), Check.CREDENTIALS, "tg")
    assert missing.level is Level.PROBLEM and "TG_TOKEN" in missing.message
    [ok] = found(diagnose(config, {"TG_TOKEN": "123:abc"}), Check.CREDENTIALS, "tg")
    assert ok.level is Level.OK and "123:abc" not in str(ok)


# --- account settings -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("accounts", "subject", "key"), [
    ('[accounts.li]\nnetwork = "linkedin"\nauthor = "12345678"\n', "li", "author"),
    ('[accounts.fb]\nnetwork = "facebook"\npage_id = "nachrichten-demo"\n', "fb", "page_id"),
    ('[accounts.th]\nnetwork = "threads"\nuser_id = "@newsroom"\n', "th", "user_id"),
    ('[accounts.tg]\nnetwork = "telegram"\nchat_id = "t.me/news"\n', "tg", "chat_id"),
    ('[accounts.bs]\nnetwork = "bluesky"\nhandle = "@news.bsky.social"\n', "bs", "handle"),
    ('[accounts.ma]\nnetwork = "mastodon"\ninstance = "https://mastodon.social"\nvisibility = "everyone"\n', "ma",
     "visibility"),
])
def test_settings_that_do_not_look_like_what_the_network_takes_are_problems(tmp_path, accounts, subject, key):
    [finding] = found(diagnose(site(tmp_path, accounts)), Check.SETTINGS, subject)
    assert finding.level is Level.PROBLEM and finding.message.startswith(f"{key}: ")
    assert f"accounts.{subject}.{key}" in finding.fix


def test_well_formed_settings_are_ok(example_settings, tmp_path):
    report = doctor.diagnose(EXAMPLE_CONFIG, {}, now=NOW, dotenv_path=tmp_path / "none.env")
    assert {f.level for f in found(report, Check.SETTINGS)} == {Level.OK}


# --- pinned API versions --------------------------------------------------------------------------------------
LINKEDIN = '[accounts.li]\nnetwork = "linkedin"\nauthor = "urn:li:organization:1"\nversion = "{version}"\n'
FACEBOOK = '[accounts.fb]\nnetwork = "facebook"\npage_id = "1"\napi_version = "{version}"\n'


@pytest.mark.parametrize(("accounts", "now", "level", "words"), [
    # 202511 retires on 16 Nov 2026 (LinkedIn's migrations page)
    (LINKEDIN.format(version="202511"), datetime(2026, 8, 1, tzinfo=UTC), Level.OK, "retires 2026-11-16"),
    (LINKEDIN.format(version="202511"), datetime(2026, 10, 1, tzinfo=UTC), Level.WARNING, "46 day(s) left"),
    (LINKEDIN.format(version="202511"), datetime(2026, 11, 16, tzinfo=UTC), Level.PROBLEM, "retired on 2026-11-16"),
    # Not in the table: a year after its month, estimated
    (LINKEDIN.format(version="202701"), datetime(2027, 12, 1, tzinfo=UTC), Level.WARNING, "about 2028-01-15"),
    (LINKEDIN.format(version="202501"), NOW, Level.PROBLEM, "has probably retired"),
    (FACEBOOK.format(version="v20.0"), NOW, Level.PROBLEM, "retired on 2026-09-24"),
    (FACEBOOK.format(version="v21.0"), NOW, Level.WARNING, "retires 2027-01-21: 57 day(s) left"),
    (FACEBOOK.format(version="v25.0"), NOW, Level.OK, "retires 2028-07-29"),
    (FACEBOOK.format(version="v99.0"), NOW, Level.WARNING, "not a version sharebot knows"),
])
def test_pinned_versions_against_their_retirement(tmp_path, accounts, now, level, words):
    [finding] = found(diagnose(site(tmp_path, accounts), now=now), Check.API_VERSION)
    assert finding.level is level and words in finding.message, finding
    if level is not Level.OK:
        assert "changelog" in finding.fix or "migrations" in finding.fix


def test_warn_days_moves_the_warning(tmp_path):
    config = site(tmp_path, FACEBOOK.format(version="v21.0"))
    [finding] = found(diagnose(config, warn_days=30), Check.API_VERSION)
    assert finding.level is Level.OK


def test_an_unpinned_account_is_checked_against_the_adapters_default(tmp_path):
    from sharebot.adapters.facebook import FacebookAdapter
    from sharebot.adapters.linkedin import DEFAULT_VERSION

    assert LINKEDIN_VERSIONS.default == DEFAULT_VERSION and GRAPH_VERSIONS.default == FacebookAdapter.default_version
    config = site(tmp_path, '[accounts.fb]\nnetwork = "facebook"\npage_id = "1"\n')
    [finding] = found(diagnose(config, now=datetime(2028, 7, 1, tzinfo=UTC)), Check.API_VERSION)
    assert finding.level is Level.WARNING and "v25.0 (the built-in default)" in finding.message


# --- the Mastodon instance, over real HTTP against the stand-in ----------------------------------------------
def mastodon_site(tmp_path: Path, api: FakeMastodon, configured: int) -> Path:
    return site(tmp_path, f"""\
        [accounts.ma]
        network = "mastodon"
        instance = "https://social.example"
        api_base = "{api.url}"
        max_characters = {configured}
        """)


@pytest.mark.parametrize(("instance", "configured", "level", "words"), [
    (500, 500, Level.OK, "allows 500 characters, as configured"),
    (1000, 500, Level.WARNING, "allows 1000 characters"),
    (400, 500, Level.PROBLEM, "long posts will be refused"),
])
def test_the_instances_real_limit_against_the_config(tmp_path, instance, configured, level, words):
    with FakeMastodon(clock=Clock(NOW), max_characters=instance) as api:
        config = mastodon_site(tmp_path, api, configured)
        [finding] = found(diagnose(config, {"SHAREBOT_MA_ACCESS_TOKEN": api.token}), Check.INSTANCE)
    assert finding.level is level and words in finding.message
    if level is not Level.OK:
        assert f"max_characters = {instance}" in finding.fix


def test_the_instance_is_asked_afresh_not_the_adapters_day_old_cache(tmp_path):
    with FakeMastodon(clock=Clock(NOW), max_characters=500) as api:
        config = mastodon_site(tmp_path, api, 500)
        env = {"SHAREBOT_MA_ACCESS_TOKEN": api.token}
        assert found(diagnose(config, env), Check.INSTANCE)[0].level is Level.OK
        [cache] = (tmp_path / "var" / "state").glob("mastodon-limits-*.json")  # what posting reads
        assert found(diagnose(config, env), Check.FILE_MODE)[0].level is Level.OK, oct(cache.stat().st_mode)
        api.max_characters = 400  # the admin lowers the limit within the cache's day
        [finding] = found(diagnose(config, env), Check.INSTANCE)
    assert finding.level is Level.PROBLEM and "allows 400 characters" in finding.message


def test_a_token_the_instance_refuses_is_a_problem_and_never_shown(tmp_path):
    with FakeMastodon(clock=Clock(NOW)) as api:
        config = mastodon_site(tmp_path, api, 500)
        report = diagnose(config, {"SHAREBOT_MA_ACCESS_TOKEN": "FAKE-wrong-token-3"}, timeout=5)
    [finding] = found(report, Check.INSTANCE)
    assert finding.level is Level.PROBLEM and "FAKE-wrong-token-3" not in json.dumps(report.to_dict())


def test_without_a_token_the_instance_is_not_asked(tmp_path):
    with FakeMastodon(clock=Clock(NOW)) as api:
        config = mastodon_site(tmp_path, api, 500)
        [finding] = found(diagnose(config), Check.INSTANCE)
        assert api.requests == []
    assert finding.level is Level.WARNING and "not checked" in finding.message


# --- the queue database ---------------------------------------------------------------------------------------
def test_the_queue_database(tmp_path):
    from sharebot.storage import open_store

    config = site(tmp_path, X)
    [before] = found(diagnose(config), Check.QUEUE)
    assert before.level is Level.OK and "not created yet" in before.message
    (tmp_path / "var").mkdir()
    open_store(tmp_path / "var" / "q.db", migrate=False).close()  # a database without the schema
    [empty] = found(diagnose(config), Check.QUEUE)
    assert empty.level is Level.WARNING and "migrations pending" in empty.message
    open_store(tmp_path / "var" / "q.db").close()
    [current] = found(diagnose(config), Check.QUEUE)
    assert current.level is Level.OK and "schema current" in current.message


def test_a_queue_that_cannot_be_opened_is_a_problem(tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "q.db").mkdir()  # a directory where the file should be
    [finding] = found(diagnose(site(tmp_path, X)), Check.QUEUE)
    assert finding.level is Level.PROBLEM


def test_a_password_in_the_database_url_is_not_shown():
    assert doctor._redact("postgresql://news:s3cret@db.internal/q") == "postgresql://news:***@db.internal/q"


# --- file modes -----------------------------------------------------------------------------------------------
def test_env_and_state_files_readable_by_others_are_problems(tmp_path):
    config = site(tmp_path, X)
    dotenv = tmp_path / ".env"
    dotenv.write_text("SHAREBOT_X_BEARER_TOKEN=t\n")
    os.chmod(dotenv, 0o644)
    state = tmp_path / "var" / "state"
    state.mkdir(parents=True)
    session = state / "bluesky-session.json"
    session.write_text("{}")
    os.chmod(session, 0o640)
    report = diagnose(config)
    modes = {f.subject: f for f in found(report, Check.FILE_MODE)}
    assert modes[str(dotenv)].level is Level.PROBLEM and modes[str(dotenv)].fix == f"chmod 600 {dotenv}"
    assert modes[str(state)].level is Level.PROBLEM and "bluesky-session.json" in modes[str(state)].message
    assert report.exit == 3
    os.chmod(dotenv, 0o600)
    os.chmod(session, 0o600)
    assert {f.level for f in found(diagnose(config), Check.FILE_MODE)} == {Level.OK}


def test_the_clock_is_the_one_given():
    with pytest.raises(ValueError):
        doctor.diagnose(EXAMPLE_CONFIG, {}, now=datetime(2026, 1, 1))  # naive: refused, never the real clock


def test_doctor_and_init_import_no_network_sdk(tmp_path):
    # Without a Mastodon token doctor makes no network call, and neither command loads an SDK or httpx.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHAREBOT_")}
    init = ["--config", str(tmp_path / "new.toml"), "init", "--name", "N", "--base-url", "https://n.example",
            "--language", "de", "--timezone", "UTC", "--source", str(EXAMPLE_CONTENT), "--networks", "x,threads",
            "--set", "threads.user_id=1", "--env-file", str(tmp_path / "new.env")]
    run = fresh_process([["--config", str(EXAMPLE_CONFIG), "doctor"], init],
                        NETWORK_MODULES,
                        env={**env, "PYTHONPATH": str(ROOT / "src")}, cwd=tmp_path)
    assert run.codes == [3, 0]
    assert run.loaded == []


def test_a_postgresql_queue(tmp_path, pg_url):
    config = site(tmp_path, X)
    [finding] = found(diagnose(config, {"SHAREBOT_DATABASE_URL": pg_url}), Check.QUEUE)
    assert finding.level is Level.OK and "schema current" in finding.message
    wrong = pg_url.rsplit("/", 1)[0] + "/no_such_database_for_doctor"
    [refused] = found(diagnose(config, {"SHAREBOT_DATABASE_URL": wrong}), Check.QUEUE)
    assert refused.level is Level.PROBLEM and "cannot open" in refused.message


@pytest.mark.parametrize(("accounts", "words"), [
    ('[accounts.fb]\nnetwork = "facebook"\n', "accounts.fb.page_id: missing"),
    ('[accounts.tg]\nnetwork = "telegram"\nchat_id = 1.5\n', "accounts.tg.chat_id: expected a string or a whole number"),
    ('[accounts.th]\nnetwork = "threads"\nuser_id = "1"\npoll_attempts = "ten"\n', "accounts.th.poll_attempts"),
])
def test_a_required_setting_missing_or_of_the_wrong_type_is_a_problem_naming_it(tmp_path, accounts, words):
    result = sharebot("--config", str(site(tmp_path, accounts)), "doctor", "--json", now=NOW)
    assert result.exit_code == 3
    [finding] = [f for f in json.loads(result.stdout)["findings"] if f["check"] == "config"]
    assert finding["level"] == "problem" and words in finding["message"]


def test_doctor_reads_the_env_file_beside_the_config_as_every_command_does(tmp_path):
    config, dotenv = tmp_path / "site" / "sharebot.toml", tmp_path / "site" / ".env"
    made = sharebot("--config", str(config), "init", "--name", "N", "--base-url", "https://n.example", "--language",
                    "de", "--timezone", "UTC", "--source", str(EXAMPLE_CONTENT), "--networks", "telegram",
                    "--set", "telegram.chat_id=-1001234567890", "--env-file", str(dotenv), now=NOW)
    assert made.exit_code == 0, made.output
    dotenv.write_text("SHAREBOT_TELEGRAM_BOT_TOKEN=123456:abcdefghijklmnopqrstuvwxyz\n")
    dotenv.chmod(0o600)
    env = {k: "" for k in os.environ if k.startswith("SHAREBOT_")}
    checked = sharebot("--config", str(config), "doctor", env=env, now=NOW)
    assert "credentials" in checked.stdout and "SHAREBOT_TELEGRAM_BOT_TOKEN not set" not in checked.stdout
    assert checked.exit_code == 0, checked.output


def test_a_database_password_is_hidden_however_it_is_written() -> None:
    assert doctor._redact("postgresql://u:p@ss:w0rd@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert doctor._redact("postgresql://u@h/db?password=hunter2secret") == "postgresql://u@h/db?password=***"
