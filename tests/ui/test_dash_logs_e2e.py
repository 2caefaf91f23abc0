"""Dashboard logs in Chromium against a real `lockstep up`: every resource's logs on demand with scroll-back,
per-view clear, levels from content with the stream as its own filter, ANSI colours, links, wrapping,
and the page's place in the URL."""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest
from dashrig import Browser, need_chromium, row, shot
from upproc import Up

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

TILTFILE = textwrap.dedent(r"""
    print('first line of a multi-line entry\nsecond line of it')
    print('a long line from the Tiltfile itself: ' + 'lockstep-own ' * 40)
    local_resource('bad', cmd='echo compiling; echo "ERROR: yaml: line 3: mapping values are not allowed"; exit 2',
                   labels=['app'])
    local_resource('big', cmd='seq 1 7000', labels=['app'], allow_parallel=True)
    local_resource('chatty',
                   serve_cmd='while [ ! -f go ]; do sleep 0.05; done; seq -f "chatter %g" 1 12000; exec sleep 600',
                   labels=['infra'], allow_parallel=True)
    local_resource('lv',
    cmd='echo "INFO:root:listening on :8080" 1>&2; echo "ERROR: said on stdout"; echo "WARNING: careful"',
                   labels=['app'], allow_parallel=True)
    local_resource('fmt', cmd="printf '\\033[31mred text\\033[0m and http://example.com/docs\\n'; printf '%0600d\\n' 0",
                   labels=['app'], allow_parallel=True)
""")


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    need_chromium()
    u = Up.write(tmp_path_factory.mktemp("dashlogs"), TILTFILE)
    try:
        yield u
    finally:
        u.stop()


@pytest.fixture(scope="module")
def page(up: Up, browser: Browser) -> Any:
    pg = browser.page()
    pg.goto(up.url)
    expect(row(pg, "bad")).to_have_attribute("data-status", "error")
    expect(row(pg, "big")).to_have_attribute("data-status", "ok")
    # Now the chatty server floods: bad's output leaves the page's 5,000-line replay window.
    (up.dir / "go").write_text("")
    pg.goto(up.url)  # a fresh load replays only the tail of the combined stream
    expect(pg.locator("#log .ln:visible", has_text="chatter 12000")).to_be_visible(timeout=60_000)
    return pg


def ln(page: Any, start: str) -> Any:
    """The log row whose text (not its command line) starts with `start`."""
    return page.locator("#log .ln:visible").filter(has=page.locator(".tx", has_text=re.compile("^" + re.escape(start))))


def count(page: Any) -> int:
    return int(page.locator("#log-count").inner_text().split()[0].replace(",", ""))


def test_a_failed_resource_shows_its_output_after_it_left_the_replay_window(page: Any) -> None:
    expect(page.locator("#log .ln:visible", has_text="mapping values")).to_have_count(0)
    t0 = time.perf_counter()
    row(page, "bad").locator(".name").click()
    error = page.locator("#log .ln.error:visible", has_text="ERROR: yaml: line 3: mapping values are not allowed")
    expect(error).to_be_visible()
    print(f"failed resource's lines shown {1000 * (time.perf_counter() - t0):.0f} ms after the click")
    assert count(page) >= 3


def test_scroll_back_pages_older_lines_in_from_the_server(page: Any) -> None:
    row(page, "big").locator(".name").click()
    expect(page.locator("#log-count")).to_have_text("500 lines")
    expect(page.locator("#log-more")).to_have_text("scroll up for older lines")
    # 7,000 lines: more than the server keeps in memory per resource, so the last pages come from disk.
    for _ in range(30):
        if page.locator("#log-more").inner_text() == "":
            break
        before = count(page)
        page.locator("#log").evaluate("e => { e.scrollTop = 0; e.dispatchEvent(new Event('scroll')); }")
        page.wait_for_function(
            "Number(document.getElementById('log-count').textContent.split(' ')[0].replace(/,/g, ''))"
            f" > {before} || document.getElementById('log-more').textContent === ''")
    assert page.locator("#log-more").inner_text() == ""
    assert count(page) >= 7002
    page.locator("#log").evaluate("e => { e.scrollTop = 0; e.dispatchEvent(new Event('scroll')); }")
    expect(page.locator("#log .ln:visible .tx", has_text=re.compile(r"^1$"))).to_have_count(1)
    expect(page.locator("#log .ln:visible .tx", has_text="Running cmd: seq 1 7000")).to_be_visible()


