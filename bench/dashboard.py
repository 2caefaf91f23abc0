"""Dashboard/API benchmark at 1,000 resources and 1,000,000 log lines (a script, not a test).

    .venv/bin/python bench/dashboard.py [--resources 1000] [--lines 1000000] [--no-browser]

A real Engine (real Tiltfile loader, a function runner that succeeds at once)
runs in a background thread with the real server; this thread measures:
  - API view latency (GET /api/view, full view of every resource),
  - stream delta latency (trigger dispatched -> delta for that resource received over the WebSocket),
  - page load in Chromium (navigation -> every resource row rendered and the log tail shown),
  - DOM update latency (trigger fetched from the page -> the row's status changes in the DOM),
  - live log throughput to the page, and the page's JS heap with the log pane full.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

from lockstep.engine.engine import Engine, EngineOptions
from lockstep.engine.runners import FunctionRunner, LogFn, Outcome, UpdateJob
from lockstep.logs.store import LogSource, LogStore
from lockstep.store import actions as A
from lockstep.tiltfile import load
from lockstep.ui.security import TOKEN_HEADER
from lockstep.ui.server import GUARD, start

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--enable-precise-memory-info"]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def fmt(xs: list[float]) -> str:
    return f"p50 {pct(xs, 50) * 1000:7.1f} ms   p95 {pct(xs, 95) * 1000:7.1f} ms   (n={len(xs)})"


class Rig:
    """The engine and server on their own event loop thread."""

    def __init__(self, n: int, tmp: Path) -> None:
        groups = ["api", "web", "data", "infra", "tools"]
        lines = [
            f"local_resource('r{i:04d}', cmd='true', labels=['{groups[i % len(groups)]}']"
            + (f", resource_deps=['r{i - 5:04d}']" if i >= 5 and i % 3 == 0 else "") + ")"
            for i in range(n)
        ]
        (tmp / "Tiltfile").write_text("\n".join(lines) + "\n")
        self.tiltfile = str(tmp / "Tiltfile")
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.engine: Engine = self.call(self._start())

    def call(self, coro: Any, timeout: float = 600) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> Engine:
        async def ok(job: UpdateJob, log: LogFn) -> Outcome:
            return Outcome(True)

        engine = Engine(EngineOptions(tiltfile=self.tiltfile), loader=lambda p, a: load(p, a),
                        runner=FunctionRunner(ok), logs=LogStore(None))
        started = asyncio.Event()
        self.task = asyncio.ensure_future(engine.run(started))
        await started.wait()
        engine.initial_load()
        self.runner, port = await start(engine, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{port}/"
        self.token = self.runner.app[GUARD].token
        self.login_url = f"{self.url}?token={self.token}"  # what `up` prints: the page logs in with it
        return engine

    async def settled(self) -> None:
        await self.engine.store.wait_for(
            lambda s: bool(s.statuses)
            and all(x.succeeded and not x.pending and x.running is None for x in s.statuses.values()),
            600,
        )

    async def fill_logs(self, count: int, names: list[str]) -> float:
        t0 = time.perf_counter()
        logs, now = self.engine.logs, time.time()
        for i in range(count):
            logs.append(names[i % len(names)], LogSource.RUNTIME if i % 2 else LogSource.BUILD,
                        f"line {i} of the flood: GET /api/items?page={i % 97} 200 in {i % 13} ms", now)
            if i % 20_000 == 0:
                await asyncio.sleep(0)  # let the server breathe, as a real flood would
        return time.perf_counter() - t0


async def api_latency(url: str, token: str, rounds: int) -> tuple[list[float], int]:
    out: list[float] = []
    size = 0
    async with aiohttp.ClientSession(headers={TOKEN_HEADER: token}) as s:
        for _ in range(rounds):
            t0 = time.perf_counter()
            async with s.get(url + "api/view") as r:
                body = await r.read()
            out.append(time.perf_counter() - t0)
            size = len(body)
    return out, size


async def stream_latency(rig: Rig, names: list[str], rounds: int) -> list[float]:
    out: list[float] = []
    ws_url = rig.url.replace("http", "ws") + f"api/stream?logs=none&token={rig.token}"
    async with aiohttp.ClientSession() as s, s.ws_connect(ws_url, max_msg_size=0) as ws:
        await ws.receive_json()  # snapshot
        for i in range(rounds):
            name = names[(i * 7) % len(names)]
            t0 = time.perf_counter()
            rig.loop.call_soon_threadsafe(rig.engine.dispatch, A.Trigger(name, rig.engine.now()))
            while True:
                msg = json.loads((await ws.receive()).data)
                if msg["type"] == "delta" and any(v["name"] == name and v["running"] for v in msg["changed"]):
                    break
            out.append(time.perf_counter() - t0)
            while rig.engine.state.statuses[name].running is not None or rig.engine.state.statuses[name].pending:
                await ws.receive()
    return out


def browser(rig: Rig, n: int, rounds: int, live_lines: int, names: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = b.new_page(viewport={"width": 1400, "height": 900})
        t0 = time.perf_counter()
        page.goto(rig.login_url)
        page.wait_for_function(f"document.querySelectorAll('#groups .row').length >= {n} && "
                               "document.querySelectorAll('#log .ln').length > 0", timeout=120_000)
        print(f"page load (navigation -> {n} rows + log tail rendered): {(time.perf_counter() - t0) * 1000:.0f} ms")
        dom: list[float] = []
        for i in range(rounds):
            name = names[(i * 11 + 3) % len(names)]
            dt = page.evaluate("""async (name) => {
                const row = document.querySelector(`#groups .row[data-resource="${name}"]`);
                const before = row.dataset.status;
                const changed = new Promise((resolve) => {
                    const obs = new MutationObserver(() => {
                        if (row.dataset.status !== before) { obs.disconnect(); resolve(performance.now()); }
                    });
                    obs.observe(row, { attributes: true, attributeFilter: ["data-status"] });
                });
                const t0 = performance.now();
                fetch('/api/trigger', {method: 'POST',
                                       body: JSON.stringify({resources: [name]})});
                return (await changed) - t0;
            }""", name)
            dom.append(dt / 1000)
            page.wait_for_function(f"document.querySelector('#groups .row[data-resource=\"{name}\"]')"
                                   ".dataset.status === 'ok'")
        print(f"DOM update latency (trigger from page -> row status changes): {fmt(dom)}")
        target = rig.engine.logs.checkpoint + live_lines
        t0 = time.perf_counter()
        rig.call(rig.fill_logs(live_lines, names))
        page.wait_for_function(f"Number(document.querySelector('#log .ln:last-child')?.dataset.seq || 0) >= {target}"
                               f" || [...document.querySelectorAll('#log .ln')].some(e => +e.dataset.seq >= {target})",
                               timeout=300_000)
        secs = time.perf_counter() - t0
        print(f"live logs: {live_lines:,} lines appended and shown in the page in {secs:.2f} s "
              f"({live_lines / secs:,.0f} lines/s)")
        frame = page.evaluate("""() => new Promise((res) => { const t = performance.now();
            requestAnimationFrame(() => requestAnimationFrame(() => res(performance.now() - t))); })""")
        heap = page.evaluate("() => performance.memory ? performance.memory.usedJSHeapSize : 0")
        kept = page.evaluate("() => document.getElementById('log-count').textContent")
        print(f"page after the flood: two frames in {frame:.1f} ms; JS heap {heap / 1e6:.0f} MB; log pane: {kept}")
        b.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--resources", type=int, default=1000)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--live-lines", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--no-browser", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        rig = Rig(a.resources, Path(tmp))
        rig.call(rig.settled())
        names = sorted(rig.engine.state.resources)
        print(f"{a.resources} resources loaded and updated once in {time.perf_counter() - t0:.1f} s")
        secs = rig.call(rig.fill_logs(a.lines, names))
        print(f"{a.lines:,} log lines appended in {secs:.1f} s ({a.lines / secs:,.0f} lines/s)")
        lat, size = asyncio.run(api_latency(rig.url, rig.token, a.rounds))
        print(f"API view latency (GET /api/view, {size / 1e6:.2f} MB): {fmt(lat)}")
        t1 = time.perf_counter()
        req = urllib.request.Request(rig.url + "api/logs?tail=5000", headers={TOKEN_HEADER: rig.token})
        with urllib.request.urlopen(req) as r:
            r.read()
        print(f"API log tail (5,000 lines): {(time.perf_counter() - t1) * 1000:.1f} ms")
        lat = asyncio.run(stream_latency(rig, names, a.rounds))
        print(f"stream delta latency (trigger -> delta received): {fmt(lat)}")
        if not a.no_browser and Path(CHROMIUM).exists():
            browser(rig, a.resources, min(a.rounds, 30), a.live_lines, names)
        rig.loop.call_soon_threadsafe(rig.task.cancel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
