"""The virtual resource list and table in Chromium against a real `lockstep up` with 2,000 resources: the DOM
holds only the rows near the view, yet scrolling, the filter, keyboard navigation, focus, deep links, stream
deltas and the overview table behave as if every row were there."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from dashrig import Browser, counts_match_a_fresh_pass, listed_rows, need_chromium, row, scrolled_through
from upproc import Up

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
N = 2000
GROUP = 500           # resources per label: r0000-r0499 are g0, r0500-r0999 g1, ...
MAX_ROWS = 60         # rows in the DOM: a 800 px page shows about 17, plus the margin drawn beyond each edge

# Manual and never started: nothing runs until a test triggers it, so the page loads 2,000 resources at once.
TILTFILE = (f"for i in range({N}):\n"
            f"    local_resource('r' + ('000' + str(i))[-4:], cmd='true', labels=['g' + str(i // {GROUP})],\n"
            "                   trigger_mode=TRIGGER_MODE_MANUAL, auto_init=False, allow_parallel=True)\n")

IN_VIEW = """(name) => {
    const r = document.querySelector(`#groups .row[data-resource="${name}"]`);
    if (!r) return false;
    const b = r.getBoundingClientRect(), s = document.getElementById('sidebar').getBoundingClientRect();
    return b.height > 0 && b.top >= s.top - 1 && b.bottom <= s.bottom + 1;
}"""


def name(i: int) -> str:
    return f"r{i:04d}"


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    need_chromium()
    u = Up.write(tmp_path_factory.mktemp("dashvirtual"), TILTFILE)
    try:
        yield u
    finally:
        u.stop()


@pytest.fixture(scope="module")
def page(up: Up, browser: Browser) -> Any:
    pg = browser.page(up.url, height=800)
    expect(pg.locator("#summary .total")).to_have_text(f"{N} resources")
    return pg


def dom_rows(page: Any) -> int:
    n: int = page.locator("#groups .row").count()
    return n


def in_view(page: Any, resource: str) -> bool:
    return bool(page.evaluate(IN_VIEW, resource))


def test_dom_holds_a_bounded_number_of_rows(page: Any) -> None:
    expect(page.locator("#groups .row").first).to_have_attribute("aria-setsize", str(N))
    expect(page.locator("#groups .row").first).to_have_attribute("aria-posinset", "1")
    expect(page.locator("#groups .row").first).to_have_attribute("data-resource", name(0))
    assert 10 < dom_rows(page) <= MAX_ROWS
    expect(page.locator('.group[data-group="g0"] .gsum')).to_contain_text(f"/ {GROUP}")
    # The list is as tall as every row: the scroll bar tells where one is.
    height = page.locator("#groups").evaluate("e => e.getBoundingClientRect().height")
    assert height >= N * 42


def test_scrolling_to_the_end_shows_the_last_resource(page: Any) -> None:
    page.locator("#sidebar").evaluate("e => e.scrollTop = e.scrollHeight")
    last = page.locator(f'#groups .row[data-resource="{name(N - 1)}"]')
    expect(last).to_be_visible()
    page.wait_for_function(IN_VIEW, arg=name(N - 1))
    expect(last).to_have_attribute("aria-posinset", str(N))
    expect(page.locator('.group[data-group="g3"] .ghead')).to_be_visible()  # sticky over its rows
    assert dom_rows(page) <= MAX_ROWS
    assert page.locator(f'#groups .row[data-resource="{name(0)}"]').count() == 0
    page.locator("#sidebar").evaluate("e => e.scrollTop = 0")
    expect(page.locator(f'#groups .row[data-resource="{name(0)}"]')).to_be_visible()


def test_dom_order_follows_the_list_while_scrolling_up(page: Any) -> None:
    # Rows drawn while scrolling up are added above the others: Tab and reading order must still follow the list.
    page.locator("#sidebar").evaluate("e => e.scrollTop = e.scrollHeight")
    page.wait_for_function(IN_VIEW, arg=name(N - 1))
    # Up in steps of 600 px until g3's header is 200 px below the top, so that the end of g2 is drawn too.
    page.evaluate("""async () => {
        const sb = document.getElementById('sidebar');
        const g3 = () => document.querySelector('.group[data-group="g3"]').getBoundingClientRect().top;
        while (g3() < sb.getBoundingClientRect().top + 200) {
            sb.scrollTop -= 600;
            await new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
        }
    }""")
    order = page.locator("#groups .row").evaluate_all("rs => rs.map((r) => +r.getAttribute('aria-posinset'))")
    assert order == sorted(order) and len(order) > 10
    groups = page.locator("#groups > .group").evaluate_all("gs => gs.map((g) => parseFloat(g.style.top))")
    assert groups == sorted(groups) and len(groups) >= 2
    page.locator("#sidebar").evaluate("e => e.scrollTop = 0")


def test_scrolling_through_shows_every_resource_once_in_order(page: Any) -> None:
    assert listed_rows(page, N) == [name(i) for i in range(N)]


def test_filter_shows_exactly_the_matching_ones(page: Any) -> None:
    page.fill("#res-filter", "r19")
    assert listed_rows(page, 100) == [name(i) for i in range(1900, 2000)]
    assert dom_rows(page) <= MAX_ROWS
    page.fill("#res-filter", "label:g1 r07")
    assert listed_rows(page, 100) == [name(i) for i in range(700, 800)]
    expect(page.locator('.group[data-group="g0"]')).to_have_count(0)
    expect(page.locator('.group[data-group="g1"] .gsum')).to_contain_text("/ 100")
    page.fill("#res-filter", "r1234")
    assert listed_rows(page, 1) == [name(1234)]
    page.fill("#res-filter", "")
    expect(page.locator("#groups .row").first).to_have_attribute("aria-setsize", str(N))
    page.keyboard.press("Escape")


def test_keyboard_navigation_crosses_the_drawn_rows_and_focus_follows(page: Any) -> None:
    row(page, name(0)).locator(".name").click()
    expect(row(page, name(0))).to_be_focused()
    for _ in range(40):  # far beyond the rows drawn at first
        page.keyboard.press("j")
    target = page.locator(f'#groups .row[data-resource="{name(40)}"]')
    expect(target).to_have_attribute("aria-selected", "true")
    expect(target).to_be_focused()
    assert in_view(page, name(40))
    expect(page).to_have_url(re.compile(rf"#/r/{name(40)}$"))
    expect(page.locator("#detail h2")).to_contain_text(name(40))
    for _ in range(40):
        page.keyboard.press("k")
    expect(page.locator(f'#groups .row[data-resource="{name(0)}"]')).to_be_focused()
    assert in_view(page, name(0))
    # The arrow keys of a focused row do the same.
    for _ in range(30):
        page.keyboard.press("ArrowDown")
    expect(page.locator(f'#groups .row[data-resource="{name(30)}"]')).to_be_focused()
    expect(page.locator(f'#groups .row[data-resource="{name(30)}"]')).to_have_attribute("aria-selected", "true")
    assert in_view(page, name(30))
    page.keyboard.press("ArrowUp")
    expect(page.locator(f'#groups .row[data-resource="{name(29)}"]')).to_be_focused()
    # Across a group boundary: the last of g0 to the first of g1.
    row(page, name(GROUP - 1)).locator(".name").click()
    page.keyboard.press("j")
    expect(page.locator(f'#groups .row[data-resource="{name(GROUP)}"]')).to_be_focused()
    assert dom_rows(page) <= MAX_ROWS


def test_focus_stays_on_the_selected_row_while_it_scrolls_out_and_back(page: Any) -> None:
    row(page, name(40)).locator(".name").click()
    focused = page.locator(f'#groups .row[data-resource="{name(40)}"]')
    expect(focused).to_be_focused()
    page.locator("#sidebar").evaluate("e => e.scrollTop = e.scrollHeight")
    page.wait_for_function(IN_VIEW, arg=name(N - 1))
    expect(focused).to_be_focused()            # kept in the DOM, out of view
    assert not in_view(page, name(40))
    page.locator("#sidebar").evaluate("e => e.scrollTop = 0")
    page.wait_for_function(IN_VIEW, arg=name(0))
    expect(focused).to_be_focused()
    page.keyboard.press("j")
    expect(page.locator(f'#groups .row[data-resource="{name(41)}"]')).to_be_focused()


def test_a_delta_updates_a_drawn_row_and_a_row_drawn_later(page: Any) -> None:
    page.locator("#sidebar").evaluate("e => e.scrollTop = 0")
    first = page.locator(f'#groups .row[data-resource="{name(1)}"]')
    expect(first).to_have_attribute("data-status", "pending")
    page.evaluate("n => Api.post('/api/trigger', {resources: [n]})", name(1))
    expect(first).to_have_attribute("data-status", "ok")
    expect(first.locator(".sub")).to_contain_text("ok")
    # A row not in the DOM when its delta arrives shows the new state once scrolled to.
    far = name(N - 3)
    assert page.locator(f'#groups .row[data-resource="{far}"]').count() == 0
    page.evaluate("n => Api.post('/api/trigger', {resources: [n]})", far)
    page.wait_for_function("n => S.views.get(n).update_status === 'ok'", arg=far)
    assert page.locator(f'#groups .row[data-resource="{far}"]').count() == 0
    expect(page.locator('#summary button[data-status="ok"]')).to_have_text("2 ok")
    page.locator("#sidebar").evaluate("e => e.scrollTop = e.scrollHeight")
    later = page.locator(f'#groups .row[data-resource="{far}"]')
    expect(later).to_have_attribute("data-status", "ok")
    expect(later.locator(".sub")).to_contain_text("ok")


def test_counts_kept_across_deltas_equal_a_fresh_pass(page: Any) -> None:
    # Every other resource of g2 and some of g3 run, and one is disabled: the header, the group counters and the
    # rows move with each delta, recounted per changed resource only.
    batch = [name(i) for i in range(2 * GROUP, 3 * GROUP, 2)] + [name(i) for i in range(3 * GROUP, 3 * GROUP + 20)]
    ok_before = int(page.locator('#summary button[data-status="ok"]').inner_text().split()[0])
    page.evaluate("ns => Api.post('/api/trigger', {resources: ns})", batch)
    page.evaluate("n => Api.post('/api/enable', {resources: [n], enabled: false})", name(3 * GROUP + 30))
    page.wait_for_function("ns => ns.every((n) => S.views.get(n).update_status === 'ok')", arg=batch, timeout=120_000)
    expect(page.locator('#summary button[data-status="disabled"]')).to_have_text("1 disabled")
    expect(page.locator('#summary button[data-status="ok"]')).to_have_text(f"{ok_before + len(batch)} ok")
    counts_match_a_fresh_pass(page)
    page.fill("#res-filter", "label:g2")
    expect(page.locator('.group[data-group="g2"] .gsum')).to_contain_text(f"{GROUP // 2} ok")
    counts_match_a_fresh_pass(page)
    page.fill("#res-filter", "")
    page.keyboard.press("Escape")
    counts_match_a_fresh_pass(page)


# Deltas (in the stream's message format, fed to the page's own handler), filter changes, pins and collapsed
# groups in a seeded random order, a frame now and then: after each frame the counts kept across all of it must
# equal a fresh pass. A delta counted twice, or lost across a filter change, shows here in a fixed order.
INTERLEAVED = """async ([seed, steps]) => {
    let x = seed;
    const rand = (n) => { x = (x * 1103515245 + 12345) % 2147483648; return Math.floor(x / 65536) % n; };
    const frame = () => new Promise((res) => requestAnimationFrame(() => res()));
    const snap = () => JSON.stringify([S.counts, S.layout.map((g) => [g.label, g.html, g.names]),
                                       document.getElementById('summary').innerHTML]);
    // A few resources of each group, so that one changes again and again between two full passes.
    const names = S.order.filter((n, i) => i % 50 === 7);
    const statuses = ["ok", "pending", "in_progress", "error", "disabled", "held"];
    const runtimes = ["none", "none", "crashed", "pending", "ready"];
    const filters = ["", "label:g2", "status:ok", "r00", "status:failed,running label:g3", "is:pinned",
                     "label:g1,g2 r01", "status:disabled"];
    let frames = 0;
    for (let step = 0; step < steps; step++) {
        const op = rand(20);
        if (op < 12) {
            const changed = [];
            for (let k = rand(5) + 1; k > 0; k--) {
                const v = S.views.get(names[rand(names.length)]);
                const labels = rand(8) === 0 ? ["g" + rand(4)] : v.labels;
                changed.push({ ...v, labels, update_status: statuses[rand(statuses.length)],
                               runtime_status: runtimes[rand(runtimes.length)] });
            }
            handle({ type: "delta", removed: [], changed, history: [] });
        } else if (op === 6) setResourceFilter(filters[rand(filters.length)], false);
        else if (op === 7) togglePin(names[rand(names.length)]);
        else if (op === 8) toggleCollapsed("g" + rand(4));
        else {
            await frame();  // the page's own frame, asked for before this one, has run
            if (S.dirtyGroups || S.changed.size) continue;  // a delta of the server's own came in between
            frames++;
            // The fresh pass is compared, then put aside: the kept model goes on as the page's own, so that a
            // count wrong only after several frames of deltas is caught too.
            const kept = snap();
            const saved = { layout: S.layout, pos: S.pos, meta: S.meta, groupBy: S.groupBy, listHeight: S.listHeight,
                            listCount: S.listCount, counts: S.counts, summaryHtml: S.summaryHtml };
            S.dirtyLayout = true;
            summarise();
            const fresh = snap();
            if (kept !== fresh) return { step, frames, kept, fresh };
            Object.assign(S, saved);
            document.getElementById('summary').innerHTML = saved.summaryHtml;
            ResList.draw();
        }
    }
    return { frames };
}"""


def test_counts_kept_across_interleaved_deltas_and_filter_changes(up: Up, browser: Browser) -> None:
    pg = browser.page(up.url, height=800)
    try:
        expect(pg.locator("#summary .total")).to_have_text(f"{N} resources")
        for seed in (1, 2, 3, 4):
            out = pg.evaluate(INTERLEAVED, [seed, 300])
            assert "kept" not in out, out
            assert out["frames"] > 30  # the comparison ran, often
    finally:
        pg.context.close()


def test_a_collapsed_group_takes_one_header_and_opens_for_a_selection(page: Any) -> None:
    page.locator("#sidebar").evaluate("e => e.scrollTop = 0")
    page.locator('.group[data-group="g0"] .gname').click()
    expect(page.locator('.group[data-group="g0"]')).to_have_class(re.compile(r"\bcollapsed\b"))
    expect(page.locator('.group[data-group="g0"] .row')).to_have_count(0)
    expect(page.locator(f'#groups .row[data-resource="{name(GROUP)}"]')).to_be_visible()  # g1 right below
    page.wait_for_function(IN_VIEW, arg=name(GROUP))
    assert dom_rows(page) <= MAX_ROWS
    page.locator("#sidebar").evaluate("e => e.scrollTop = e.scrollHeight")
    page.wait_for_function(IN_VIEW, arg=name(N - 1))
    page.evaluate("n => select(n)", name(7))   # a link or the graph opening a resource of the collapsed group
    expect(page.locator('.group[data-group="g0"]')).not_to_have_class(re.compile(r"\bcollapsed\b"))
    expect(page.locator(f'#groups .row.selected[data-resource="{name(7)}"]')).to_be_visible()
    page.wait_for_function(IN_VIEW, arg=name(7))


def test_deep_link_opens_the_resource_scrolled_into_view(up: Up, browser: Browser) -> None:
    other = browser.page(f"{up.url}#/r/{name(1500)}", height=800)
    selected = other.locator(f'#groups .row.selected[data-resource="{name(1500)}"]')
    expect(selected).to_have_attribute("aria-selected", "true")
    other.wait_for_function(IN_VIEW, arg=name(1500))
    expect(other.locator("#detail h2")).to_contain_text(name(1500))
    assert dom_rows(other) <= MAX_ROWS
    other.close()


def test_overview_table_is_virtual_and_sorts_every_row(page: Any) -> None:
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("2")
    table = page.locator("#overview")
    expect(table).to_have_attribute("aria-rowcount", str(N + 1))
    body = page.locator("#overview tbody tr[data-resource]")
    expect(body.first).to_have_attribute("data-resource", name(0))
    expect(body.first).to_have_attribute("aria-rowindex", "2")
    assert 0 < body.count() <= MAX_ROWS
    page.locator("#table-wrap").evaluate("e => e.scrollTop = e.scrollHeight")
    expect(page.locator(f'#overview tr[data-resource="{name(N - 1)}"]')).to_be_visible()
    expect(page.locator(f'#overview tr[data-resource="{name(N - 1)}"]')).to_have_attribute("aria-rowindex", str(N + 1))
    assert body.count() <= MAX_ROWS
    # A delta shows in the table's drawn row (sorted by name: drawn again, not sorted again).
    page.locator("#table-wrap").evaluate("e => e.scrollTop = 0")
    cell = page.locator(f'#overview tr[data-resource="{name(5)}"]')
    expect(cell).to_have_attribute("data-bucket", "pending")
    page.evaluate("n => Api.post('/api/trigger', {resources: [n]})", name(5))
    expect(cell).to_have_attribute("data-bucket", "ok")
    expect(cell.locator(".badge")).to_have_text("ok")
    page.locator('#overview th[data-key="name"]').click()   # descending
    page.locator("#table-wrap").evaluate("e => e.scrollTop = 0")
    expect(body.first).to_have_attribute("data-resource", name(N - 1))
    seen = scrolled_through(page, "#table-wrap", "#overview tbody tr[data-resource]")
    assert seen == [name(i) for i in reversed(range(N))]
    page.locator('#overview th[data-key="name"]').click()
    page.keyboard.press("1")


def test_page_is_clean(page: Any, browser: Browser) -> None:
    # (Requests cancelled by the machine's network changing are kept apart by the rig: dashrig.NETWORK_CHANGED.)
    assert browser.problems == []
