"""In Chromium: the printed URL logs the page in with a cookie; the storage banner shows a full disk."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

import pytest
from apirig import rig

from lockstep.ui.api import STREAMS
from lockstep.ui.server import start

playwright = pytest.importorskip("playwright.async_api")
from playwright.async_api import Route, async_playwright, expect  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.mark.timeout(120)
def test_printed_url_logs_in_and_the_storage_banner_follows_the_disk(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium (apt-get install chromium)")

    async def main() -> None:
        async with rig(tmp_path) as r:
            runner, port = await start(r.engine, "127.0.0.1", 0, token="secret-token")
            base = f"http://127.0.0.1:{port}/"
            try:
                async with async_playwright() as p:
                    browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                    page = await browser.new_page()
                    # What the page went through, for the message if it never goes live: a script that
                    # failed to load or threw, or a WebSocket that never opened, each name the cause.
                    events: list[str] = []
                    page.on("console", lambda m: events.append(f"console {m.type}: {m.text}"))
                    page.on("pageerror", lambda e: events.append(f"uncaught: {e}"))
                    page.on("requestfailed", lambda q: events.append(f"failed: {q.url} {q.failure}"))
                    page.on("response", lambda q: events.append(f"HTTP {q.status} {q.url}"))
                    page.on("websocket", lambda w: (
                        events.append(f"websocket {w.url}"),
                        w.on("socketerror", lambda e: events.append(f"websocket error: {e}")),
                        w.on("close", lambda _: events.append("websocket closed"))))
                    res = await page.goto(base)
                    assert res is not None and res.status == 403
                    await expect(page.locator("body")).to_contain_text("Open the URL lockstep up printed")
                    await page.goto(base + "?token=secret-token")
                    assert page.url == base  # the token left the address bar
                    try:
                        await expect(page.locator("#conn")).to_have_text("live", timeout=20_000)
                    except AssertionError as e:
                        streams = len(runner.app[STREAMS]) if runner.app is not None else None
                        raise AssertionError(f"{e}\nserver-side streams open: {streams}\n"
                                             + "\n".join(events)) from None
                    assert "secret-token" not in await page.content()
                    assert await page.evaluate("document.cookie") == ""  # HttpOnly: scripts cannot read it
                    banner = page.locator("#storage-banner")
                    await expect(banner).to_be_hidden()
                    r.engine.logs.health.failed("logs", OSError(errno.ENOSPC, "No space left on device"))
                    await expect(banner).to_be_visible(timeout=10_000)
                    await expect(banner).to_contain_text("logs are not being saved: disk full")
                    r.engine.logs.health.ok("logs")
                    await expect(banner).to_be_hidden(timeout=10_000)
                    # A trigger from the page goes through with the cookie alone.
                    status = await page.evaluate("""async () => (await fetch('/api/trigger', {method: 'POST',
                        headers: {'Content-Type': 'application/json'}, body: '{"resources": ["a"]}'})).status""")
                    assert status == 200
                    await browser.close()
            finally:
                await runner.cleanup()

    asyncio.run(main())


@pytest.mark.timeout(120)
def test_a_script_that_failed_to_load_reloads_the_page(tmp_path: Path) -> None:
    """Chromium cancels requests in flight when the machine's network changes (a docker bridge
    coming or going): a page missing a script must load again, not sit on "connecting…"."""
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium (apt-get install chromium)")

    async def main() -> None:
        async with rig(tmp_path) as r:
            runner, port = await start(r.engine, "127.0.0.1", 0, token="secret-token")
            base = f"http://127.0.0.1:{port}/"
            try:
                async with async_playwright() as p:
                    browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                    page = await browser.new_page()
                    failed: list[str] = []

                    async def cut_once(route: Route) -> None:
                        # The first fetch of app.js fails (as a network change fails it); later ones go through.
                        if not failed:
                            failed.append(route.request.url)
                            await route.abort("connectionreset")
                        else:
                            await route.continue_()

                    await page.route("**/static/app.js", cut_once)
                    # Only until the response starts: the page then loads itself a second time.
                    await page.goto(base + "?token=secret-token", wait_until="commit")
                    await expect(page.locator("#conn")).to_have_text("live", timeout=20_000)
                    assert failed == [base + "static/app.js"]
                    # Loaded whole: the next failure gets its full count of reloads again.
                    assert await page.evaluate("sessionStorage.getItem('lockstep.reloads')") is None
                    await browser.close()
            finally:
                await runner.cleanup()

    asyncio.run(main())
