"""The `sharebot` command. Thin: each command parses, calls one library function, prints.

Library errors become one line on stderr and exit status 1 here and only here; usage errors exit 2.
Heavy modules (the queue, adapters, their SDKs) are imported inside the commands that need them.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from typing import Any, Callable

import click

from sharebot.errors import SharebotError

ENV_HELP = "Default: $SHAREBOT_CONFIG, else config/sharebot.toml."


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Context:
    def __init__(self, config: str | None, content: str | None) -> None:
        self.config_path = config
        self.content_dir = content
        self._settings: Any = None

    @property
    def settings(self) -> Any:
        if self._settings is None:
            from sharebot.config import load_settings

            self._settings = load_settings(self.config_path, os.environ, content_dir=self.content_dir)
        return self._settings


def fail(message: str, code: int = 1) -> None:
    click.echo(f"sharebot: {message}", err=True)
    sys.exit(code)


class SharebotGroup(click.Group):
    """Turns sharebot's own errors into one line and a non-zero exit, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SharebotError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted", 130)


@click.group(cls=SharebotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config", metavar="PATH", help=f"The config file. {ENV_HELP}")
@click.option("--content", "content", metavar="DIR",
              help="Read articles from this content directory instead of the configured source "
                   "(default: $SHAREBOT_CONTENT_DIR).")
@click.version_option(package_name="sharebot")
@click.pass_context
def cli(ctx: click.Context, config: str | None, content: str | None) -> None:
    """sharebot: turn news articles into exact posts for every network, each posted exactly once."""
    ctx.obj = Context(config, content)


def split_list(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


@cli.command()
@click.argument("article")
@click.option("--dry-run", is_flag=True, help="Show exactly what each account would get; write and send nothing.")
@click.option("--json", "as_json", is_flag=True, help="With --dry-run: print one JSON document.")
@click.option("--network", "networks", multiple=True, metavar="NAMES", help="Only these networks (x,bluesky,…).")
@click.option("--account", "accounts", multiple=True, metavar="NAMES", help="Only these accounts.")
@click.pass_obj
def publish(obj: Context, article: str, dry_run: bool, as_json: bool, networks: tuple[str, ...],
            accounts: tuple[str, ...]) -> None:
    """Render ARTICLE (a slug, or an article page URL) for every account and post it."""
    from sharebot import preview

    settings = obj.settings
    chosen = preview.select_accounts(settings, networks=split_list(networks), accounts=split_list(accounts))
    item = preview.load_article(settings, article)
    result = preview.render_article(settings, item, chosen)
    if not dry_run:
        fail("posting needs the queue, which this build does not have yet; use --dry-run")
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(preview.format_text(result), nl=False)
    if result.blocked:
        names = ", ".join(p.account for p in result.blocked)
        fail(f"{len(result.blocked)} post(s) would be refused: {names}")


@cli.command()
@click.argument("article")
@click.option("--html", "as_html", is_flag=True, help="Print a share-button snippet to paste into the site.")
@click.pass_obj
def links(obj: Context, article: str, as_html: bool) -> None:
    """Share-intent links for ARTICLE: X, Bluesky, LinkedIn, Facebook, WhatsApp, Telegram, Threads, Mastodon."""
    from sharebot import links as share, preview

    settings = obj.settings
    found = preview.article_share_links(settings, preview.load_article(settings, article))
    if as_html:
        click.echo(share.share_html(found))
        return
    width = max(len(s.label) for s in found)
    for s in found:
        click.echo(f"{s.label:<{width}}  {s.url}")


def main(argv: list[str] | None = None, run: Callable[..., Any] | None = None) -> None:
    cli.main(args=argv, prog_name="sharebot")
