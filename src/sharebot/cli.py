"""The `sharebot` command. Thin: each command parses, calls one library function, prints.

Library errors become one line on stderr and exit status 1 here and only here; usage errors exit 2. Every
exit status is an `exits.Exit` (README.md, "Exit status").
Heavy modules (the queue, adapters, their SDKs) are imported inside the commands that need them.
argparse rather than click: click's import alone is ~7 ms, most of the 10x-`python -c pass` budget that
a dry run has left after PyYAML, regex and the rendering itself.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from sharebot.errors import SharebotError
from sharebot.exits import Exit
from sharebot.when import UnreadableTime


def utcnow() -> datetime:
    return datetime.now(UTC)


class Failure(Exception):
    """A command's own verdict: print `message` on stderr and exit with `code`."""

    def __init__(self, message: str, code: int = Exit.ERROR) -> None:
        super().__init__(message)
        self.code = code


class Run:
    """What a command gets: its arguments, the environment, the settings (read on first use) and output."""

    def __init__(self, args: argparse.Namespace, environ: Mapping[str, str], out: TextIO,
                 clock: Callable[[], datetime] = utcnow, stdin: TextIO | None = None) -> None:
        self.args = args
        self.environ = environ
        self.out = out
        self.clock = clock
        self.stdin = stdin
        self._settings: Any = None

    @property
    def settings(self) -> Any:
        if self._settings is None:
            from sharebot.config import load_settings

            self._settings = load_settings(self.args.config, self.environ, content_dir=self.args.content)
        return self._settings

    def echo(self, text: str = "", end: str = "\n") -> None:
        self.out.write(text + end)

    def interactive(self) -> bool:
        """Is a person at the keyboard (stdin a terminal) to answer a question?"""
        try:
            return self.stdin is not None and self.stdin.isatty()
        except (AttributeError, ValueError, OSError):
            return False

    def ask(self, question: str) -> bool:
        self.out.write(question + " [y/N] ")
        self.out.flush()
        assert self.stdin is not None
        return self.stdin.readline().strip().lower() in ("y", "yes")


def names(values: list[str] | None) -> list[str]:
    return [v.strip() for value in values or () for v in value.split(",") if v.strip()]


def to_json(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, indent=2)


def owner_name(role: str) -> str:
    import socket

    return f"{role}@{socket.gethostname()}:{os.getpid()}"


class QueueSession:
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


# --- publish and links ----------------------------------------------------------------------------
def publish_request(a: argparse.Namespace) -> Any:
    from sharebot.pipeline import PublishRequest

    return PublishRequest(a.article, tuple(names(a.network)), tuple(names(a.account)), a.mode, a.at, a.repost)


def cmd_publish(run: Run) -> None:
    a = run.args
    if a.dry_run:
        return cmd_dry_run(run)
    from sharebot import app, output

    with QueueSession(run.settings) as (store, adapters):
        report = app.publish(run.settings, publish_request(a), store=store, adapters=adapters, clock=run.clock,
                             owner=owner_name("publish"))
    run.echo(to_json(output.publish_json(report)) if a.json else output.publish_text(report),
             end="\n" if a.json else "")
    if report.failed:
        raise Failure(f"{len(report.failed)} account(s) not posted: {', '.join(d.account for d in report.failed)}",
                      report.exit)


def cmd_dry_run(run: Run) -> None:
    from sharebot import output, pipeline

    a = run.args
    preview = pipeline.dry_run(run.settings, publish_request(a), now=run.clock())
    run.echo(to_json(preview.to_dict()) if a.json else output.preview_text(preview), end="\n" if a.json else "")
    refused = [p.account for p in preview.blocked if p.refused]
    unset = [p.account for p in preview.blocked if not p.refused]
    if refused or unset:
        raise Failure("; ".join(
            ([f"{len(refused)} post(s) would be refused: {', '.join(refused)}"] if refused else [])
            + ([f"{len(unset)} account(s) cannot post until their credentials are set (environment or .env, "
                f"see .env.example): {', '.join(unset)}"] if unset else [])), Exit.FAILED)


