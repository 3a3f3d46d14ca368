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


def is_terminal(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


class Run:
    """What a command gets: its arguments, the environment, the settings (read on first use) and output.

    With `--json` it prints JSON (`emit`, `emit_line`) and nothing else on stdout. Text is coloured only on a
    terminal and without NO_COLOR (https://no-color.org); progress shows only when stderr is a terminal."""

    def __init__(self, args: argparse.Namespace, environ: Mapping[str, str], out: TextIO,
                 clock: Callable[[], datetime] = utcnow, stdin: TextIO | None = None,
                 err: TextIO | None = None, logs: Any = None) -> None:
        self.args = args
        self.environ = environ
        self.out = out
        self.err = err or sys.stderr
        self.clock = clock
        self.stdin = stdin
        self.json = bool(getattr(args, "json", False))
        self.color = not self.json and not environ.get("NO_COLOR") and is_terminal(out)
        self._settings: Any = None
        self._progress: Any = None
        self._logs = logs  # what start_logging returned: a log line first clears the progress line

    @property
    def settings(self) -> Any:
        if self._settings is None:
            from sharebot.config import load_settings

            self._settings = load_settings(self.args.config, self.environ, content_dir=self.args.content)
        return self._settings

    @property
    def zone(self) -> str:
        """The site's time zone: every time a person reads is shown in it."""
        return str(self.settings.site.timezone)

    def echo(self, text: str = "", end: str = "\n") -> None:
        if self._progress is not None:
            self._progress.clear()
        if self.color:
            from sharebot.terminal import paint

            text = paint(text)
        try:
            self.out.write(text + end)
        except UnicodeEncodeError as exc:  # nothing of this text was written: it is encoded whole first
            raise Failure(unencodable(exc, self.out)) from None
        self.out.flush()

    def emit(self, doc: Mapping[str, Any]) -> None:
        """One JSON document (`jsonout`)."""
        from sharebot.jsonout import dumps

        self.out.write(dumps(doc) + "\n")

    def emit_line(self, doc: Mapping[str, Any]) -> None:
        """One JSON line: `worker` and `watch` print one per event, as it happens."""
        from sharebot.jsonout import dumps

        self.out.write(dumps(doc, line=True) + "\n")
        self.out.flush()

    def progress(self) -> Callable[[Any], None] | None:
        """Where the library's progress events go: a line on stderr when it is a terminal, else nowhere."""
        if self.json or not is_terminal(self.err):
            return None
        if self._progress is None:
            from sharebot.terminal import ProgressLine

            self._progress = ProgressLine(self.err)
            if self._logs is not None:
                line = self._progress
                self._logs[0].addFilter(lambda record: line.clear() or True)
        return self._progress  # type: ignore[no-any-return]

    def progress_done(self) -> None:
        if self._progress is not None:
            self._progress.clear()

    def interactive(self) -> bool:
        """Is a person at the keyboard (stdin a terminal) to answer a question?"""
        return is_terminal(self.stdin)

    def ask(self, question: str, stream: TextIO | None = None) -> bool:
        stream = stream or self.out
        stream.write(question + " [y/N] ")
        stream.flush()
        assert self.stdin is not None
        return self.stdin.readline().strip().lower() in ("y", "yes")


def unencodable(exc: UnicodeEncodeError, out: TextIO) -> str:
    char = exc.object[exc.start:exc.end][:1]
    encoding = getattr(out, "encoding", None) or exc.encoding
    return (f"standard output ({encoding}) cannot show {char!r} (U+{ord(char):04X}); "
            "set PYTHONIOENCODING=utf-8 or use a UTF-8 locale")


def names(values: list[str] | None) -> list[str]:
    return [v.strip() for value in values or () for v in value.split(",") if v.strip()]


def owner_name(role: str) -> str:
    import socket

    return f"{role}@{socket.gethostname()}:{os.getpid()}"


class QueueSession:
    """The store and the adapter cache for one command, closed on the way out."""

    def __init__(self, settings: Any, *, adapters: bool = True, create: bool = True) -> None:
        from sharebot import app

        # create=False: a command that only reads the queue gets None rather than a new SQLite file
        self.store = app.open_queue(settings) if create else app.open_queue_if_there(settings)
        self.adapters = app.Adapters(settings) if adapters else None

    def __enter__(self) -> tuple[Any, Any]:
        return self.store, self.adapters

    def __exit__(self, *exc: Any) -> None:
        if self.adapters:
            self.adapters.close()
        if self.store is not None:
            self.store.close()


# --- publish and links ----------------------------------------------------------------------------
def publish_request(a: argparse.Namespace) -> Any:
    from sharebot.pipeline import PublishRequest

    return PublishRequest(a.article, tuple(names(a.network)), tuple(names(a.account)), a.mode, a.at, a.repost)


def cmd_publish(run: Run) -> None:
    a = run.args
    if a.check and not a.dry_run:
        raise Failure("publish: --check goes with --dry-run (it checks images and credentials, and posts nothing)",
                      Exit.USAGE)
    if a.dry_run:
        return cmd_dry_run_check(run) if a.check else cmd_dry_run(run)
    from sharebot import app, jsonout, output

    with QueueSession(run.settings) as (store, adapters):
        report = app.publish(run.settings, publish_request(a), store=store, adapters=adapters, clock=run.clock,
                             owner=owner_name("publish"), hand_off=True)
    if run.json:
        run.emit(jsonout.publish(report, output.publish_json(report)))
    else:
        run.echo(output.publish_text(report), end="")
    if report.failed:
        raise Failure(f"{len(report.failed)} account(s) not posted: {', '.join(d.account for d in report.failed)}",
                      report.exit)


def cmd_dry_run(run: Run) -> None:
    from sharebot import pipeline

    a = run.args
    preview = pipeline.dry_run(run.settings, publish_request(a), now=run.clock())
    show_preview(run, preview)


def cmd_dry_run_check(run: Run) -> None:
    from sharebot import preflight

    preview = preflight.checked_dry_run(run.settings, publish_request(run.args), now=run.clock())
    show_preview(run, preview)


def show_preview(run: Run, preview: Any) -> None:
    """Print a dry run (text or `--json`); exit 3 when a post would be refused or its account cannot post."""
    from sharebot import output

    if run.json:
        from sharebot import jsonout

        run.emit(jsonout.dry_run(preview))
    else:
        run.echo(output.preview_text(preview), end="")
    refused = [p.account for p in preview.blocked if p.refused]
    unset = [p.account for p in preview.blocked if not p.refused]
    if refused or unset:
        raise Failure("; ".join(
            ([f"{len(refused)} post(s) would be refused: {', '.join(refused)}"] if refused else [])
            + ([f"{len(unset)} account(s) cannot post until their credentials are set or corrected (environment "
                f"or .env, see .env.example): {', '.join(unset)}"] if unset else [])), Exit.FAILED)


def cmd_links(run: Run) -> None:
    from sharebot import jsonout, links, pipeline

    found = pipeline.share_links(run.settings, run.args.article)
    if run.json:
        run.emit(jsonout.links(run.args.article, found))
        return
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
    from sharebot.files import write_whole

    path = Path(target).resolve()
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "is a directory")
        return write_whole(path, text, mode=0o644)
    except OSError as exc:
        raise Failure(f"--output {target}: cannot write: {exc.strerror or exc}") from None


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
    from sharebot import app, jsonout, output

    with QueueSession(run.settings, adapters=False) as (store, _):
        report = app.status(store, run.args.slug)
    if run.json:
        run.emit(jsonout.status(run.args.slug, report, zone=run.zone))
    else:
        run.echo(output.status_text(report, run.zone), end="")
    if report.exit:
        raise Failure(f"{run.args.slug}: not everything went through (see above)", report.exit)


