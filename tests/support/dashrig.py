"""A Chromium page (Playwright, Debian's /usr/bin/chromium) on a real `lockstep up`, for the dashboard tests.

Every page records console errors, uncaught exceptions and failed requests,
so a test can assert the page stayed clean. Waits are on the DOM with
Playwright's bounded expect, never sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--enable-precise-memory-info"]
OUT = Path(__file__).resolve().parents[2] / "test-output"


def need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium (apt-get install chromium)")


@dataclass
class Browser:
    browser: Any
    pages: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def page(self, url: str | None = None, width: int = 1400, height: int = 900) -> Any:
        from playwright.sync_api import expect

        ctx = self.browser.new_context(viewport={"width": width, "height": height})
        pg = ctx.new_page()
        pg.set_default_timeout(20_000)
        expect.set_options(timeout=20_000)
        pg.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        pg.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))
        pg.on("response", lambda r: self.problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
        self.pages.append(pg)
        if url is not None:
            pg.goto(url)
        return pg


@contextmanager
def chromium() -> Iterator[Browser]:
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield Browser(b)
        finally:
            b.close()


def row(page: Any, name: str) -> Any:
    return page.locator(f'#groups .row[data-resource="{name}"]')


def shot(page: Any, name: str) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / name
    page.screenshot(path=str(path))
    return path
