"""Share-intent URLs (what a site's share buttons and the WhatsApp output link to). Pure.

Each network's URL form is declared with the network in the registry (`NetworkSpec.share`); this module
asks for one and lays a set of them out as a share-button snippet.
"""

from __future__ import annotations

from typing import NamedTuple

from sharebot.networks import NETWORKS, Network


def share_url(network: Network, *, url: str, title: str, text: str | None = None,
              hashtags: tuple[str, ...] = (), instance: str | None = None) -> str:
    """A link that opens the network's composer prefilled with the article.

    `text` is a full post text (used by WhatsApp, whose share text is the whole message); otherwise the title
    and the URL are passed as the network expects. `instance` is the server to share to, where readers
    choose one (Mastodon); without it such a link goes to a chooser.
    """
    return NETWORKS[network].share(url=url, title=title, text=text, hashtags=hashtags, server=instance)


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