def cmd_queue(run: Run) -> None:
    from sharebot import app, jsonout, output

    a = run.args
    if a.upcoming:
        return cmd_upcoming(run)
    with QueueSession(run.settings, adapters=False) as (store, _):
        listing = app.list_queue(store, state=a.state, account=a.account, slug=a.slug, limit=a.limit)
    if run.json:
        run.emit(jsonout.queue(listing, zone=run.zone))
    else:
        run.echo(output.queue_text(listing, run.zone), end="")


def cmd_upcoming(run: Run) -> None:
    from sharebot import app, jsonout, output

    a = run.args
    with QueueSession(run.settings, adapters=False) as (store, _):
        plan = app.upcoming(store, now=run.clock(), within=a.hours, account=a.account, slug=a.slug)
    if run.json:
        run.emit(jsonout.upcoming(plan, zone=run.zone, within=a.hours))
        return
    hours = a.hours / timedelta(hours=1) if a.hours else None
    run.echo(output.upcoming_text(plan, zone=run.zone, hours=hours), end="")


def cmd_queue_show(run: Run) -> None:
    from sharebot import app, jsonout, output

    with QueueSession(run.settings, adapters=False) as (store, _):
        history = app.job_history(store, run.args.job_id)
    if run.json:
        run.emit(jsonout.queue_show(history, zone=run.zone))
    else:
        run.echo(output.history_text(history, run.zone), end="")


