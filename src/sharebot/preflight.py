"""`publish --dry-run --check`: the dry run, and then what it cannot know offline.

- Each article image is fetched once, through the safe fetcher and the config's fetch policy, and made
  ready for each post by the same code an adapter runs before it posts (`images.ready`): its type, its
  bytes, its pixels, and for Bluesky the card thumb's budget after the JPEG re-encoding.
- Each account's credentials are tried with the adapter's own `check`, as `sharebot accounts check` does.

What it finds becomes issues on the posts, like the dry run's own: an error where the post would fail
(a photo that cannot be sent, a credential the network refuses), a warning where it would go out anyway
(a card without its thumbnail, a network that did not answer). Nothing is written and nothing is queued.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sharebot.adapters import adapter_class
from sharebot.adapters.base import AccountState, Adapter, ImageUse
from sharebot.config import Settings
from sharebot.errors import ConfigError, MissingCredential, NotSent, Rejected, SharebotError
from sharebot.images import Image, download, ready
from sharebot.models import ACCOUNT_ISSUES, Issue, RenderedPost, Severity
from sharebot.networks import LINK_ONLY, NETWORKS
from sharebot.pipeline import Preview, PublishRequest, dry_run


def checked_dry_run(settings: Settings, request: PublishRequest, *, now: datetime,
                    adapters: Callable[[str], Adapter] | None = None) -> Preview:
    """`pipeline.dry_run`, with each post's image and account checked over the network (see the module
    docstring). `adapters` gives an account's adapter (default: `app.Adapters` on the settings)."""
    preview = dry_run(settings, request, now=now)
    own = adapters is None
    if adapters is None:
        from sharebot.app import Adapters

        adapters = Adapters(settings)
    try:
        return check_preview(settings, preview, adapters)
    finally:
        if own:
            adapters.close()  # type: ignore[attr-defined]


def check_preview(settings: Settings, preview: Preview, adapters: Callable[[str], Adapter]) -> Preview:
    """The preview with the images' and credentials' problems added to each post's issues."""
    timeout = float(settings.raw.get("queue", {}).get("timeout_seconds", 20))
    fetched: dict[str, Image | SharebotError] = {}
    checked: dict[str, list[Issue]] = {}
    posts = []
    for post in preview.posts:
        issues = list(post.issues)
        use = None if post.network in LINK_ONLY else adapter_class(post.network).image_use(post)
        if use is not None:
            if use.url not in fetched:
                fetched[use.url] = _download(use.url, str(post.network), timeout, settings)
            issues += _image_issues(post, use, fetched[use.url])
        if post.network not in LINK_ONLY and not any(i.code in ACCOUNT_ISSUES for i in post.issues):
            if post.account not in checked:
                checked[post.account] = _account_issues(settings, post.account, adapters)
            issues += checked[post.account]
        posts.append(post._replace(issues=tuple(issues)))
    return preview._replace(posts=tuple(posts))


def _download(url: str, network: str, timeout: float, settings: Settings) -> Image | SharebotError:
    try:
        return download(url, network=network, timeout=timeout, policy=settings.fetch)
    except (Rejected, NotSent) as exc:
        return exc


def _image_issues(post: RenderedPost, use: ImageUse, image: Image | SharebotError) -> list[Issue]:
    if isinstance(image, NotSent):  # the image host did not answer now: it may by the time the post goes out
        return [Issue(Severity.WARNING, "image-unchecked", f"{use.what} not checked: {_detail(image)}")]
    try:
        if isinstance(image, SharebotError):
            raise image
        if not use.converts and image.mime_type not in use.keep:
            kinds = " or ".join(sorted(t.removeprefix("image/").upper() for t in use.keep))
            raise Rejected(str(post.network), f"{_label(post)} takes {kinds}; the article image is {image.mime_type}")
        if not use.converts and len(image.data) > use.max_bytes:
            raise Rejected(str(post.network), f"{_label(post)} takes at most {use.max_bytes} bytes; the article "
                                              f"image has {len(image.data)}")
        ready(image, use.max_bytes, network=str(post.network), keep=use.keep)
    except Rejected as exc:
        why = _detail(exc)
    except Exception as exc:  # noqa: BLE001 - a codec error: the adapter's article_image refuses it as well
        why = f"the article image cannot be prepared ({type(exc).__name__})"
    else:
        return []
    outcome = "the post would fail" if use.required else "the card would go out without it"
    return [Issue(Severity.ERROR if use.required else Severity.WARNING, "image", f"{use.what}: {why}; {outcome}")]


def _account_issues(settings: Settings, name: str, adapters: Callable[[str], Adapter]) -> list[Issue]:
    """What the account's credential check says, as issues; whatever the network echoed of a credential is
    masked (`app.masked_credentials`), as `accounts check` masks it."""
    from sharebot.app import masked_credentials

    def issue(severity: Severity, code: str, text: str) -> list[Issue]:
        return [Issue(severity, code, masked_credentials(settings, name, text))]

    try:
        status = adapters(name).check()
    except MissingCredential:
        return []  # the dry run has said so already (missing-credential)
    except ConfigError as exc:
        return issue(Severity.ERROR, "account-config", str(exc))
    except SharebotError as exc:
        return issue(Severity.ERROR, "credential-rejected", f"the credentials were not accepted: {exc}")
    if status.state is AccountState.REJECTED:
        return issue(Severity.ERROR, "credential-rejected", f"the credentials were not accepted: {status.detail}")
    if status.state is AccountState.UNREACHABLE:
        return issue(Severity.WARNING, "unreachable", f"credentials not checked: {status.detail}")
    if status.state is AccountState.EXPIRING:
        return issue(Severity.WARNING, "credential-expiring", status.detail)
    return []


def _label(post: RenderedPost) -> str:
    return NETWORKS[post.network].label


def _detail(error: SharebotError) -> str:
    return str(getattr(error, "detail", "") or error)