def cmd_links(run: Run) -> None:
    from sharebot import links, pipeline

    found = pipeline.share_links(run.settings, run.args.article)
    if run.args.html:
        run.echo(links.share_html(found))
        return
    width = max(len(s.label) for s in found)
    for s in found:
        run.echo(f"{s.label:<{width}}  {s.url}")


# --- the queue ------------------------------------------------------------------------------------
def cmd_status(run: Run) -> None:
    from sharebot import app, output

    with QueueSession(run.settings, adapters=False) as (store, _):
        report = app.status(store, run.args.slug)
    run.echo(output.status_text(report), end="")
    if report.exit:
        raise Failure(f"{run.args.slug}: not everything went through (see above)", report.exit)


def cmd_queue(run: Run) -> None:
    from sharebot import app, output

    a = run.args
    if a.upcoming:
        return cmd_upcoming(run)
    with QueueSession(run.settings, adapters=False) as (store, _):
        listing = app.list_queue(store, state=a.state, account=a.account, slug=a.slug, limit=a.limit)
    run.echo(output.queue_text(listing), end="")


def cmd_upcoming(run: Run) -> None:
    from sharebot import app, output

    a = run.args
    with QueueSession(run.settings, adapters=False) as (store, _):
        plan = app.upcoming(store, now=run.clock(), within=a.hours, account=a.account, slug=a.slug)
    hours = a.hours / timedelta(hours=1) if a.hours else None
    run.echo(output.upcoming_text(plan, zone=run.settings.site.timezone, hours=hours), end="")


def cmd_queue_show(run: Run) -> None:
    from sharebot import app, output

    with QueueSession(run.settings, adapters=False) as (store, _):
        run.echo(output.history_text(app.job_history(store, run.args.job_id)), end="")


def cmd_queue_retry(run: Run) -> None:
    from sharebot import output, queue

    with QueueSession(run.settings, adapters=False) as (store, _):
        run.echo(output.job_line(queue.retry(store, run.args.job_id, run.clock())))


def cmd_queue_cancel(run: Run) -> None:
    from sharebot import output, queue

    with QueueSession(run.settings, adapters=False) as (store, _):
        run.echo(output.job_line(queue.cancel(store, run.args.job_id, run.clock(), reason="canceled by hand")))


def cmd_queue_resolve(run: Run) -> None:
    from sharebot import output, queue

    a = run.args
    if bool(a.posted) == a.not_posted:
        raise Failure("queue resolve: give exactly one of --posted URL or --not-posted", Exit.USAGE)
    with QueueSession(run.settings, adapters=False) as (store, _):
        job = queue.resolve(store, a.job_id, run.clock(), posted_url=a.posted, remote_id=a.remote_id,
                            not_posted=a.not_posted)
    run.echo(output.job_line(job))


def cmd_queue_prune(run: Run) -> None:
    from sharebot import queue

    a = run.args
    with QueueSession(run.settings, adapters=False) as (store, _):
        report = queue.prune(store, now=run.clock(), older_than=a.older_than, dry_run=a.dry_run)
    states = ", ".join(f"{n} {state}" for state, n in report.jobs.items() if n)
    run.echo(f"{'would delete' if report.dry_run else 'deleted'} {sum(report.jobs.values())} finished job(s)"
             f"{' (' + states + ')' if states else ''} and {report.events} event(s), last changed before "
             f"{report.before:%Y-%m-%d %H:%M} UTC")


def cmd_retract(run: Run) -> None:
    import threading

    from sharebot import app, output

    a = run.args
    confirm = None
    if not a.dry_run and not a.yes:
        if not run.interactive():
            raise Failure("retract: stdin is not a terminal; give --yes to retract without asking", Exit.USAGE)

        def confirm(plan: Any) -> bool:
            run.echo(output.retract_plan_text(a.slug, plan), end="")
            return run.ask(f"Retract {a.slug} as above?")

    with QueueSession(run.settings) as (store, adapters):
        report = app.retract(store, a.slug, adapters=adapters, clock=run.clock, owner=owner_name("retract"),
                             settings=run.settings, networks=names(a.network), accounts=names(a.account),
                             dry_run=a.dry_run, confirm=confirm, wait=threading.Event().wait)
    if not report.done and not a.dry_run:
        raise Failure("retract: not confirmed; nothing changed")
    run.echo(output.retract_text(report), end="")
    if report.exit:
        raise Failure("some posts are not deleted or not settled yet (see above)", report.exit)


