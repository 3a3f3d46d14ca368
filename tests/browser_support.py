"""Headless Chromium for the browser tests: the system's own (Debian's `chromium`, which .ci/run installs),
driven by Playwright, which downloads no browser of its own here. Every request a page makes is recorded,
and any that is not for the page itself or the local desk is refused before it leaves."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None
    with sync_playwright() as driver:
        # Chromium's sandbox refuses to run as root (CI runs as root); nothing the pages do needs it.
        args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield browser
        finally:
            browser.close()


def guarded_page(browser: Any, allowed: tuple[str, ...], **options: Any) -> tuple[Any, list[str]]:
    """A new page whose requests are all recorded; those not starting with one of `allowed` are aborted."""
    page = browser.new_page(**options)
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))

    def only_local(route: Any) -> None:
        if route.request.url.startswith(allowed):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", only_local)
    return page, seen
