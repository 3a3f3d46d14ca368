"""`sharebot serve`: the editor's desk, a small local web app over the library.

Pages: the source's articles with each account's state in the queue; an article's preview (the same page
`sharebot preview` writes, from `preview_html`) with its jobs; the plan per account; an article's history.
Actions (publish now, schedule, retract, retry) exist only when the desk was started with a token, and each
is two steps: a GET shows what will happen and a form; the POST must carry the token (typed by the editor,
never shown or logged) and a check value the confirmation page made for that very action and target (an
HMAC under a key made at start), so no other page can make the browser act. Each action calls the function
the CLI calls for it (`app.publish`, `app.retract`, `queue.retry`), with the desk's clock and settings.

Starlette, uvicorn and Jinja2 are the `desk` extra; they are imported when the app is made, never by the
rest of sharebot.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import signal
import socket
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qs, quote

from sharebot import app, output, preview_html, queue
from sharebot.config import Settings
from sharebot.errors import ArticleError, ConfigError, SharebotError
from sharebot.jobs import Job, JobState
from sharebot.models import Article
from sharebot.pipeline import PublishRequest, load_article, newest_jobs
from sharebot.scheduler import PublishMode, describe
from sharebot.sources import open_source
from sharebot.sources.fetch import http_fetcher
from sharebot.store import Store

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

Clock = Callable[[], datetime]


class MissingExtra(SharebotError):
    """The desk's libraries are not installed."""


class Action(NamedTuple):
    label: str
    what: str  # what it does, said on the confirmation page; {target} is the slug or job
    cli: str  # the command that does the same


ACTIONS: Mapping[str, Action] = {
    "publish": Action("Publish now", "post {target} to every account at once, ignoring slots, quiet hours, gaps "
                      "and caps", "sharebot publish {target} --now"),
    "schedule": Action("Schedule", "queue {target} for every account by its schedule, or at the time given",
                       "sharebot publish {target} [--at WHEN]"),
    "retract": Action("Retract", "withdraw {target} everywhere: delete its posts, cancel those not sent, settle "
                      "those in doubt", "sharebot retract {target} --yes"),
    "retry": Action("Retry", "queue job {target} again with a fresh attempt budget", "sharebot queue retry {target}"),
}


class ArticleRow(NamedTuple):
    article: Article
    jobs: Mapping[str, Job]  # account -> its job in the newest round


def article_rows(settings: Settings, store: Store) -> list[ArticleRow]:
    """The source's articles, newest first, each with its accounts' newest jobs."""
    source = open_source(settings.source.kind, settings.source.location, base_url=settings.site.base_url,
                         language=settings.site.language, fetch=http_fetcher(policy=settings.fetch),
                         timezone=settings.site.timezone)
    articles = sorted(source.articles(), key=lambda a: (a.published_at is not None, a.published_at or 0, a.slug),
                      reverse=True)
    return [ArticleRow(a, newest_jobs(store.list_jobs(slug=a.slug))) for a in articles]


