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


# Chromium cancels the requests in flight when the machine's network changes (docker adding or removing a bridge
# or a container's interface, as other tests do): not a fault of the page, which loads again by itself
# (index.html; tests/ui/test_dash_conn_e2e.py checks that it does). Kept apart from the page's own problems.
NETWORK_CHANGED = "net::ERR_NETWORK_CHANGED"


@dataclass
class Browser:
    browser: Any
    pages: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    network_changes: list[str] = field(default_factory=list)

    def _console(self, m: Any) -> None:
        if m.type == "error":
            (self.network_changes if NETWORK_CHANGED in m.text else self.problems).append(f"console {m.type}: {m.text}")

    def page(self, url: str | None = None, width: int = 1400, height: int = 900) -> Any:
        from playwright.sync_api import expect

        ctx = self.browser.new_context(viewport={"width": width, "height": height})
        pg = ctx.new_page()
        pg.set_default_timeout(20_000)
        expect.set_options(timeout=20_000)
        pg.on("console", self._console)
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
    """A resource's row in the sidebar. The list is virtual (only the rows near its view are in the DOM), so the
    list is first scrolled to the row, as a user would, once the resource is in the page's model."""
    page.wait_for_function("name => S.pos.has(name)", arg=name)
    page.evaluate("name => { ResList.reveal(name); }", name)
    return page.locator(f'#groups .row[data-resource="{name}"]')


# The list's counts and groups as the page keeps them across deltas (recounted per changed resource), then as a
# pass over every resource computes them from scratch. The page brings its list up to date on the next frame after
# a delta or a filter change (app.js scheduleDom), so the kept counts are read once no such work is pending (a frame
# that comes late under load is waited for, not read half done), and both passes run in one task: no delta comes
# between them.
COUNTS_TWICE = """async () => {
    const frame = () => new Promise((res) => requestAnimationFrame(() => res()));
    const snap = () => JSON.stringify([S.counts, S.layout.map((g) => [g.label, g.html, g.names]),
                                       document.getElementById('summary').innerHTML]);
    for (let frames = 0; S.dirtyGroups || S.dirtyLayout || S.changed.size; frames++) {
        if (frames > 1000) throw new Error('the resource list still had work pending after 1000 frames');
        await frame();
    }
    const kept = snap();
    S.dirtyLayout = true;
    summarise();
    return [kept, snap()];
}"""


def counts_match_a_fresh_pass(page: Any) -> None:
    kept, fresh = page.evaluate(COUNTS_TWICE)
    assert kept == fresh


def table_row(page: Any, name: str) -> Any:
    """A resource's row in the overview table, which is virtual too: the table is first scrolled to it."""
    page.wait_for_function("name => Table.names.includes(name)", arg=name)
    page.evaluate("""(name) => {
        const w = document.getElementById('table-wrap');
        w.scrollTop = Math.max(0, Table.names.indexOf(name) * Table.rowH - w.clientHeight / 2);
        drawTable();
    }""", name)
    return page.locator(f'#overview tr[data-resource="{name}"]')


# Scroll the sidebar from top to bottom and collect, in order, the resources of the rows drawn inside its
# visible area: what a user scrolling through the list sees (a row kept in the DOM out of view does not count).
LISTED = """async ([scroller, items]) => {
    const sb = document.querySelector(scroller);
    const frame = () => new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
    const seen = [];
    const have = new Set();
    sb.scrollTop = 0;
    for (;;) {
        await frame();
        const box = sb.getBoundingClientRect();
        const rows = [...document.querySelectorAll(items)]
            .map((r) => [r.getBoundingClientRect(), r.dataset.resource])
            .filter(([b]) => b.height > 0 && b.top >= box.top - 1 && b.bottom <= box.bottom + 1)
            .sort((a, b) => a[0].top - b[0].top);
        for (const [, name] of rows) if (!have.has(name)) { have.add(name); seen.push(name); }
        if (sb.scrollTop + sb.clientHeight >= sb.scrollHeight - 1) break;
        sb.scrollTop += Math.max(1, Math.floor(sb.clientHeight / 2));
    }
    sb.scrollTop = 0;
    return seen;
}"""


def listed_rows(page: Any, expected: int) -> list[str]:
    """The resources the list shows, in order, once it holds `expected` rows (the list updates on the next frame):
    checked on the rows drawn while scrolling through the whole list."""
    from playwright.sync_api import expect

    expect(page.locator("#groups .row").first).to_have_attribute("aria-setsize", str(expected))
    return scrolled_through(page, "#sidebar", "#groups .row")


def scrolled_through(page: Any, scroller: str, items: str) -> list[str]:
    """The data-resource of every `items` element seen inside `scroller`'s visible area, in order, while scrolling
    it from top to bottom (then back to the top)."""
    names: list[str] = page.evaluate(LISTED, [scroller, items])
    return names


def shot(page: Any, name: str) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / name
    page.screenshot(path=str(path))
    return path