# --- after the post: corrections and follow-ups ----------------------------------------------------------
def cmd_correct(run: Run) -> None:
    a = run.args
    if a.dry_run:
        return cmd_answer_dry_run(run)
    from sharebot import lifecycle

    with QueueSession(run.settings) as (store, adapters):
        report = lifecycle.correct(run.settings, a.article, store=store, adapters=adapters, clock=run.clock,
                                   owner=owner_name("correct"), networks=names(a.network), accounts=names(a.account),
                                   reply=a.reply)
    answer_out(run, report)


def cmd_follow_up(run: Run) -> None:
    a = run.args
    if a.dry_run:
        return cmd_answer_dry_run(run)
    from sharebot import lifecycle

    with QueueSession(run.settings) as (store, adapters):
        report = lifecycle.follow_up(run.settings, a.article, a.text, store=store, adapters=adapters, clock=run.clock,
                                     owner=owner_name("follow-up"), networks=names(a.network),
                                     accounts=names(a.account))
    answer_out(run, report)


def cmd_answer_dry_run(run: Run) -> None:
    from sharebot import lifecycle

    a = run.args
    answer_out(run, lifecycle.preview(run.settings, a.purpose, a.article, networks=names(a.network),
                                      accounts=names(a.account), reply=a.reply, text=a.text))


def answer_out(run: Run, report: Any) -> None:
    from sharebot import output

    json = run.args.json
    run.echo(to_json(report.to_dict()) if json else output.answer_text(report), end="\n" if json else "")
    if report.exit:
        accounts = ", ".join(s.account for s in report.not_done)
        raise Failure(f"{len(report.not_done)} account(s) " + ("not done" if report.sent else "would be refused")
                      + f": {accounts}", report.exit)


# --- worker and watch -----------------------------------------------------------------------------
def stop_on_signals() -> Any:
    """Log to stderr, and return an event that SIGTERM and SIGINT set, so the work in hand is finished."""
    import logging
    import signal
    import threading

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    return stop


def cmd_worker(run: Run) -> None:
    from sharebot import app, output

    stop = stop_on_signals()
    reports: list[Any] = []
    with QueueSession(run.settings) as (store, adapters):
        app.run_worker(run.settings, store=store, adapters=adapters, clock=run.clock, owner=owner_name("worker"),
                       concurrency=run.args.concurrency, burst=run.args.burst, stop=stop, on_done=reports.append)
    run.echo(output.worker_text(reports[0]), end="")
    # A worker that runs until stopped ends as asked; a burst (cron) says how its jobs came out.
    if run.args.burst and reports[0].exit:
        raise Failure("some jobs did not go through (see above)", reports[0].exit)


def cmd_watch(run: Run) -> None:
    from sharebot import app, output

    a, zone = run.args, run.settings.site.timezone
    stop = stop_on_signals()
    posted: list[Any] = []
    with QueueSession(run.settings) as (store, adapters):
        last = app.run_watch(run.settings, store=store, adapters=adapters, clock=run.clock, owner=owner_name("watch"),
                             stop=stop, on_report=lambda report: run.echo(output.watch_text(report, zone=zone), end=""),
                             interval=a.interval, backfill=a.backfill, once=a.once, post=not a.no_post,
                             concurrency=a.concurrency, on_posted=posted.append)
    if a.once and last is not None and (last.errors or last.skipped):
        raise Failure("some sources could not be read" if last.errors else "some articles could not be read",
                      Exit.FAILED)
    if a.once and posted and posted[-1].exit:  # the same status `worker --burst` gives for the posts it made
        raise Failure("some jobs did not go through (see `sharebot queue`)", posted[-1].exit)


# --- accounts -------------------------------------------------------------------------------------
def cmd_accounts(run: Run) -> None:
    from sharebot import app, output

    with QueueSession(run.settings, adapters=False) as (store, _):
        lines = app.list_accounts(run.settings, store)
    run.echo(output.accounts_text(lines), end="")
    stuck = [line.account.name for line in lines if line.account.enabled and (line.flag or line.missing)]
    if stuck:
        raise Failure(f"{len(stuck)} account(s) cannot post: {', '.join(stuck)}", Exit.FAILED)


