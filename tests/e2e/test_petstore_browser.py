"""Issue 5 acceptance: the pet-store UI and its API docs in a real browser (Playwright driving Debian's
Chromium), served by the pipeline under `lockstep up`."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import chromium_or_skip
from petstore_harness import copy_example
from petstore_support import (
    ARTIFACTS,
    free_port,
    get,
    lockstep_up,
    wait_healthy,
)

pytestmark = pytest.mark.e2e

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def chromium_path() -> str:
    return chromium_or_skip()


def test_ui_and_docs_in_a_browser(tmp_path: Path, chromium_path: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    root = copy_example(tmp_path / "petstore")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(exist_ok=True)

    with lockstep_up(root, "Tiltfile", port, tmp_path / "state") as ls:
        wait_healthy(port, timeout=90, ls=ls)
        stats = get(port, "/api/stats").json()
        assert isinstance(stats, dict)

        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                problems: list[str] = []
                page.on(
                    "console",
                    lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
                )
                page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
                page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
                page.on(
                    "response",
                    lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
                )

                # The app: stats grid, pet list and user list, all fed by the API.
                page.goto(base + "/", wait_until="load")
                page.wait_for_selector('body[data-ready="true"]', timeout=TIMEOUT_MS)
                for container in ("#stats", "#pets", "#users"):
                    assert page.get_attribute(container, "data-state") == "ready", container
                cards = page.locator("#stats .stat")
                assert cards.count() == 6
                assert page.locator('#stats [data-stat="pets"] .value').inner_text() == str(stats["pets"])
                assert page.locator('#stats [data-stat="users"] .value').inner_text() == str(stats["users"])
                assert page.locator("#pets li[data-pet-id]").count() == stats["pets"] > 0
                assert page.locator("#users li[data-user-id]").count() == stats["users"] > 0
                first_user = page.locator("#users li .name").first.inner_text()
                assert first_user.strip()

                # The add-pet form goes through the API and the lists refresh.
                before = page.locator("#pets li[data-pet-id]").count()
                page.fill('#new-pet input[name="name"]', "Pixel")
                page.select_option('#new-pet select[name="species"]', "cat")
                page.click('#new-pet button[type="submit"]')
                page.wait_for_function(
                    "n => document.querySelectorAll('#pets li[data-pet-id]').length > n", arg=before,
                    timeout=TIMEOUT_MS,
                )
                assert "Pixel" in page.locator("#pets").inner_text()
                page.screenshot(path=str(ARTIFACTS / "petstore-ui.png"), full_page=True)
                assert problems == [], problems

                # /docs: Swagger UI renders the spec, offline, listing every operation.
                spec = get(port, "/openapi.json").json()
                assert isinstance(spec, dict)
                operations = {
                    (method.upper(), path)
                    for path, item in spec["paths"].items()
                    for method in item
                    if method in ("get", "post", "put", "patch", "delete")
                }
                page.goto(base + "/docs", wait_until="load")
                blocks = page.locator(".swagger-ui .opblock")
                blocks.first.wait_for(timeout=TIMEOUT_MS)
                page.wait_for_function(
                    "n => document.querySelectorAll('.swagger-ui .opblock').length >= n", arg=len(operations),
                    timeout=TIMEOUT_MS,
                )
                shown = set()
                for i in range(blocks.count()):
                    block = blocks.nth(i)
                    method = block.locator(".opblock-summary-method").inner_text().strip().upper()
                    path = block.locator(".opblock-summary-path").inner_text().strip().replace("\u200b", "")
                    shown.add((method, path))
                assert shown == operations
                assert "Pet Store" in page.locator(".swagger-ui .info .title").inner_text()
                page.screenshot(path=str(ARTIFACTS / "petstore-docs.png"), full_page=False)
                assert problems == [], problems
            finally:
                browser.close()
