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
        try:
            self.out.write(text + end)
        except UnicodeEncodeError as exc:  # nothing of this text was written: it is encoded whole first
            raise Failure(unencodable(exc, self.out)) from None

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


def unencodable(exc: UnicodeEncodeError, out: TextIO) -> str:
    char = exc.object[exc.start:exc.end][:1]
    encoding = getattr(out, "encoding", None) or exc.encoding
    return (f"standard output ({encoding}) cannot show {char!r} (U+{ord(char):04X}); "
            "set PYTHONIOENCODING=utf-8 or use a UTF-8 locale")


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


# --- the editor's desk: preview page and local web app ---------------------------------------------
def cmd_preview(run: Run) -> None:
    from sharebot import preview_html
    from sharebot.pipeline import PublishRequest

    a = run.args
    page = preview_html.render_preview(run.settings, PublishRequest(a.article), now=run.clock())
    if a.output is None and not a.open:
        run.echo(page.html, end="")
    else:
        path = write_file(a.output, page.html)
        run.echo(f"preview written to {path}")
        if a.open:
            import webbrowser

            webbrowser.open(path.as_uri())
    if page.preview.blocked:
        names = ", ".join(p.account for p in page.preview.blocked)
        raise Failure(f"{len(page.preview.blocked)} post(s) cannot go out as they are (marked on the page): {names}",
                      Exit.FAILED)


def write_file(target: str | None, text: str) -> Any:
    """Write `text` to `target` whole or not at all (a temporary file beside it, renamed over it); None: a new
    file in the temporary directory. Returns the file's absolute path."""
    import tempfile
    from pathlib import Path

    if target is None:
        fd, name = tempfile.mkstemp(prefix="sharebot-preview-", suffix=".html")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return Path(name).resolve()
    path = Path(target).resolve()
    temp = None
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "is a directory")
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except OSError as exc:
        if temp is not None and os.path.exists(temp):
            os.unlink(temp)
        raise Failure(f"--output {target}: cannot write: {exc.strerror or exc}") from None
    return path


def cmd_serve(run: Run) -> None:
    from sharebot import desk

    a = run.args
    token = None
    if a.token_env is not None:
        token = run.environ.get(a.token_env, "")
        if not token:
            raise Failure(f"--token-env {a.token_env}: that variable is not set or empty (actions need a token)")
    actions = "on, for whoever gives the token" if token else "off (start with --token-env VAR to allow them)"

    def ready(url: str) -> None:
        run.echo(f"sharebot desk on {url}; actions {actions}; Ctrl-C stops it")
        run.out.flush()

    desk.serve(run.settings, host=a.host, port=a.port, token=token, clock=run.clock, on_ready=ready)


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


# --- setting up and checking a site ----------------------------------------------------------------------
def cmd_init(run: Run) -> None:
    from pathlib import Path

    from sharebot import setup_site
    from sharebot.config import DEFAULT_CONFIG

    a = run.args
    ask = None
    if run.interactive():
        def ask(question: Any) -> str:
            run.echo(f"{question.text}{f' [{question.default}]' if question.default else ''}: ", end="")
            run.out.flush()
            assert run.stdin is not None
            line = run.stdin.readline()
            if not line:
                raise Failure("init: no answer (end of input); nothing written")
            return str(line)

    given = {"name": a.name, "base_url": a.base_url, "language": a.language, "timezone": a.timezone,
             "source": a.source, "networks": a.networks}
    result = setup_site.init_site(given, a.set or [], ask=ask, force=a.force, base=Path.cwd(),
                                  config_path=Path(a.config or run.environ.get("SHAREBOT_CONFIG") or DEFAULT_CONFIG),
                                  env_path=Path(a.env_file))
    run.echo(f"wrote {result.config} (accounts: {', '.join(result.accounts)})")
    run.echo(f"wrote {result.env} (mode 0600): fill in " + (", ".join(result.variables) or "nothing"))
    run.echo(f"next: `sharebot --config {result.config} doctor`")


def cmd_doctor(run: Run) -> None:
    from sharebot import doctor

    a = run.args
    report = doctor.diagnose(a.config, run.environ, now=run.clock(), content_dir=a.content, warn_days=a.warn_days,
                             timeout=a.timeout)
    run.echo(to_json(report.to_dict()) if a.json else report.to_text(), end="\n" if a.json else "")
    if report.problems:
        raise Failure(f"{len(report.problems)} problem(s) to fix (see above)", report.exit)


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