def cmd_accounts_clear(run: Run) -> None:
    from sharebot import app

    with QueueSession(run.settings, adapters=False) as (store, _):
        cleared = app.clear_account(run.settings, store, run.args.name)
    run.echo(f"{run.args.name}: flag cleared; its jobs go out again" if cleared else f"{run.args.name}: not flagged")


def cmd_accounts_check(run: Run) -> None:
    from sharebot import app

    with QueueSession(run.settings) as (store, adapters):
        results = app.check_accounts(run.settings, adapters=adapters, store=store, clock=run.clock)
    for r in results:
        run.echo(f"{r.account:<12} {r.state:<10} {r.detail}")
    bad = [r.account for r in results if r.state not in ("ok", "expiring")]
    if bad:
        raise Failure(f"{len(bad)} account(s) not usable: {', '.join(bad)}", Exit.FAILED)


# --- the parser -----------------------------------------------------------------------------------
def _publish_args(p: argparse.ArgumentParser) -> None:
    from sharebot.scheduler import PublishMode

    p.add_argument("article")
    p.add_argument("--dry-run", action="store_true", help="show what each account would get; write and send nothing")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.add_argument("--network", action="append", metavar="NAMES", help="only these networks (x,bluesky,…)")
    p.add_argument("--account", action="append", metavar="NAMES", help="only these accounts")
    p.add_argument("--repost", action="store_true", help="post again where the article already went (a new round)")
    p.set_defaults(mode=PublishMode.SCHEDULE)
    when = p.add_mutually_exclusive_group()
    when.add_argument("--now", dest="mode", action="store_const", const=PublishMode.NOW,
                      help="breaking news: post at once, ignoring slots, quiet hours, gaps and caps")
    when.add_argument("--at", metavar="WHEN",
                      help="post at this time: +2h, '2026-12-01 08:00' (site time zone) or ISO 8601")
    when.add_argument("--next-slot", dest="mode", action="store_const", const=PublishMode.NEXT_SLOT,
                      help="each account's next free slot (accounts without slots: their earliest allowed time)")


def _links_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("article")
    p.add_argument("--html", action="store_true", help="print a share-button snippet to paste into the site")


def _answer_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("article", help="a slug, or an article page URL")
    p.add_argument("--dry-run", action="store_true",
                   help="show what each account would get (edit, reply or skip, and why); write and send nothing")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.add_argument("--network", action="append", metavar="NAMES", help="only these networks (x,bluesky,…)")
    p.add_argument("--account", action="append", metavar="NAMES", help="only these accounts")


def _correct_args(p: argparse.ArgumentParser) -> None:
    _answer_args(p)
    p.add_argument("--reply", action="store_true",
                   help="post a correction line under each post, even where the post could be edited")
    p.set_defaults(purpose="correction", text="")  # a lifecycle.Purpose


def _follow_up_args(p: argparse.ArgumentParser) -> None:
    _answer_args(p)
    p.add_argument("--text", required=True, help="the update, posted as a reply under each post (a thread)")
    p.set_defaults(purpose="follow-up", reply=False)


def _slug_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("slug")


def _retract_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("slug")
    p.add_argument("--dry-run", action="store_true", help="say what it would do with each post; change nothing")
    p.add_argument("--network", action="append", metavar="NAMES", help="only these networks (x,bluesky,…)")
    p.add_argument("--account", action="append", metavar="NAMES", help="only these accounts")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask (needed when stdin is not a terminal)")