class Desk:
    """What the routes share: settings, clock, the token (None: no actions) and the key of the check values."""

    def __init__(self, settings: Settings, *, clock: Clock, token: str | None = None, owner: str = "desk") -> None:
        self.settings = settings
        self.clock = clock
        self.token = token
        self.owner = owner
        self._key = secrets.token_bytes(32)

    # --- pages -------------------------------------------------------------------------------------
    def render(self, name: str, **values: Any) -> str:
        return preview_html.environment().get_template(name).render(
            site=self.settings.site.name, actions_on=self.token is not None, **values)

    def index(self) -> str:
        with app.open_queue(self.settings) as store:
            rows = article_rows(self.settings, store)
        zone = self.settings.site.timezone
        return self.render("desk_index.html", title="Articles", rows=rows, accounts=self._accounts(), zone=zone,
                           when=lambda at: " ".join(describe(at, zone).split()[1:3]))

    def article(self, slug: str) -> str:
        page = preview_html.render_preview(self.settings, PublishRequest(slug), now=self.clock())
        with app.open_queue(self.settings) as store:
            jobs = newest_jobs(store.list_jobs(slug=page.preview.article.slug))
        # A post the queue holds goes out when its job is due, not when a new publish would plan it.
        due = {name: job.run_at for name, job in jobs.items() if job.state is JobState.QUEUED}
        preview = page.preview._replace(times=MappingProxyType({**page.preview.times, **due}))
        return self.render("desk_article.html", title=page.preview.article.title, article=page.preview.article,
                           views=preview_html.post_views(self.settings, preview),
                           states={name: job.state.value for name, job in jobs.items()}, jobs=jobs,
                           actions=ACTIONS, when=lambda at: describe(at, self.settings.site.timezone))

    def preview(self, slug: str) -> str:
        """Exactly the page `sharebot preview SLUG` writes."""
        return preview_html.render_preview(self.settings, PublishRequest(slug), now=self.clock()).html

    def plan(self) -> str:
        with app.open_queue(self.settings) as store:
            plan = app.upcoming(store, now=self.clock())
        zone = self.settings.site.timezone
        return self.render("desk_plan.html", title="Plan", plan=plan, when=lambda at: describe(at, zone))

    def history(self, slug: str) -> str:
        with app.open_queue(self.settings) as store:
            try:
                jobs = app.status(store, slug).jobs
            except SharebotError:
                jobs = []
            histories = [app.job_history(store, job.id) for job in jobs]
        if not jobs:
            load_article(self.settings, slug)  # an unknown slug is an error, a known one has no history yet
        return self.render("desk_history.html", title=f"History: {slug}", slug=slug, histories=histories,
                           line=output.job_line)

    # --- actions -----------------------------------------------------------------------------------
    def check_value(self, action: str, target: str) -> str:
        return hmac.new(self._key, f"{action}\0{target}".encode(), hashlib.sha256).hexdigest()

    def confirm(self, action: str, target: str) -> str:
        self._allowed(action, target)
        spec = ACTIONS[action]
        shown: list[preview_html.PostView] | str | None = None
        if action in ("publish", "schedule"):
            mode = PublishMode.NOW if action == "publish" else PublishMode.SCHEDULE
            preview = preview_html.render_preview(self.settings, PublishRequest(target, mode=mode), now=self.clock())
            shown = preview_html.post_views(self.settings, preview.preview)
        elif action == "retract":
            with app.open_queue(self.settings) as store:
                plan = app.retract(store, target, adapters=_no_adapters, clock=self.clock, dry_run=True).plan
            shown = output.retract_plan_text(target, plan)
        else:
            with app.open_queue(self.settings) as store:
                shown = output.job_line(store.get(int(target)))
        return self.render("desk_confirm.html", title=f"{spec.label}: {target}", action=action, spec=spec,
                           target=target, check=self.check_value(action, target), shown=shown,
                           what=spec.what.format(target=target), cli=spec.cli.format(target=target))

    def act(self, action: str, form: Mapping[str, str]) -> tuple[str, bool]:
        """Do `action` if the form carries the token and the check value; (page, whether it all went through)."""
        target = form.get("target", "")
        self._allowed(action, target)
        if not hmac.compare_digest(form.get("token", "").encode(), (self.token or "").encode()):
            raise Forbidden("wrong token: nothing was done")
        if not hmac.compare_digest(form.get("check", ""), self.check_value(action, target)):
            raise Forbidden("this form was not made by this desk for this action: nothing was done")
        if action == "retry":
            with app.open_queue(self.settings) as store:
                job = queue.retry(store, int(target), self.clock())
            text, ok, slug = output.job_line(job) + "\n", True, job.slug
        elif action == "retract":
            with app.open_queue(self.settings) as store, _adapters(self.settings) as adapters:
                report = app.retract(store, target, adapters=adapters, clock=self.clock, owner=self.owner,
                                     settings=self.settings, wait=threading.Event().wait)
            text, ok, slug = output.retract_text(report), not report.exit, target
        else:
            at = form.get("at", "").strip() or None
            mode = PublishMode.NOW if action == "publish" else PublishMode.SCHEDULE
            request = PublishRequest(target, mode=mode, at=at)
            with app.open_queue(self.settings) as store, _adapters(self.settings) as adapters:
                published = app.publish(self.settings, request, store=store, adapters=adapters, clock=self.clock,
                                        owner=self.owner)
            text, ok, slug = output.publish_text(published), not published.exit, published.article.slug
        return self.render("desk_result.html", title=ACTIONS[action].label, spec=ACTIONS[action], target=target,
                           text=text, ok=ok, slug=slug), ok

    def _allowed(self, action: str, target: str) -> None:
        if self.token is None:
            raise Forbidden("actions are off: start the desk with --token-env VAR to allow them")
        if action not in ACTIONS:
            raise NotFound(f"no action {action!r} (one of {', '.join(ACTIONS)})")
        if not target or (action == "retry" and not target.isdigit()):
            raise NotFound(f"{action}: no {'job id' if action == 'retry' else 'article'} given")

    def _accounts(self) -> list[str]:
        return [a.name for a in self.settings.accounts if a.enabled]


