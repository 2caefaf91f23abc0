"""The dashboard in Chromium (Playwright) against a real `lockstep up` subprocess.

Every wait is on the DOM with a bounded timeout (Playwright's expect), never a sleep.
"""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import CHROMIUM, chromium_or_skip
from upproc import Up

playwright = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.e2e

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
OUT = Path(__file__).resolve().parents[2] / "test-output"

TILTFILE = textwrap.dedent("""
    local_resource('fast', cmd='cat msg.txt 2>/dev/null; echo fast-done', labels=['app'])
    local_resource('slow', cmd='while [ ! -f release ]; do sleep 0.05; done; echo slow-done',
                   labels=['app'], allow_parallel=True)
    local_resource('after-slow', cmd='echo after', resource_deps=['slow'], labels=['app'])
    local_resource('svc', serve_cmd='echo serving; exec sleep 600', labels=['infra'], allow_parallel=True)
""")


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    chromium_or_skip()
    u = Up.write(tmp_path_factory.mktemp("dash"), TILTFILE)
    try:
        yield u
    finally:
        u.stop()


@pytest.fixture(scope="module")
def page(up: Up) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        pg = ctx.new_page()
        pg.set_default_timeout(20_000)
        expect.set_options(timeout=20_000)
        pg.goto(up.url)
        yield pg
        browser.close()


def row(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f'#groups .row[data-resource="{name}"]')


def test_resources_and_statuses_appear(page: Page) -> None:
    expect(page.locator("#conn")).to_have_text("live")
    for name in ("fast", "slow", "after-slow", "svc"):
        expect(row(page, name)).to_be_visible()
    expect(row(page, "fast")).to_have_attribute("data-status", "ok")
    expect(row(page, "svc")).to_have_attribute("data-runtime", "ready")
    expect(page.locator('.group[data-group="app"] .gname')).to_have_text("app")
    expect(page.locator('.group[data-group="infra"] .gsum')).to_contain_text("1 ok")


def test_hold_reason_of_resource_waiting_on_slow_upstream(page: Page, up: Up) -> None:
    expect(row(page, "slow")).to_have_attribute("data-status", "in_progress")
    expect(row(page, "after-slow").locator(".sub")).to_have_text("waiting on slow")
    row(page, "after-slow").click()
    expect(page.locator("#detail-hold")).to_have_text("waiting on slow")
    OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUT / "dashboard-hold.png"))
    (up.dir / "release").write_text("")
    expect(row(page, "after-slow")).to_have_attribute("data-status", "ok")
    expect(page.locator("#detail-hold")).to_have_count(0)


def test_log_line_from_a_command_appears_live(page: Page, up: Up) -> None:
    page.locator("#all-row").click()
    marker = f"marker-{uuid.uuid4().hex}"
    (up.dir / "msg.txt").write_text(marker + "\n")
    row(page, "fast").locator(".trig").click()
    expect(page.locator("#log .ln", has_text=marker)).to_be_visible()
    # The filter narrows the (virtualised) pane to matching lines.
    page.keyboard.press("/")
    page.keyboard.type(marker)
    expect(page.locator("#log-count")).to_have_text("1 lines")
    page.keyboard.press("Escape")
    page.fill("#log-filter", "")


def test_trigger_button_and_manual_update_in_timeline(page: Page) -> None:
    row(page, "after-slow").click()
    before = page.locator("#detail").inner_text()
    page.locator("#trigger-btn").click()
    expect(page.locator("#detail")).not_to_have_text(before)
    expect(row(page, "after-slow")).to_have_attribute("data-status", "ok")
    page.locator('#tabs button[data-tab="timeline"]').click()
    bar = page.locator('.tl-row[data-resource="after-slow"] .bar[data-reasons~="manual"]')
    expect(bar).to_have_count(1)
    expect(bar).to_have_attribute("title", __import__("re").compile("manual trigger"))
    expect(page.locator(".bar.critical").first).to_be_visible()
    page.screenshot(path=str(OUT / "dashboard-timeline.png"))
    page.keyboard.press("1")


def test_enable_disable(page: Page) -> None:
    row(page, "svc").click()
    expect(page.locator("#enable-btn")).to_have_text("Disable")
    page.locator("#enable-btn").click()
    expect(row(page, "svc")).to_have_attribute("data-status", "disabled")
    expect(page.locator("#enable-btn")).to_have_text("Enable")
    page.locator("#enable-btn").click()
    expect(row(page, "svc")).to_have_attribute("data-runtime", "ready")
    expect(row(page, "svc")).not_to_have_attribute("data-status", "disabled")


def test_trigger_mode_toggle_and_keyboard(page: Page) -> None:
    row(page, "fast").click()
    page.locator("#mode-btn").click()
    expect(page.locator("#mode-btn")).to_have_attribute("data-mode", "manual")
    page.locator("#mode-btn").click()
    expect(page.locator("#mode-btn")).to_have_attribute("data-mode", "auto")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    expect(page.locator("#groups .row.selected")).to_have_attribute("data-resource", "slow")
    page.keyboard.press("k")
    expect(page.locator("#groups .row.selected")).to_have_attribute("data-resource", "fast")
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()


def test_graph_view(page: Page) -> None:
    page.keyboard.press("5")
    expect(page.locator('#graph .gnode[data-resource="after-slow"]')).to_be_visible()
    expect(page.locator('#graph path.edge[data-from="slow"][data-to="after-slow"]')).to_have_count(1)
    page.screenshot(path=str(OUT / "dashboard-graph.png"))
    page.keyboard.press("1")
    page.screenshot(path=str(OUT / "dashboard.png"))


def test_disconnected_banner(page: Page, up: Up) -> None:
    up.stop()
    expect(page.locator("#banner")).to_be_visible()
    expect(page.locator("#conn")).to_have_text("disconnected")