def test_clear_applies_to_the_current_view_only(page: Any, up: Up) -> None:
    row(page, "big").locator(".name").click()
    page.locator("#log-clear").click()
    expect(page.locator("#log-count")).to_have_text("0 lines")
    page.locator("#all-row").click()
    expect(page.locator("#log-count")).not_to_have_text("0 lines")
    assert count(page) > 1000
    row(page, "bad").locator(".name").click()
    expect(page.locator("#log .ln.error:visible", has_text="mapping values")).to_be_visible()
    row(page, "big").locator(".name").click()
    expect(page.locator("#log-count")).to_have_text("0 lines")
    row(page, "big").locator(".trig").click()
    # The cleared view shows the new update whole: all its lines arrive (often in one delta, so the
    # pane, which follows the tail and draws only the rows near the view, has scrolled past the
    # first), and scrolling to the top shows the update's own first lines.
    expect(page.locator("#log-count")).to_have_text("7,002 lines")
    expect(page.locator("#log .ln:visible .tx", has_text=re.compile(r"^7000$"))).to_be_visible()
    page.locator("#log").evaluate("e => { e.scrollTop = 0; e.dispatchEvent(new Event('scroll')); }")
    expect(page.locator("#log .ln:visible .tx", has_text="Running cmd: seq 1 7000")).to_be_visible()


def test_levels_come_from_content_and_the_stream_is_its_own_filter(page: Any) -> None:
    row(page, "lv").locator(".name").click()
    info = ln(page, "INFO:root:listening on :8080")
    expect(info).to_have_class(re.compile(r"\binfo\b"))
    expect(info).to_have_class(re.compile(r"\bstderr\b"))
    expect(ln(page, "ERROR: said on stdout")).to_have_class(re.compile(r"\berror\b"))
    expect(ln(page, "WARNING: careful")).to_have_class(re.compile(r"\bwarn\b"))
    page.select_option("#log-level", "error")
    expect(page.locator("#log-count")).to_have_text("1 lines")
    page.select_option("#log-level", "warn")
    expect(page.locator("#log-count")).to_have_text("2 lines")
    page.select_option("#log-level", "all")
    page.select_option("#log-stream", "err")
    expect(page.locator("#log-count")).to_have_text("1 lines")
    expect(page.locator("#log .ln:visible .tx")).to_have_text("INFO:root:listening on :8080")
    page.select_option("#log-stream", "all")


def test_ansi_colours_links_wrapping_and_whole_entries(page: Any) -> None:
    row(page, "fmt").locator(".name").click()
    red = page.locator("#log .ln:visible .tx span", has_text="red text").first
    expect(red).to_be_visible()
    assert "color" in (red.get_attribute("style") or "")
    coloured = ln(page, "red text").locator(".tx")
    expect(coloured).to_have_text("red text and http://example.com/docs")  # escapes rendered, not shown
    link = page.locator('#log .ln .tx a[href="http://example.com/docs"]')
    expect(link).to_have_attribute("target", "_blank")
    zeros = ln(page, "0000000000")
    assert zeros.bounding_box()["height"] >= 36  # wrapped by default
    page.locator("#log-wrap").uncheck()
    expect(zeros).to_have_css("height", "18px")
    page.locator("#tiltfile-row").click()
    page.fill("#log-filter", "lockstep-own")
    own = page.locator("#log .ln:visible", has_text="a long line from the Tiltfile itself")
    assert own.bounding_box()["height"] >= 36  # lockstep's own lines are never cut off
    page.fill("#log-filter", "multi-line entry")
    entry = page.locator("#log .ln:visible", has_text="first line of a multi-line entry")
    expect(entry).to_contain_text("second line of it")
    assert entry.bounding_box()["height"] >= 36
    page.fill("#log-filter", "")
    page.locator("#log-wrap").check()
    page.locator("#all-row").click()
    shot(page, "dashboard-logs.png")


def test_state_lives_in_the_url(page: Any) -> None:
    row(page, "bad").locator(".name").click()
    page.fill("#log-filter", "yaml")
    page.select_option("#log-level", "error")
    expect(page).to_have_url(re.compile(r"#/r/bad\?.*q=yaml"))
    assert "level=error" in page.url
    page.reload()
    expect(row(page, "bad")).to_have_class(re.compile(r"\bselected\b"))
    expect(page.locator("#log-filter")).to_have_value("yaml")
    expect(page.locator("#log-level")).to_have_value("error")
    expect(page.locator("#log-count")).to_have_text("1 lines")
    row(page, "lv").locator(".name").click()
    expect(page).to_have_url(re.compile(r"#/r/lv"))
    page.go_back()
    expect(row(page, "bad")).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("2")
    expect(page).to_have_url(re.compile(r"#/table"))
    page.go_back()
    expect(page.locator("#pane-resources")).to_be_visible()
    shared = page.url
    other = page.context.new_page()
    other.goto(shared)
    expect(other.locator('#groups .row.selected[data-resource="bad"]')).to_be_visible()
    expect(other.locator("#log .ln.error:visible", has_text="mapping values")).to_be_visible()
    other.close()
    page.fill("#log-filter", "")
    page.select_option("#log-level", "all")


def test_no_console_errors(browser: Browser) -> None:
    assert browser.problems == []
