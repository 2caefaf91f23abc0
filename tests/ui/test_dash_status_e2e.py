"""Dashboard status in Chromium against a real `lockstep up`: clickable counts, status:/label: filters, the
errors pane, failure excerpts (row, detail, `get`, `describe`, `ci`), the overview table with pins, custom
buttons, bulk enable/disable, keyboard, a virtualised timeline, and views that follow the filter."""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashrig import (
    Browser,
    counts_match_a_fresh_pass,
    listed_rows,
    need_chromium,
    row,
    scrolled_through,
    shot,
    table_row,
)
from upproc import VENV_BIN, Up, wait_until

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
GEN = 150

TILTFILE = textwrap.dedent("""
    local_resource('web-ok', cmd='true', labels=['web'],
                   links=[link('http://127.0.0.1:9/first', 'first'), link('http://127.0.0.1:9/second', 'second')])
    local_resource('web-bad', labels=['web'],
                   cmd='echo compiling; echo "ModuleNotFoundError: No module named yaml" 1>&2; echo done; exit 2')
    local_resource('db-bad', cmd='echo "ERROR: relation pets does not exist"; exit 1', labels=['data'])
    local_resource('db-ok', cmd='true', labels=['data'], resource_deps=['web-ok'])
    local_resource('man', cmd='true', trigger_mode=TRIGGER_MODE_MANUAL, auto_init=False, labels=['tools'])
    local_resource('svc', serve_cmd='exec sleep 600', labels=['tools'])
    v1alpha1.ui_button(name='hello', text='Say hi', location={'component_type': 'Resource', 'component_id': 'web-ok'})
    v1alpha1.cmd(name='hello', args=['sh', '-c', 'echo hi from the button'], start_on={'ui_buttons': ['hello']})
    v1alpha1.ui_button(name='everywhere', text='Global thing',
                       location={'component_type': 'Global', 'component_id': 'x'})
    v1alpha1.cmd(name='everywhere', args=['true'], start_on={'ui_buttons': ['everywhere']})
    for i in range(GEN):
        local_resource('gen-' + ('00' + str(i))[-3:], cmd='true', labels=['gen'], allow_parallel=True)
""").replace("GEN)", f"{GEN})")


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    need_chromium()
    u = Up.write(tmp_path_factory.mktemp("dashstatus"), TILTFILE)
    try:
        yield u
    finally:
        u.stop()


@pytest.fixture(scope="module")
def page(up: Up, browser: Browser) -> Any:
    pg = browser.page(up.url, height=800)
    expect(row(pg, "web-bad")).to_have_attribute("data-status", "error")
    expect(row(pg, "db-bad")).to_have_attribute("data-status", "error")
    expect(row(pg, f"gen-{GEN - 1:03d}")).to_have_attribute("data-status", "ok")
    expect(row(pg, "svc")).to_have_attribute("data-runtime", "ready")
    return pg


def visible_rows(page: Any, expected: int) -> list[str]:
    """The rows shown, once there are `expected` of them: collected by scrolling through the virtual list."""
    names = listed_rows(page, expected)
    assert len(names) == expected, names
    return names


