"""`sharebot init`: a new site's config and .env from options or answers; checked, atomic, never overwriting."""

from __future__ import annotations

import io
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_support import sharebot
from conftest import EXAMPLE_CONTENT, SEED_SLUG

from sharebot.cli import main
from sharebot.config import load_settings

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
FLAGS = ("--name", "Stadtanzeiger", "--base-url", "https://stadtanzeiger.example", "--language", "de",
         "--timezone", "Europe/Vienna", "--networks", "x,mastodon,telegram,whatsapp",
         "--set", "mastodon.instance=https://mastodon.social", "--set", "telegram.chat_id=-1001234567890")


def init(tmp_path: Path, *args: str, source: str | None = None):
    return sharebot("--config", str(tmp_path / "site" / "sharebot.toml"), "init", "--env-file",
                    str(tmp_path / "site" / ".env"), "--source", source or str(EXAMPLE_CONTENT), *args, now=NOW)


def test_init_writes_a_config_that_loads_and_dry_runs(tmp_path):
    result = init(tmp_path, *FLAGS)
    assert result.exit_code == 0, result.output
    config, dotenv = tmp_path / "site" / "sharebot.toml", tmp_path / "site" / ".env"
    settings = load_settings(config, {}, dotenv_path=dotenv)
    assert settings.site.name == "Stadtanzeiger" and settings.site.base_url == "https://stadtanzeiger.example/"
    assert settings.site.timezone == "Europe/Vienna"
    assert [a.name for a in settings.accounts] == ["x", "mastodon", "telegram", "whatsapp"]
    assert settings.account("mastodon").options["instance"] == "https://mastodon.social"
    assert Path(settings.source.location).resolve() == EXAMPLE_CONTENT.resolve()
    # .env: private, every credential's name and no value
    assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600
    lines = [line for line in dotenv.read_text().splitlines() if line and not line.startswith("#")]
    assert lines == ["SHAREBOT_X_CONSUMER_KEY=", "SHAREBOT_X_CONSUMER_SECRET=", "SHAREBOT_X_ACCESS_TOKEN=",
                     "SHAREBOT_X_ACCESS_TOKEN_SECRET=", "SHAREBOT_X_BEARER_TOKEN=",
                     "SHAREBOT_MASTODON_ACCESS_TOKEN=", "SHAREBOT_TELEGRAM_BOT_TOKEN="]
    assert "SHAREBOT_MASTODON_ACCESS_TOKEN" in result.stdout
    # The dry run works on it; with the credentials in the environment every post can go.
    env = {"SHAREBOT_MASTODON_ACCESS_TOKEN": "t", "SHAREBOT_TELEGRAM_BOT_TOKEN": "t", "SHAREBOT_X_BEARER_TOKEN": "t"}
    dry = sharebot("--config", str(config), "publish", SEED_SLUG, "--dry-run", "--json", env=env, now=NOW)
    assert dry.exit_code == 0, dry.output
    posts = json.loads(dry.stdout)["posts"]
    assert {p["account"] for p in posts} == {"x", "mastodon", "telegram", "whatsapp"}
    assert all("utm_source=" in p["link"] for p in posts)
    # ...and without them it says which cannot post
    assert sharebot("--config", str(config), "publish", SEED_SLUG, "--dry-run", now=NOW).exit_code == 3