def cmd_queue_retry(run: Run) -> None:
    from sharebot import queue

    with QueueSession(run.settings, adapters=False) as (store, _):
        job_out(run, "retry", queue.retry(store, run.args.job_id, run.clock()))


def cmd_queue_cancel(run: Run) -> None:
    from sharebot import queue

    with QueueSession(run.settings, adapters=False) as (store, _):
        job_out(run, "cancel", queue.cancel(store, run.args.job_id, run.clock(), reason="canceled by hand"))


def cmd_queue_resolve(run: Run) -> None:
    from sharebot import queue

    a = run.args
    if bool(a.posted) == a.not_posted:
        raise Failure("queue resolve: give exactly one of --posted URL or --not-posted", Exit.USAGE)
    with QueueSession(run.settings, adapters=False) as (store, _):
        job = queue.resolve(store, a.job_id, run.clock(), posted_url=a.posted, remote_id=a.remote_id,
                            not_posted=a.not_posted)
    job_out(run, "resolve", job)


def job_out(run: Run, action: str, job: Any) -> None:
    """A job after retry, cancel or resolve."""
    from sharebot import jsonout, output

    if run.json:
        run.emit(jsonout.queue_changed(action, job, zone=run.zone))
    else:
        run.echo(output.job_line(job, run.zone))


def cmd_queue_prune(run: Run) -> None:
    from sharebot import output, queue

    a = run.args
    with QueueSession(run.settings, adapters=False) as (store, _):
        report = queue.prune(store, now=run.clock(), older_than=a.older_than, dry_run=a.dry_run)
    if run.json:
        from sharebot import jsonout

        run.emit(jsonout.prune(report))
        return
    states = ", ".join(f"{n} {state}" for state, n in report.jobs.items() if n)
    run.echo(f"{'would delete' if report.dry_run else 'deleted'} {sum(report.jobs.values())} finished job(s)"
             f"{' (' + states + ')' if states else ''} and {report.events} event(s), last changed before "
             f"{output.local(report.before, run.zone)}")


