"""Share-intent links: each one opens a composer the network will accept."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sharebot import counting
from sharebot.links import share_url
from sharebot.models import Network

URL = "https://nachrichten.sharebot-demo.de/artikel?utm_source=x&utm_medium=social&utm_campaign=artikel"
LONG = "Donaudampfschifffahrtsgesellschaftskapitänsmützenverordnung " + "tritt nach langen Verhandlungen " * 12


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_a_long_title_is_shortened_to_fit_the_x_composer():
    q = query(share_url(Network.X, url=URL, title=LONG, hashtags=("Politik",)))
    assert q["url"] == URL and q["hashtags"] == "Politik"
    assert q["text"].endswith("…") and counting.x_weighted_length(f"{q['text']} {URL} #Politik") <= 280
    assert query(share_url(Network.X, url=URL, title="Kurz"))["text"] == "Kurz"


def test_a_long_title_is_shortened_to_fit_the_bluesky_composer():
    q = query(share_url(Network.BLUESKY, url=URL, title=LONG))
    assert q["text"].endswith(" " + URL) and counting.bluesky_graphemes(q["text"]) <= 300


def test_values_are_percent_encoded_with_spaces_as_20():
    link = share_url(Network.WHATSAPP, url=URL, title="Grüße & mehr")
    assert link.startswith("https://wa.me/?text=Gr%C3%BC%C3%9Fe%20%26%20mehr%0A%0Ahttps%3A%2F%2F")
    assert "+" not in link


def test_mastodon_goes_to_the_instance_or_a_chooser():
    assert share_url(Network.MASTODON, url=URL, title="T", instance="https://social.example/").startswith(
        "https://social.example/share?text=T%20https")
    assert share_url(Network.MASTODON, url=URL, title="T").startswith("https://s2f.kytta.dev/?text=")
