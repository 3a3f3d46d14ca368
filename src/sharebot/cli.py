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
from sharebot.models import JobState

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
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text.")
@click.option("--network", "networks", multiple=True, metavar="NAMES", help="Only these networks (x,bluesky,…).")
@click.option("--account", "accounts", multiple=True, metavar="NAMES", help="Only these accounts.")
@click.option("--repost", is_flag=True, help="Post again even where the article already went (a new round).")
@click.option("--at", "at", metavar="WHEN", help="Schedule instead of posting now: +2h, '2026-12-01 08:00' "
              "(site time zone) or ISO 8601.")
@click.pass_obj
def publish(obj: Context, article: str, dry_run: bool, as_json: bool, networks: tuple[str, ...],
            accounts: tuple[str, ...], repost: bool, at: str | None) -> None:
    """Render ARTICLE (a slug, or an article page URL) for every account and post it.

    Posts go out in parallel and each account's outcome is printed. Run again, nothing is posted twice:
    sharebot says where the article already went.
    """
    from sharebot import preview

    settings = obj.settings
    chosen = preview.select_accounts(settings, networks=split_list(networks), accounts=split_list(accounts))
    item = preview.load_article(settings, article)
    if dry_run:
        result = preview.render_article(settings, item, chosen)
        if as_json:
            click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        else:
            click.echo(preview.format_text(result), nl=False)
        if result.blocked:
            names = ", ".join(p.account for p in result.blocked)
            fail(f"{len(result.blocked)} post(s) would be refused: {names}")
        return
    from sharebot import app

    run_at = when(at, settings) if at else None
    with queue_and_adapters(settings) as (store, adapters):
        report = app.publish(settings, item, chosen, store=store, adapters=adapters, clock=utcnow,
                             owner=owner_name("publish"), run_at=run_at, repost=repost)
    if as_json:
        click.echo(json.dumps(report_json(report), ensure_ascii=False, indent=2))
    else:
        click.echo(f"{item.slug} (round {report.round})")
        for line in report.lines:
            note = " (earlier run)" if line.already else ""
            click.echo(f"  {line.account:<12} {line.network.value:<9} {line.state:<10}{note} "
                       f"{line.url or ''} {'' if line.url else line.detail}".rstrip())
    if report.failed:
        fail(f"{len(report.failed)} account(s) not posted: {', '.join(d.account for d in report.failed)}")


