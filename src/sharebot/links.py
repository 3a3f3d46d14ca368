"""Share-intent URLs (what a site's share buttons and the WhatsApp output link to). Pure.

Each value is URL-encoded with quote (spaces as %20: wa.me and bsky.app do not read '+' as a space).
Forms: platforms.md §10 (X web intent, bsky.app/intent/compose, LinkedIn share-offsite, Facebook sharer,
wa.me, t.me/share/url, threads.com/intent/post, an instance's /share page for Mastodon).
"""

from __future__ import annotations

from typing import Callable, NamedTuple
from urllib.parse import quote

from sharebot import counting, fitting
from sharebot.models import Network

# Without a configured instance, Mastodon sharing goes through Share₂Fedi, which asks the reader for theirs.
MASTODON_CHOOSER = "https://s2f.kytta.dev/"
SHARE_NETWORKS = (Network.X, Network.BLUESKY, Network.LINKEDIN, Network.FACEBOOK, Network.WHATSAPP,
                  Network.TELEGRAM, Network.THREADS, Network.MASTODON)
LABELS = {Network.X: "X", Network.BLUESKY: "Bluesky", Network.LINKEDIN: "LinkedIn", Network.FACEBOOK: "Facebook",
          Network.WHATSAPP: "WhatsApp", Network.TELEGRAM: "Telegram", Network.THREADS: "Threads",
          Network.MASTODON: "Mastodon"}


def _q(value: str) -> str:
    return quote(value, safe="")


def _fit_title(title: str, fits: Callable[[str], bool]) -> str:
    """A composer opened over the network's limit cannot be sent as it is: shorten the title to fit."""
    return title if fits(title) else fitting.shorten(title, fits)


def share_url(network: Network, *, url: str, title: str, text: str | None = None,
              hashtags: tuple[str, ...] = (), instance: str | None = None) -> str:
    """A link that opens the network's composer prefilled with the article.

    `text` is a full post text (used by WhatsApp, whose share text is the whole message); otherwise the title
    and the URL are passed as the network expects.
    """
    if network is Network.X:
        extra = f"&hashtags={_q(','.join(hashtags))}" if hashtags else ""
        tags = "".join(f" #{t}" for t in hashtags)
        short = _fit_title(title, lambda t: counting.x_weighted_length(f"{t} {url}{tags}") <= 280)
        return f"https://x.com/intent/tweet?text={_q(short)}&url={_q(url)}{extra}"
    if network is Network.BLUESKY:  # only `text` exists; the URL goes inside it
        short = _fit_title(title, lambda t: counting.bluesky_graphemes(f"{t} {url}") <= 300)
        return f"https://bsky.app/intent/compose?text={_q(f'{short} {url}')}"
    if network is Network.LINKEDIN:  # only `url` is honoured; LinkedIn reads the page's og: tags
        return f"https://www.linkedin.com/sharing/share-offsite/?url={_q(url)}"
    if network is Network.FACEBOOK:
        return f"https://www.facebook.com/sharer/sharer.php?u={_q(url)}"
    if network is Network.WHATSAPP:
        message = text if text and url in text else f"{text or title}\n\n{url}"
        return f"https://wa.me/?text={_q(message)}"
    if network is Network.TELEGRAM:
        return f"https://t.me/share/url?url={_q(url)}&text={_q(title)}"
    if network is Network.THREADS:
        return f"https://www.threads.com/intent/post?text={_q(title)}&url={_q(url)}"
    if network is Network.MASTODON:
        base = (instance or "").rstrip("/")
        target = f"{base}/share" if base else MASTODON_CHOOSER
        return f"{target}?text={_q(f'{title} {url}')}"
    raise ValueError(f"no share link for {network}")


class ShareLink(NamedTuple):
    network: Network
    label: str
    url: str


def share_html(share: list[ShareLink]) -> str:
    """A share-button snippet a site can paste: plain links, no script, no tracking."""
    import html

    items = "\n".join(
        f'  <li><a class="share-{s.network.value}" href="{html.escape(s.url)}" target="_blank" '
        f'rel="noopener noreferrer">{html.escape(s.label)}</a></li>'
        for s in share
    )
    return f'<ul class="sharebot-share">\n{items}\n</ul>'