def cli(up: Up, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([f"{VENV_BIN}/lockstep", *args, "-f", str(up.tiltfile)], env=up.env, capture_output=True,
                          text=True, timeout=60)


def test_header_counts_include_pending_and_are_filters(page: Any) -> None:
    counts = {k: page.locator(f'#summary button[data-status="{k}"]') for k in ("failed", "pending", "ok", "disabled")}
    expect(counts["failed"]).to_have_text("2 failed")
    expect(counts["pending"]).to_have_text("1 pending")  # the manual resource that never ran is counted
    expect(counts["ok"]).to_have_text(f"{GEN + 3} ok")
    expect(page.locator("#summary .total")).to_have_text(f"{GEN + 6} resources")
    counts["failed"].click()
    expect(page.locator("#res-filter")).to_have_value("status:failed")
    assert sorted(visible_rows(page, 2)) == ["db-bad", "web-bad"]
    counts["pending"].click()
    assert visible_rows(page, 1) == ["man"]
    page.locator('#summary button[data-status="pending"]').click()
    expect(page.locator("#res-filter")).to_have_value("")
    assert len(visible_rows(page, GEN + 6)) == GEN + 6


def test_status_and_label_filter_with_group_counters_that_follow(page: Any) -> None:
    page.fill("#res-filter", "status:failed label:web")
    assert visible_rows(page, 1) == ["web-bad"]
    expect(page.locator('.group[data-group="web"] .gsum')).to_contain_text("/ 1")
    expect(page.locator('.group[data-group="data"]')).to_be_hidden()
    page.fill("#res-filter", "label:data")
    expect(page.locator('.group[data-group="data"] .gsum')).to_contain_text("1 ok 1 err")
    page.fill("#res-filter", "")


def test_errors_pane_lists_each_failure_with_its_excerpt_and_a_link(page: Any) -> None:
    page.keyboard.press("Escape")  # leave the filter field: keys are shortcuts again
    page.keyboard.press("3")
    items = page.locator("#errors .err-item")
    expect(items).to_have_count(2)
    expect(page.locator('#errors .err-item[data-resource="web-bad"] .excerpt')).to_have_text(
        "ModuleNotFoundError: No module named yaml")
    expect(page.locator('#errors .err-item[data-resource="db-bad"] .excerpt')).to_have_text(
        "ERROR: relation pets does not exist")
    expect(page.locator("#err-count")).to_have_text("2")
    shot(page, "dashboard-errors.png")
    page.locator('#errors .err-item[data-resource="web-bad"] a.err-link').click()
    expect(page).to_have_url(re.compile(r"#/r/web-bad$"))
    expect(page.locator("#pane-resources")).to_be_visible()
    expect(row(page, "web-bad")).to_have_class(re.compile(r"\bselected\b"))


def test_failure_excerpt_in_row_detail_get_and_describe(page: Any, up: Up) -> None:
    expect(row(page, "web-bad").locator(".sub")).to_contain_text("ModuleNotFoundError: No module named yaml")
    row(page, "web-bad").locator(".name").click()
    expect(page.locator("#detail-excerpt")).to_have_text("ModuleNotFoundError: No module named yaml")
    shot(page, "dashboard-failed.png")
    got = cli(up, "get", "web-bad", "db-bad")
    assert got.returncode == 0, got.stderr
    assert "ModuleNotFoundError: No module named yaml" in got.stdout
    assert "ERROR: relation pets does not exist" in got.stdout
    described = cli(up, "describe", "web-bad")
    assert re.search(r"^Failure: +ModuleNotFoundError: No module named yaml$", described.stdout, re.M), described.stdout


def test_ci_summary_shows_the_failure_excerpt(tmp_path: Path) -> None:
    (tmp_path / "Tiltfile").write_text(
        "local_resource('gen',"
        " cmd='echo \"yaml.scanner.ScannerError: mapping values are not allowed here\"; exit 2')\n")
    env = {**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state")}
    res = subprocess.run([f"{VENV_BIN}/lockstep", "ci", "-f", str(tmp_path / "Tiltfile")], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 1
    assert "lockstep ci: failed: gen failed: cmd exited with code 2" in res.stderr
    assert "lockstep ci:       yaml.scanner.ScannerError: mapping values are not allowed here" in res.stderr


def test_overview_table_sorts_and_pins(page: Any) -> None:
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("2")
    body = page.locator("#overview tbody tr[data-resource]")
    # A virtual table: its size is told to assistive technology, and scrolling through it shows every row.
    expect(page.locator("#overview")).to_have_attribute("aria-rowcount", str(GEN + 7))
    assert len(set(scrolled_through(page, "#table-wrap", "#overview tbody tr[data-resource]"))) == GEN + 6
    assert 0 < body.count() < GEN
    expect(page.locator("#overview thead th")).to_have_text(
        ["★", "Name", "Kind", "Status", "Last update", "Trigger", "Links", "Labels", "Waiting / failure"])
    expect(body.first).to_have_attribute("data-resource", "db-bad")
    page.locator('#overview th[data-key="name"]').click()
    expect(body.first).to_have_attribute("data-resource", "web-ok")
    page.locator('#overview th[data-key="status"]').click()
    expect(body.first).to_have_attribute("data-bucket", "failed")
    table_row(page, "gen-042").locator(".pin").click()
    page.locator("#table-wrap").evaluate("e => e.scrollTop = 0")
    expect(body.first).to_have_attribute("data-resource", "gen-042")
    expect(table_row(page, "web-ok").locator("td").nth(6)).to_have_text("first second")
    page.locator("#table-wrap").evaluate("e => e.scrollTop = 0")
    page.locator("#sidebar").evaluate("e => e.scrollTop = 0")
    expect(page.locator('.group[data-group="★ pinned"] .row')).to_have_attribute("data-resource", "gen-042")
    shot(page, "dashboard-table.png")
    page.reload()  # pins are kept by the browser
    expect(page.locator("#overview tbody tr[data-resource]").first).to_have_attribute("data-resource", "gen-042")
    table_row(page, "gen-042").locator(".pin").click()
    expect(page.locator('.group[data-group="★ pinned"]')).to_have_count(0)
    page.keyboard.press("1")


def test_custom_buttons_are_drawn_and_run(page: Any) -> None:
    expect(page.locator('#global-buttons button[data-button="everywhere"]')).to_have_text("Global thing")
    row(page, "web-ok").locator(".name").click()
    button = page.locator('#res-buttons button[data-button="hello"]')
    expect(button).to_have_text("Say hi")
    button.click()
    expect(page.locator("#log .ln:visible .tx", has_text=re.compile("^hi from the button$"))).to_be_visible()


def test_timeline_keeps_every_update_virtualised_and_follows_the_filter(page: Any) -> None:
    names = [f"gen-{i:03d}" for i in range(GEN)]
    finished = "async () => (await Api.get('/api/history?limit=1')).total_finished"
    for _ in range(2):
        target = page.evaluate(finished) + GEN
        page.evaluate("names => Api.post('/api/trigger', {resources: names})", names)
        wait_until(lambda t=target: page.evaluate(finished) >= t, 60, "the triggered updates to finish")
    page.keyboard.press("4")
    page.wait_for_function(f"Timeline.size() >= {3 * GEN}")
    expect(page.locator("#tl-axis")).to_contain_text(re.compile(r"\d+ updates"))
    total = page.evaluate("Timeline.rowCount()")
    assert total >= GEN
    drawn = page.locator("#timeline .tl-row").count()
    assert 0 < drawn < 60 < total  # only the rows in view exist
    page.locator("#timeline").evaluate("e => e.scrollTop = e.scrollHeight")
    expect(page.locator(f'#timeline .tl-row[data-resource="gen-{GEN - 1:03d}"]')).to_be_visible()
    page.fill("#res-filter", "label:web")
    expect(page.locator("#timeline .tl-row")).to_have_count(2)
    page.keyboard.press("Escape")
    page.keyboard.press("5")
    expect(page.locator("#graph .gnode")).to_have_count(2)
    page.fill("#res-filter", "label:data")
    expect(page.locator("#graph .gnode")).to_have_count(2)
    expect(page.locator('#graph .gnode[data-resource="db-ok"]')).to_be_visible()
    page.fill("#res-filter", "")
    page.keyboard.press("Escape")
    page.keyboard.press("1")


def test_bulk_enable_disable_for_a_label_and_a_selection(page: Any) -> None:
    head = page.locator('.group[data-group="gen"] .ghead')
    head.hover()
    head.locator('button[data-on="false"]').click()
    expect(row(page, "gen-000")).to_have_attribute("data-status", "disabled")
    expect(row(page, f"gen-{GEN - 1:03d}")).to_have_attribute("data-status", "disabled")
    expect(page.locator('#summary button[data-status="disabled"]')).to_have_text(f"{GEN} disabled")
    head.hover()
    head.locator('button[data-on="true"]').click()
    expect(page.locator('#summary button[data-status="disabled"]')).to_have_text("0 disabled")
    # Not saved with each history entry: at 10,000 rows that made every selection and keystroke cost 50 ms.
    expect(row(page, "db-ok").locator(".pick")).to_have_attribute("autocomplete", "off")
    row(page, "db-ok").locator(".pick").check()
    row(page, "svc").locator(".pick").check()
    expect(page.locator("#bulk-count")).to_have_text("2 selected:")
    page.locator("#bulk-disable").click()
    expect(row(page, "db-ok")).to_have_attribute("data-status", "disabled")
    expect(row(page, "svc")).to_have_attribute("data-status", "disabled")
    page.locator("#bulk-enable").click()
    expect(row(page, "svc")).to_have_attribute("data-runtime", "ready")
    expect(page.locator('#summary button[data-status="disabled"]')).to_have_text("0 disabled")
    page.locator("#bulk-none").click()
    expect(page.locator("#bulk")).to_be_hidden()


def test_keyboard_after_clicks_focusable_rows_and_endpoint_shortcut(page: Any) -> None:
    row(page, "web-ok").locator(".name").click()
    row(page, "web-ok").locator(".pick").click()   # a checkbox takes focus...
    page.keyboard.press("j")                         # ...and shortcuts still work
    expect(page.locator("#groups .row.selected")).to_have_attribute("data-resource", "web-bad")
    row(page, "web-ok").locator(".pick").click()
    page.select_option("#log-level", "warn")        # a dropdown too
    page.keyboard.press("k")
    expect(page.locator("#groups .row.selected")).to_have_attribute("data-resource", "web-ok")
    page.select_option("#log-level", "all")
    target = row(page, "db-bad")
    expect(target).to_have_attribute("tabindex", "0")
    expect(target).to_have_attribute("role", "option")
    target.focus()
    page.keyboard.press("Enter")
    expect(target).to_have_attribute("aria-selected", "true")
    row(page, "web-ok").locator(".name").click()
    page.context.route("http://127.0.0.1:9/**", lambda route: route.fulfill(body="the endpoint"))
    with page.context.expect_page() as popup:
        page.keyboard.press("Shift+Digit2")
    popup.value.wait_for_load_state()
    assert popup.value.url == "http://127.0.0.1:9/second"
    popup.value.close()


def test_counts_kept_across_deltas_equal_a_fresh_pass(page: Any) -> None:
    counts_match_a_fresh_pass(page)


def test_page_is_clean(page: Any, browser: Browser) -> None:
    # No request for /favicon.ico (it was a 404 on every load): the page declares its icon inline.
    expect(page.locator('link[rel="icon"]')).to_have_attribute("href", "data:,")
    assert browser.problems == []
