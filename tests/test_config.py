from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import EXAMPLE_CONFIG, ROOT

from sharebot.config import load_settings
from sharebot.errors import ConfigError
from sharebot.models import Network

MINIMAL = """
[site]
name = "Demo"
base_url = "https://news.example.de"
[source]
content = "content"
[accounts.masto]
network = "mastodon"
instance = "https://social.example"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sharebot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path, env: dict[str, str] | None = None):
    return load_settings(path, env or {}, dotenv_path=path.parent / "absent.env")


def test_example_config_has_an_account_for_every_network(example_settings):
    assert {a.network for a in example_settings.accounts} == set(Network)


def test_relative_paths_are_relative_to_the_config_file(tmp_path):
    settings = load(write(tmp_path, MINIMAL))
    assert settings.source.location == str(tmp_path / "content")
    assert settings.database == str(tmp_path / "var/sharebot.db")
    assert settings.site.base_url == "https://news.example.de/"


def test_database_url_from_environment_wins(tmp_path):
    settings = load(write(tmp_path, MINIMAL), {"SHAREBOT_DATABASE_URL": "postgresql://u@h/db"})
    assert settings.database == "postgresql://u@h/db"


def test_content_dir_override(tmp_path):
    settings = load_settings(write(tmp_path, MINIMAL), {"SHAREBOT_CONTENT_DIR": "/x"}, dotenv_path=tmp_path / "n")
    assert settings.source.location == "/x"


def test_credentials_come_from_named_or_default_variables_and_are_masked(tmp_path):
    settings = load(write(tmp_path, MINIMAL), {"SHAREBOT_MASTO_ACCESS_TOKEN": "tok-very-secret-123456"})
    creds = settings.credentials(settings.account("masto"))
    assert creds["access_token"] == "tok-very-secret-123456"
    assert "very-secret" not in repr(creds)
    assert "very-secret" not in repr(settings)


def test_dotenv_file_is_read_and_environment_wins(tmp_path):
    path = write(tmp_path, MINIMAL)
    dotenv = tmp_path / ".env"
    dotenv.write_text("SHAREBOT_MASTO_ACCESS_TOKEN=from-dotenv\n")
    settings = load_settings(path, {}, dotenv_path=dotenv)
    assert settings.credentials(settings.account("masto"))["access_token"] == "from-dotenv"
    settings = load_settings(path, {"SHAREBOT_MASTO_ACCESS_TOKEN": "from-env"}, dotenv_path=dotenv)
    assert settings.credentials(settings.account("masto"))["access_token"] == "from-env"


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.replace('network = "mastodon"', 'network = "myspace"'), "accounts.masto.network: 'myspace'"),
        (lambda t: t.replace('base_url = "https://news.example.de"', 'base_url = "news.example.de"'),
         "site.base_url: 'news.example.de' is not an http(s) URL"),
        (lambda t: t.replace('[source]\ncontent = "content"', ""), "source: set exactly one of"),
        (lambda t: t + "\n[bogus]\n", "unknown section 'bogus'"),
        (lambda t: t + 'max_hashtags = -1\n', "accounts.masto.max_hashtags"),
        (lambda t: t + 'secrets = { password = "X" }\n', "accounts.masto.secrets.password"),
        (lambda t: t.replace("[site]", '[site]\ntimezone = "Mars/Olympus"'), "unknown time zone 'Mars/Olympus'"),
        (lambda t: t + "name = \n", "sharebot.toml"),
        (lambda t: t + "instanse = \"https://typo.example\"\n", "accounts.masto.instanse: unknown setting"),
        (lambda t: t + "max_hashtags = true\n", "accounts.masto.max_hashtags"),
        (lambda t: t + 'enabled = "false"\n', "accounts.masto.enabled: expected true or false"),
        (lambda t: t + 'template = "{title!r} {link}"\n', "template field {title}: write it plain"),
        (lambda t: t + 'template = "{title:>20} {link}"\n', "template field {title}: write it plain"),
        (lambda t: t + 'utm = { utm_source = "{foo}" }\n', "accounts.masto.utm.utm_source: {foo} is not a placeholder"),
        (lambda t: t + 'utm = { utm_campaign = "{slug.__class__}" }\n',
         "accounts.masto.utm.utm_campaign: {slug.__class__} is not a placeholder"),
        (lambda t: t + 'utm = { utm_campaign = "{slug[0]}" }\n', "accounts.masto.utm.utm_campaign: {slug[0]} is not"),
        (lambda t: t + 'utm = { utm_campaign = "{slug!r}" }\n', "accounts.masto.utm.utm_campaign: {slug!r} is not"),
        (lambda t: t + 'secrets = { access_token = "mtok-1234-abcd-PASTED" }\n',
         "accounts.masto.secrets.access_token: the value is not an environment variable name"),
        (lambda t: t.replace("[source]", '[queue]\ndatabse = "x.db"\n[source]'), "queue.databse: unknown setting"),
        (lambda t: t.replace("[source]", '[queue]\nretry_base_seconds = "abc"\n[source]'),
         "queue.retry_base_seconds: expected a positive number, got 'abc'"),
        (lambda t: t.replace("[source]", '[queue]\nmax_attempts = 2.5\n[source]'),
         "queue.max_attempts: expected a positive whole number"),
        (lambda t: t.replace("[site]", '[site]\nlanguge = "de"'), "site.languge: unknown setting"),
        (lambda t: t.replace("[site]", '[site]\nlanguage = "german"'), "site.language: 'german' is not a BCP 47"),
        (lambda t: t + '[templates]\nx = "{titel}"\n', "templates.x: template field {titel}"),
    ],
)
def test_invalid_config_names_the_key(tmp_path, change, message):
    path = write(tmp_path, change(MINIMAL))
    with pytest.raises(ConfigError) as info:
        load(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert "PASTED" not in str(info.value)  # a secret pasted where its variable's name belongs is never shown


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="nothere.toml: config file not found"):
        load(tmp_path / "nothere.toml")


def test_config_path_from_environment(tmp_path):
    path = write(tmp_path, MINIMAL)
    settings = load_settings(None, {"SHAREBOT_CONFIG": str(path)}, dotenv_path=tmp_path / "n")
    assert settings.path == path
    assert EXAMPLE_CONFIG.exists()


# --- account settings are checked against the network's declaration ----------------------------------------
@pytest.mark.parametrize(
    "account, message",
    [
        ('[accounts.fb]\nnetwork = "facebook"\n', "accounts.fb.page_id: missing (facebook needs it)"),
        ('[accounts.fb]\nnetwork = "facebook"\npage_id = ""\n', "accounts.fb.page_id: missing (facebook needs it)"),
        ('[accounts.tg]\nnetwork = "telegram"\n', "accounts.tg.chat_id: missing (telegram needs it)"),
        ('[accounts.th]\nnetwork = "threads"\n', "accounts.th.user_id: missing (threads needs it)"),
        ('[accounts.li]\nnetwork = "linkedin"\n', "accounts.li.author: missing (linkedin needs it)"),
        ('[accounts.bs]\nnetwork = "bluesky"\n', "accounts.bs.handle: missing (bluesky needs it)"),
        ('[accounts.fb]\nnetwork = "facebook"\npage_id = 12\n', "accounts.fb.page_id: expected a string, got 12"),
        ('[accounts.tg]\nnetwork = "telegram"\nchat_id = 1.5\n',
         "accounts.tg.chat_id: expected a string or a whole number, got 1.5"),
        ('[accounts.tg]\nnetwork = "telegram"\nchat_id = "@news"\nattach_image = "yes"\n',
         "accounts.tg.attach_image: expected true or false, got 'yes'"),
        ('[accounts.th]\nnetwork = "threads"\nuser_id = "1"\npoll_attempts = 2.5\n',
         "accounts.th.poll_attempts: expected a whole number, got 2.5"),
    ],
)
def test_a_missing_or_mistyped_account_setting_is_one_line_naming_file_and_key(tmp_path, account, message):
    path = write(tmp_path, MINIMAL + account)
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(info.value) == f"{path}: {message}"


@pytest.mark.parametrize("change, message", [
    (lambda t: t + 'max_characters = "x"\n', "accounts.masto.max_characters: expected a positive whole number, got 'x'"),
    (lambda t: t + "max_characters = 0\n", "accounts.masto.max_characters: expected a positive whole number, got 0"),
    (lambda t: t + "characters_reserved_per_url = true\n",
     "accounts.masto.characters_reserved_per_url: expected a positive whole number, got True"),
    (lambda t: t + "visibility = 1\n", "accounts.masto.visibility: expected a string, got 1"),
    (lambda t: t.replace('instance = "https://social.example"', 'instance = ""'),
     "accounts.masto.instance: missing (mastodon needs it)"),
])
def test_mastodon_settings_are_checked_at_load(tmp_path, change, message):
    path = write(tmp_path, change(MINIMAL))
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(info.value) == f"{path}: {message}"


def test_settings_of_the_declared_kinds_load(tmp_path):
    settings = load(write(tmp_path, MINIMAL + 'max_characters = 1000\nmedia_poll_interval = 2\n'
                                              '[accounts.tg]\nnetwork = "telegram"\nchat_id = -1001234567890\n'))
    assert settings.account("masto").options["max_characters"] == 1000
    assert settings.account("tg").options["chat_id"] == -1001234567890  # Telegram takes a numeric chat id too


def test_env_example_lists_every_credential_of_the_example_accounts(example_settings):
    listed = set(re.findall(r"^(\w+)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.M))
    wanted = {var for account in example_settings.accounts for var in example_settings.secret_vars(account).values()}
    assert wanted and wanted <= listed, sorted(wanted - listed)


def test_fetch_allows_only_public_hosts_unless_listed(tmp_path):
    assert load(write(tmp_path, MINIMAL)).fetch.allow_private == ()
    settings = load(write(tmp_path, MINIMAL + '[fetch]\nallow_private = ["127.0.0.1", "10.0.0.0/8", "intranet"]\n'))
    assert settings.fetch.allow_private == ("127.0.0.1", "10.0.0.0/8", "intranet")
    with pytest.raises(ConfigError, match="fetch.allow_private: expected a list"):
        load(write(tmp_path, MINIMAL + '[fetch]\nallow_private = "127.0.0.1"\n'))
    with pytest.raises(ConfigError, match="fetch.allow_all: unknown setting"):
        load(write(tmp_path, MINIMAL + '[fetch]\nallow_all = true\n'))