def _init_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", help="the site's name")
    p.add_argument("--base-url", metavar="URL", help="the site's address, https://…")
    p.add_argument("--language", metavar="TAG", help="the articles' language: de, en, pt-BR, …")
    p.add_argument("--timezone", metavar="ZONE", help="IANA time zone for schedules and --at: Europe/Berlin, …")
    p.add_argument("--source", metavar="DIR|FEED",
                   help="where articles come from: a content directory, a feed file or a feed URL")
    p.add_argument("--networks", metavar="NAMES", help="comma-separated: x,bluesky,mastodon,…")
    p.add_argument("--set", action="append", metavar="NETWORK.SETTING=VALUE",
                   help="an account setting, e.g. mastodon.instance=https://mastodon.social (repeatable)")
    p.add_argument("--env-file", default=".env", metavar="PATH", help="where to write the .env (default: .env)")
    p.add_argument("--force", action="store_true", help="replace existing files")


def _doctor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.add_argument("--warn-days", type=int, default=60, metavar="N",
                   help="warn this many days before a pinned API version retires (default: 60)")
    p.add_argument("--timeout", type=_seconds, default=10.0, metavar="SECONDS",
                   help="for the Mastodon instance check, the only network call (default: 10)")
def _preview_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("article", help="a slug, or an article page URL")
    p.add_argument("--output", "-o", metavar="FILE", help="write the page to FILE (default: print it)")
    p.add_argument("--open", action="store_true",
                   help="open the page in the web browser (written to a temporary file without --output)")


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return int(text)


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1, this machine)")
    p.add_argument("--port", type=_port, default=8765, metavar="N", help="the port, 1-65535 (default: 8765)")
    p.add_argument("--token-env", metavar="VAR",
                   help="allow actions (publish, schedule, retract, retry) to whoever gives the token in this "
                        "environment variable; without it the desk only shows")


COMMANDS: dict[str, tuple[Callable[[Run], None], Callable[[argparse.ArgumentParser], None], str]] = {
    "publish": (cmd_publish, _publish_args, "Render ARTICLE (a slug, or an article page URL) for every account "
                "and post it; run again, nothing is posted twice."),
    "links": (cmd_links, _links_args, "Share-intent links for ARTICLE: X, Bluesky, LinkedIn, Facebook, "
              "WhatsApp, Telegram, Threads, Mastodon."),
    "preview": (cmd_preview, _preview_args, "ARTICLE's post for every account as its network shows it, as one "
                "self-contained HTML page (no requests): text, link card, length, language, time, warnings."),
    "serve": (cmd_serve, _serve_args, "The editor's desk: a local web app with the articles and their state per "
              "account, previews, the plan and each article's history; actions only with a token."),
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
    "init": (cmd_init, _init_args, "Write a config and a .env (variable names only) for a new site, from the "
             "options or, on a terminal, by asking."),
    "doctor": (cmd_doctor, _doctor_args, "Check the site: credentials, account settings, the Mastodon instance's "
               "limit, pinned API versions, the queue database, file modes; ok / warning / problem per line."),
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
        try:
            args.handler(Run(args, os.environ if environ is None else environ, out, clock,
                             sys.stdin if stdin is None else stdin))
        finally:
            out.flush()  # here, not at exit: a reader gone (`| head`) is then one line, not Python's own report
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
    except BrokenPipeError:  # `sharebot queue | head -2`: the reader stopped reading
        _quiet(out)
        err.write("sharebot: standard output was closed before everything was written (broken pipe)\n")
        return Exit.PIPE
    except UnicodeEncodeError as exc:  # written past `Run.echo`
        err.write(f"sharebot: {unencodable(exc, out)}\n")
        return Exit.ERROR
    except OSError as exc:  # a file or folder the library did not name itself
        where = f"{exc.filename}: " if exc.filename else ""
        err.write(f"sharebot: {where}{exc.strerror or exc}\n")
        return Exit.ERROR
    return Exit.OK


def _quiet(out: TextIO) -> None:
    """After a broken pipe: point the closed stream at /dev/null, so that flushing it at exit stays silent."""
    try:
        fd = out.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def entry() -> None:
    sys.exit(main())