def test_a_feed_source(tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text("<rss/>")
    assert init(tmp_path, *FLAGS, source=str(feed)).exit_code == 0
    settings = load_settings(tmp_path / "site" / "sharebot.toml", {}, dotenv_path=tmp_path / "none")
    assert settings.source.kind == "feed" and Path(settings.source.location).resolve() == feed
    url = init(tmp_path, *FLAGS, "--force", source="https://stadtanzeiger.example/feed.xml")
    assert url.exit_code == 0, url.output
    settings = load_settings(tmp_path / "site" / "sharebot.toml", {}, dotenv_path=tmp_path / "none")
    assert settings.source == ("feed", "https://stadtanzeiger.example/feed.xml")


def test_existing_files_are_kept_unless_forced(tmp_path):
    (tmp_path / "site").mkdir()
    dotenv = tmp_path / "site" / ".env"
    dotenv.write_text("SHAREBOT_X_BEARER_TOKEN=keep-me\n")
    refused = init(tmp_path, *FLAGS)
    assert refused.exit_code == 1 and refused.stderr.count("\n") == 1
    assert ".env: exists; give --force" in refused.stderr
    assert not (tmp_path / "site" / "sharebot.toml").exists()  # not one of the two written
    assert dotenv.read_text() == "SHAREBOT_X_BEARER_TOKEN=keep-me\n"
    assert init(tmp_path, *FLAGS, "--force").exit_code == 0
    assert "keep-me" not in dotenv.read_text()
    again = init(tmp_path, *FLAGS)
    assert again.exit_code == 1 and "sharebot.toml: exists" in again.stderr


def test_a_forced_init_that_cannot_write_the_env_file_keeps_the_old_config(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    config = site / "sharebot.toml"
    config.write_text("# the site's own config\n")
    (site / ".env").mkdir()  # a folder where .env goes: the second file cannot be put in place
    failed = init(tmp_path, *FLAGS, "--force")
    assert failed.exit_code == 1 and failed.stderr == f"sharebot: init: {site / '.env'}: cannot write it: Is a directory\n"
    assert config.read_text() == "# the site's own config\n"
    assert sorted(p.name for p in site.iterdir()) == [".env", "sharebot.toml"]  # no temporary or backup left


@pytest.mark.parametrize(("change", "message"), [
    (("--language", "Deutsch"), "init: language: 'Deutsch' is not a language tag"),
    (("--timezone", "Mars/Olympus"), "init: timezone: 'Mars/Olympus' is not an IANA time zone"),
    (("--base-url", "ftp://stadtanzeiger.example"), "init: base-url: 'ftp://stadtanzeiger.example' is not"),
    (("--base-url", "stadtanzeiger.example"), "init: base-url:"),
    (("--networks", "x,myspace"), "init: networks: 'myspace' is not one of x, bluesky"),
    (("--name", " "), "init: name:"),
    (("--set", "mastodon.instanse=https://a.example"), "init: set mastodon.instanse: Mastodon takes no setting"),
    (("--set", "telegram.attach_image=maybe"), "init: set telegram.attach_image: expected true or false"),
    (("--set", "facebook.page_id=1"), "init: set facebook.…: facebook is not among the chosen networks"),
    (("--set", "mastodon"), "init: set 'mastodon': expected NETWORK.SETTING=VALUE"),
    (("--set", "mastodon.instance=mastodon"), "init: set mastodon.instance: 'mastodon' is not the server's address"),
])
def test_bad_values_are_one_line_errors_and_nothing_is_written(tmp_path, change, message):
    flags = list(FLAGS)
    if change[0] in flags and change[0] != "--set":
        flags[flags.index(change[0]) + 1] = change[1]
    else:
        flags += change
    result = init(tmp_path, *flags)
    assert result.exit_code == 1 and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "site").exists() or not any((tmp_path / "site").iterdir())


def test_a_missing_source_and_a_missing_required_setting(tmp_path):
    nowhere = init(tmp_path, *FLAGS, source=str(tmp_path / "nowhere"))
    assert nowhere.exit_code == 1 and "init: source:" in nowhere.stderr and "no such directory" in nowhere.stderr
    assert FLAGS[-2:] == ("--set", "telegram.chat_id=-1001234567890")
    unset = init(tmp_path, *FLAGS[:-2])
    assert unset.exit_code == 1 and "init: --set telegram.chat_id=… is missing" in unset.stderr
    assert not (tmp_path / "site" / "sharebot.toml").exists()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_it_asks_for_what_is_missing_and_again_after_a_wrong_answer(tmp_path):
    answers = Terminal("\n".join([
        "Stadtanzeiger",  # name
        "https://stadtanzeiger.example",
        "Klingonisch", "",  # a wrong language, then the default (de)
        "",  # time zone: the default
        str(EXAMPLE_CONTENT),
        "bluesky,telegram",
        "stadtanzeiger.example",  # bluesky handle
        "@stadtanzeiger",  # telegram chat_id
    ]) + "\n")
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(tmp_path / "sharebot.toml"), "init", "--env-file", str(tmp_path / ".env")],
                environ={}, stdout=out, stderr=err, stdin=answers, clock=lambda: NOW)
    assert code == 0, err.getvalue()
    assert "Language of the articles (de, en, pt-BR, …) [de]: " in out.getvalue()
    assert "Bluesky handle (a handle like news.bsky.social, without @): " in out.getvalue()
    settings = load_settings(tmp_path / "sharebot.toml", {}, dotenv_path=tmp_path / ".env")
    assert (settings.site.language, settings.site.timezone) == ("de", "Europe/Berlin")
    assert settings.account("bluesky").options["handle"] == "stadtanzeiger.example"
    assert settings.account("telegram").options["chat_id"] == "@stadtanzeiger"


def test_input_that_ends_before_the_answers_writes_nothing(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(tmp_path / "sharebot.toml"), "init"], environ={}, stdout=out, stderr=err,
                stdin=Terminal("Stadtanzeiger\n"), clock=lambda: NOW)
    assert code == 1 and "end of input" in err.getvalue()
    assert list(tmp_path.iterdir()) == []


def test_without_a_terminal_a_missing_flag_is_named(tmp_path):
    result = sharebot("--config", str(tmp_path / "sharebot.toml"), "init", "--name", "X", now=NOW)
    assert result.exit_code == 1 and "init: --base-url is missing" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_source_beside_the_configs_folder_stays_relative(tmp_path):
    from sharebot.setup_site import init_site

    (tmp_path / "content").mkdir()
    given = {"name": "N", "base_url": "https://n.example", "language": "de", "timezone": "UTC", "source": "content",
             "networks": "whatsapp"}
    result = init_site(given, config_path=tmp_path / "config" / "sharebot.toml", env_path=tmp_path / ".env",
                       base=tmp_path)
    assert 'content = "../content"' in result.config.read_text()
    settings = load_settings(result.config, {}, dotenv_path=result.env)
    assert Path(settings.source.location).resolve() == (tmp_path / "content").resolve()


@pytest.mark.parametrize(("typed", "written"), [("iw", "he"), ("en_us", "en-US"), ("de-CH-1996", "de-CH-1996")])
def test_the_language_is_written_as_the_config_loader_reads_it(tmp_path, typed, written):
    flags = list(FLAGS)
    flags[flags.index("--language") + 1] = typed
    assert init(tmp_path, *flags).exit_code == 0
    settings = load_settings(tmp_path / "site" / "sharebot.toml", {}, dotenv_path=tmp_path / "none.env")
    assert settings.site.language == written
    assert f'language = "{written}"' in (tmp_path / "site" / "sharebot.toml").read_text()


def test_a_language_the_config_loader_would_not_take_is_refused(tmp_path):
    flags = list(FLAGS)
    flags[flags.index("--language") + 1] = "xx"
    refused = init(tmp_path, *flags)
    assert refused.exit_code == 1 and "init: language: 'xx' is not a language tag" in refused.stderr