def _queue_args(p: argparse.ArgumentParser) -> None:
    from sharebot.jobs import JobState

    p.add_argument("--state", choices=[state.value for state in JobState], help="only jobs in this state")
    p.add_argument("--account", help="only this account's jobs")
    p.add_argument("--slug", help="only this article's jobs")
    p.add_argument("--limit", type=int, default=200, help="at most this many (default: 200)")
    p.add_argument("--upcoming", action="store_true", help="what will go out when, per account, in local time")
    p.add_argument("--hours", type=_hours, metavar="H",
                   help="with --upcoming: only the next H hours (or a duration: 90m, 2d)")
    sub = p.add_subparsers(dest="queue_command", metavar="SUBCOMMAND")
    for name, handler, text in (
        ("show", cmd_queue_show, "One job: its post exactly as queued, and its full history."),
        ("retry", cmd_queue_retry, "Queue a failed or canceled job again."),
        ("cancel", cmd_queue_cancel, "Cancel a queued, failed or unknown job."),
        ("resolve", cmd_queue_resolve, "Settle an unknown job by hand."),
    ):
        q = sub.add_parser(name, help=text, description=text)
        q.set_defaults(handler=handler)
        q.add_argument("job_id", type=int)
        if name == "resolve":
            q.add_argument("--posted", metavar="URL", help="it did go out: here")
            q.add_argument("--remote-id", metavar="ID",
                           help="with --posted: the network's id of the post, so `retract` can delete it")
            q.add_argument("--not-posted", action="store_true", help="it did not go out: send it again")
    text = ("Delete finished jobs (published, deleted, canceled, failed) and their history, last changed longer "
            "ago than --older-than; queued, running and unknown jobs are kept.")
    q = sub.add_parser("prune", help=text, description=text)
    q.set_defaults(handler=cmd_queue_prune)
    q.add_argument("--older-than", required=True, type=_age, metavar="AGE", help="a duration: 90d, 36h")
    q.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")


def _age(text: str) -> timedelta:
    from sharebot.when import parse_duration

    try:
        return parse_duration(text)
    except (UnreadableTime, OverflowError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90d or 36h") from None


def _duration(text: str, unit: str) -> timedelta:
    from sharebot.when import parse_duration

    try:
        return parse_duration(text, unit=unit)
    except (UnreadableTime, OverflowError):
        raise argparse.ArgumentTypeError(f"{text!r} is neither a number of {'hours' if unit == 'h' else 'seconds'} "
                                         "nor a duration like 90s, 30m, 2h or 1h30m") from None


def _hours(text: str) -> timedelta:
    hours = _duration(text, "h")
    if not timedelta(0) < hours <= timedelta(days=366):
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of hours between 0 and {24 * 366}")
    return hours


def _seconds(text: str) -> float:
    seconds = _duration(text, "s").total_seconds()
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a time longer than 0")
    return seconds


def _interval(text: str) -> float:
    from sharebot.watch import MIN_INTERVAL

    seconds = _duration(text, "s").total_seconds()
    if seconds < MIN_INTERVAL:
        raise argparse.ArgumentTypeError(f"{text!r}: poll at most every {MIN_INTERVAL:g} seconds")
    return seconds


def _worker_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--burst", action="store_true", help="post what is due, then exit (for cron)")
    p.add_argument("--concurrency", type=int, default=4, choices=range(1, 65), metavar="N",
                   help="posts in flight at once, 1-64 (default: 4)")


def _accounts_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="accounts_command", metavar="SUBCOMMAND")
    text = "Verify every account's credentials with one authenticated read each."
    sub.add_parser("check", help=text, description=text).set_defaults(handler=cmd_accounts_check)
    text = "Let a flagged account post again (changed credentials clear its flag by themselves)."
    clear = sub.add_parser("clear", help=text, description=text)
    clear.set_defaults(handler=cmd_accounts_clear)
    clear.add_argument("name", metavar="NAME")


def _watch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--once", action="store_true", help="poll once, post what is due, then exit (for cron)")
    p.add_argument("--interval", type=_interval, metavar="SECONDS",
                   help="between polls, at least 10 s, in seconds or as a duration: 90, 2m "
                        "(default: [watch].interval)")
    p.add_argument("--backfill", type=int, default=0, metavar="N",
                   help="on a source's first poll, enqueue its newest N articles instead of none")
    p.add_argument("--no-post", action="store_true", help="only enqueue; leave posting to `sharebot worker`")
    p.add_argument("--concurrency", type=int, default=4, choices=range(1, 65), metavar="N",
                   help="posts in flight at once, 1-64 (default: 4)")