class Forbidden(SharebotError):
    pass


class NotFound(SharebotError):
    pass


def _no_adapters(name: str) -> Any:
    raise AssertionError("a dry run of retract uses no adapter")


class _adapters:  # noqa: N801 - used as a context manager, like open()
    def __init__(self, settings: Settings) -> None:
        self.adapters = app.Adapters(settings)

    def __enter__(self) -> app.Adapters:
        return self.adapters

    def __exit__(self, *exc: Any) -> None:
        self.adapters.close()


# --- the web app ----------------------------------------------------------------------------------
# No page of the desk may be framed by another (a confirmation form under someone else's page), and none loads
# anything from elsewhere; the pages say the same in a <meta> policy, which cannot forbid framing.
HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                                      "form-action 'self'; frame-ancestors 'none'",
           "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def make_app(settings: Settings, *, clock: Clock, token: str | None = None, hosts: list[str] | None = None,
             owner: str = "desk") -> Starlette:
    """The desk as an ASGI app. `hosts`: the Host names it answers (default: this machine's loopback names),
    so a page elsewhere cannot reach it through a rebound DNS name."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.responses import HTMLResponse, RedirectResponse
    from starlette.routing import Route

    desk = Desk(settings, clock=clock, token=token, owner=owner)

    async def page(work: Callable[[], str]) -> Response:
        try:
            return HTMLResponse(await run_in_threadpool(work), headers=HEADERS)
        except SharebotError as exc:
            status = 403 if isinstance(exc, Forbidden) else 404 if isinstance(exc, (NotFound, ArticleError)) else 400
            body = desk.render("desk_error.html", title="Error", message=str(exc), status=status)
            return HTMLResponse(body, status_code=status, headers=HEADERS)

    async def index(request: Request) -> Response:
        return await page(desk.index)

    async def article(request: Request) -> Response:
        return await page(lambda: desk.article(request.path_params["slug"]))

    async def preview(request: Request) -> Response:
        return await page(lambda: desk.preview(request.path_params["slug"]))

    async def history(request: Request) -> Response:
        return await page(lambda: desk.history(request.path_params["slug"]))

    async def plan(request: Request) -> Response:
        return await page(desk.plan)

    async def confirm(request: Request) -> Response:
        return await page(lambda: desk.confirm(request.path_params["action"], request.query_params.get("target", "")))

    async def act(request: Request) -> Response:
        raw = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        form = {k: v[0] for k, v in raw.items()}
        response = await page(lambda: desk.act(request.path_params["action"], form)[0])
        return response

    async def back(request: Request) -> Response:
        return RedirectResponse(f"/articles/{quote(request.path_params['slug'], safe='')}")

    routes = [
        Route("/", index),
        Route("/plan", plan),
        Route("/articles/{slug}", article),
        Route("/articles/{slug}/", back),
        Route("/articles/{slug}/preview", preview),
        Route("/articles/{slug}/history", history),
        Route("/confirm/{action}", confirm),
        Route("/do/{action}", act, methods=["POST"]),
    ]
    allowed = hosts or ["127.0.0.1", "localhost", "[::1]", "::1"]
    return Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=allowed)])


def require_extra() -> None:
    """A MissingExtra naming the install command unless Starlette, uvicorn and Jinja2 can be imported."""
    try:
        import jinja2  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise MissingExtra(f"sharebot serve needs the desk extra ({exc.name} is not installed): "
                           "pip install 'sharebot[desk]'") from None


def serve(settings: Settings, *, host: str, port: int, token: str | None, clock: Clock,
          on_ready: Callable[[str], object] | None = None) -> None:
    """Listen on `host`:`port` and serve the desk until interrupted."""
    require_extra()
    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)  # from here connections wait for the server: the URL given to `on_ready` answers
    except OSError as exc:
        sock.close()
        raise ConfigError(f"--host {host} --port {port}: cannot listen there: {exc.strerror or exc}") from None
    loopback = host in ("127.0.0.1", "localhost", "::1")
    hosts = None if loopback else ["*"]
    server = uvicorn.Server(uvicorn.Config(make_app(settings, clock=clock, token=token, hosts=hosts),
                                           log_level="warning", lifespan="off"))
    shown = f"[{host}]" if ":" in host else host
    if on_ready is not None:
        on_ready(f"http://{shown}:{port}/")
    # uvicorn stops on SIGINT and SIGTERM, then raises the signal again for the handler it found: a
    # KeyboardInterrupt for both here, so the desk ends like `worker`, as asked, with status 0.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        sock.close()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