def cmd_retract(run: Run) -> None:
    import threading

    from sharebot import app, jsonout, output

    a = run.args
    confirm = None
    if not a.dry_run and not a.yes:
        if not run.interactive():
            raise Failure("retract: stdin is not a terminal; give --yes to retract without asking", Exit.USAGE)

        def confirm(plan: Any) -> bool:
            text = output.retract_plan_text(a.slug, plan)
            if run.json:  # the question goes to the terminal; stdout keeps only the JSON document
                run.err.write(text)
                return run.ask(f"Retract {a.slug} as above?", stream=run.err)
            run.echo(text, end="")
            return run.ask(f"Retract {a.slug} as above?")

    with QueueSession(run.settings) as (store, adapters):
        report = app.retract(store, a.slug, adapters=adapters, clock=run.clock, owner=owner_name("retract"),
                             settings=run.settings, networks=names(a.network), accounts=names(a.account),
                             dry_run=a.dry_run, confirm=confirm, wait=threading.Event().wait)
    if not report.done and not a.dry_run:
        raise Failure("retract: not confirmed; nothing changed")
    if run.json:
        run.emit(jsonout.retract(report))
    else:
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
    from sharebot import jsonout, output

    if run.json:
        run.emit(jsonout.answer(run.args.command, report))
    else:
        run.echo(output.answer_text(report), end="")
    if report.exit:
        accounts = ", ".join(s.account for s in report.not_done)
        raise Failure(f"{len(report.not_done)} account(s) " + ("not done" if report.sent else "would be refused")
                      + f": {accounts}", report.exit)


# --- worker and watch -----------------------------------------------------------------------------
def stop_on_signals() -> Any:
    """An event that SIGTERM and SIGINT set, so the work in hand is finished."""
    import signal
    import threading

    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    return stop


