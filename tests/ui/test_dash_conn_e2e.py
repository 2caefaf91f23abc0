"""Honest connection state in Chromium: a frozen or stopped `lockstep up` is noticed within 2 s (heartbeats, not
only the WebSocket's close), the page says so, reconnects when it can, and an action that fails says so in a toast."""

from __future__ import annotations

import re
import signal
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest
from dashrig import Browser, need_chromium, row
from upproc import Up

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

TILTFILE = textwrap.dedent("""
    local_resource('one', cmd='echo one')
    local_resource('svc', serve_cmd='exec sleep 600')
""")


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    need_chromium()
    u = Up.write(tmp_path_factory.mktemp("dashconn"), TILTFILE)
    try:
        yield u
    finally:
        if u.proc.poll() is None:
            u.proc.send_signal(signal.SIGCONT)
            u.stop()


def banner_after(page: Any, act: Any) -> float:
    t0 = time.monotonic()
    act()
    expect(page.locator("#banner")).to_be_visible(timeout=5_000)
    elapsed = time.monotonic() - t0
    expect(page.locator("#conn")).to_have_text("disconnected")
    return elapsed


def test_a_frozen_server_is_noticed_within_two_seconds_and_the_page_reconnects(up: Up, browser: Browser) -> None:
    page = browser.page(up.url)
    expect(page.locator("#conn")).to_have_text("live")
    expect(row(page, "one")).to_have_attribute("data-status", "ok")
    # SIGSTOP: the socket stays open and no close frame ever comes; only the missing heartbeats tell.
    elapsed = banner_after(page, lambda: up.proc.send_signal(signal.SIGSTOP))
    print(f"frozen server noticed after {elapsed * 1000:.0f} ms")
    assert elapsed <= 2.0
    up.proc.send_signal(signal.SIGCONT)
    expect(page.locator("#conn")).to_have_text("live", timeout=15_000)
    expect(page.locator("#banner")).to_be_hidden()


def test_a_stopped_server_is_noticed_and_a_failed_action_says_so(up: Up, browser: Browser) -> None:
    page = browser.page(up.url)
    expect(page.locator("#conn")).to_have_text("live")
    expect(row(page, "one")).to_have_attribute("data-status", "ok")
    elapsed = banner_after(page, lambda: up.stop())
    print(f"stopped server noticed after {elapsed * 1000:.0f} ms")
    assert elapsed <= 2.0
    row(page, "one").locator(".trig").click()
    toast = page.locator("#toast")
    expect(toast).to_be_visible()
    expect(toast).to_have_text(re.compile(r"^trigger one failed: lockstep is not reachable"))
    # The failure was handled: nothing uncaught ("Failed to fetch") reached the console.
    uncaught = [p for p in browser.problems if p.startswith("uncaught")]
    assert uncaught == []