COMMANDS: dict[str, tuple[Callable[[Run], None], Callable[[argparse.ArgumentParser], None], str]] = {
    "publish": (cmd_publish, _publish_args, "Render ARTICLE (a slug, or an article page URL) for every account "
                "and post it; run again, nothing is posted twice."),
    "links": (cmd_links, _links_args, "Share-intent links for ARTICLE: X, Bluesky, LinkedIn, Facebook, "
              "WhatsApp, Telegram, Threads, Mastodon."),
    "status": (cmd_status, _slug_arg, "Where SLUG went: each account's state, post URL and time."),
    "queue": (cmd_queue, _queue_args, "List jobs (with filters), or inspect and repair one with a subcommand."),
    "correct": (cmd_correct, _correct_args, "Bring ARTICLE's posts in line with the article as it reads now: edited "
                "in place where the network can, else a correction line as a reply; unchanged posts are left alone."),
    "follow-up": (cmd_follow_up, _follow_up_args, "Post an update to ARTICLE as a reply under each of its posts; "
                  "a second follow-up replies under the first (a thread)."),
    "retract": (cmd_retract, _retract_args, "Withdraw SLUG everywhere (for corrections): delete its posts, cancel "
                "those not sent yet, settle those in doubt by looking first."),
    "worker": (cmd_worker, _worker_args, "Post due jobs until stopped; SIGTERM finishes the posts in hand, "
               "then exits."),
    "watch": (cmd_watch, _watch_args, "Poll the configured sources and post new articles by each account's "
              "schedule and filter."),
    "accounts": (cmd_accounts, _accounts_args, "List configured accounts with their secrets masked, and any that "
                 "cannot post (flagged, or a credential missing)."),
}


def _command_in(argv: list[str]) -> str | None:
    """The command word, so that only its parser is built (argparse's set-up is a sizeable part of a dry run)."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in ("--config", "--content"):
            skip = True
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    from sharebot import __version__

    parser = argparse.ArgumentParser(
        prog="sharebot",
        description="Turn news articles into exact posts for every network, each posted exactly once.")
    parser.add_argument("--config", metavar="PATH",
                        help="the config file (default: $SHAREBOT_CONFIG, else config/sharebot.toml)")
    parser.add_argument("--content", metavar="DIR",
                        help="read articles from this content directory instead of the configured source "
                             "(default: $SHAREBOT_CONTENT_DIR)")
    parser.add_argument("--version", action="version", version=f"sharebot {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    only = _command_in(argv) if argv is not None else None
    for name, (handler, add_arguments, text) in COMMANDS.items():
        if only in (None, name):
            sub = commands.add_parser(name, help=text, description=text)
            sub.set_defaults(handler=handler)
            add_arguments(sub)
    return parser


def main(argv: list[str] | None = None, *, environ: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None, stdin: TextIO | None = None,
         clock: Callable[[], datetime] = utcnow) -> int:
    """Run one command; returns the exit status (an `Exit`; the console script exits with it). `clock`
    gives the time (aware UTC) for everything the command plans or records; tests pass a fixed one."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser(argv).parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage or help
        return int(exc.code or 0)
    try:
        args.handler(Run(args, os.environ if environ is None else environ, out, clock,
                         sys.stdin if stdin is None else stdin))
    except Failure as exc:
        err.write(f"sharebot: {exc}\n")
        return int(exc.code)
    except UnreadableTime as exc:  # a time given on the command line (the library names the option)
        err.write(f"sharebot: {exc}\n")
        return Exit.USAGE
    except SharebotError as exc:
        err.write(f"sharebot: {exc}\n")
        return Exit.ERROR
    except KeyboardInterrupt:
        err.write("sharebot: interrupted\n")
        return Exit.INTERRUPTED
    return Exit.OK


def entry() -> None:
    """The console script. A command that is over in a moment frees everything at exit, so it runs without the
    cyclic garbage collector, which otherwise takes about 3 % of a dry run walking the objects its modules
    create while they load (bench/bench_dry_run.py); `worker` and `watch` run for days and keep it."""
    if _command_in(sys.argv[1:]) not in ("worker", "watch"):
        import gc

        gc.disable()
    sys.exit(main())