class WorkerEvents:
    """What worker runs tell a command: their reports, kept; with --json each job settled and each run's report
    as a JSON line; on a terminal, progress."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.reports: list[Any] = []

    def done(self, report: Any) -> None:
        from sharebot import jsonout

        self.reports.append(report)
        if self.run.json:
            self.run.emit_line(jsonout.worker_done(report))

    def settled(self, outcome: Any) -> None:
        from sharebot import jsonout

        self.run.emit_line(jsonout.worker_outcome(outcome))

    def hooks(self) -> dict[str, Any]:
        return {"on_outcome": self.settled if self.run.json else None, "on_progress": self.run.progress()}


def cmd_worker(run: Run) -> None:
    from sharebot import app, output

    stop = stop_on_signals()
    events = WorkerEvents(run)
    with QueueSession(run.settings) as (store, adapters):
        app.run_worker(run.settings, store=store, adapters=adapters, clock=run.clock, owner=owner_name("worker"),
                       concurrency=run.args.concurrency, burst=run.args.burst, stop=stop, on_done=events.done,
                       listen=not run.args.burst, **events.hooks())
    run.progress_done()
    report = events.reports[0]
    if not run.json:
        run.echo(output.worker_text(report, run.zone), end="")
    # A worker that runs until stopped ends as asked; a burst (cron) says how its jobs came out.
    if run.args.burst and report.exit:
        raise Failure("some jobs did not go through (see above)", report.exit)


def cmd_watch(run: Run) -> None:
    from sharebot import app, jsonout, output

    a, zone = run.args, run.zone
    stop = stop_on_signals()
    events = WorkerEvents(run)

    def polled(report: Any) -> None:
        if run.json:
            for doc in jsonout.watch_events(report):
                run.emit_line(doc)
        else:
            run.echo(output.watch_text(report, zone=zone), end="")

    with QueueSession(run.settings) as (store, adapters):
        last = app.run_watch(run.settings, store=store, adapters=adapters, clock=run.clock, owner=owner_name("watch"),
                             stop=stop, on_report=polled, interval=a.interval, backfill=a.backfill, once=a.once,
                             post=not a.no_post, concurrency=a.concurrency, on_posted=events.done, **events.hooks())
    run.progress_done()
    posted = events.reports
    if a.once and last is not None and (last.errors or last.skipped):
        raise Failure("some sources could not be read" if last.errors else "some articles could not be read",
                      Exit.FAILED)
    if a.once and posted and posted[-1].exit:  # the same status `worker --burst` gives for the posts it made
        raise Failure("some jobs did not go through (see `sharebot queue`)", posted[-1].exit)


# --- logging --------------------------------------------------------------------------------------------
LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
# The services log what each job does (their log is their record); a command run by hand reports on stdout.
LOGGING_AT_INFO = ("worker", "watch")


def log_level(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[int, bool]:
    """The level sharebot logs at ($SHAREBOT_LOG_LEVEL, else info for worker and watch and warning for the
    rest; each -v one lower, each -q one higher), and whether the HTTP client logs its requests too (-vv)."""
    given = environ.get("SHAREBOT_LOG_LEVEL", "").strip()
    if given and given.lower() not in LEVELS:
        raise Failure(f"SHAREBOT_LOG_LEVEL: {given!r} is not a level; one of {', '.join(LEVELS)}")
    verbose = getattr(args, "verbose", 0) + getattr(args, "verbose_after", 0)
    quiet = getattr(args, "quiet", 0) + getattr(args, "quiet_after", 0)
    default = "info" if getattr(args, "command", None) in LOGGING_AT_INFO else "warning"
    level = LEVELS[given.lower() or default] + 10 * (quiet - verbose)
    return min(max(level, LEVELS["debug"]), LEVELS["critical"]), verbose >= 2


def start_logging(level: int, http: bool, stream: TextIO) -> Any:
    """Logs go to stderr (stdout is the command's output). httpx and httpcore log every request at INFO:
    they are held at WARNING unless asked for (-vv)."""
    import logging

    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    loggers = [logging.getLogger(name) for name in ("", "httpx", "httpcore")]
    before = [(logger, logger.level) for logger in loggers]
    loggers[0].addHandler(handler)
    loggers[0].setLevel(level)
    for logger in loggers[1:]:
        logger.setLevel(level if http else max(level, logging.WARNING))
    return handler, before


def stop_logging(started: Any) -> None:
    """Undo `start_logging` (main() may run many times in one process: the tests)."""
    import logging

    handler, before = started
    logging.getLogger().removeHandler(handler)
    for logger, level in before:
        logger.setLevel(level)


# --- accounts -------------------------------------------------------------------------------------
def cmd_accounts(run: Run) -> None:
    from sharebot import app, jsonout, output

    with QueueSession(run.settings, adapters=False, create=False) as (store, _):
        lines = app.list_accounts(run.settings, store)
    if run.json:
        run.emit(jsonout.accounts(lines))
    else:
        run.echo(output.accounts_text(lines, run.zone), end="")
    stuck = [line.account.name for line in lines if line.account.enabled and (line.flag or line.missing)]
    if stuck:
        raise Failure(f"{len(stuck)} account(s) cannot post: {', '.join(stuck)}", Exit.FAILED)


def cmd_accounts_clear(run: Run) -> None:
    from sharebot import app, jsonout

    with QueueSession(run.settings, adapters=False, create=False) as (store, _):
        cleared = app.clear_account(run.settings, store, run.args.name)
    if run.json:
        run.emit(jsonout.account_cleared(run.args.name, cleared))
        return
    run.echo(f"{run.args.name}: flag cleared; its jobs go out again" if cleared else f"{run.args.name}: not flagged")


def cmd_accounts_check(run: Run) -> None:
    from sharebot import app, jsonout, output

    with QueueSession(run.settings) as (store, adapters):
        results = app.check_accounts(run.settings, adapters=adapters, store=store, clock=run.clock)
    if run.json:
        run.emit(jsonout.account_checks(results))
    else:
        run.echo(output.checks_text(results), end="")
    bad = [r.account for r in results if r.state not in ("ok", "expiring")]
    if bad:
        raise Failure(f"{len(bad)} account(s) not usable: {', '.join(bad)}", Exit.FAILED)


# --- setting up and checking a site ----------------------------------------------------------------------
def cmd_init(run: Run) -> None:
    from pathlib import Path

    from sharebot import jsonout, setup_site
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
                                  env_path=Path(a.env_file) if a.env_file else None)
    if a.json:
        run.emit(jsonout.init(result))
        return
    run.echo(f"wrote {result.config} (accounts: {', '.join(result.accounts)})")
    run.echo(f"wrote {result.env} (mode 0600): fill in " + (", ".join(result.variables) or "nothing"))
    run.echo(f"next: `sharebot --config {result.config} doctor`")


def cmd_doctor(run: Run) -> None:
    from sharebot import doctor, jsonout

    a = run.args
    report = doctor.diagnose(a.config, run.environ, now=run.clock(), content_dir=a.content, warn_days=a.warn_days,
                             timeout=a.timeout)
    if a.json:
        run.emit(jsonout.doctor(report))
    else:
        run.echo(report.to_text(), end="")
    if report.problems:
        raise Failure(f"{len(report.problems)} problem(s) to fix (see above)", report.exit)


# --- the parser -----------------------------------------------------------------------------------
ARTICLE_HELP = "a slug (a content file's `slug`), or an article page URL"
SLUG_HELP = "the article's slug as the queue files it (`sharebot queue` lists them)"


def _publish_args(p: argparse.ArgumentParser) -> None:
    from sharebot.scheduler import PublishMode

    p.add_argument("article", metavar="ARTICLE", help=ARTICLE_HELP)
    p.add_argument("--dry-run", action="store_true", help="show what each account would get; write and send nothing")
    p.add_argument("--check", action="store_true",
                   help="with --dry-run: also fetch and verify each image and try each account's credentials")
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
    p.add_argument("article", metavar="ARTICLE", help=ARTICLE_HELP)
    p.add_argument("--html", action="store_true", help="print a share-button snippet to paste into the site")


def _answer_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("article", metavar="ARTICLE", help=ARTICLE_HELP)
    p.add_argument("--dry-run", action="store_true",
                   help="show what each account would get (edit, reply or skip, and why); write and send nothing")
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
    p.add_argument("slug", metavar="SLUG", help=SLUG_HELP)


def _retract_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("slug", metavar="SLUG", help=SLUG_HELP)
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
    sub = p.add_subparsers(dest="queue_command", metavar="SUBCOMMAND", help="without one: list the jobs")
    for name, handler, text in (
        ("show", cmd_queue_show, "One job: its post exactly as queued, and its full history."),
        ("retry", cmd_queue_retry, "Queue a failed or canceled job again."),
        ("cancel", cmd_queue_cancel, "Cancel a queued, failed or unknown job."),
        ("resolve", cmd_queue_resolve, "Settle an unknown job by hand."),
    ):
        q = sub.add_parser(name, help=text, description=text)
        q.set_defaults(handler=handler)
        q.add_argument("job_id", type=int, metavar="ID", help="the job's number (the first column of `sharebot queue`)")
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
    sub = p.add_subparsers(dest="accounts_command", metavar="SUBCOMMAND", help="without one: list the accounts")
    text = "Verify every account's credentials with one authenticated read each."
    sub.add_parser("check", help=text, description=text).set_defaults(handler=cmd_accounts_check)
    text = "Let a flagged account post again (changed credentials clear its flag by themselves)."
    clear = sub.add_parser("clear", help=text, description=text)
    clear.set_defaults(handler=cmd_accounts_clear)
    clear.add_argument("name", metavar="NAME", help="the account's name in the config")


def _completion_args(p: argparse.ArgumentParser) -> None:
    from sharebot.completion import SHELLS

    p.add_argument("shell", choices=SHELLS, metavar="SHELL", help=f"the shell to complete for: {', '.join(SHELLS)}")


def cmd_completion(run: Run) -> None:
    from sharebot import completion

    run.out.write(completion.script(build_parser(), run.args.shell))


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
    p.add_argument("--env-file", metavar="PATH",
                   help="where to write the .env (default: beside the config, where sharebot reads it)")
    p.add_argument("--force", action="store_true", help="replace existing files")


def _doctor_args(p: argparse.ArgumentParser) -> None:
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
    "completion": (cmd_completion, _completion_args, "Print a shell completion script: "
                   "`source <(sharebot completion bash)`, or save it where the shell loads completions from."),
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


def _global_options(p: argparse.ArgumentParser, *, top: bool) -> None:
    """The options every command takes, before or after its name. After it they are stored only when given
    (SUPPRESS), so they do not undo the same option given before it; -v and -q add up from both places."""
    default: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    p.add_argument("--config", metavar="PATH", **default,
                   help="the config file (default: $SHAREBOT_CONFIG, else config/sharebot.toml)")
    p.add_argument("--content", metavar="DIR", **default,
                   help="read articles from this content directory instead of the configured source "
                        "(default: $SHAREBOT_CONTENT_DIR)")
    p.add_argument("--json", action="store_true", **default,
                   help="print JSON instead of text (docs/json.md): one document, or one line per event for "
                        "worker and watch")
    p.add_argument("-v", "--verbose", action="count", dest="verbose" if top else "verbose_after",
                   default=0 if top else argparse.SUPPRESS,
                   help="log more, a level per -v; -vv also logs each HTTP request (default: $SHAREBOT_LOG_LEVEL, "
                        "else info for worker and watch, warning for the rest)")
    p.add_argument("-q", "--quiet", action="count", dest="quiet" if top else "quiet_after",
                   default=0 if top else argparse.SUPPRESS, help="log less, a level per -q")


def _with_global_options(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _global_options(sub, top=False)
                _with_global_options(sub)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    from sharebot import __version__

    parser = argparse.ArgumentParser(
        prog="sharebot",
        description="Turn news articles into exact posts for every network, each posted exactly once.")
    _global_options(parser, top=True)
    parser.add_argument("--version", action="version", version=f"sharebot {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, help="what to do")
    only = _command_in(argv) if argv is not None else None
    for name, (handler, add_arguments, text) in COMMANDS.items():
        if only in (None, name):
            sub = commands.add_parser(name, help=text, description=text)
            sub.set_defaults(handler=handler)
            add_arguments(sub)
    _with_global_options(parser)
    return parser


def main(argv: list[str] | None = None, *, environ: Mapping[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None, stdin: TextIO | None = None,
         clock: Callable[[], datetime] = utcnow) -> int:
    """Run one command; returns the exit status (an `Exit`; the console script exits with it). `clock`
    gives the time (aware UTC) for everything the command plans or records; tests pass a fixed one."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    argv = sys.argv[1:] if argv is None else argv
    environ = os.environ if environ is None else environ
    try:
        args = build_parser(argv).parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage or help
        return int(exc.code or 0)
    logs = None
    try:
        level, http = log_level(args, environ)
        if not getattr(args, "dry_run", False):  # a dry run logs nothing, and its budget has no room for logging
            logs = start_logging(level, http, err)
        try:
            args.handler(Run(args, environ, out, clock, sys.stdin if stdin is None else stdin, err, logs))
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
    finally:
        if logs is not None:
            stop_logging(logs)
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
    """The console script. By the time `main` returns every command has committed and closed its queue, written
    its files and stopped its threads; what is left is the interpreter tearing down every module, which with
    a network SDK's thousands of model classes loaded takes longer than many a post (0.2-2 s). Flushed, the
    process ends without it. A command that is over in a moment runs without the cyclic garbage collector,
    which otherwise takes about 3 % of a dry run walking the objects its modules create while they load
    (bench/bench_dry_run.py); `worker`, `watch` and `serve` run for days and keep it."""
    if _command_in(sys.argv[1:]) not in ("worker", "watch", "serve"):
        import gc

        gc.disable()
    code = main()
    if "logging" in sys.modules:  # handlers flushed and closed, as at a normal exit (not imported: none)
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: nothing more to say there
            pass
    os._exit(code)
