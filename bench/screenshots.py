"""The screenshots in docs/screenshots/ (README.md shows preview.png): the bundled example site's lead article
in `sharebot preview`, and the desk (`sharebot serve`) after it was scheduled, in headless Chromium.

Not a benchmark; it lives here to be linted with the scripts. Offline and repeatable: a fixed clock, placeholder
credentials (never sent: the posts are scheduled for later, nothing goes out) except Telegram's, left unset so
the page shows how an account that cannot post is marked, and a queue in a temporary directory.
Run: python bench/screenshots.py   (with sharebot[desk,test] installed and Debian's chromium on PATH)
"""

from __future__ import annotations

import io
import shutil
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CONFIG = ROOT / "config" / "sharebot.toml"
SEED = "putin-xi-videogespraech-partnerschaft"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # a Wednesday morning in Berlin
CREDENTIALS = {f"SHAREBOT_{name}": "placeholder-never-sent" for name in (
    "X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET", "BLUESKY_APP_PASSWORD",
    "MASTODON_ACCESS_TOKEN", "LINKEDIN_ACCESS_TOKEN", "FACEBOOK_PAGE_ACCESS_TOKEN", "THREADS_ACCESS_TOKEN")}


def main() -> None:
    import uvicorn
    from playwright.sync_api import sync_playwright

    from sharebot import app
    from sharebot.cli import main as sharebot
    from sharebot.config import load_settings
    from sharebot.desk import make_app
    from sharebot.pipeline import PublishRequest

    chromium = shutil.which("chromium") or sys.exit("no chromium on PATH: apt-get install chromium")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**CREDENTIALS, "SHAREBOT_DATABASE_URL": str(Path(tmp) / "queue.db")}
        page_file = Path(tmp) / "preview.html"
        sharebot(["--config", str(CONFIG), "preview", SEED, "--output", str(page_file)], environ=env,
                 stdout=io.StringIO(), stderr=io.StringIO(), clock=lambda: NOW)
        settings = load_settings(CONFIG, env, dotenv_path=Path(tmp) / "none.env")
        with app.open_queue(settings) as store:  # the desk shows a scheduled article: nothing is sent
            app.publish(settings, PublishRequest(SEED, at="+4h"), store=store, adapters=app.Adapters(settings),
                        clock=lambda: NOW, owner="screenshots")
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(make_app(settings, clock=lambda: NOW), log_level="warning",
                                               lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(page_file.as_uri())
            page.screenshot(path=OUT / "preview.png", full_page=True)
            page.goto(f"{url}/")
            page.screenshot(path=OUT / "desk.png", full_page=True)
            browser.close()
        server.should_exit = True
        thread.join()
    print(f"wrote {OUT / 'preview.png'} and {OUT / 'desk.png'}")


if __name__ == "__main__":
    main()