def when(text: str, settings: Any) -> datetime:
    from sharebot.when import parse_when

    try:
        return parse_when(text, now=utcnow(), zone=settings.site.timezone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from None


def owner_name(role: str) -> str:
    import socket

    return f"{role}@{socket.gethostname()}:{os.getpid()}"


class queue_and_adapters:
    """The store and the adapter cache for one command, closed on the way out."""

    def __init__(self, settings: Any, *, adapters: bool = True) -> None:
        from sharebot import app

        self.store = app.open_queue(settings)
        self.adapters = app.Adapters(settings) if adapters else None

    def __enter__(self) -> tuple[Any, Any]:
        return self.store, self.adapters

    def __exit__(self, *exc: Any) -> None:
        if self.adapters:
            self.adapters.close()
        self.store.close()


def report_json(report: Any) -> dict[str, Any]:
    return {
        "article": report.article.slug,
        "round": report.round,
        "accounts": [{"account": d.account, "network": d.network.value, "state": d.state, "url": d.url,
                      "detail": d.detail, "job": d.job_id, "earlier_run": d.already} for d in report.lines],
    }


def job_line(job: Any) -> str:
    where = job.remote_url or (job.last_error or "")
    return (f"{job.id:>6}  {job.slug[:38]:<38} {job.account:<12} {job.state.value:<9} r{job.round} "
            f"{job.updated_at:%Y-%m-%d %H:%M}Z  {where}").rstrip()


@cli.command()
@click.argument("slug")
@click.pass_obj
def status(obj: Context, slug: str) -> None:
    """Where SLUG went: each account's state, post URL and times."""
    from sharebot import app

    with queue_and_adapters(obj.settings, adapters=False) as (store, _):
        jobs = app.status(store, slug)
    for job in jobs:
        click.echo(job_line(job))


@cli.group(invoke_without_command=True)
@click.option("--state", type=click.Choice([s.value for s in JobState]),
              help="Only jobs in this state.")
@click.option("--account", help="Only this account's jobs.")
@click.option("--slug", help="Only this article's jobs.")
@click.option("--limit", type=int, default=200, show_default=True)
@click.pass_context
def queue(ctx: click.Context, state: str | None, account: str | None, slug: str | None, limit: int) -> None:
    """List jobs (with filters), or inspect and repair one with a subcommand."""
    if ctx.invoked_subcommand:
        return
    from sharebot import queue as q

    with queue_and_adapters(ctx.obj.settings, adapters=False) as (store, _):
        jobs = q.list_jobs(store, state=state, account=account, slug=slug, limit=limit)
        counts = store.counts()
    for job in jobs:
        click.echo(job_line(job))
    click.echo("  ".join(f"{s.value}: {n}" for s, n in counts.items() if n) or "the queue is empty")


@queue.command("show")
@click.argument("job_id", type=int)
@click.pass_obj
def queue_show(obj: Context, job_id: int) -> None:
    """One job: its post exactly as queued, and its full history."""
    from sharebot import queue as q

    with queue_and_adapters(obj.settings, adapters=False) as (store, _):
        job = store.get(job_id)
        events = q.job_events(store, job_id)
    click.echo(job_line(job))
    click.echo(f"  key {job.key[:16]}…  attempts {job.attempts}  run at {job.run_at:%Y-%m-%d %H:%M:%S}Z")
    click.echo("  " + job.post.text.replace("\n", "\n  "))
    for e in events:
        click.echo(f"  {e.at:%Y-%m-%d %H:%M:%S}Z  {e.from_state or '-'} -> {e.to_state}  {e.reason}")


@queue.command("retry")
@click.argument("job_id", type=int)
@click.pass_obj
def queue_retry(obj: Context, job_id: int) -> None:
    """Queue a failed or canceled job again (the worker sends it)."""
    from sharebot import queue as q

    with queue_and_adapters(obj.settings, adapters=False) as (store, _):
        click.echo(job_line(q.retry(store, job_id, utcnow())))


@queue.command("cancel")
@click.argument("job_id", type=int)
@click.pass_obj
def queue_cancel(obj: Context, job_id: int) -> None:
    """Cancel a queued, failed or unknown job."""
    from sharebot import queue as q

    with queue_and_adapters(obj.settings, adapters=False) as (store, _):
        click.echo(job_line(q.cancel(store, job_id, utcnow(), reason="canceled by hand")))


@queue.command("resolve")
@click.argument("job_id", type=int)
@click.option("--posted", "posted", metavar="URL", help="It did go out: here.")
@click.option("--not-posted", is_flag=True, help="It did not go out: send it again.")
@click.pass_obj
def queue_resolve(obj: Context, job_id: int, posted: str | None, not_posted: bool) -> None:
    """Settle an unknown job by hand."""
    from sharebot import queue as q

    if bool(posted) == not_posted:
        raise click.UsageError("give exactly one of --posted URL or --not-posted")
    with queue_and_adapters(obj.settings, adapters=False) as (store, _):
        click.echo(job_line(q.resolve(store, job_id, utcnow(), posted_url=posted, not_posted=not_posted)))


@cli.command()
@click.argument("slug")
@click.pass_obj
def retract(obj: Context, slug: str) -> None:
    """Delete SLUG's posts on every network (for corrections), and record it."""
    from sharebot import app

    with queue_and_adapters(obj.settings) as (store, adapters):
        results = app.retract(store, slug, adapters=adapters, clock=utcnow)
    for r in results:
        click.echo(f"  {r.job.account:<12} {'deleted' if r.deleted else 'NOT deleted: ' + r.detail}")
    if any(not r.deleted for r in results):
        fail("some posts could not be deleted")


@cli.command()
@click.option("--burst", is_flag=True, help="Post what is due, then exit (for cron).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True)
@click.pass_obj
def worker(obj: Context, burst: bool, concurrency: int) -> None:
    """Post due jobs until stopped. SIGTERM finishes the posts in hand, then exits."""
    import logging
    import signal
    import threading

    from sharebot import app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with queue_and_adapters(obj.settings) as (store, adapters):
        handled = app.run_worker(obj.settings, store=store, adapters=adapters, clock=utcnow,
                                 owner=owner_name("worker"), concurrency=concurrency, burst=burst, stop=stop)
    click.echo(f"worker handled {handled} job(s)")


@cli.group(invoke_without_command=True)
@click.pass_context
def accounts(ctx: click.Context) -> None:
    """List configured accounts with their secrets masked."""
    if ctx.invoked_subcommand:
        return
    from sharebot import app

    for line in app.list_accounts(ctx.obj.settings):
        a = line.account
        creds = ", ".join(f"{k}: {v}" for k, v in line.credentials.items()) or "no credentials"
        click.echo(f"{a.name:<12} {a.network.value:<9} {'enabled' if a.enabled else 'disabled':<8} {creds}")


@accounts.command("check")
@click.pass_obj
def accounts_check(obj: Context) -> None:
    """Verify every account's credentials with one authenticated read each."""
    from sharebot import app

    with queue_and_adapters(obj.settings) as (store, adapters):
        results = app.check_accounts(obj.settings, adapters=adapters, store=store, clock=utcnow)
    for r in results:
        click.echo(f"{r.account:<12} {r.state:<10} {r.detail}")
    bad = [r.account for r in results if r.state not in ("ok", "expiring")]
    if bad:
        fail(f"{len(bad)} account(s) not usable: {', '.join(bad)}")


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
