"""Every network at once for end-to-end tests: the six local stand-ins, an image host, and the real PDS.

`Newsroom` starts them on the test's clock, writes a config whose accounts point at them, and the
environment holding recognisable fake secrets, so a test can run the real `sharebot` CLI against all of it.
The `newsroom` fixture (conftest.py) gives a started one.
"""

from __future__ import annotations

import json
import textwrap
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from fakes.base import FakeAPI
from fakes.facebook import FakeFacebook
from fakes.linkedin import FakeLinkedIn
from fakes.mastodon import FakeMastodon
from fakes.pictures import PictureHost
from fakes.telegram import FakeTelegram
from fakes.threads import FakeThreads
from fakes.x import FakeX
from pds import PDS, PDSAccount, create_account

EXAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "config" / "sharebot.toml"

SEED_FRONT_MATTER = """\
---
slug: {slug}
title: Putin und Xi stärken strategische Partnerschaft in Videogespräch
teaser: >-
  Putin und Xi führten ein Videogespräch, in dem sie ihre strategische Partnerschaft bekräftigten,
  während Russland Sanktionen wegen der Ukraine erlebt.
image: {image}
image_alt: Wladimir Putin und Xi Jinping auf einem Bildschirm
tags: [Russland, China, Wladimir Putin, Xi Jinping, Außenpolitik]
section: Geopolitik
language: de
published_at: 2026-02-04T14:30:00+01:00
---
Der Text des Artikels.
"""


@dataclass
class Newsroom:
    clock: Callable[[], datetime]
    pds: PDS | None = None
    bluesky: PDSAccount | None = None
    config: Path | None = None  # the last config written
    images: PictureHost = field(default_factory=PictureHost)

    def __post_init__(self) -> None:
        self.x = FakeX(clock=self.clock)
        self.mastodon = FakeMastodon(clock=self.clock)
        self.linkedin = FakeLinkedIn(clock=self.clock)
        self.facebook = FakeFacebook(clock=self.clock)
        self.threads = FakeThreads(clock=self.clock)
        self.telegram = FakeTelegram(clock=self.clock)

    def start(self) -> Newsroom:
        for server in self.servers:
            server.start()
        return self

    def add_bluesky(self, pds: PDS) -> PDSAccount:
        """A fresh account on the real PDS, configured by the next `write_config`."""
        self.pds, self.bluesky = pds, create_account(pds, "news")
        return self.bluesky

    @property
    def servers(self) -> list[FakeAPI]:
        return [self.x, self.mastodon, self.linkedin, self.facebook, self.threads, self.telegram, self.images]

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def image_url(self, slug: str) -> str:
        return f"{self.images.url}/bilder/{slug}/rgb-1600x900.png"

    def write_site(self, root: Path, slugs: list[str]) -> Path:
        content = root / "content"
        content.mkdir(parents=True, exist_ok=True)
        for slug in slugs:
            (content / f"{slug}.md").write_text(
                SEED_FRONT_MATTER.format(slug=slug, image=self.image_url(slug)), encoding="utf-8")
        return content

    def write_config(self, root: Path, *, extra: str = "", database: str | None = None) -> Path:
        bluesky = ""
        if self.pds and self.bluesky:
            bluesky = f"""
            [accounts.bluesky]
            network = "bluesky"
            handle = "{self.bluesky.handle}"
            pds = "{self.pds.url}"
            """
        config = textwrap.dedent(f"""
            [site]
            name = "Nachrichten Demo"
            base_url = "https://nachrichten.sharebot-demo.de/"
            timezone = "Europe/Berlin"
            [source]
            content = "content"
            [queue]
            database = "{database or 'var/sharebot.db'}"
            timeout_seconds = 5
            retry_base_seconds = 1
            [accounts.x]
            network = "x"
            api_base = "{self.x.url}"
            [accounts.mastodon]
            network = "mastodon"
            instance = "https://social.example"
            api_base = "{self.mastodon.url}"
            [accounts.linkedin]
            network = "linkedin"
            author = "urn:li:organization:{self.linkedin.organization}"
            api_base = "{self.linkedin.url}"
            [accounts.facebook]
            network = "facebook"
            page_id = "{self.facebook.page_id}"
            api_base = "{self.facebook.url}"
            [accounts.threads]
            network = "threads"
            user_id = "{self.threads.user_id}"
            api_base = "{self.threads.url}"
            poll_interval = 0.05
            [accounts.telegram]
            network = "telegram"
            chat_id = "@sharebot_news"
            api_base = "{self.telegram.url}"
            [accounts.whatsapp]
            network = "whatsapp"
            [fetch]
            allow_private = ["127.0.0.1"]
            """) + textwrap.dedent(bluesky) + textwrap.dedent(extra)
        self.config = root / "sharebot.toml"
        self.config.write_text(config, encoding="utf-8")
        return self.config

    def env(self) -> dict[str, str]:
        env = {
            "SHAREBOT_X_CONSUMER_KEY": self.x.consumer_key,
            "SHAREBOT_X_CONSUMER_SECRET": self.x.consumer_secret,
            "SHAREBOT_X_ACCESS_TOKEN": self.x.access_token,
            "SHAREBOT_X_ACCESS_TOKEN_SECRET": self.x.access_token_secret,
            "SHAREBOT_MASTODON_ACCESS_TOKEN": self.mastodon.token,
            "SHAREBOT_LINKEDIN_ACCESS_TOKEN": self.linkedin.token,
            "SHAREBOT_FACEBOOK_PAGE_ACCESS_TOKEN": self.facebook.token,
            "SHAREBOT_THREADS_ACCESS_TOKEN": self.threads.token,
            "SHAREBOT_TELEGRAM_BOT_TOKEN": self.telegram.token,
        }
        if self.bluesky:
            env["SHAREBOT_BLUESKY_APP_PASSWORD"] = self.bluesky.app_password
        return env

    def posted(self) -> dict[str, int]:
        """How many live posts each stand-in holds."""
        return {
            "x": len(self.x.tweets), "mastodon": len(self.mastodon.statuses), "linkedin": len(self.linkedin.live),
            "facebook": len(self.facebook.live), "threads": len(self.threads.live),
            "telegram": len(self.telegram.messages),
        }


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def example_schedules(accounts: list[str]) -> str:
    """The bundled example config's schedules and filters, as TOML to append to a stand-in config."""
    raw = tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    out = ["", "[schedule]"] + [f"{k} = {_toml_value(v)}" for k, v in raw["schedule"].items()]
    for name in accounts:
        spec = raw["accounts"].get(name, {})
        schedule = spec.get("schedule")
        if schedule == "immediate":
            out += [f"[accounts.{name}.schedule]", "immediate = true"]
        elif isinstance(schedule, dict):
            out += [f"[accounts.{name}.schedule]"] + [f"{k} = {_toml_value(v)}" for k, v in schedule.items()]
        if "filter" in spec:
            out += [f"[accounts.{name}.filter]"] + [f"{k} = {_toml_value(v)}" for k, v in spec["filter"].items()]
    return "\n".join(out) + "\n"
